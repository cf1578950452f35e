"""The stand-in, the classical pipeline (quality bar), preprocessing and morphometry."""

import numpy as np
import pytest

from emcourse import segment


@pytest.fixture(scope="module")
def block():
    return segment.hela_standin((64, 256, 256), seed=0)


def test_standin_is_seeded_and_shaped_like_the_real_volume(block):
    assert block.em.dtype == np.uint8 and block.em.shape == (64, 256, 256)
    assert block.labels.dtype == np.uint16 and block.voxel_size == 15.0
    again = segment.hela_standin((16, 32, 32), seed=3)
    assert np.array_equal(again.em, segment.hela_standin((16, 32, 32), seed=3).em)
    # mitochondria darker than the cytoplasm (inverted FIB-SEM contrast), 200-500 nm across
    assert np.median(block.em[block.labels > 0]) < np.median(block.em[block.labels == 0]) - 30
    fraction = (block.labels > 0).mean()
    assert 0.03 < fraction < 0.25


def test_classical_pipeline_meets_the_quality_bar(block):
    smooth = segment.denoise(block.em, "gaussian", sigma=2.0)
    low, high = segment.band_from_labels(smooth, block.labels)
    labels = segment.segment_mitochondria(block.em, voxel_size=15.0, low=low, high=high)
    assert segment.dice(block.labels, labels) >= 0.85
    assert segment.match_instances(block.labels, labels).f1 >= 0.75


def test_split_touching_separates_two_balls():
    z, y, x = np.indices((30, 30, 50))
    a = (z - 15) ** 2 + (y - 15) ** 2 + (x - 15) ** 2 <= 100
    b = (z - 15) ** 2 + (y - 15) ** 2 + (x - 35) ** 2 <= 100
    lab = segment.split_touching(a | b, core_nm=75.0, voxel_size=15.0)
    assert lab.max() == 2 and segment.match_instances(a + 2 * (b & ~a), lab).f1 == 1.0


def test_remove_small_uses_physical_volume():
    mask = np.zeros((10, 10, 10), bool)
    mask[0:2, 0:2, 0:2] = True  # 8 voxels of 10 nm = 8000 nm^3
    mask[5:9, 5:9, 5:9] = True  # 64 voxels
    out = segment.remove_small(mask, min_volume_nm3=10_000.0, voxel_size=10.0)
    assert out.sum() == 64


def test_denoising_improves_psnr(block):
    clean, noisy = block.clean[32], block.em[32]
    before = segment.score_denoising(clean, noisy)["psnr"]
    after = [
        segment.score_denoising(clean, segment.denoise(noisy, m))["psnr"]
        for m in ("gaussian", "median", "nlm")
    ]
    assert min(after) > before and max(after) > before + 1, (before, after)
    with pytest.raises(ValueError, match="unknown method"):
        segment.denoise(noisy, "wiener")


def test_destripe_removes_curtains():
    s = segment.hela_standin((4, 256, 256), seed=2, curtaining=15.0, noise=0.0)
    flat = segment.hela_standin((4, 256, 256), seed=2, noise=0.0)
    err_before = np.abs(s.em.astype(float) - flat.em).mean()
    err_after = np.abs(segment.destripe(s.em) - flat.em).mean()
    assert err_after < 0.5 * err_before


def test_morphometry_of_a_ball():
    r = 10
    z, y, x = np.indices((2 * r + 5,) * 3) - (r + 2)
    ball = (z**2 + y**2 + x**2 <= r**2).astype(np.uint8)
    out = segment.measure_objects(ball, voxel_size=20.0)
    r_um = r * 0.02
    assert out["volume_um3"][0] == pytest.approx(4 / 3 * np.pi * r_um**3, rel=0.03)
    assert out["area_um2"][0] == pytest.approx(4 * np.pi * r_um**2, rel=0.05)
    assert out["sphericity"][0] == pytest.approx(1.0, abs=0.05)
    assert not out["touches_border"][0]


def test_anisotropy():
    assert segment.anisotropy(15.0) == 1.0
    assert segment.anisotropy((50, 5, 5)) == 10.0
    with pytest.raises(ValueError):
        segment.anisotropy((0, 1, 1))
