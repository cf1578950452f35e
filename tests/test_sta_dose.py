"""sta.dose: the critical exposure, the exposure filter, the B-factor damage, weighted sums."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage

from emcourse import sta
from emcourse.sta import ctf_sim, dose


def test_critical_exposure_is_the_papers_fit_and_scales_at_200_kv():
    k = np.array([1 / 40, 1 / 10, 1 / 4])
    assert np.allclose(dose.critical_exposure(k), 0.245 * k**-1.665 + 2.81, rtol=1e-12)
    assert np.allclose(dose.critical_exposure(k, voltage=200), 0.8 * dose.critical_exposure(k))
    assert np.isinf(dose.critical_exposure(0.0))
    # the programs' longer constants (cisTEM electron_dose.cpp) agree within 0.1 %
    kk = np.linspace(1 / 100, 1 / 3, 200)
    longer = dose.critical_exposure(kk, constants=(0.24499, -1.6649, 2.8141))
    assert np.abs(dose.critical_exposure(kk) / longer - 1).max() < 0.001


def test_critical_exposure_refuses_other_voltages():
    with pytest.raises(ValueError, match="120"):
        dose.critical_exposure(0.1, voltage=120.0)


def test_exposure_filter_is_one_at_zero_exposure_and_at_dc_and_matches_the_formula():
    w = dose.exposure_filter([0.0, 10.0, 40.0], (16, 12), 2.0)
    assert w.shape == (3, 16, 12)
    assert np.allclose(w[0], 1.0) and np.allclose(w[:, 0, 0], 1.0)
    k = 3 / (12 * 2.0)  # column 3 on the x axis
    assert np.isclose(w[2, 0, 3], np.exp(-40 / (2 * (0.245 * k**-1.665 + 2.81))))
    half = dose.exposure_filter([10.0], (16, 12), 2.0, rfft=True)
    assert half.shape == (1, 16, 7) and np.allclose(half[0], w[1][:, :7])


def test_bfactor_damage_is_scipys_fourier_gaussian():
    rng = np.random.default_rng(0)
    img = rng.normal(size=(32, 32))
    d = dose.bfactor_damage([30.0], img.shape, 2.7, b_per_dose=8.0)[0]
    ours = np.fft.ifft2(np.fft.fft2(img) * d).real
    sigma = np.sqrt(8.0 * 30.0 / (8 * np.pi**2)) / 2.7
    theirs = np.fft.ifft2(scipy.ndimage.fourier_gaussian(np.fft.fft2(img), sigma)).real
    assert np.abs(ours - theirs).max() < 1e-10


def test_simulate_dose_series_noise_level_and_damage():
    truth = ctf_sim.particle_image(32, 2.7, seed=0)
    imgs, damage = dose.simulate_dose_series(
        truth, [0.0, 60.0], pixel_size=2.7, b_per_dose=8.0, snr=0.5, seed=0
    )
    clean, _ = dose.simulate_dose_series(
        truth, [0.0, 60.0], pixel_size=2.7, b_per_dose=8.0, snr=np.inf
    )
    assert np.allclose(clean[0], truth)
    noise = imgs - clean
    assert abs(noise.var() / (truth.var() / 0.5) - 1) < 0.1
    assert clean[1].std() < clean[0].std()  # the damaged image has lost detail


def test_weighted_sum_with_the_true_damage_beats_the_plain_mean():
    truth = ctf_sim.particle_image(64, 2.7, seed=0)
    pre = 3.0 * np.arange(20)
    imgs, damage = dose.simulate_dose_series(
        truth, pre, pixel_size=2.7, b_per_dose=8.0, snr=0.3, seed=1
    )
    f, plain = sta.fsc(dose.weighted_sum(imgs), truth, voxel_size=2.7)
    _, best = sta.fsc(dose.weighted_sum(imgs, damage), truth, voxel_size=2.7)
    assert best[1:].mean() > plain[1:].mean()


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_the_lessons_claims_hold_for_other_seeds(seed):
    """Lesson "Weight the tilts by their dose": the margins it states, on four seeds."""
    pre = sta.standin_tilt_table()["pre_exposure"]
    px, box = 2.7, 128
    truth = ctf_sim.particle_image(box, px, seed=seed)
    imgs, damage = dose.simulate_dose_series(
        truth, pre, pixel_size=px, b_per_dose=8.0, snr=0.3, seed=seed + 10
    )
    w = dose.exposure_filter(pre, (box, box), px)
    weights = {
        "none": None,
        "filter": w,
        "twice": w**2,
        "nm": dose.exposure_filter(pre, (box, box), px / 10),
        "per tilt": dose.exposure_filter(sta.dose_per_tilt(pre), (box, box), px),
        "true": damage,
    }
    m = {n: sta.fsc(dose.weighted_sum(imgs, x), truth, voxel_size=px)[1][1:].mean()
         for n, x in weights.items()}  # fmt: skip
    assert m["filter"] - m["none"] > 0.03 and 0.04 < m["filter"] - m["none"] < 0.06
    assert m["true"] - m["filter"] < 0.01
    assert m["none"] < m["twice"] < m["filter"]
    assert m["nm"] < m["none"]
    assert abs(m["per tilt"] - m["none"]) < 0.005


def test_simulate_tomogram_still_filters_by_the_dose():
    ref = sta.phantom_map(box=16, voxel_size=20.0)
    opts = dict(voxel_size=20.0, shape=(32, 64, 64), n_particles=4, snr=np.inf, seed=0)
    plain = sta.simulate_tomogram(ref, **opts).tomogram
    dosed = sta.simulate_tomogram(ref, dose_per_tilt=3.0, **opts).tomogram
    assert dosed.std() < plain.std()
