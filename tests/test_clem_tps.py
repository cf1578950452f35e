"""Thin-plate splines: exact at the landmarks, right between them, the same as scikit-image."""

from __future__ import annotations

import numpy as np
import pytest

from emcourse import clem
from emcourse.clem import tps


def _warped(n=20, k=2, seed=0, amplitude=400.0):
    rng = np.random.default_rng(seed)
    p = rng.uniform(0, 30000, (n, k))
    affine = clem.true_transform(k, seed=seed)
    return (
        p,
        tps.smooth_distortion(clem.apply(affine, p), amplitude=amplitude, wavelength=20000.0),
        affine,
    )


def _truth(points, affine, amplitude=400.0):
    return tps.smooth_distortion(clem.apply(affine, points), amplitude=amplitude, wavelength=2e4)


@pytest.mark.parametrize("k", [2, 3])
@pytest.mark.parametrize("kernel", tps.KERNELS)
def test_spline_passes_through_every_landmark(k, kernel):
    p, q, _ = _warped(k=k)
    f = tps.fit_tps(p, q, kernel=kernel)
    assert np.abs(f(p) - q).max() < 1e-6  # nm: FRE = 0 by construction


@pytest.mark.parametrize("k", [2, 3])
def test_spline_reproduces_an_affine_map_exactly(k):
    rng = np.random.default_rng(1)
    p = rng.uniform(0, 30000, (12, k))
    m = clem.true_transform(k, seed=3)
    f = tps.fit_tps(p, clem.apply(m, p))
    t = rng.uniform(-5000, 35000, (100, k))  # also outside the landmarks
    assert np.abs(f(t) - clem.apply(m, t)).max() < 1e-6
    assert np.abs(f.weights).max() < 1e-9  # no bending


def test_spline_beats_affine_between_landmarks_on_a_smooth_distortion():
    rng = np.random.default_rng(2)
    p, q, affine = _warped(n=40)
    t = rng.uniform(3000, 27000, (500, 2))
    truth = _truth(t, affine)
    tre_tps = np.sqrt(np.mean(np.sum((tps.fit_tps(p, q)(t) - truth) ** 2, axis=1)))
    m = clem.fit(p, q, kind="affine")
    tre_aff = np.sqrt(np.mean(np.sum((clem.apply(m, t) - truth) ** 2, axis=1)))
    assert tre_tps < 0.3 * tre_aff, (tre_tps, tre_aff)


def test_regularization_tends_to_the_affine_least_squares_fit():
    p, q, _ = _warped(n=25, k=3)
    f = tps.fit_tps(p, q, regularization=1e9)
    m = clem.fit(p, q, kind="affine")
    t = np.random.default_rng(4).uniform(0, 30000, (50, 3))
    assert np.abs(f(t) - clem.apply(m, t)).max() < 1e-2  # nm
    f0 = tps.fit_tps(p, q, regularization=0.1)
    assert np.abs(f0(p) - q).max() > 1.0  # no longer exact: smoothing


def test_interpolant_does_not_depend_on_the_unit():
    p, q, _ = _warped(k=3)
    t = np.random.default_rng(5).uniform(0, 30000, (50, 3))
    nm = tps.fit_tps(p, q)(t)
    um = tps.fit_tps(p / 1000, q / 1000)(t / 1000) * 1000
    assert np.abs(nm - um).max() < 1e-6


def test_the_two_kernels_differ_between_the_landmarks_in_3d():
    p, q, affine = _warped(n=30, k=3)
    t = np.random.default_rng(6).uniform(3000, 27000, (300, 3))
    a, b = tps.fit_tps(p, q)(t), tps.fit_tps(p, q, kernel="r")(t)
    assert np.abs(a - b).max() > 1.0  # nm: same landmarks, different maps


def test_leave_one_out_is_the_miss_at_the_left_out_landmark():
    p, q, _ = _warped(n=15)
    loo = tps.tps_leave_one_out(p, q)
    f = tps.fit_tps(p[1:], q[1:])
    assert loo[0] == pytest.approx(np.linalg.norm(f(p[:1])[0] - q[0]))
    assert (loo > 0).all()


def test_agrees_with_scikit_image_in_2d():
    from skimage.transform import ThinPlateSplineTransform

    p, q, _ = _warped(n=20)
    t = np.random.default_rng(7).uniform(0, 30000, (500, 2))
    sk = ThinPlateSplineTransform.from_estimate(p[:, ::-1], q[:, ::-1])  # (x, y) columns
    mine = tps.fit_tps(p, q)(t)
    # skimage 0.26 uses r^2 log(r^2) = 2 r^2 log r (the same interpolant) and solves
    # unnormalised coordinates: it misses its own landmarks by ~0.01 nm on a 30 um field
    assert np.abs(sk(t[:, ::-1])[:, ::-1] - mine).max() < 0.1


def test_refuses_too_few_or_degenerate_landmarks():
    with pytest.raises(ValueError, match="at least 4"):
        tps.fit_tps(np.zeros((3, 2)), np.zeros((3, 2)))
    line = np.c_[np.arange(6.0), np.arange(6.0)]
    with pytest.raises(ValueError, match="do not determine"):
        tps.fit_tps(line, line)
    with pytest.raises(ValueError, match="kernel"):
        tps.tps_kernel(1.0, kernel="gauss")


def _rms(e):
    return float(np.sqrt(np.mean(np.square(e))))


def test_real_landmarks_leave_one_out_tps_against_affine():
    """The numbers the lesson reports on real clicks (COSEM, Heinrich et al. 2021)."""
    from conftest import fixture_file

    from emcourse import io

    lm = io.read_cosem_landmarks(fixture_file("clem-cosem-landmarks/clem-landmarks.csv"))
    got = {}
    for rater in ("AW", "JB", "Auto"):
        q = lm.raters[rater]
        got[rater] = (
            _rms(clem.leave_one_out(lm.moving, q, kind="affine")),
            _rms(tps.tps_leave_one_out(lm.moving, q)),
        )
    # nm, measured 2026-12: AW 65.7 vs 64.9, JB 64.6 vs 73.1, Auto 80.7 vs 53.1
    assert got["AW"] == pytest.approx((65.7, 64.9), abs=0.2)
    assert got["JB"] == pytest.approx((64.6, 73.1), abs=0.2)
    assert got["Auto"] == pytest.approx((80.7, 53.1), abs=0.2)
    bw = io.read_bigwarp_csv(fixture_file("clem-cosem-landmarks/tcell_roi2_bigwarpLandmarks.csv"))
    a = bw["active"]
    p, q = bw["moving"][a] * 1000, bw["fixed"][a] * 1000
    assert _rms(clem.leave_one_out(p, q, kind="affine")) == pytest.approx(524.5, abs=0.5)
    assert _rms(tps.tps_leave_one_out(p, q)) == pytest.approx(492.9, abs=0.5)
