"""The TRE prediction tested on real clicks: the COSEM landmarks (Heinrich et al. 2021).

31 light-microscopy landmarks, each placed in the FIB-SEM by two people. The
people's disagreement measures the EM part of the localisation error; the
affine fit's FRE, with the degrees-of-freedom factor, the whole FLE. The
prediction ``LOO^2 = FLE^2 (1 + 1/(N-1) + (r - c)^T S^-1 (r - c))`` (the
left-out point's own error plus the TRE of a fit without it) is compared
with the measured leave-one-out RMS. Tolerance 25 %: an RMS of 31 residuals
has a relative standard error of about 1/sqrt(2N) = 13 % for Gaussian
errors, so 25 % is two standard errors.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import fixture_file

from emcourse import clem, io


@pytest.fixture(scope="module")
def cosem():
    return io.read_cosem_landmarks(fixture_file("clem-cosem-landmarks/clem-landmarks.csv"))


def test_raters_disagree_by_tens_of_nanometres(cosem):
    fle_em = clem.fle_from_raters(cosem.raters["AW"], cosem.raters["JB"])
    assert 15 < fle_em < 50  # rms difference / sqrt(2): one person's EM click error


@pytest.mark.parametrize("rater", ["AW", "JB"])
@pytest.mark.parametrize("kind", ["rigid", "similarity", "affine"])
def test_predicted_loo_matches_measured_loo(cosem, rater, kind):
    fixed = cosem.raters[rater]
    m = clem.fit(cosem.moving, fixed, kind=kind)
    fle = clem.fle_from_fre(clem.fre(m, cosem.moving, fixed), len(cosem), 3, kind)
    pred = clem.loo_predicted(cosem.moving, fle, kind=kind)
    loo = clem.leave_one_out(cosem.moving, fixed, kind=kind)
    ratio = np.sqrt(np.mean(loo**2)) / np.sqrt(np.mean(pred**2))
    assert abs(ratio - 1) < 0.25, ratio


def test_total_fle_exceeds_the_em_click_error(cosem):
    """The light-microscopy clicks add error: FLE from FRE > FLE from the raters."""
    fixed = cosem.raters["AW"]
    m = clem.fit(cosem.moving, fixed, kind="affine")
    fle = clem.fle_from_fre(clem.fre(m, cosem.moving, fixed), len(cosem), 3, "affine")
    assert fle > 1.5 * clem.fle_from_raters(cosem.raters["AW"], cosem.raters["JB"])


def _png(rel):
    from PIL import Image

    return np.asarray(Image.open(fixture_file(rel)).convert("L"), dtype=np.float32)


def _deepclem_case(angle, scale, shift):
    em = _png("clem-deepclem/registered_pairs/EM/s6_ds.png")
    fm = _png("clem-deepclem/registered_pairs/FM/s6_ds.png")
    c = (np.array(em.shape) - 1) / 2
    known = clem.make_transform(linear=scale * clem.rotation_2d(angle))
    known[:2, 2] = c - known[:2, :2] @ c + shift
    moved = clem.warp(fm, clem.invert(known), moving_pixel=1.0, out_shape=fm.shape, out_pixel=1.0)
    grid = np.stack(np.meshgrid(np.linspace(100, 854, 8), np.linspace(100, 1180, 8)), -1)
    return em, moved, known, grid.reshape(-1, 2)


def _grid_tre(m, known, grid):
    return float(np.sqrt(np.mean(clem.target_errors(m, known, grid) ** 2)))


@pytest.mark.parametrize(
    ("angle", "scale", "shift", "recovered"),
    [
        (4.0, 1.03, (12.0, -15.0), True),  # the lesson's transform: TRE 2.3 px
        (-3.0, 0.98, (-20.0, 10.0), True),  # TRE 5.3 px
        (2.0, 1.02, (-10.0, -18.0), False),  # a false optimum, 92 px off (what the lesson says)
    ],
)
def test_mutual_information_undoes_a_known_transform_on_the_real_pair(
    angle, scale, shift, recovered
):
    """DeepCLEM s6: a transform we apply to the fluorescence is recovered to <= 8 px (2 binned
    pixels at the finest level, bin 4) from a start about 35 px off, or, for the third, missed by
    more than 50 px: the three cases the robust-registration lesson quotes."""
    em, moved, known, grid = _deepclem_case(angle, scale, shift)
    start = _grid_tre(np.eye(3), known, grid)
    m, _ = clem.register_mi_pyramid(em, moved, levels=(8, 4))
    tre = _grid_tre(m, known, grid)
    assert start > 25, start
    assert (tre <= 8.0) if recovered else (tre > 50.0), tre


@pytest.mark.parametrize(
    ("angle", "scale", "shift"),
    [(4.0, 1.03, (12.0, -15.0)), (-3.0, 0.98, (-20.0, 10.0)), (2.0, 1.02, (-10.0, -18.0))],
)
def test_simpleitk_sparse_setup_recovers_the_real_cases_its_tutorial_misses(angle, scale, shift):
    """The three transforms above. SimpleITK's tutorial set-up ends 36-43 px off (measured; we
    require > 16 px, twice the success threshold); the sparse set-up recovers all three to
    2.6-2.9 px (we require the lesson's 8 px), the third included, where the course's own
    search stops 92 px off."""
    em, moved, known, grid = _deepclem_case(angle, scale, shift)
    assert _grid_tre(clem.register_sitk(em, moved, **clem.SITK_TUTORIAL), known, grid) > 16.0
    assert _grid_tre(clem.register_sitk(em, moved, **clem.SITK_SPARSE), known, grid) <= 8.0


@pytest.mark.parametrize(
    ("setting", "default"), [("sampling", 0.01), ("bins", 50), ("optimizer", "gradient")]
)
def test_each_tutorial_default_alone_loses_the_lesson_case(setting, default):
    """The lesson's case with one of SimpleITK's tutorial defaults put back into the sparse
    set-up: measured TRE 50 px (1 % random samples), 111 px (50 bins), 50 px (gradient
    descent), against 2.9 px with none; the lesson quotes these three."""
    em, moved, known, grid = _deepclem_case(4.0, 1.03, (12.0, -15.0))
    m = clem.register_sitk(em, moved, **{**clem.SITK_SPARSE, setting: default})
    assert _grid_tre(m, known, grid) > 16.0


# The lesson "Register in 3D and target a lamella": the z scale of the affine fit on the real
# landmarks, against y and x, with its Monte Carlo SD, as its text states them.
@pytest.mark.parametrize(
    ("rater", "ratio", "sd"), [("AW", 1.12, 0.12), ("JB", 1.14, 0.12), ("Auto", 1.17, 0.15)]
)
def test_z_scale_of_the_affine_fit_is_undetermined(cosem, rater, ratio, sd):
    q = cosem.raters[rater]
    fit = clem.fit(cosem.moving, q, kind="affine")
    got = clem.axial_scale(fit)["ratio"]
    fle = clem.fle_from_fre(clem.fre(fit, cosem.moving, q), len(q), 3, "affine")
    mc = clem.axial_scale_monte_carlo(
        cosem.moving, fit, sigma_light=0.0, sigma_em=fle / np.sqrt(3), n_trials=200
    )
    assert got == pytest.approx(ratio, abs=0.005)
    assert mc.std() == pytest.approx(sd, abs=0.01)
    assert abs(got - 1) < 1.5 * mc.std()  # 1 is within reach: the layout cannot settle it
    assert np.ptp(cosem.moving[:, 0]) == pytest.approx(275, abs=5)
