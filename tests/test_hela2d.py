"""The real HeLa mitochondria slices (hela-mito2d): cell region, stand-in, and the real bytes."""

import numpy as np
import pytest
from conftest import fixture_file
from scipy import ndimage as ndi
from skimage.morphology import disk

from emcourse import data
from emcourse.data.registry import file_urls
from emcourse.segment import hela2d
from emcourse.segment.hela2d import (
    MitoSlices,
    cell_region,
    instances_from_channels,
    region_dice,
)

TRUE_PAIRING_DICE = {1: 0.967, 30: 0.894, 60: 0.862, 116: 0.979, 150: 0.964}
GT2_NAMED = {1: 1, 30: 2, 60: 4, 116: 26, 150: 28}  # true slice -> the z its GT2_ file names


def test_instances_from_channels_numbers_each_channel():
    stack = np.zeros((4, 5, 3), np.uint8)
    stack[0, :2, 0] = 1
    stack[3, 4, 2] = 255
    lab = instances_from_channels(stack)
    assert lab.dtype == np.uint16 and lab[0, 0] == lab[0, 1] == 1 and lab[3, 4] == 3
    assert (lab > 0).sum() == 3  # channel 1 is empty: its number is unused
    with pytest.raises(ValueError, match="H, W, K"):
        instances_from_channels(np.zeros((4, 5)))


def test_cell_region_is_a_disc_dilation_with_holes_filled():
    lab = np.zeros((80, 80), np.uint16)
    lab[20:60, 20] = 1  # a ring of objects: its inside must be filled
    lab[20:60, 59] = 2
    lab[20, 20:60] = 3
    lab[59, 20:60] = 4
    region = cell_region(lab, pixel_nm=10.0, margin_nm=50.0)
    dilated = ndi.binary_dilation(lab > 0, structure=disk(5))  # 5 px = 50 nm
    assert np.array_equal(region, ndi.binary_fill_holes(dilated))
    assert region[40, 40] and not dilated[40, 40]
    assert np.array_equal(cell_region(np.stack([lab, lab]), 10.0, margin_nm=50.0)[1], region)
    assert not cell_region(np.zeros((5, 5)), 10.0).any()


def test_region_dice_counts_only_inside():
    truth = np.zeros((10, 10), int)
    truth[2:5, 2:5] = 1
    pred = truth.copy()
    pred[7:, 7:] = 1  # a false positive outside the region
    region = np.zeros((10, 10), bool)
    region[:6, :6] = True
    assert region_dice(truth, pred, region) == 1.0
    assert region_dice(truth, pred, np.ones_like(region)) < 1.0


@pytest.fixture(scope="module")
def standin():
    return hela2d.hela2d_standin(seed=0)


def test_standin_looks_like_the_real_slices(standin):
    s = standin
    assert isinstance(s, MitoSlices) and s.images.dtype == np.uint8 and s.pixel_nm == 10.0
    assert s.z == (1, 30, 60, 116, 150) and s.images.shape == s.first.shape == s.revised.shape
    for i in range(len(s.z)):
        img, first, cell = s.images[i], s.first[i], s.cell[i]
        # backscatter contrast: mitochondria darker than the cytoplasm around them
        contrast = img[cell & (s.revised[i] == 0)].mean() - img[first > 0].mean()
        assert 60 < contrast < 80  # book/data.md: 60-80 grey levels (19 on real z 116)
        # one labelled cell: every first-pass label inside it, and the cell is not the slice
        assert cell[first > 0].all() and 0.05 < cell.mean() < 0.7
        d = region_dice(first, s.revised[i], cell)
        assert 0.86 <= d <= 0.98, (s.z[i], d)  # the real passes: 0.86-0.98
    n_first = [len(np.unique(f)) - 1 for f in s.first]
    n_revised = [len(np.unique(r)) - 1 for r in s.revised]
    assert all(a <= b for a, b in zip(n_first, n_revised, strict=True))
    assert sum(n_revised) > sum(n_first)  # the revised pass adds what the first missed


