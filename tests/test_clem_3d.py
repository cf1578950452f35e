"""3D registration, axial scaling and 3DCT targeting: every formula against a simulation."""

from __future__ import annotations

import numpy as np
import pytest

from emcourse import clem


def test_depth_scale_paraxial_and_marginal_match_ray_tracing():
    # tiny angle: the ray crosses at n2/n1 of the nominal depth
    assert clem.focus_depth_ray(1000.0, 1.518, 1.33, 0.01) == pytest.approx(
        1000 * clem.depth_scale(1.518, 1.33), rel=1e-6
    )
    for n1, n2, na in ((1.518, 1.33, 1.2), (1.0, 1.31, 0.9), (1.33, 1.45, 1.1)):
        angle = np.rad2deg(np.arcsin(na / n1))
        traced = clem.focus_depth_ray(1000.0, n1, n2, angle)
        assert traced == pytest.approx(1000 * clem.depth_scale(n1, n2, na=na), rel=1e-9)
    # oil into water: paraxial 0.876, the marginal ray of NA 1.2 is shallower still
    assert clem.depth_scale(1.518, 1.33) == pytest.approx(0.876, abs=5e-4)
    assert clem.depth_scale(1.518, 1.33, na=1.2) < clem.depth_scale(1.518, 1.33)
    assert np.isnan(clem.depth_scale(1.518, 1.33, na=1.4))  # beyond the critical angle


def test_axial_scale_recovers_the_factor_and_its_monte_carlo_spread():
    d = clem.scaled_landmarks(factor=0.876, seed=3)
    est = clem.axial_scale(clem.fit(d["moving"], d["fixed"], kind="affine"))
    ratios = clem.axial_scale_monte_carlo(
        d["moving_true"],
        d["truth"],
        sigma_light=d["sigma_light"],
        sigma_em=d["sigma_em"],
        n_trials=400,
    )
    sd = ratios.std()
    assert 0.005 < sd < 0.05
    assert abs(ratios.mean() - 0.876) < 3 * sd / np.sqrt(400) + 0.01  # errors-in-z bias < 1 %
    assert abs(est["ratio"] - 0.876) < 4 * sd
    # noise-free: exact, and the x and y scales stay 1
    exact = clem.axial_scale(clem.fit(d["moving_true"], clem.apply(d["truth"], d["moving_true"])))
    assert exact["ratio"] == pytest.approx(0.876, rel=1e-9)
    assert exact["zyx"][1:] == pytest.approx([1, 1], rel=1e-9)


def test_warp_volume_puts_a_blob_where_the_map_says():
    v = clem.volume_pair(seed=2)
    w = clem.warp_volume(
        v["light"],
        v["truth"],
        moving_spacing=v["light_spacing"],
        out_shape=v["em"].shape,
        out_spacing=v["em_spacing"],
    )
    # correlation with the EM (dark blobs) is strongly negative at the truth, weak at identity
    w0 = clem.warp_volume(
        v["light"],
        np.eye(4),
        moving_spacing=v["light_spacing"],
        out_shape=v["em"].shape,
        out_spacing=v["em_spacing"],
    )
    at_truth = np.corrcoef(w.ravel(), v["em"].ravel())[0, 1]
    at_identity = np.corrcoef(w0.ravel(), v["em"].ravel())[0, 1]
    assert at_truth < -0.5 and at_truth < at_identity - 0.1


def test_simpleitk_registration_recovers_the_stand_in():
    from scipy import ndimage

    v = clem.volume_pair()
    m = clem.register_sitk_3d(
        ndimage.gaussian_filter(v["em"], 1.0),
        v["light"],
        fixed_spacing=v["em_spacing"],
        moving_spacing=v["light_spacing"],
    )
    err = np.linalg.norm(clem.apply(m, v["centres_light"]) - v["centres_em"], axis=1)
    start = np.linalg.norm(v["centres_light"] - v["centres_em"], axis=1)
    assert np.sqrt(np.mean(err**2)) < 50 and err.max() < 100 < start.max()


def test_fit_3dct_is_exact_without_noise_and_refuses_bad_shapes():
    s = clem.fib_standin(seed=4)
    q = clem.map_3dct(s["truth"], s["light_true"])
    m = clem.fit_3dct(s["light_true"], q)
    assert m["rms"] < 1e-6 and m["scale"] == pytest.approx(1.0, rel=1e-9)
    assert clem.map_3dct(m, s["target"])[0] == pytest.approx(s["target_image"], abs=1e-6)
    with pytest.raises(ValueError, match="light must be"):
        clem.fit_3dct(s["light_true"][:, :2], q)
    with pytest.raises(ValueError, match="at least 4"):
        clem.fit_3dct(s["light_true"][:3], q[:3])


def test_targeting_linearised_agrees_with_monte_carlo():
    s = clem.fib_standin(seed=0)
    kw = dict(sigma_light=s["sigma_light"], sigma_image=s["sigma_image"])
    mc = clem.targeting_monte_carlo(s["light_true"], s["truth"], s["target"], n_trials=400, **kw)
    cov = clem.targeting_covariance(
        s["light_true"], clem.map_3dct(s["truth"], s["light_true"]), s["target"], **kw
    )
    ratio = mc.std(0) / np.sqrt(np.diag(cov))
    assert ratio == pytest.approx([1, 1], abs=0.1)  # 400 trials: sd known to 3.5 %
    assert np.abs(mc.mean(0)).max() < 4 * mc.std(0).max() / np.sqrt(400) + 5  # unbiased
    # the depth error dominates the image's vertical axis at a glancing beam
    assert np.sqrt(cov[0, 0]) > 2 * np.sqrt(cov[1, 1])
