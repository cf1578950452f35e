"""Volumes beyond memory: blockwise with halos equals in memory, OME-Zarr round trip,
a dask.distributed LocalCluster run, and peak memory that does not follow the volume."""

import json

import dask
import dask.array as da
import numpy as np
import pytest
import zarr
from conftest import needs

from emcourse import io, memory, segment

SETTINGS = dict(sigma=1.5, low=90.0, high=140.0, opening_radius=1)


@pytest.fixture(scope="module")
def volume():
    """Dark blobs under noise, seeded: the band catches blobs and speckle near seams."""
    vol = segment.hela_standin((48, 64, 64), seed=1)
    return vol.em


def test_reach_adds_the_gaussian_and_twice_the_opening_radius():
    assert segment.pipeline_reach(2.0, 2) == 8 + 4
    assert segment.pipeline_reach(1.5, 0) == 6
    assert segment.pipeline_reach(1.0, 1, truncate=3.0) == 5
    with pytest.raises(ValueError, match="must be >= 0"):
        segment.pipeline_reach(-1.0, 1)


@pytest.mark.parametrize(
    "chunks", [(16, 32, 32), ((24, 24), (20, 22, 22), (40, 24)), (48, 64, (13, 13, 13, 13, 12))]
)
def test_blockwise_equals_in_memory(volume, chunks):
    lazy = da.from_array(volume, chunks=chunks)
    low, high = np.percentile(volume, [5, 40])
    kw = dict(SETTINGS, low=float(low), high=float(high))
    with dask.config.set(scheduler="threads", num_workers=2):
        blockwise = segment.blockwise_mito_mask(lazy, **kw).compute()
    reference = segment.mito_mask(volume, **kw)
    assert 0.01 < reference.mean() < 0.9  # a mask with both classes, not a trivial one
    assert np.array_equal(blockwise, reference)


def test_a_halo_too_small_breaks_the_seams_and_only_there(volume):
    low, high = np.percentile(volume, [5, 40])
    kw = dict(SETTINGS, low=float(low), high=float(high))
    lazy = da.from_array(volume, chunks=(16, 32, 32))
    reference = segment.mito_mask(volume, **kw)
    reach = segment.pipeline_reach(kw["sigma"], kw["opening_radius"])
    near = segment.seam_distance(lazy.chunks)
    for halo in (0, 1, 3):  # the Gaussian alone reaches 6
        wrong = segment.blockwise_mito_mask(lazy, **kw, halo=halo).compute() != reference
        assert wrong.sum() > 0, halo
        assert near[wrong].max() < reach, halo
    with pytest.raises(ValueError, match="wider than the smallest block"):
        segment.blockwise_mito_mask(lazy, **kw, halo=17)


def test_seam_distance_counts_from_both_sides_of_each_seam():
    d = segment.seam_distance(((3, 3), (4,)))
    assert d.shape == (6, 4)
    assert d[:, 0].tolist() == [2, 1, 0, 0, 1, 2]
    assert segment.seam_distance(((5,),)).tolist() == [5] * 5  # no seam


def test_block_bytes_counts_the_halo_and_the_dtype():
    assert segment.block_bytes((10, 10, 10)) == 1000
    assert segment.block_bytes((10, 10, 10), halo=5, itemsize=4, copies=2) == 20**3 * 8


def test_synthetic_blocks_are_the_same_whatever_the_order():
    lazy = segment.synthetic_blocks((64, 64, 64), chunks=32, seed=4)
    whole = lazy.compute()
    assert whole.dtype == np.uint8 and 60 <= whole.min() and whole.max() <= 235
    one = lazy.blocks[1, 0, 1].compute()  # computed alone, after the others
    assert np.array_equal(one, whole[32:, :32, 32:])
    other = segment.synthetic_blocks((64, 64, 64), chunks=32, seed=5).compute()
    assert not np.array_equal(whole, other)


def test_ome_zarr_round_trip_keeps_voxels_chunks_and_metadata(tmp_path, volume):
    path = tmp_path / "v.ome.zarr"
    io.write_ome_zarr(path, volume, voxel_size_nm=(20.0, 8.0, 8.0), chunks=(16, 32, 32), name="x")
    attrs = json.loads((path / ".zattrs").read_text())  # zarr format 2, OME-Zarr 0.4
    assert (path / ".zgroup").exists() and (path / "0" / ".zarray").exists()
    ms = attrs["multiscales"][0]
    assert ms["version"] == "0.4" and ms["name"] == "x"
    assert [a["name"] for a in ms["axes"]] == ["z", "y", "x"]
    assert {a["unit"] for a in ms["axes"]} == {"nanometer"}
    assert ms["datasets"][0]["path"] == "0"
    assert ms["datasets"][0]["coordinateTransformations"] == [
        {"type": "scale", "scale": [20.0, 8.0, 8.0]}
    ]
    lazy, voxel = io.read_ome_zarr(path)
    assert isinstance(lazy, da.Array) and lazy.chunksize == (16, 32, 32)
    assert voxel == (20.0, 8.0, 8.0)
    assert np.array_equal(lazy.compute(), volume)


