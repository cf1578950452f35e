"""CTF estimation, the defocus gradient of a tilted image and phase flipping, on simulations."""

import numpy as np
import pytest

from emcourse.sta import ctf
from emcourse.sta.ctf_fit import (
    defocus_gradient,
    fit_ctf,
    power_spectrum,
    radial_profile,
    tile_centres,
)
from emcourse.sta.ctf_sim import (
    average_corrected,
    axis_distance,
    particle_image,
    simulate_micrograph,
    simulate_particles,
)
from emcourse.sta.resolution import fsc

PX = 1.35  # TS_01's tilt-series pixel, A


def _angle_error(a, b):
    return (a - b + 90.0) % 180.0 - 90.0


def test_power_spectrum_is_the_mean_of_tile_periodograms():
    rng = np.random.default_rng(0)
    img = rng.normal(size=(256, 192))
    ps = power_spectrum(img, tile=64, step=64)
    # the same with a library tiling: skimage's view_as_blocks
    from skimage.util import view_as_blocks

    blocks = view_as_blocks(img, (64, 64)).reshape(-1, 64, 64)
    blocks = blocks - blocks.mean(axis=(1, 2), keepdims=True)
    ref = (np.abs(np.fft.fft2(blocks)) ** 2).mean(0) / 64**2
    np.testing.assert_allclose(ps, ref, rtol=1e-10)
    assert len(tile_centres(img.shape, 64, step=64)) == 12
    with pytest.raises(ValueError, match="tile"):
        power_spectrum(img, tile=512)


def test_radial_profile_of_a_ring():
    n = 64
    k = np.hypot(*np.meshgrid(np.fft.fftfreq(n), np.fft.fftfreq(n)))
    f, p = radial_profile((np.rint(k * n) == 10).astype(float))
    assert int(np.argmax(p)) == 10 and f[10] == pytest.approx(10 / n)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_defocus_within_2_percent_and_angle_within_10_deg_at_0_tilt(seed):
    """The issue's bars: defocus within 2 %; angle within 10 deg for astigmatism >= 1000 A."""
    rng = np.random.default_rng(100 + seed)
    dm, ast, ang = rng.uniform(38000, 42000), rng.uniform(1000, 2500), rng.uniform(-90, 90)
    img = simulate_micrograph(
        (1024, 1024), PX, defocus_u=dm + ast / 2, defocus_v=dm - ast / 2, astig_angle=ang, seed=seed
    )
    fit = fit_ctf(power_spectrum(img, tile=256), PX)
    assert abs(fit.defocus / dm - 1) < 0.02
    assert abs(fit.defocus_u / (dm + ast / 2) - 1) < 0.02
    assert abs(fit.defocus_v / (dm - ast / 2) - 1) < 0.02
    assert abs(_angle_error(fit.astig_angle, ang)) < 10.0
    assert fit.score > 0.1


def test_a_wrong_defocus_scores_near_zero_and_sign_matters():
    img = simulate_micrograph((768, 768), PX, defocus_u=4e4, defocus_v=4e4, astig_angle=0, seed=5)
    ps = power_spectrum(img, tile=256)
    good = fit_ctf(ps, PX, astigmatism=False)
    assert abs(good.defocus / 4e4 - 1) < 0.02
    # um read as A: a 4 A "defocus" is outside any range; 2 um: the rings do not match
    bad = fit_ctf(ps, PX, astigmatism=False, defocus_range=(15000, 25000))
    assert bad.score < 0.5 * good.score


@pytest.mark.parametrize("tilt", [60.0, -45.0])
def test_defocus_gradient_across_a_tilted_image(tilt):
    img = simulate_micrograph(
        (1024, 1024), PX, defocus_u=4e4, defocus_v=4e4, astig_angle=0, tilt=tilt,
        tilt_axis_angle=85.0, seed=3,
    )  # fmt: skip
    g = defocus_gradient(img, PX, tilt_axis_angle=85.0, n_strips=5)
    truth = np.tan(np.radians(tilt))
    assert abs(g.slope - truth) < max(3 * g.slope_error, 0.05)
    assert np.sign(g.slope) == np.sign(truth)
    assert abs(g.intercept / 4e4 - 1) < 0.02
    # each strip's defocus is the truth at its mean distance, within 2 %
    np.testing.assert_allclose(g.defocus, 4e4 + truth * g.distance, rtol=0.02)


def test_axis_distance_sign_and_axis():
    d = axis_distance((5, 5), 1.0, 0.0)  # axis along x: distance grows upwards (-y)
    assert d[0, 2] == 2.0 and d[4, 2] == -2.0 and d[2, 0] == 0.0


def test_phase_flip_restores_an_average_and_twice_undoes_it():
    px = 2.7
    truth = particle_image(96, px, seed=0)
    defoci = np.random.default_rng(1).uniform(35000, 45000, 60)
    imgs, ctfs = simulate_particles(truth, px, defoci, snr=0.1, seed=2, bfactor=50)
    band = slice(1, None)
    fr = {
        m: fsc(average_corrected(imgs, ctfs, method=m, snr=0.1), truth, voxel_size=px)[1][band]
        for m in ("raw", "flip", "flip-twice", "wiener")
    }
    assert fr["raw"].mean() < 0.0 < fr["flip"].mean() - 0.5  # raw: contrast inverted
    assert (fr["flip"] > 0).all() and (fr["raw"] < 0).mean() > 0.3
    np.testing.assert_allclose(fr["flip-twice"], fr["raw"], atol=1e-9)
    assert fr["wiener"].mean() >= fr["flip"].mean() - 0.01
    with pytest.raises(ValueError, match="full"):
        ctf.phase_flip(imgs[0], ctfs[0][:, :49])
    with pytest.raises(ValueError, match="method"):
        average_corrected(imgs, ctfs, method="flop")
