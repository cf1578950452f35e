"""Bead localisation: the estimators agree with the libraries, and each precision formula with a
Monte Carlo of its own estimator.

Tolerance of the Monte Carlo checks: 10 %. An RMS over ``2 n`` Gaussian axis errors (n = 400
draws, two axes) has a relative standard error of ``1/sqrt(4 n)`` = 2.5 %, so 10 % is four
standard errors: a correct formula fails by chance with probability about 1e-4 per point, and a
formula that is wrong by a third (Thompson's for a least-squares fit) cannot pass.
"""

from __future__ import annotations

import numpy as np
import pytest

from emcourse import clem

KW = {"sigma": 100.0, "pixel": 100.0}
# photons x background (photons per pixel): bright and faint, no and strong background
GRID = [(100, 0), (1000, 0), (10000, 0), (300, 2), (3000, 2), (300, 20), (1000, 20), (10000, 20)]
FORMULA = {
    "centroid": clem.centroid_precision,
    "lsq": clem.mortensen_lsq_precision,
    "mle": clem.mortensen_mle_precision,
}


def _mc(method, photons, background, n_draws=400):
    out = clem.precision_monte_carlo(
        [photons], [background], method=method, n_draws=n_draws, seed=photons + background, **KW
    )
    return out["rms"][0, 0], out["rel_se"]


# a centroid over a window of 2,420 background photons finds no spot of 300 photons: left out
CASES = [
    (m, n, b) for m in FORMULA for n, b in GRID if not (m == "centroid" and b >= 20 and n < 1000)
]


@pytest.mark.parametrize(("method", "photons", "background"), CASES)
def test_formula_matches_monte_carlo_within_ten_percent(method, photons, background):
    rms, rel_se = _mc(method, photons, background)
    ratio = float(FORMULA[method](photons, background=background, **KW)) / rms
    assert 4 * rel_se <= 0.1
    assert abs(ratio - 1) < 0.1, ratio


def test_thompson_underestimates_a_least_squares_fit_by_a_quarter():
    """At low background Thompson's sigma is 3/4 of the least-squares fit's (16/9 in variance)."""
    rms, _ = _mc("lsq", 1000, 0)
    ratio = float(clem.thompson_precision(1000, background=0, **KW)) / rms
    assert 0.68 < ratio < 0.82, ratio
    exact = clem.thompson_precision(1000, background=0, **KW) / clem.mortensen_lsq_precision(
        1000, background=0, **KW
    )
    assert exact == pytest.approx(0.75)


def test_maximum_likelihood_beats_least_squares_and_reaches_sa_over_root_n():
    sa = np.sqrt(KW["sigma"] ** 2 + KW["pixel"] ** 2 / 12)
    assert clem.mortensen_mle_precision(400, background=0, **KW) == pytest.approx(sa / 20)
    for b2 in (0, 2, 20):
        mle = clem.mortensen_mle_precision(1000, background=b2, **KW)
        assert mle < clem.mortensen_lsq_precision(1000, background=b2, **KW)


def test_precision_scales_as_one_over_root_photons_without_background():
    a = clem.mortensen_lsq_precision(1000, background=0, **KW)
    b = clem.mortensen_lsq_precision(4000, background=0, **KW)
    assert a / b == pytest.approx(2.0)


def _spots(n=6, photons=2000, background=5, seed=3):
    rng = np.random.default_rng(seed)
    truth = 500 + rng.uniform(-50, 50, (n, 2))
    st = clem.render_spots(truth, photons=photons, background=background, rng=rng, **KW)
    return truth, st


def test_render_spots_has_the_expected_photons():
    truth = np.full((2000, 2), 500.0)
    st = clem.render_spots(truth, photons=1000, background=3, rng=0, **KW)
    assert st.shape == (2000, 11, 11)
    assert st.sum(axis=(1, 2)).mean() == pytest.approx(1000 * 0.9999 + 3 * 121, rel=0.01)


def test_least_squares_fit_agrees_with_curve_fit():
    from scipy.optimize import curve_fit

    truth, st = _spots()
    ours = clem.fit_gaussian(st, pixel=100.0, sigma0=100.0, method="lsq")

    def model(_, y, x, n, s, b):
        return clem.spot_model([[y, x, n, s, b]], (11, 11), 100.0).ravel()

    for img, p in zip(st, ours, strict=True):
        ref, _ = curve_fit(model, None, img.ravel(), p0=[500, 500, img.sum(), 100, 5])
        assert np.allclose(p[:2], ref[:2], atol=0.05), (p, ref)


def test_maximum_likelihood_fit_agrees_with_scipy_minimize():
    from scipy.optimize import minimize

    truth, st = _spots(photons=500, background=2)
    ours = clem.fit_gaussian(st, pixel=100.0, sigma0=100.0, method="mle")
    for img, p in zip(st, ours, strict=True):

        def nll(q, img=img):
            mu = clem.spot_model([q], (11, 11), 100.0)[0]
            return float((mu - img * np.log(np.maximum(mu, 1e-12))).sum())

        ref = minimize(
            nll,
            [500, 500, img.sum(), 100, 2],
            method="Nelder-Mead",
            options={"xatol": 1e-4, "fatol": 1e-9, "maxiter": 20000, "maxfev": 20000},
        )
        assert nll(p) <= ref.fun + 1e-6
        assert np.allclose(p[:2], ref.x[:2], atol=0.5), (p, ref.x)


def test_centroid_agrees_with_scikit_image():
    from skimage.measure import centroid, regionprops

    _, st = _spots()
    ours = clem.centroid(st, pixel=100.0, background=5.0)
    for img, c in zip(st, ours, strict=True):
        d = img - 5.0
        assert np.allclose(c / 100.0, centroid(d), atol=1e-9)
        props = regionprops(np.ones(d.shape, int), intensity_image=d)[0]
        assert np.allclose(c / 100.0, props.centroid_weighted, atol=1e-9)


def test_bead_windows_round_trip_to_field_positions():
    rng = np.random.default_rng(4)
    pos = rng.uniform(1000, 9000, (20, 2))
    st, org = clem.render_beads(pos, photons=1e6, background=0, rng=rng, **KW)
    found = clem.localise_beads(st, org, pixel=100.0, sigma0=100.0)
    assert np.abs(found - pos).max() < 1.0
    field = np.zeros((100, 100))
    with pytest.raises(ValueError, match="leaves the"):
        clem.windows(field, [[50.0, 50.0]], pixel=100.0, half=3)
