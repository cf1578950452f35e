"""Tests for emcourse.sta.tomography and sta.simulate: tilt series, CTF, WBP, tomograms."""

from pathlib import Path

import numpy as np
import pytest
import scipy.fft

from emcourse import sta

MDOC = Path(__file__).resolve().parents[2] / "shared/fixtures/tilt-metadata/TS_01.mrc.mdoc"


def test_phantom_map_unchanged():
    vol = sta.phantom_map(box=32, voxel_size=10.0)
    assert vol.shape == (32, 32, 32) and vol.dtype == np.float32
    assert vol.max() == 1.0 and vol.min() >= 0


def test_dose_symmetric_scheme_matches_empiar_10164_mdoc():
    angles = sta.tilt_scheme(min_angle=-60, max_angle=60, step=3)
    if MDOC.exists():
        text = MDOC.read_text()
        mdoc = [float(line.split("=")[1]) for line in text.splitlines() if "TiltAngle" in line]
        np.testing.assert_allclose(angles, np.round(mdoc), atol=0)
    else:  # the first tilts of that mdoc, written out
        assert angles[:9].tolist() == [0, 3, -3, -6, 6, 9, -9, -12, 12]
    assert len(angles) == 41 and sorted(angles) == list(np.arange(-60, 61, 3.0))


def test_other_schemes():
    assert sta.tilt_scheme(min_angle=-6, max_angle=6, order="sequential").tolist() == [
        -6, -3, 0, 3, 6,
    ]  # fmt: skip
    assert sta.tilt_scheme(min_angle=-6, max_angle=6, order="bidirectional").tolist() == [
        0, 3, 6, -3, -6,
    ]  # fmt: skip
    with pytest.raises(ValueError, match="unknown order"):
        sta.tilt_scheme(order="random")


def test_ctf_values():
    f, c = sta.ctf_1d(1024, voxel_size=5.0, defocus_um=2.0)
    assert c[0] == pytest.approx(-0.07)
    # first zero of -sin(chi) (A ~ 0): pi * lambda * dz * k^2 ~ pi - atan(A)
    lam = sta.electron_wavelength(300)
    assert lam == pytest.approx(0.01969, abs=1e-4)
    k0 = f[np.nonzero(np.diff(np.sign(c)))[0][0]]
    assert k0 == pytest.approx(np.sqrt(1 / (lam * 2e4)), rel=0.05)
    c2 = sta.ctf_2d((64, 64), voxel_size=5.0, defocus_um=2.0)
    _, c64 = sta.ctf_1d(64, voxel_size=5.0, defocus_um=2.0)
    np.testing.assert_allclose(c2[0, :33], c64, atol=1e-5)


def test_projection_and_wbp_roundtrip():
    rng = np.random.default_rng(0)
    vol = np.zeros((24, 8, 48), np.float32)
    blobs = rng.integers([6, 2, 10], [18, 6, 38], size=(3, 3))
    z, y, x = np.indices(vol.shape)
    for b in blobs:
        vol += np.exp(-((z - b[0]) ** 2 + (y - b[1]) ** 2 + (x - b[2]) ** 2) / 4.0)
    angles = np.arange(-60, 61, 3.0)
    proj = sta.project(vol, angles)
    # mass is conserved by the projector
    np.testing.assert_allclose(proj.sum(axis=(1, 2)), vol.sum(), rtol=0.02)
    rec = sta.weighted_backprojection(proj, angles, thickness=24)
    # the reconstruction correlates with the object and keeps its scale near the peaks
    assert np.corrcoef(rec.ravel(), vol.ravel())[0, 1] > 0.8  # 0.87: wedge + ramp
    # the missing wedge removes about a third of a small blob's Fourier mass
    assert 0.5 < rec[tuple(blobs[0])] / vol[tuple(blobs[0])] < 1.1


