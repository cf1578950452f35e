"""Robust and automatic registration on the stand-in, scored by TRE against the truth.

Quality bars of the CLEM track: RANSAC with 20 % outliers within 1.5x the
outlier-free TRE while least squares is above 3x; automatic registration
(point clouds, then mutual information) within 1.5x the landmark TRE.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from emcourse import clem


def _rms(e):
    return float(np.sqrt(np.mean(np.square(e))))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ransac_recovers_what_least_squares_loses(seed):
    clean = clem.standin_landmarks(20, seed=seed)
    dirty = clem.standin_landmarks(20, seed=seed, outlier_fraction=0.2)
    m, t = dirty.truth["matrix"], dirty.truth["targets"]
    tre_clean = _rms(clem.target_errors(clem.fit(clean.moving, clean.fixed), m, t))
    tre_ls = _rms(clem.target_errors(clem.fit(dirty.moving, dirty.fixed), m, t))
    mr, inliers = clem.ransac(
        dirty.moving,
        dirty.fixed,
        kind="affine",
        threshold=600.0,
        n_trials=clem.ransac_trials(0.2, 4),
        seed=seed,
    )
    tre_r = _rms(clem.target_errors(mr, m, t))
    assert tre_r <= 1.5 * tre_clean, (tre_r, tre_clean)
    assert tre_ls > 3 * tre_clean, (tre_ls, tre_clean)
    assert np.array_equal(inliers, ~dirty.truth["outlier"])


def test_ransac_trials_formula():
    n = clem.ransac_trials(0.2, 4, failure=1e-6)
    assert (1 - 0.8**4) ** n < 1e-6 <= (1 - 0.8**4) ** (n - 1)


def _clouds(pair):
    em_c = clem.object_centres(
        ndimage.gaussian_filter(pair.em, 2) < 0.45, pixel=pair.em_pixel, min_area=50
    )
    lm = ndimage.gaussian_filter(pair.lm.sum(0), 1)
    thr = np.median(lm) + 0.35 * (lm.max() - np.median(lm))
    return em_c, clem.object_centres(lm > thr, pixel=pair.lm_pixel, min_area=3)


@pytest.mark.parametrize("seed", [0, 1])
def test_point_clouds_and_mutual_information_beat_landmarks(seed):
    pair = clem.standin_pair(seed=seed)
    m, t = pair.truth["matrix"], pair.truth["targets"]
    lmk = pair.truth["landmarks"]
    tre_landmarks = _rms(clem.target_errors(clem.fit(lmk.moving, lmk.fixed), m, t))
    em_c, lm_c = _clouds(pair)
    coarse = clem.coarse_cpd(lm_c, em_c)
    fine, _ = clem.cpd(lm_c, em_c, kind="affine", init=coarse)
    tre_cpd = _rms(clem.target_errors(fine, m, t))
    assert tre_cpd <= 1.5 * tre_landmarks, (tre_cpd, tre_landmarks)
    icp_m, _ = clem.icp(lm_c, em_c, kind="affine", init=coarse, max_distance=300.0)
    assert _rms(clem.target_errors(icp_m, m, t)) <= 1.5 * tre_landmarks
    em_b = clem.bin_image(pair.em, 2)
    mi_m, _ = clem.register_mi(
        em_b,
        pair.lm[0],
        fixed_pixel=2 * pair.em_pixel,
        moving_pixel=pair.lm_pixel,
        init=coarse,
        kind="affine",
    )
    assert _rms(clem.target_errors(mi_m, m, t)) <= 1.5 * tre_landmarks


def test_phase_correlation_sign_convention():
    img = ndimage.gaussian_filter(np.random.default_rng(0).random((64, 64)), 2)
    moved = np.roll(img, (3, -5), axis=(0, 1))
    assert np.allclose(clem.phase_correlation(moved, img), (3, -5), atol=0.1)


def test_mutual_information_peaks_at_alignment():
    pair = clem.standin_pair(seed=3)
    m = pair.truth["matrix"]
    kw = {"moving_pixel": pair.lm_pixel, "out_shape": pair.em.shape, "out_pixel": pair.em_pixel}
    at = clem.mutual_information(pair.em, clem.warp(pair.lm[0], m, **kw))
    off = clem.make_transform(translation=(300.0, 0.0)) @ m
    assert at > clem.mutual_information(pair.em, clem.warp(pair.lm[0], off, **kw))


def test_warp_puts_pixel_centres_where_they_belong():
    lm = np.zeros((20, 20), dtype=np.float32)
    lm[5, 7] = 1.0  # centre at (500, 700) nm with 100 nm pixels
    shift = clem.make_transform(translation=(40.0, -60.0))
    out = clem.warp(lm, shift, moving_pixel=100.0, out_shape=(100, 100), out_pixel=20.0)
    peak = np.array(ndimage.center_of_mass(out)) * 20.0
    assert np.allclose(peak, (540.0, 640.0), atol=1.0)


def test_bin_image_centre_offset():
    yy, _ = np.mgrid[0:8, 0:8].astype(float)
    b = clem.bin_image(yy, 4)
    assert b[0, 0] == pytest.approx(1.5)  # the centre of binned pixel 0 is fine pixel 1.5


def test_ellipse_of_a_known_covariance():
    rot = clem.rotation_2d(30)
    cov = rot @ np.diag([9.0, 1.0]) @ rot.T
    e = clem.ellipse(cov, confidence=0.95)
    assert e["semi_axes"][0] == pytest.approx(3 * 2.4477, rel=1e-3)
    assert e["semi_axes"][1] == pytest.approx(2.4477, rel=1e-3)
    rng = np.random.default_rng(0)
    pts = rng.multivariate_normal([0, 0], cov, 20000)
    inside = np.einsum("ij,jk,ik->i", pts, np.linalg.inv(cov), pts) <= e["scale"] ** 2
    assert inside.mean() == pytest.approx(0.95, abs=0.01)


def test_standin_pair_matches_its_truth():
    pair = clem.standin_pair(seed=0)
    assert pair.em.shape == (512, 512) and pair.lm.shape == (2, 144, 144)
    assert pair.em_pixel == 20.0 and pair.lm_pixel == 100.0
    m = pair.truth["matrix"]
    w = clem.warp(
        pair.lm[0], m, moving_pixel=pair.lm_pixel, out_shape=pair.em.shape, out_pixel=pair.em_pixel
    )
    mito = pair.truth["labels"] > 0
    assert w[mito].mean() > 3 * w[~mito].mean()


def test_target_ellipses_cover_the_true_structure():
    """95 % ellipses (fit TRE + target localisation and linkage error) pooled over 6 stand-ins."""
    from scipy.spatial import cKDTree

    inside = []
    for seed in range(6):
        pair = clem.standin_pair(seed=seed)
        lmk = pair.truth["landmarks"]
        m = clem.fit(lmk.moving, lmk.fixed)
        fle = clem.fle_from_fre(clem.fre(m, lmk.moving, lmk.fixed), len(lmk), 2, "affine")
        lyso, mito = pair.lm[1], pair.lm[0]
        spots = clem.spot_centres(
            lyso,
            pixel=pair.lm_pixel,
            threshold=np.median(lyso) + 0.3 * (lyso.max() - np.median(lyso)),
        )
        idx = np.round(spots / pair.lm_pixel).astype(int)
        bead = mito[idx[:, 0], idx[:, 1]] > np.median(mito) + 0.3 * (mito.max() - np.median(mito))
        t = spots[~bead]
        cov = clem.target_covariance(
            lmk.moving, lmk.fixed, t, kind="affine", fle=fle, target_sd=np.hypot(15.0, 40.0)
        )
        em = clem.apply(m, t)
        _, j = cKDTree(pair.truth["lyso_centres"]).query(em)
        r = em - pair.truth["lyso_centres"][j]
        m2 = np.einsum("ij,ijk,ik->i", r, np.linalg.inv(cov), r)
        inside.extend(m2 <= clem.ellipse(cov[0], confidence=0.95)["scale"] ** 2)
    assert len(inside) > 60
    assert 0.85 <= np.mean(inside) <= 1.0, np.mean(inside)
