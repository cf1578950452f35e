"""Fits recover known transforms; every TRE/FRE formula agrees with a Monte Carlo simulation.

The Monte Carlo draws landmark clicks with known errors around a known
transform (``clem.monte_carlo``) and measures RMS TRE at hidden targets; the
quality bar of the CLEM track is a formula within 15 % of that measurement.
"""

from __future__ import annotations

import numpy as np
import pytest

from emcourse import clem

KINDS = ("rigid", "similarity", "affine")


def _truth(k, kind, seed=0):
    rng = np.random.default_rng(seed)
    lin = clem.rotation_3d((1, 2, 3), 25) if k == 3 else clem.rotation_2d(25)
    if kind != "rigid":
        lin = 1.2 * lin
    if kind == "affine":
        lin = lin @ (np.eye(k) + rng.normal(0, 0.1, (k, k)))
    return clem.make_transform(linear=lin, translation=rng.normal(0, 1000, k))


@pytest.mark.parametrize("k", [2, 3])
@pytest.mark.parametrize("kind", KINDS)
def test_fit_recovers_exact_transform(k, kind):
    m = _truth(k, kind)
    p = np.random.default_rng(1).uniform(-5000, 5000, (8, k))
    assert np.allclose(clem.fit(p, clem.apply(m, p), kind=kind), m, atol=1e-8)


def test_rigid_fit_never_reflects():
    p = np.random.default_rng(2).normal(size=(6, 3))
    mirror = np.diag([1.0, 1.0, -1.0, 1.0])
    m = clem.fit(p, clem.apply(mirror, p), kind="rigid")
    assert np.linalg.det(m[:3, :3]) == pytest.approx(1.0)


def test_matrix_xyz_is_its_own_inverse_and_reorders_axes():
    m = _truth(3, "affine")
    mx = clem.matrix_xyz(m)
    p = np.random.default_rng(3).normal(size=(5, 3))
    assert np.allclose(clem.matrix_xyz(mx), m)
    assert np.allclose(clem.apply(mx, p[:, ::-1])[:, ::-1], clem.apply(m, p))


@pytest.mark.parametrize("k", [2, 3])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("n", [6, 12])
def test_tre_formula_matches_monte_carlo(k, kind, n):
    rng = np.random.default_rng(10 * n + k)
    p = rng.uniform(-5000, 5000, (n, k))
    if k == 3:
        p[:, 0] *= 0.3  # a flat cell: fiducials spread less in z
    targets = rng.uniform(-8000, 8000, (6, k))
    m = _truth(k, kind, seed=n)
    mc = clem.monte_carlo(
        p, m, targets, kind=kind, sigma_moving=40.0, sigma_fixed=20.0, n_trials=1500, seed=n
    )
    pred = clem.tre_predicted(p, targets, mc["fle"], kind=kind)
    ratio = mc["tre"] / pred
    assert np.all(np.abs(ratio - 1) < 0.15), ratio
    assert mc["fre"] / clem.expected_fre(mc["fle"], n, k, kind) == pytest.approx(1, abs=0.05)


def test_rigid_formula_underpredicts_affine_fits():
    """Fitzpatrick's rigid formula is the wrong model for an affine fit (1.3-1.8x)."""
    rng = np.random.default_rng(5)
    p = rng.uniform(-5000, 5000, (6, 3))
    targets = rng.uniform(-5000, 5000, (20, 3))
    mc = clem.monte_carlo(
        p, _truth(3, "affine"), targets, kind="affine", sigma_fixed=30.0, n_trials=1500
    )
    rigid = clem.tre_rigid(p, targets, mc["fle"])
    assert np.sqrt(np.mean(mc["tre"] ** 2)) / np.sqrt(np.mean(rigid**2)) > 1.25