def test_reconstruction_misses_the_wedge():
    """What the projector samples is what wedge_mask says (asymmetric range)."""
    rng = np.random.default_rng(1)
    vol = rng.normal(size=(48, 4, 48)).astype(np.float32)
    z, x = np.ogrid[:48, :48]
    vol *= (((z - 24) ** 2 + (x - 24) ** 2) < 14**2)[:, None, :]  # compact: no rays leave
    angles = np.arange(-30, 61, 2.0)
    rec = sta.weighted_backprojection(sta.project(vol, angles), angles, thickness=48)
    power = np.abs(np.fft.rfftn(rec)) ** 2
    w = sta.wedge_mask(rec.shape, tilt_range=(-30, 60))
    inside, outside = power[w > 0].mean(), power[w == 0].mean()
    assert outside < 0.1 * inside  # interpolation leaks a little
    flipped = sta.wedge_mask(rec.shape, tilt_range=(-60, 30))
    assert power[flipped == 0].mean() > 5 * outside


def test_steep_tilts_sample_every_voxel():
    """Beyond 45 deg the projector steps along x, so WBP matches a perfect wedge."""
    zyx = np.indices((64, 8, 64)) - np.array([32, 4, 32])[:, None, None, None]
    bead = np.exp(-(zyx**2).sum(axis=0) / 8.0).astype(np.float32)  # sigma 2 voxels
    angles = np.arange(-70, 71, 2.0)
    proj = sta.project(bead, angles)
    np.testing.assert_allclose(proj.sum(axis=(1, 2)), bead.sum(), rtol=0.01)
    # a narrow bead's projection is the same Gaussian at every tilt: no gaps between rays
    np.testing.assert_allclose(proj[0].max(), proj[len(angles) // 2].max(), rtol=0.05)
    rec = sta.weighted_backprojection(proj, angles, thickness=64)
    wedge = sta.wedge_mask(bead.shape, tilt_range=(-70, 70))
    perfect = scipy.fft.irfftn(scipy.fft.rfftn(bead) * wedge, s=bead.shape)
    ratio = sta.elongation(rec)[2] / sta.elongation(perfect)[2]
    assert abs(ratio - 1) < 0.05, ratio  # 1.02; 1.52 with rays 1/cos apart at 70 deg


@pytest.fixture(scope="module")
def small_sim():
    ref = sta.phantom_map(box=16, voxel_size=20.0)
    return ref, sta.simulate_tomogram(
        ref, voxel_size=20.0, shape=(32, 96, 96), n_particles=12, snr=0.1, seed=3
    )


def test_simulate_tomogram_contents(small_sim):
    ref, sim = small_sim
    assert sim.tomogram.shape == (32, 96, 96) and sim.tomogram.dtype == np.float32
    assert sim.positions.shape == (12, 3) and sim.rotations.shape == (12, 3, 3)
    np.testing.assert_allclose(sta.euler_to_matrix(sim.eulers), sim.rotations, atol=1e-9)
    d = np.linalg.norm(sim.positions[:, None] - sim.positions[None], axis=-1)
    assert d[np.triu_indices(12, 1)].min() >= 2 * 5  # no overlaps (phantom radius > 5 voxels)
    assert sim.tilt_angles[:3].tolist() == [0.0, 3.0, -3.0]
    # the particles are where the truth says: density there is well above average
    at = sim.tomogram[tuple(np.rint(sim.positions).astype(int).T)]
    assert np.mean(at) > sim.tomogram.mean() + 2 * sim.tomogram.std()


def test_simulate_is_deterministic(small_sim):
    ref, sim = small_sim
    again = sta.simulate_tomogram(
        ref, voxel_size=20.0, shape=(32, 96, 96), n_particles=12, snr=0.1, seed=3
    )
    np.testing.assert_array_equal(sim.tomogram, again.tomogram)
    np.testing.assert_array_equal(sim.positions, again.positions)
    other = sta.simulate_tomogram(
        ref, voxel_size=20.0, shape=(32, 96, 96), n_particles=12, snr=0.1, seed=4
    )
    assert not np.allclose(sim.positions, other.positions)


def test_snr_definition():
    """Noise variance per projection is signal variance / snr (checked via two seeds' noise)."""
    ref = sta.phantom_map(box=16, voxel_size=20.0)
    kw = dict(voxel_size=20.0, shape=(32, 64, 64), n_particles=4, seed=0)
    clean = sta.simulate_tomogram(ref, snr=np.inf, **kw).tomogram
    noisy = sta.simulate_tomogram(ref, snr=1.0, **kw).tomogram
    noisier = sta.simulate_tomogram(ref, snr=0.25, **kw).tomogram
    ratio = (noisier - clean).var() / (noisy - clean).var()
    assert ratio == pytest.approx(4.0, rel=0.1)


def test_too_crowded_raises():
    ref = sta.phantom_map(box=16, voxel_size=20.0)
    with pytest.raises(ValueError, match="non-overlapping"):
        sta.simulate_tomogram(ref, voxel_size=20.0, shape=(24, 48, 48), n_particles=50)


def test_elongation_of_anisotropic_gaussian():
    z, y, x = np.indices((48, 9, 48)) - np.array([24, 4, 24])[:, None, None, None]
    blob = np.exp(-(z**2 / (2 * 6.0**2) + y**2 / 8.0 + x**2 / (2 * 3.0**2)))
    wz, wx, ratio = sta.elongation(blob)
    assert wz == pytest.approx(2.3548 * 6.0, rel=0.01)
    assert wx == pytest.approx(2.3548 * 3.0, rel=0.01)
    assert ratio == pytest.approx(2.0, rel=0.02)
    with pytest.raises(ValueError, match="half its maximum"):
        sta.elongation(np.ones((4, 4, 4)))


# ------------------------------------------------- a real tilt table's tilts, defocus and dose


def test_tomogram_acquisition_follows_the_table():
    table = sta.standin_tilt_table()
    acq = sta.tomogram_acquisition(table)
    order = np.argsort(table["pre_exposure"])
    np.testing.assert_array_equal(acq["tilt_angles"], table["tilt"][order])
    mean = 0.5 * (table["defocus_u"] + table["defocus_v"])[order] / 1e4
    np.testing.assert_allclose(acq["defocus_um"], mean)
    # mid-exposure: the pre-exposure plus half of one image's 3 e/A^2
    np.testing.assert_allclose(acq["exposure"], table["pre_exposure"][order] + 1.5)


def test_simulate_with_a_tilt_table_and_without_flipping():
    """Per-tilt defocus and exposure are used; without the flip the contrast is inverted."""
    ref = sta.phantom_map(box=16, voxel_size=20.0)
    acq = sta.tomogram_acquisition(sta.standin_tilt_table())
    kw = dict(voxel_size=20.0, shape=(32, 64, 64), n_particles=4, snr=np.inf, seed=0)
    kw.update(amplitude_contrast=0.1, **acq)
    flipped = sta.simulate_tomogram(ref, **kw)
    raw = sta.simulate_tomogram(ref, correction="none", **kw)
    assert len(flipped.tilt_angles) == 40 and flipped.tilt_range[0] == pytest.approx(-57, abs=0.01)
    np.testing.assert_allclose(flipped.defocus_per_tilt, acq["defocus_um"])
    np.testing.assert_allclose(flipped.exposure, acq["exposure"])
    assert flipped.correction == "flip" and raw.correction == "none"
    at = tuple(np.rint(flipped.positions).astype(int).T)
    # at 20 A voxels (Nyquist 40 A) the whole band lies before the first zero (28 A at 3.9 um):
    # flipped, the particles are bright; not flipped, dark (the CTF is negative there)
    assert flipped.tomogram[at].mean() > 0 > raw.tomogram[at].mean()
    # the damage of the exposure lowers what the later tilts contribute
    undamaged = sta.simulate_tomogram(ref, **{**kw, "exposure": None})
    assert np.abs(undamaged.tomogram).sum() > np.abs(flipped.tomogram).sum()


def test_simulate_refuses_mismatched_per_tilt_values():
    ref = sta.phantom_map(box=16, voxel_size=20.0)
    kw = dict(voxel_size=20.0, shape=(32, 64, 64), n_particles=2, tilt_angles=[0.0, 3.0, -3.0])
    with pytest.raises(ValueError, match="one per tilt"):
        sta.simulate_tomogram(ref, defocus_um=[3.9, 4.0], **kw)
    with pytest.raises(ValueError, match="one value per tilt"):
        sta.simulate_tomogram(ref, exposure=[1.5], **kw)
    with pytest.raises(ValueError, match="either dose_per_tilt or exposure"):
        sta.simulate_tomogram(ref, exposure=[1.5, 4.5, 7.5], dose_per_tilt=3.0, **kw)
    with pytest.raises(ValueError, match="correction"):
        sta.simulate_tomogram(ref, correction="wiener", **kw)
