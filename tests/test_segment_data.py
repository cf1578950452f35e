"""The segmentation datasets: real bytes through a local mirror, and the announced stand-ins."""

import numpy as np
import pytest
from conftest import fixture_file

from emcourse import data
from emcourse.data.registry import file_urls
from emcourse.segment import VemVolume


def _serve(server, name, files):
    for role, rel in files.items():
        server.put(file_urls(data.registry()[name])[role], fixture_file(rel).read_bytes())


def test_gala_blocks_are_read_from_the_real_files(archive_server):
    _serve(
        archive_server,
        "gala-fib25-test",
        {"em": "vem-gala-fibsem/test-image.h5", "labels": "vem-gala-fibsem/test-gt.lzf.h5"},
    )
    files = {"labels": "vem-gala-fibsem/train-gt.lzf.h5"}
    files |= {f"im{i:02d}": f"vem-gala-fibsem/train-image-png/im{i:02d}.png" for i in range(50)}
    _serve(archive_server, "gala-fib25-train", files)
    for name, n_ids in (("gala-fib25-test", 132), ("gala-fib25-train", 87)):
        v = data.load(name, standin=False)
        assert v.source.real and v.em.shape == (50, 100, 200) == v.labels.shape
        assert v.em.dtype == np.uint8 and len(np.unique(v.labels[v.labels > 0])) == n_ids


def test_celegans_crop_and_its_wrong_calibration(archive_server):
    _serve(
        archive_server,
        "empiar-10982-c-elegans-crop",
        {"main": "vem-empiar10982-celegans-crop/xyz_8bit__em_volume_tiff_series.zip"},
    )
    v = data.load("empiar-10982-c-elegans-crop", standin=False)
    assert v.source.real and v.em.shape == (21, 256, 256) and v.em.dtype == np.uint8
    assert v.file_voxel_size[1] == pytest.approx(1.0)  # what the TIFF claims: 1 unit per pixel
    assert v.voxel_size == 24.0  # what the benchmark says


def test_offline_gives_announced_standins(data_env, monkeypatch, capsys):
    monkeypatch.setenv("EMCOURSE_OFFLINE", "1")
    v = data.load("gala-fib25-test")
    assert isinstance(v, VemVolume) and not v.source.real and v.labels.shape == (50, 100, 200)
    assert "synthetic stand-in" in capsys.readouterr().out
    with pytest.raises(Exception, match="EMCOURSE_OFFLINE"):
        data.load("gala-fib25-test", standin=False)
    with pytest.raises(KeyError):
        data.load("hela")


def test_a_broken_file_is_refused_with_its_name(archive_server):
    urls = file_urls(data.registry()["empiar-10982-hela-cell"])
    archive_server.put(urls["em"], b"not a tiff at all")
    archive_server.put(urls["labels"], b"not a tiff either")
    with pytest.raises(data.DataUnavailableError, match="TIFF"):
        data.load("empiar-10982-hela-cell", standin=False)


def test_hela_files_are_read_with_the_registry_voxel_size(archive_server, tmp_path):
    import tifffile

    urls = file_urls(data.registry()["empiar-10982-hela-cell"])
    em = np.random.default_rng(0).integers(0, 255, (4, 16, 16), dtype=np.uint8)
    lab = np.zeros((4, 16, 16), np.uint16)
    lab[1:3, 4:9, 4:9] = 1
    for role, arr in (("em", em), ("labels", lab)):
        tifffile.imwrite(
            tmp_path / f"{role}.tif", arr, resolution=(1.0, 1.0), photometric="minisblack"
        )
        archive_server.put(urls[role], (tmp_path / f"{role}.tif").read_bytes())
    v = data.load("empiar-10982-hela-cell", standin=False)
    assert v.source.real and v.voxel_size == 15.0 and v.file_voxel_size == (None, 1.0, 1.0)
    assert np.array_equal(v.em, em) and np.array_equal(v.labels, lab)


def test_slice_wise_noise_draws_the_same_numbers_as_one_call():
    # the stand-ins draw their noise a z slice at a time to bound memory; the
    # volumes (and so every number the lessons state) must not change
    from emcourse.segment import standin

    shape = (5, 7, 9)
    a, b = np.random.default_rng(2), np.random.default_rng(2)
    assert np.array_equal(standin._normal32(a, shape), b.standard_normal(shape).astype(np.float32))
    lam = np.random.default_rng(3).random(shape) * 20
    assert np.array_equal(standin._poisson32(a, lam), b.poisson(lam).astype(np.float32))
    assert a.random() == b.random()  # both generators end in the same state