def test_covariance_propagation_matches_monte_carlo_with_anisotropic_errors():
    lm = clem.standin_landmarks(12, seed=3)
    m, t = lm.truth["matrix"], lm.truth["targets"][:8]
    sm, sf = (300.0, 100.0, 100.0), 20.0
    mc = clem.monte_carlo(
        lm.truth["moving_true"],
        m,
        t,
        kind="affine",
        sigma_moving=sm,
        sigma_fixed=sf,
        n_trials=1500,
        seed=1,
    )
    cov = clem.tre_covariance(
        lm.truth["moving_true"],
        clem.apply(m, lm.truth["moving_true"]),
        t,
        kind="affine",
        cov_moving=sm,
        cov_fixed=sf,
    )
    ratio = mc["tre"] / np.sqrt(np.trace(cov, axis1=1, axis2=2))
    assert np.all(np.abs(ratio - 1) < 0.1), ratio


def test_fle_from_fre_inverts_expected_fre():
    for kind in KINDS:
        for k in (2, 3):
            fre = clem.expected_fre(50.0, 15, k, kind)
            assert clem.fle_from_fre(fre, 15, k, kind) == pytest.approx(50.0)
    with pytest.raises(ValueError, match="cannot over-determine"):
        clem.expected_fre(1.0, 4, 3, "affine")


def test_fle_estimated_from_observed_fre_is_unbiased():
    """FLE from FRE with the D/(KN) factor, averaged over many draws, hits the true FLE."""
    est = []
    for seed in range(200):
        lm = clem.standin_landmarks(10, seed=seed, sigma_moving=40.0, sigma_fixed=30.0)
        f = clem.fre(clem.fit(lm.moving, lm.fixed, kind="affine"), lm.moving, lm.fixed)
        est.append(clem.fle_from_fre(f, 10, 3, "affine") ** 2)
    true = clem.fle_in_fixed(lm.truth["matrix"], 40.0, 30.0)
    assert np.sqrt(np.mean(est)) == pytest.approx(true, rel=0.05)


def test_leave_one_out_matches_prediction_on_the_standin():
    lm = clem.standin_landmarks(25, seed=4, sigma_moving=(90.0, 30.0, 30.0))
    loo = clem.leave_one_out(lm.moving, lm.fixed, kind="affine")
    fle = clem.fle_in_fixed(lm.truth["matrix"], lm.truth["sigma_moving"], lm.truth["sigma_fixed"])
    assert np.sqrt(np.mean(loo**2)) == pytest.approx(fle, rel=0.35)


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match=r"\(n, 2\) or \(n, 3\)"):
        clem.fit(np.zeros((4, 4)), np.zeros((4, 4)))
    with pytest.raises(ValueError, match="pair up"):
        clem.fit(np.zeros((4, 3)), np.zeros((5, 3)))
    with pytest.raises(ValueError, match="unknown transform kind"):
        clem.fit(np.zeros((4, 3)), np.zeros((4, 3)), kind="projective")
    with pytest.raises(ValueError, match="at least 4"):
        clem.fit(np.zeros((3, 3)), np.zeros((3, 3)), kind="affine")


@pytest.mark.parametrize(
    "module",
    ["transforms", "errors", "robust", "intensity", "warp", "standin"],
)
def test_docstring_examples(module):
    import doctest
    import importlib

    mod = importlib.import_module(f"emcourse.clem.{module}")
    assert doctest.testmod(mod, optionflags=doctest.ELLIPSIS).failed == 0


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("kind", KINDS)
def test_formulas_on_the_standin_landmark_layouts(seed, kind):
    """The quality bar on the stand-in's own bead layouts: every target within 15 %."""
    lm = clem.standin_landmarks(12, seed=seed)
    res = clem.compare_with_monte_carlo(
        lm.truth["moving_true"],
        lm.truth["targets"][:30],
        kind=kind,
        sigma_moving=50.0,
        sigma_fixed=20.0,
        n_trials=1500,
        seed=seed,
    )
    assert np.all(np.abs(res["ratio"] - 1) < 0.15), res["ratio"]
