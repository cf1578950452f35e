"""Data layer: tiers cache -> mirror -> archive -> stand-in, against a local HTTP server."""

from __future__ import annotations

import gzip
import hashlib
import importlib
import json
import multiprocessing
import os
import socket
import stat
import tomllib

import mrcfile
import numpy as np
import pytest
from conftest import CLOSED_PORT_URL, EMD_1832_URL, EMD_3197_URL, fixture_file, synthetic_map_gz

from emcourse import data, io
from emcourse.data import cache, kinds
from emcourse.data.registry import file_urls

pytestmark = pytest.mark.usefixtures("data_env")
# The module; `data.registry` (and `import emcourse.data.registry as m`) is the function.
REGISTRY = importlib.import_module("emcourse.data.registry")


def _files(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def _only_announcement(out: str) -> list[str]:
    return [line for line in out.splitlines() if "synthetic stand-in" in line]


# ------------------------------------------------------------------------ registry


def test_registry_entries_are_complete():
    required = {
        "archive",
        "accession",
        "size",
        "sha256",
        "licence",
        "citation",
        "subset",
        "kind",
        "standin",
        "verified",
        "unverified",
    }
    entries = data.registry()
    assert {"emd-3197", "emd-1832", "empiar-10164-ts-01-mdoc"} <= set(entries)
    for name, entry in entries.items():
        assert required <= set(entry), name
        assert name == name.lower() and " " not in name
        assert all(u.startswith("https://") for u in file_urls(entry).values()), name
        assert entry["kind"] in kinds.KINDS
        assert entry["size"] <= 50e6, f"{name}: a lesson may download at most 50 MB"


def test_registry_markdown_has_a_linked_row_per_dataset():
    md = data.registry_markdown()
    lines = md.strip().splitlines()
    assert lines[0].startswith("| Name | Archive | Accession")
    assert len(lines) == 2 + len(data.registry())
    assert "[EMD-3197](https://www.ebi.ac.uk/emdb/EMD-3197)" in md


def test_unknown_name_says_what_is_known():
    with pytest.raises(KeyError, match="emd-3197"):
        data.load("no-such-dataset")


# ------------------------------------------------------------------ tiers and cache


def test_download_then_cache_hit_with_network_gone(archive_server, emd_3197_bytes, data_env):
    archive_server.put(EMD_3197_URL, emd_3197_bytes)
    before = data.bytes_downloaded()
    vol = data.load("emd-3197")
    assert vol.source.real and vol.source.accession == "EMD-3197"
    assert vol.shape == (20, 20, 20) and vol.voxel_size == pytest.approx(11.4)
    assert vol.origin[2] == pytest.approx(-2 * 11.4)  # NXSTART -2
    assert data.bytes_downloaded() - before == len(emd_3197_bytes)
    local = data_env / "ftp.ebi.ac.uk/pub/databases/emdb/structures/EMD-3197/map/emd_3197.map.gz"
    assert local.read_bytes() == emd_3197_bytes
    sidecar = local.with_name(local.name + ".sha256").read_text().strip()
    assert sidecar == hashlib.sha256(emd_3197_bytes).hexdigest()
    assert data.is_cached("emd-3197")

    archive_server.stop()
    n_requests = len(archive_server.log)
    again = data.load("emd-3197", standin=False)
    np.testing.assert_array_equal(again.data, vol.data)
    assert len(archive_server.log) == n_requests
    assert data.bytes_downloaded() - before == len(emd_3197_bytes)


def test_real_fixture_emd_1832_through_the_mirror(archive_server):
    archive_server.put(EMD_1832_URL, fixture_file("emdb/emd_1832.map.gz").read_bytes())
    vol = data.emdb_map(1832, standin=False)
    assert vol.shape == (64, 64, 64) and vol.source.real
    assert vol.origin == pytest.approx((-32 * 5.7,) * 3, rel=1e-5)


def test_any_emdb_entry_by_number(archive_server, tmp_path):
    url = data.EMDB_MAP_URL.format(id="9999")
    archive_server.put(url, synthetic_map_gz(tmp_path, shape=(8, 8, 8), voxel_size=3.0))
    vol = data.emdb_map("EMD-9999", standin=False)
    assert vol.shape == (8, 8, 8) and vol.source.accession == "EMD-9999"
    assert vol.source.licence == "CC0-1.0"


def test_hash_mismatch_leaves_nothing_and_falls_back(archive_server, monkeypatch, capsys):
    entries = data.registry()
    entries["emd-3197"]["sha256"] = "0" * 64
    monkeypatch.setattr(REGISTRY, "registry", lambda: entries)
    archive_server.put(EMD_3197_URL, synthetic_map_gz(archive_server.root))
    with pytest.raises(data.DataUnavailableError, match="(?i)hash") as err:
        data.fetch("emd-3197")
    assert "emcourse data fetch emd-3197" in str(err.value)
    assert _files(data.cache_dir()) == []
    vol = data.load("emd-3197")
    assert not vol.source.real
    assert len(_only_announcement(capsys.readouterr().out)) == 1


def test_corrupted_cache_file_is_caught_and_refetched(archive_server, capsys):
    archive_server.put(EMD_3197_URL, synthetic_map_gz(archive_server.root))
    path = data.fetch("emd-3197")
    good = path.read_bytes()
    path.write_bytes(good[:-10] + b"0123456789")
    bad = [s for p, s in data.verify() if p == path]
    assert bad and bad[0].startswith("CORRUPT")
    assert data.fetch("emd-3197").read_bytes() == good
    assert "is corrupt" in capsys.readouterr().out
    assert all(status == "ok" for _, status in data.verify())


def test_truncated_download_gives_clear_error(archive_server):
    archive_server.put(EMD_3197_URL, synthetic_map_gz(archive_server.root)[:3000])
    with pytest.raises(data.DataUnavailableError, match="truncated") as err:
        data.fetch("emd-3197")
    assert "emd_3197.map.gz" in str(err.value)
    assert _files(data.cache_dir()) == []


def test_plain_mrc_shorter_than_header_promises(archive_server, tmp_path):
    path = tmp_path / "x.mrc"
    io.write_mrc(path, np.zeros((10, 10, 10)), voxel_size=1.0)
    url = "https://ftp.ebi.ac.uk/empiar/world_availability/10999/data/x.mrc"
    archive_server.put(url, path.read_bytes()[:2000])
    with pytest.raises(data.DataUnavailableError, match="promises 5,024 bytes, the file has 2,000"):
        data.empiar_file(10999, "data/x.mrc")
    assert _files(data.cache_dir()) == []


def test_bytes_that_are_not_an_mrc(archive_server):
    archive_server.put(EMD_3197_URL, b"<html><body>Service unavailable</body></html>" * 40)
    with pytest.raises(data.DataUnavailableError, match="not an MRC") as err:
        data.fetch("emd-3197")
    assert "emd_3197.map.gz" in str(err.value)
    assert _files(data.cache_dir()) == []


def test_broken_gzip_stream_leaves_nothing_and_falls_back(archive_server, capsys):
    good = synthetic_map_gz(archive_server.root)
    archive_server.put(EMD_3197_URL, good[:12] + bytes(range(256)) * 4)
    with pytest.raises(data.DataUnavailableError, match="gzip stream broken"):
        data.fetch("emd-3197")
    assert _files(data.cache_dir()) == []
    assert not data.load("emd-3197").source.real
    assert len(_only_announcement(capsys.readouterr().out)) == 1


def test_offline_error_says_how_to_get_the_data(monkeypatch):
    monkeypatch.setenv("EMCOURSE_OFFLINE", "1")
    with pytest.raises(data.DataUnavailableError) as err:
        data.fetch("emd-3197")
    assert "unset EMCOURSE_OFFLINE" in str(err.value)
    assert "`emcourse data fetch emd-3197`" in str(err.value)


def test_files_outside_the_registry_name_a_command_that_works(monkeypatch, capsys):
    monkeypatch.setenv("EMCOURSE_MIRROR", CLOSED_PORT_URL)
    with pytest.raises(data.DataUnavailableError) as err:
        data.empiar_file(10999, "data/x.mrc")
    assert "data.empiar_file(10999, 'data/x.mrc')" in str(err.value)
    assert "emcourse data fetch EMPIAR" not in str(err.value)  # not a registry name
    with pytest.raises(data.DataUnavailableError) as err:
        data.mrc_slab(10999, "data/x.mrc", z=(0, 2))
    assert "data.mrc_slab(10999, 'data/x.mrc', z=(0, 2))" in str(err.value)
    with pytest.raises(data.DataUnavailableError) as err:
        data.emdb_map(9999, standin=False)
    assert "data.emdb_map(9999)" in str(err.value) and "data fetch emd-9999" not in str(err.value)
    assert not data.emdb_map(9999).source.real
    lines = _only_announcement(capsys.readouterr().out)
    assert len(lines) == 1 and lines[0].count("data.emdb_map(9999)") == 1


@pytest.mark.parametrize("setting", ["offline", "server down"])
def test_standin_notice_and_source_give_the_reason_once(setting, monkeypatch, capsys):
    # what a lesson's cell shows: the one-time notice, then the dataset's source
    if setting == "offline":
        monkeypatch.setenv("EMCOURSE_OFFLINE", "1")
        reason = "not in the cache and EMCOURSE_OFFLINE=1 is set"
    else:
        monkeypatch.setenv("EMCOURSE_MIRROR", CLOSED_PORT_URL)
        reason = "no copy could be downloaded"
    print(data.load("emd-3197").source)
    out = capsys.readouterr().out
    assert out.count(reason) == 1 and out.count("because") == 1, out
    assert out.count("`emcourse data fetch emd-3197`") == 1
    assert "emcourse data list --long emd-3197" in out  # where to read how the stand-in differs


def test_server_down_gives_announced_standin_once(monkeypatch, capsys):
    monkeypatch.setenv("EMCOURSE_MIRROR", CLOSED_PORT_URL)
    first = data.load("emd-3197")
    second = data.load("emd-3197")
    assert not first.source.real and "stand-in" in first.source.note
    assert first.shape == (20, 20, 20) and first.voxel_size == pytest.approx(11.4)
    np.testing.assert_array_equal(first.data, second.data)  # deterministic
    lines = _only_announcement(capsys.readouterr().out)
    assert len(lines) == 1
    assert "EMD-3197" in lines[0] and "`emcourse data fetch emd-3197`" in lines[0]
    with pytest.raises(data.DataUnavailableError):
        data.load("emd-3197", standin=False)


def test_offline_never_opens_a_socket(archive_server, monkeypatch, capsys):
    archive_server.put(EMD_3197_URL, synthetic_map_gz(archive_server.root))
    monkeypatch.setenv("EMCOURSE_OFFLINE", "1")

    def refuse(*args, **kwargs):
        raise AssertionError("a socket was opened while EMCOURSE_OFFLINE=1")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    vol = data.load("emd-3197")
    sections = data.load("empiar-10164-ts-01-mdoc")
    assert not vol.source.real and len(sections) == 41
    assert "EMCOURSE_OFFLINE=1" in capsys.readouterr().out
    assert archive_server.log == []


def test_read_only_cache_uses_its_files_and_downloads_elsewhere(
    archive_server, monkeypatch, data_env, tmp_path, capsys
):
    archive_server.put(EMD_3197_URL, synthetic_map_gz(tmp_path))
    archive_server.put(EMD_1832_URL, synthetic_map_gz(tmp_path, shape=(64,) * 3, voxel_size=5.7))
    data.fetch("emd-3197")  # fill the shared cache while it is writable
    shared = data.cache_dir()
    real_is_writable = cache.is_writable
    # Tests run as root, which ignores chmod; simulate the read-only mount instead.
    monkeypatch.setattr(
        cache, "is_writable", lambda p: False if shared in (p, *p.parents) else real_is_writable(p)
    )
    n = len(archive_server.log)
    assert data.load("emd-3197", standin=False).source.real
    assert len(archive_server.log) == n  # used the shared copy, no download
    assert data.load("emd-1832", standin=False).source.real
    assert data.load("emd-1832", standin=False).source.real
    out = capsys.readouterr().out
    assert out.count("is read-only") == 1
    user = tmp_path / "user-cache" / "emcourse"
    assert (user / "ftp.ebi.ac.uk/pub/databases/emdb/structures/EMD-1832/map").is_dir()
    assert not (shared / "ftp.ebi.ac.uk/pub/databases/emdb/structures/EMD-1832").exists()


def test_corrupt_file_in_read_only_cache_is_reported_once(
    archive_server, monkeypatch, tmp_path, capsys
):
    archive_server.put(EMD_3197_URL, synthetic_map_gz(tmp_path))
    path = data.fetch("emd-3197")
    path.write_bytes(path.read_bytes()[:-10] + b"0123456789")
    shared = data.cache_dir()
    real_is_writable = cache.is_writable
    monkeypatch.setattr(
        cache, "is_writable", lambda p: False if shared in (p, *p.parents) else real_is_writable(p)
    )
    for _ in range(3):
        assert data.load("emd-3197", standin=False).source.real
    assert path.exists()  # the shared copy is left alone
    assert capsys.readouterr().out.count("is corrupt") == 1


def test_no_writable_cache_at_all_still_caches(archive_server, monkeypatch, tmp_path, capsys):
    archive_server.put(EMD_3197_URL, synthetic_map_gz(tmp_path))
    fallback = cache.fallback_cache()
    assert tmp_path in fallback.parents  # conftest keeps it inside the test
    readonly = (data.cache_dir(), cache.user_cache())
    real_is_writable = cache.is_writable
    monkeypatch.setattr(
        cache,
        "is_writable",
        lambda p: False if any(r in (p, *p.parents) for r in readonly) else real_is_writable(p),
    )
    assert data.load("emd-3197", standin=False).source.real
    assert "is read-only" in capsys.readouterr().out
    n = len(archive_server.log)
    assert data.is_cached("emd-3197")
    assert data.load("emd-3197", standin=False).source.real
    assert len(archive_server.log) == n  # found where it was saved, not downloaded again
    assert any(fallback.rglob("emd_3197.map.gz"))


def test_is_writable_detects_what_it_can(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert cache.is_writable(tmp_path / "new")
    assert not cache.is_writable(blocker / "sub")  # cannot create a folder under a file


def _fetch_in_child(queue):
    from emcourse import data as child_data

    try:
        path = child_data.fetch("emd-3197")
        queue.put(str(path))
    except Exception as exc:  # report to the parent
        queue.put(f"ERROR {exc}")


def test_four_processes_fetching_at_once_download_it_once(archive_server, tmp_path):
    content = synthetic_map_gz(tmp_path)
    archive_server.put(EMD_3197_URL, content)
    archive_server.delay = 0.5  # all four ask while the first download is in flight
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_fetch_in_child, args=(queue,)) for _ in range(4)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert all(not r.startswith("ERROR") for r in results), results
    assert len(set(results)) == 1
    files = _files(data.cache_dir())
    assert files == [
        "ftp.ebi.ac.uk/pub/databases/emdb/structures/EMD-3197/map/emd_3197.map.gz",
        "ftp.ebi.ac.uk/pub/databases/emdb/structures/EMD-3197/map/emd_3197.map.gz.sha256",
    ]
    assert (data.cache_dir() / files[0]).read_bytes() == content
    assert len([r for r in archive_server.log if "emd_3197" in r[0]]) == 1  # a file lock


# --------------------------------------------------------------- subsets at source


def test_range_slab_equals_slab_of_full_file(archive_server, tmp_path):
    rng = np.random.default_rng(1)
    full = rng.standard_normal((12, 10, 8)).astype(np.float32)
    path = tmp_path / "tomo.mrc"
    with mrcfile.new(path) as mrc:
        mrc.set_data(full)
        mrc.set_extended_header(np.arange(40, dtype=np.int32))  # 160 bytes
        mrc.voxel_size = 7.0
    url = "https://ftp.ebi.ac.uk/empiar/world_availability/10999/data/tomo.mrc"
    archive_server.put(url, path.read_bytes())
    before = data.bytes_downloaded()
    slab = data.mrc_slab(10999, "data/tomo.mrc", z=(3, 7))
    np.testing.assert_array_equal(slab.data, full[3:7])
    assert slab.voxel_size == 7.0 and slab.origin[0] == pytest.approx(21.0)
    assert data.bytes_downloaded() - before == 1024 + 4 * 10 * 8 * 4
    assert [r[1] for r in archive_server.log] == [
        "bytes=0-1023",
        f"bytes={1184 + 3 * 320}-{1184 + 7 * 320 - 1}",
    ]
    again = data.mrc_slab(url, z=(3, 7))
    np.testing.assert_array_equal(again.data, full[3:7])
    assert len(archive_server.log) == 2  # served from the cache
    with pytest.raises(ValueError, match="0:12"):
        data.mrc_slab(url, z=(5, 20))


def _make_zarr(root, *, separator):
    import zarr

    rng = np.random.default_rng(2)
    level2 = rng.standard_normal((6, 10, 9)).astype(np.float32)
    group = zarr.open_group(str(root), mode="w", zarr_format=2)
    enc = {"name": "v2", "separator": separator}
    group.create_array(
        "0", shape=(24, 40, 36), chunks=(8, 8, 8), dtype="float32", chunk_key_encoding=enc
    )[:] = 1.0
    group.create_array(
        "2", shape=level2.shape, chunks=(4, 4, 4), dtype="float32", chunk_key_encoding=enc
    )[:] = level2
    axes = [{"name": n, "type": "space", "unit": "angstrom"} for n in "zyx"]
    datasets = [
        {"path": p, "coordinateTransformations": [{"type": "scale", "scale": [s, s, s]}]}
        for p, s in (("0", 4.99), ("2", 19.96))
    ]
    group.attrs["multiscales"] = [{"version": "0.4", "axes": axes, "datasets": datasets}]
    return level2


@pytest.mark.parametrize("separator", ["/", "."])
def test_zarr_subset_fetches_one_level_only(archive_server, separator):
    entry = data.registry()["portal-10445-ts-100-3"]
    level2 = _make_zarr(archive_server.path_for(entry["url"]), separator=separator)
    before = data.bytes_downloaded()
    vol = data.load("portal-10445-ts-100-3", standin=False)
    np.testing.assert_array_equal(vol.data, level2)
    assert vol.voxel_size == pytest.approx(19.96) and vol.source.real
    requested = [r[0] for r in archive_server.log]
    assert not any(".zarr/0/" in p for p in requested)  # the big level is never touched
    assert len([p for p in requested if ".zarr/2/" in p]) == 1 + 2 * 3 * 3  # .zarray + chunks
    assert data.bytes_downloaded() > before
    assert data.is_cached("portal-10445-ts-100-3")
    n = len(archive_server.log)
    data.load("portal-10445-ts-100-3", standin=False)
    assert len(archive_server.log) == n


def test_zarr_without_a_scale_announces_the_registry_voxel_size(archive_server, capsys):
    import zarr

    entry = data.registry()["portal-10445-ts-100-3"]
    level2 = _make_zarr(archive_server.path_for(entry["url"]), separator="/")
    group = zarr.open_group(str(archive_server.path_for(entry["url"])), mode="a", zarr_format=2)
    del group.attrs["multiscales"]
    vol = data.load("portal-10445-ts-100-3", standin=False)
    np.testing.assert_array_equal(vol.data, level2)
    assert vol.voxel_size == pytest.approx(kinds.tomogram_voxel_size(entry))
    assert capsys.readouterr().out.count("no scale for level 2 in .zattrs") == 1


def test_picks_ndjson_scaled_to_the_tomogram_level(archive_server):
    entry = data.registry()["portal-10445-ts-100-3-ribosome-picks"]
    points = [
        {"type": "point", "location": {"x": 40.0, "y": 80.0, "z": 8.0}},
        {"type": "point", "location": {"x": 4.0, "y": 8.0, "z": 12.0}},
    ]
    archive_server.put(entry["url"], "\n".join(json.dumps(p) for p in points).encode())
    picks = data.load("portal-10445-ts-100-3-ribosome-picks", standin=False)
    assert picks["voxel_size"] == pytest.approx(19.96)
    np.testing.assert_allclose(picks["positions"], [[2, 20, 10], [3, 2, 1]])
    assert picks["source"].real


def test_tomogram_and_picks_standins_agree(monkeypatch):
    monkeypatch.setenv("EMCOURSE_OFFLINE", "1")
    tomo = data.load("portal-10445-ts-100-3")
    picks = data.load("portal-10445-ts-100-3-ribosome-picks")
    assert not tomo.source.real and not picks["source"].real
    assert tomo.voxel_size == pytest.approx(picks["voxel_size"])
    assert picks["positions"].shape[1] == 3
    assert np.all(picks["positions"] >= 0) and np.all(picks["positions"] < tomo.shape)


def test_mdoc_standin_is_dose_symmetric():
    sections = kinds.standin_mdoc(data.registry()["empiar-10164-ts-01-mdoc"])
    angles = [s["TiltAngle"] for s in sections]
    assert len(angles) == 41 and sorted(angles) == [3.0 * i for i in range(-20, 21)]
    assert angles[:6] == [0.0, 3.0, -3.0, -6.0, 6.0, 9.0]


def test_mdoc_standin_matches_the_real_acquisition_order():
    real = io.read_mdoc(fixture_file("tilt-metadata/TS_01.mrc.mdoc"))
    standin = kinds.standin_mdoc(data.registry()["empiar-10164-ts-01-mdoc"])
    np.testing.assert_allclose(
        [s["TiltAngle"] for s in real], [s["TiltAngle"] for s in standin], atol=0.01
    )


def test_real_mdoc_through_the_mirror(archive_server):
    entry = data.registry()["empiar-10164-ts-01-mdoc"]
    archive_server.put(entry["url"], fixture_file("tilt-metadata/TS_01.mrc.mdoc").read_bytes())
    sections = data.load("empiar-10164-ts-01-mdoc", standin=False)
    assert len(sections) == 41 and sections[0]["PixelSpacing"] == 5.4


# ------------------------------------------------------------------- maintenance


def test_mirror_writes_the_archive_layout_and_serves_a_fresh_cache(
    archive_server, tmp_path, monkeypatch
):
    content = synthetic_map_gz(tmp_path)
    archive_server.put(EMD_3197_URL, content)
    data.fetch("emd-3197")
    out = tmp_path / "workshop"
    written = data.mirror(out)
    assert _files(out) == [
        "ftp.ebi.ac.uk/pub/databases/emdb/structures/EMD-3197/map/emd_3197.map.gz"
    ]
    assert written == [out / _files(out)[0]]

    from conftest import ArchiveServer

    workshop = ArchiveServer(out)
    try:
        monkeypatch.setenv("EMCOURSE_MIRROR", workshop.url)
        monkeypatch.setenv("EMCOURSE_DATA_DIR", str(tmp_path / "laptop"))
        vol = data.load("emd-3197", standin=False)
        assert vol.source.real and (tmp_path / "laptop").is_dir()
    finally:
        workshop.stop()


def test_pin_writes_sha256_into_a_registry_copy(archive_server, tmp_path):
    content = synthetic_map_gz(tmp_path)
    archive_server.put(EMD_3197_URL, content)
    reg = tmp_path / "registry.toml"
    reg.write_text(REGISTRY.registry_path().read_text())
    pins = data.pin(["emd-3197"], registry_path=reg)
    digest = hashlib.sha256(content).hexdigest()
    assert pins == {"emd-3197": digest}
    entries = tomllib.loads(reg.read_text())
    assert entries["emd-3197"]["sha256"] == digest
    assert entries["emd-1832"]["sha256"] == ""


def test_gzip_map_is_checked_after_decompression(archive_server, tmp_path):
    raw = gzip.decompress(synthetic_map_gz(tmp_path))
    archive_server.put(EMD_3197_URL, gzip.compress(raw[:-100]))
    with pytest.raises(data.DataUnavailableError, match="promises"):
        data.fetch("emd-3197")


# ------------------------------------------------------------- shared caches (UX)


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    cache.file_mode.cache_clear()
    yield
    os.umask(old)
    cache.file_mode.cache_clear()


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_file_mode_follows_the_umask_and_restores_it(umask_022):
    assert cache.file_mode() == 0o644
    assert os.umask(0o022) == 0o022  # read without changing it
    cache.file_mode.cache_clear()
    os.umask(0o002)
    assert cache.file_mode() == 0o664


def test_downloads_sidecars_and_mirror_are_readable_by_others(archive_server, tmp_path, umask_022):
    archive_server.put(EMD_3197_URL, synthetic_map_gz(tmp_path))
    path = data.fetch("emd-3197")
    assert _mode(path) == 0o644  # not the 0600 of the staging file
    assert _mode(cache.sidecar(path)) == 0o644
    path.chmod(0o600)  # a cache filled by an older version
    written = data.mirror(tmp_path / "m")
    assert [_mode(p) for p in written] == [0o644]


def test_zarr_files_are_readable_by_others(archive_server, umask_022):
    entry = data.registry()["portal-10445-ts-100-3"]
    _make_zarr(archive_server.path_for(entry["url"]), separator="/")
    data.load("portal-10445-ts-100-3", standin=False)
    files = [p for p in data.cache_dir().rglob("*") if p.is_file()]
    assert files and {_mode(p) for p in files} == {0o644}


def test_unreadable_file_in_shared_cache_is_skipped_with_a_note(
    archive_server, monkeypatch, tmp_path, capsys
):
    archive_server.put(EMD_3197_URL, synthetic_map_gz(tmp_path))
    path = data.fetch("emd-3197")
    shared = data.cache_dir()
    real_is_writable, real_is_readable = cache.is_writable, cache.is_readable
    # Tests run as root, which reads any file; simulate another user's 0600 file instead.
    monkeypatch.setattr(
        cache, "is_writable", lambda p: False if shared in (p, *p.parents) else real_is_writable(p)
    )
    monkeypatch.setattr(
        cache, "is_readable", lambda p: False if shared in p.parents else real_is_readable(p)
    )
    assert not data.is_cached("emd-3197")
    n = len(archive_server.log)
    for _ in range(2):
        assert data.load("emd-3197", standin=False).source.real
    assert len(archive_server.log) == n + 1  # fetched once into the per-user cache
    notes = [ln for ln in capsys.readouterr().out.splitlines() if "not readable" in ln]
    assert len(notes) == 1 and str(path) in notes[0] and "chmod" in notes[0]
    assert data.is_cached("emd-3197")


def test_verify_and_mirror_skip_unreadable_files(archive_server, monkeypatch, tmp_path):
    archive_server.put(EMD_3197_URL, synthetic_map_gz(tmp_path))
    path = data.fetch("emd-3197")
    monkeypatch.setattr(cache, "is_readable", lambda p: p != path)
    assert [s for p, s in data.verify() if p == path][0].startswith("UNREADABLE")
    assert data.mirror(tmp_path / "m") == []


# ----------------------------------------------------------- failure reasons (UX)


def test_mirror_404_gives_a_short_reason_and_mirror_advice(archive_server, capsys):
    with pytest.raises(data.DataUnavailableError) as err:
        data.fetch("emd-3197")
    exc = err.value
    assert exc.kind == "mirror-missing"
    assert exc.summary.startswith(f"mirror {archive_server.url}/ftp.ebi.ac.uk/")
    assert "HTTP 404" in exc.summary and "; archive: " in exc.summary
    assert exc.summary.count("http") == 1 and len(exc.summary) < 200
    assert "emcourse data mirror" in str(exc) and "once online" not in str(exc)
    assert exc.details and all(len(d) > 0 for d in exc.details)
    assert not data.load("emd-3197").source.real
    line = _only_announcement(capsys.readouterr().out)[0]
    assert "HTTP 404" in line and "127.0.0.1" not in line and len(line) < 400


def test_network_down_advice_says_run_again_once_online(monkeypatch):
    monkeypatch.setenv("EMCOURSE_MIRROR", CLOSED_PORT_URL)
    with pytest.raises(data.DataUnavailableError) as err:
        data.fetch("emd-3197")
    assert err.value.kind == "network" and "once online" in str(err.value)
    assert "connection refused" in err.value.summary


@pytest.mark.parametrize("value", ["127.0.0.1:8000", "ftp://host/x", "localhost"])
def test_mirror_without_http_scheme_says_what_to_set(monkeypatch, value):
    monkeypatch.setenv("EMCOURSE_MIRROR", value)
    with pytest.raises(data.DataUnavailableError) as err:
        data.fetch("emd-3197")
    text = str(err.value)
    assert "No connection adapters" not in text and "EMCOURSE_MIRROR" in text
    assert "http://" in text and err.value.kind == "mirror-config"
    if value == "127.0.0.1:8000":
        assert "EMCOURSE_MIRROR=http://127.0.0.1:8000" in text


# ---------------------------------------------------------------- mirror (UX)


def test_mirror_missing_lists_registry_datasets_not_in_the_mirror(archive_server, tmp_path):
    assert set(data.mirror_missing(tmp_path / "empty")) == set(data.registry())
    archive_server.put(EMD_3197_URL, synthetic_map_gz(tmp_path))
    data.fetch("emd-3197")
    data.mirror(tmp_path / "m")
    missing = data.mirror_missing(tmp_path / "m")
    assert "emd-3197" not in missing and "emd-1832" in missing


# ------------------------------------------------------------ unknown names (UX)


def test_unknown_name_message_has_no_quote_marks_and_lists_names():
    with pytest.raises(KeyError) as err:
        data.fetch("no-such-dataset")
    text = str(err.value)
    assert text.startswith("no dataset named no-such-dataset") and "emd-3197" in text
    with pytest.raises(KeyError) as err:
        data.pin(["no-such-dataset"], registry_path=REGISTRY.registry_path())
    assert str(err.value).startswith("no dataset named no-such-dataset")


# ----------------------------------------------------- a kind of several files


PAIR_ENTRY = """
[em-and-labels]
archive = "Zenodo"
accession = "zenodo:1"
page = "https://zenodo.org/records/1"
size = 100
sha256 = ""
licence = "CC-BY-4.0"
citation = "test"
subset = "both files"
kind = "pair"
standin = "tests"
verified = "test"
unverified = "test"

[em-and-labels.files]
em = "https://zenodo.org/records/1/files/em.txt?download=1"
labels = "https://raw.githubusercontent.com/org/repo/0123abc/labels.txt"
"""


@pytest.fixture
def pair_kind(monkeypatch, tmp_path):
    """A kind of two files, added as one definition, and a registry entry that uses it."""
    opened = []

    def validate(path, entry, role):
        if not path.read_text().startswith(role):
            raise ValueError(f"{path}: expected a {role} file, found {path.read_text()[:10]!r}")

    def open_pair(paths, entry):
        opened.append(paths)
        return {role: p.read_text() for role, p in paths.items()}

    kind = kinds.Kind(
        "pair",
        returns="dict role -> text",
        open=open_pair,
        standin=lambda entry, source: {"em": "em standin", "labels": "labels standin"},
        validate=validate,
    )
    monkeypatch.setitem(kinds.KINDS, "pair", kind)
    reg = tmp_path / "registry.toml"
    reg.write_text(REGISTRY.registry_path().read_text() + PAIR_ENTRY)
    entries = REGISTRY.read_registry(reg)
    monkeypatch.setattr(REGISTRY, "registry", lambda: entries)
    return entries["em-and-labels"], reg


def test_a_new_kind_of_several_files_needs_no_fetch_code(archive_server, pair_kind, capsys):
    entry, reg = pair_kind
    em, labels = entry["files"]["em"], entry["files"]["labels"]
    standin = data.load("em-and-labels")  # nothing served: the stand-in, announced
    assert standin == {"em": "em standin", "labels": "labels standin"}
    assert "synthetic stand-in" in capsys.readouterr().out
    archive_server.put(em, b"em: 1 2 3")
    archive_server.put(labels, b"labels: 0 1 1")
    assert data.load("em-and-labels", standin=False) == {
        "em": "em: 1 2 3",
        "labels": "labels: 0 1 1",
    }
    paths = data.fetch("em-and-labels")
    assert set(paths) == {"em", "labels"} and paths["em"].name == "em.txt"
    assert data.is_cached("em-and-labels")
    assert "em-and-labels" not in data.mirror_missing(data.cache_dir())
    pins = data.pin(["em-and-labels"], registry_path=reg)
    assert tomllib.loads(reg.read_text())["em-and-labels"]["sha256"] == pins["em-and-labels"]
    assert pins["em-and-labels"]["em"] == hashlib.sha256(b"em: 1 2 3").hexdigest()


def test_a_kind_validates_each_file_by_its_role(archive_server, pair_kind):
    entry, _ = pair_kind
    archive_server.put(entry["files"]["em"], b"labels in the wrong place")
    archive_server.put(entry["files"]["labels"], b"labels: 0")
    with pytest.raises(data.DataUnavailableError, match="expected a em file"):
        data.fetch("em-and-labels")
    assert _files(data.cache_dir()) == []


def test_unknown_kind_names_the_known_ones():
    with pytest.raises(ValueError, match="unknown kind 'volume'.*map, mdoc"):
        kinds.kind_of({"name": "x", "kind": "volume"})


@pytest.mark.parametrize("name", sorted(data.registry()))
def test_every_dataset_has_an_announced_offline_standin(name, monkeypatch, capsys):
    monkeypatch.setenv("EMCOURSE_OFFLINE", "1")
    assert data.load(name) is not None
    assert len(_only_announcement(capsys.readouterr().out)) == 1