def test_ome_zarr_writes_a_dask_array_block_by_block(tmp_path):
    lazy = segment.synthetic_blocks((40, 48, 48), chunks=(20, 24, 24), seed=0)
    io.write_ome_zarr(tmp_path / "s.ome.zarr", lazy, voxel_size_nm=15.0, chunks=(16, 32, 32))
    back, voxel = io.read_ome_zarr(tmp_path / "s.ome.zarr")
    assert voxel == (15.0, 15.0, 15.0) and back.chunksize == (16, 32, 32)
    assert np.array_equal(back.compute(), lazy.compute())


def test_read_ome_zarr_reads_version_05_and_micrometres_and_refuses_plain_zarr(tmp_path):
    g = zarr.open_group(str(tmp_path / "v05.zarr"), mode="w", zarr_format=3)
    ms = io.ome_zarr_metadata(0.01)["multiscales"][0]
    ms = dict(ms, version="0.5", axes=[dict(a, unit="micrometer") for a in ms["axes"]])
    g.attrs["ome"] = {"version": "0.5", "multiscales": [ms]}
    g.create_array("0", shape=(4, 4, 4), chunks=(2, 2, 2), dtype="uint8")
    _, voxel = io.read_ome_zarr(tmp_path / "v05.zarr")
    assert voxel == pytest.approx((10.0, 10.0, 10.0))
    plain = zarr.open_group(str(tmp_path / "plain.zarr"), mode="w", zarr_format=2)
    plain.create_array("0", shape=(4, 4, 4), chunks=(2, 2, 2), dtype="uint8")
    with pytest.raises(ValueError, match="expected an OME-Zarr group"):
        io.read_ome_zarr(tmp_path / "plain.zarr")
    with pytest.raises(ValueError, match="asked for level 1"):
        io.read_ome_zarr(tmp_path / "v05.zarr", level=1)


def test_the_same_graph_runs_on_a_local_distributed_cluster(tmp_path, volume):
    try:
        import distributed
    except ImportError:
        needs("distributed (pip install distributed)", "a LocalCluster to run the graph on")
    io.write_ome_zarr(tmp_path / "v.ome.zarr", volume, voxel_size_nm=15.0, chunks=(16, 32, 32))
    lazy, _ = io.read_ome_zarr(tmp_path / "v.ome.zarr")
    low, high = np.percentile(volume, [5, 40])
    kw = dict(SETTINGS, low=float(low), high=float(high))
    graph = segment.blockwise_mito_mask(lazy, **kw)
    # threads in this process: no network, no spawned interpreters, quick on 2 cores
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster, timeout="30s") as client,
    ):
        result = client.compute(graph).result(timeout=60)
        assert client.scheduler_info()["workers"]  # it ran on the cluster's worker
    assert np.array_equal(result, segment.mito_mask(volume, **kw))


def test_peak_memory_grows_far_less_than_the_volume(tmp_path):
    shapes = [(64, 256, 256), (1024, 256, 256)]  # 4 and 64 MiB, growing in z as FIB-SEM runs do
    paths = []
    for i, shape in enumerate(shapes):
        lazy = segment.synthetic_blocks(shape, chunks=(32, 128, 128), seed=0)
        paths.append(tmp_path / f"v{i}.ome.zarr")
        io.write_ome_zarr(paths[-1], lazy, voxel_size_nm=15.0, chunks=(32, 128, 128))
    report = memory.peak_memory_blockwise(
        paths, out_dir=tmp_path, sigma=1.0, low=60.0, high=120.0, opening_radius=0
    )
    small, large = report["runs"]
    assert large["volume_bytes"] - small["volume_bytes"] == 60 * 2**20
    assert report["baseline_bytes"] < small["peak_bytes"]
    grew = large["peak_bytes"] - small["peak_bytes"]
    # measured 23-31 MiB on a loaded 2-core machine: the blocks waiting for neighbours and the
    # larger task graph; a pipeline that held the volume would grow by 60 MiB
    assert grew < 0.75 * (large["volume_bytes"] - small["volume_bytes"]), report
    assert zarr.open_group(str(tmp_path / "mask-1.ome.zarr"), mode="r")["0"].shape == shapes[1]


def test_own_peak_rises_with_an_allocation():
    before = memory.own_peak_bytes()
    block = np.ones(64 * 2**20, np.uint8)  # touched: resident
    assert memory.own_peak_bytes() >= min(before, 0) + block.nbytes


def test_docstring_examples():
    import doctest

    from emcourse.io import omezarr
    from emcourse.segment import blockwise

    for module in (blockwise, omezarr):
        assert doctest.testmod(module, optionflags=doctest.ELLIPSIS).failed == 0