def test_standin_is_deterministic(standin):
    again = hela2d.hela2d_standin(seed=0)
    assert np.array_equal(again.images, standin.images)
    assert np.array_equal(again.revised, standin.revised)


def test_offline_load_gives_the_announced_standin(data_env, monkeypatch, capsys):
    monkeypatch.setenv("EMCOURSE_OFFLINE", "1")
    s = data.load("hela-mito2d")
    assert isinstance(s, MitoSlices) and not s.source.real and s.z == (1, 30, 60, 116, 150)
    assert "synthetic stand-in" in capsys.readouterr().out


def test_files_that_are_not_what_the_roles_say_are_refused(tmp_path):
    """Format checks (the pinned sha256 already refuses other bytes; these name the problem)."""
    import tifffile

    from emcourse.data.kinds_hela2d import validate_mito_slices

    entry = data.registry()["hela-mito2d"]
    page = tmp_path / "x.mat"
    page.write_bytes(b"<html>not found</html>")
    with pytest.raises(ValueError, match="MATLAB v5"):
        validate_mito_slices(page, entry, "revised_z0030")
    with pytest.raises(ValueError, match="TIFF"):
        validate_mito_slices(page, entry, "im_z0030")
    stack = tmp_path / "stack.tif"
    tifffile.imwrite(stack, np.zeros((2, 4, 4), np.uint8))
    with pytest.raises(ValueError, match="2D slice"):
        validate_mito_slices(stack, entry, "im_z0030")
    good = tmp_path / "good.mat"
    import scipy.io

    scipy.io.savemat(good, {"groundTruthM": np.zeros((4, 4, 2), np.uint8)})
    validate_mito_slices(good, entry, "first_z0001")


def test_registry_pairs_each_revised_file_with_its_true_slice():
    urls = file_urls(data.registry()["hela-mito2d"])
    for z, named in GT2_NAMED.items():
        assert urls[f"revised_z{z:04d}"].endswith(f"GT2_ROI_6005_4739_81_z{named:04d}.mat")


# ------------------------------------------------------------- real bytes


def _serve_real(server):
    urls = file_urls(data.registry()["hela-mito2d"])
    for url in urls.values():
        rel = "seg-hela-mito2d/CODE/" + url.split("/CODE/", 1)[1]
        server.put(url, fixture_file(rel).read_bytes())


@pytest.mark.realdata
def test_real_slices_and_the_wrong_gt2_names(archive_server):
    """The evidence for the data page: the passes agree only when paired by the true slice."""
    _serve_real(archive_server)
    s = data.load("hela-mito2d", standin=False)
    assert s.source.real and "GPL-3" in s.source.licence
    assert s.images.shape == (5, 2000, 2000) and s.images.dtype == np.uint8
    assert [len(np.unique(f)) - 1 for f in s.first] == [29, 31, 21, 35, 15]
    assert [len(np.unique(r)) - 1 for r in s.revised] == [35, 40, 34, 38, 17]
    for z, expected in TRUE_PAIRING_DICE.items():
        i = s.index(z)
        assert region_dice(s.first[i], s.revised[i], np.ones((2000, 2000), bool)) == (
            pytest.approx(expected, abs=0.001)
        )
    # paired by name, each misnamed GT2_ file against the slice nearest the z its name gives
    nearest = {2: 1, 4: 1, 26: 30, 28: 30}
    by_true = {named: s.index(z) for z, named in GT2_NAMED.items()}
    for named, z_near in nearest.items():
        d = region_dice(s.first[s.index(z_near)], s.revised[by_true[named]], np.ones((2000, 2000)))
        assert d <= 0.15, (named, d)
    i = s.index(116)
    img = s.images[i]
    contrast = img[s.cell[i] & (s.revised[i] == 0)].mean() - img[s.first[i] > 0].mean()
    assert contrast == pytest.approx(19, abs=1)  # book/data.md
    # the cell region covers the labels and a margin, not the slice
    assert all(0.05 < c.mean() < 0.25 for c in s.cell)
