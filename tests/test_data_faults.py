"""Faults of the mirror, the disk and the shared machine, each against the real data layer.

Issue 18: a fault-injecting mirror on 127.0.0.1 (see ``ArchiveServer.fault`` in
conftest), real fixture files, a tmpfs for a full disk where this machine
allows a mount, and a second real user (``nobody``) where the tests run as root.
Deadlines are shortened through ``EMCOURSE_STALL_TIMEOUT`` and
``EMCOURSE_MIN_RATE`` so that every test here ends in a few seconds.
"""

from __future__ import annotations

import errno
import gzip
import json
import logging
import multiprocessing
import os
import signal
import stat
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import EMD_1832_URL, EMD_3197_URL, fixture_file, needs

from emcourse import cli, data, doctor
from emcourse.data import cache, tiers

MDOC = "empiar-10164-ts-01-mdoc"
NOBODY = 65534


def _files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def _real_1832(server) -> bytes:
    content = fixture_file("emdb/emd_1832.map.gz").read_bytes()
    server.put(EMD_1832_URL, content)
    return content


# ------------------------------------------------------------ nothing broken kept


def _zarr_on_mirror(server):
    from test_data import _make_zarr

    entry = data.registry()["portal-10445-ts-100-3"]
    root = server.path_for(entry["url"])
    level2 = _make_zarr(root, separator="/")
    return root / "2", level2


def test_truncated_zarr_chunks_are_never_cached_and_a_refetch_repairs(archive_server):
    level, level2 = _zarr_on_mirror(archive_server)
    good = {p: p.read_bytes() for p in level.rglob("*") if p.is_file() and p.name != ".zarray"}
    for p, raw in good.items():
        p.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(data.DataUnavailableError, match="chunk") as err:
        data.fetch("portal-10445-ts-100-3")
    assert err.value.kind == "corrupt"
    cached_chunks = [f for f in _files(data.cache_dir()) if ".zarr/2/" in f and "zarray" not in f]
    assert cached_chunks == []
    assert not any(s.startswith("CORRUPT") for _, s in data.verify())
    for p, raw in good.items():  # the mirror is fixed: the next fetch downloads and works
        p.write_bytes(raw)
    n = len(archive_server.log)
    vol = data.load("portal-10445-ts-100-3", standin=False)
    np.testing.assert_array_equal(vol.data, level2)
    assert len(archive_server.log) > n


def test_a_chunk_cached_with_a_sidecar_of_broken_bytes_is_found_and_repaired(archive_server):
    """A cache written before chunks were checked: verify finds it, a fetch replaces it."""
    _zarr_on_mirror(archive_server)
    root = data.fetch("portal-10445-ts-100-3")
    chunks = (root / "2").rglob("*")
    chunk = next(p for p in chunks if p.is_file() and "." not in p.name)
    chunk.write_bytes(chunk.read_bytes()[:20])
    cache.sidecar(chunk).write_text(cache.sha256(chunk) + "\n")
    assert [s for p, s in data.verify() if p == chunk][0].startswith("CORRUPT: a ")
    n = len(archive_server.log)
    data.fetch("portal-10445-ts-100-3")
    assert len(archive_server.log) == n + 1  # that chunk, and only it
    assert all(not s.startswith("CORRUPT") for _, s in data.verify())


def test_a_truncated_mdoc_without_sidecar_is_caught_on_read(archive_server, capsys):
    entry = data.registry()[MDOC]
    real = fixture_file("tilt-metadata/TS_01.mrc.mdoc").read_bytes()
    archive_server.put(entry["url"], real)
    path = data.fetch(MDOC)
    sections = real.split(b"\n[ZValue")
    path.write_bytes(b"\n[ZValue".join(sections[:7]))  # 6 of 41 tilts, whole sections
    cache.sidecar(path).unlink()
    assert [s for p, s in data.verify() if p == path][0].startswith("CORRUPT: expected 41")
    assert len(data.load(MDOC, standin=False)) == 41  # caught, fetched again
    assert "fails its check: expected 41 mdoc sections, found 6" in capsys.readouterr().out


def test_an_all_zero_map_of_the_right_shape_is_not_emd_3197(archive_server, tmp_path):
    import mrcfile

    path = tmp_path / "zero.mrc"
    with mrcfile.new(path) as mrc:
        mrc.set_data(np.zeros((20, 20, 20), np.float32))
        mrc.voxel_size = 11.4
    archive_server.put(EMD_3197_URL, gzip.compress(path.read_bytes()))
    with pytest.raises(data.DataUnavailableError, match="29,083 bytes") as err:
        data.fetch("emd-3197")
    assert err.value.kind == "corrupt"
    assert _files(data.cache_dir()) == []


def test_a_constant_map_of_the_right_size_is_refused(archive_server):
    from emcourse.data.kinds import _validate_map

    entry = dict(data.registry()["emd-3197"], size=0)
    archive_server.put(EMD_3197_URL, b"")
    path = archive_server.path_for(EMD_3197_URL)
    import mrcfile

    with mrcfile.new(path.with_suffix(""), overwrite=True) as mrc:
        mrc.set_data(np.full((20, 20, 20), 2.0, np.float32))
        mrc.voxel_size = 11.4
    with pytest.raises(ValueError, match="every voxel equal to 2"):
        _validate_map(path.with_suffix(""), entry, "main")


def test_data_list_flags_files_without_a_hash(archive_server, capsys, monkeypatch):
    _real_1832(archive_server)
    path = data.fetch("emd-1832")
    monkeypatch.setenv("EMCOURSE_OFFLINE", "1")
    cli.main(["data", "list"])
    row = next(ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("emd-1832"))
    assert row.split()[-1] == "yes"
    cache.sidecar(path).unlink()
    cli.main(["data", "list"])
    out = capsys.readouterr().out
    row = next(ln for ln in out.splitlines() if ln.startswith("emd-1832"))
    assert row.split()[-1] == "unverified" and "(unverified: " in out
    assert all(len(ln) <= 100 for ln in out.split("\n\n")[0].splitlines())


# ----------------------------------------------- fuzz: clean cuts and flips (data layer)


def _cut_star_row(raw: bytes, rng) -> bytes:
    lines = raw.split(b"\n")
    rows = [i for i, ln in enumerate(lines) if ln.strip() and ln[:1] not in b"#_dl"]
    del lines[int(rng.choice(rows[1:-1]))]
    return b"\n".join(lines)


def _cut_mdoc_section(raw: bytes, rng) -> bytes:
    parts = raw.split(b"\n[ZValue")
    del parts[int(rng.integers(1, len(parts)))]
    return b"\n[ZValue".join(parts)


def _flip_voxel(raw: bytes, rng) -> bytes:
    body = bytearray(gzip.decompress(raw))
    i = 1024 + int(rng.integers(0, len(body) - 1024))
    body[i] ^= 1 << int(rng.integers(0, 8))
    return gzip.compress(bytes(body))


def _star(server):
    url = "https://ftp.ebi.ac.uk/empiar/world_availability/11830/data/atpase.star"
    server.put(url, fixture_file("sta-chlamy-in-situ/atpase.star").read_bytes())
    return lambda: data.empiar_file(11830, "data/atpase.star")


def _mdoc(server):
    real = fixture_file("tilt-metadata/TS_01.mrc.mdoc").read_bytes()
    server.put(data.registry()[MDOC]["url"], real)
    return lambda: data.fetch(MDOC)


def _map(server):
    _real_1832(server)
    return lambda: data.fetch("emd-1832")


FUZZ = {"star row": (_star, _cut_star_row), "mdoc section": (_mdoc, _cut_mdoc_section)}
FUZZ["map voxel"] = (_map, _flip_voxel)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("fault", list(FUZZ))
def test_clean_cuts_and_flips_in_the_cache_are_caught_by_the_hash(archive_server, fault, seed):
    """Faults no reader can see (the file stays well formed): the recorded sha256 sees them."""
    serve, damage = FUZZ[fault]
    get = serve(archive_server)
    path = get()
    good = path.read_bytes()
    path.write_bytes(damage(good, np.random.default_rng(seed)))
    status = [s for p, s in data.verify() if p == path][0]
    assert status.startswith("CORRUPT: sha256"), status
    assert get().read_bytes() == good  # re-read: caught and fetched again
    path.write_bytes(damage(good, np.random.default_rng(seed)))
    cache.sidecar(path).unlink()  # no hash: only the registry's counts can see a cut
    status = [s for p, s in data.verify() if p == path][0]
    if fault == "mdoc section":
        # the reader sees a gap in the ZValues; a cut last section, the registry's count
        assert status.startswith("CORRUPT: "), status
        assert "a section is missing" in status or "41 mdoc sections, found 40" in status

    else:  # honest: an unhashed file is flagged, not silently called good
        assert status == "no recorded hash"


def test_a_mirror_that_serves_an_mdoc_without_a_section_is_refused(archive_server):
    real = fixture_file("tilt-metadata/TS_01.mrc.mdoc").read_bytes()
    archive_server.put(
        data.registry()[MDOC]["url"], _cut_mdoc_section(real, np.random.default_rng(0))
    )
    with pytest.raises(
        data.DataUnavailableError, match=r"a section is missing|41 mdoc sections, found 40"
    ):
        data.fetch(MDOC)
    assert _files(data.cache_dir()) == []


# ------------------------------------------------------------ the private fallback


def _as_root() -> None:
    if os.geteuid() != 0:
        needs("root (to give files to a second user, nobody)", "a planted file")


def _read_only_caches(monkeypatch):
    """The configured and per-user caches read-only: downloads fall back to $TMPDIR."""
    real = cache.is_writable
    blocked = {data.cache_dir(), cache.user_cache()}
    monkeypatch.setattr(cache, "is_writable", lambda p: p not in blocked and real(p))


def test_the_fallback_is_created_private(archive_server, monkeypatch):
    _real_1832(archive_server)
    _read_only_caches(monkeypatch)
    path = data.fetch("emd-1832")
    fallback = cache.fallback_cache()
    assert fallback in path.parents
    assert stat.S_IMODE(os.lstat(fallback).st_mode) == 0o700


def test_a_map_planted_by_another_user_is_never_loaded(archive_server, monkeypatch, capsys):
    """Another user made $TMPDIR/emcourse-<uid> and put a fake EMD-1832 in it (issue 18)."""
    _as_root()
    fake = fixture_file("emdb/emd_1832.map.gz").read_bytes()  # as good as the real thing
    fallback = cache.fallback_cache()
    planted = fallback / cache.relpath(EMD_1832_URL)
    planted.parent.mkdir(parents=True)
    planted.write_bytes(fake)
    for p in [planted, *planted.parents]:
        os.chown(p, NOBODY, NOBODY)
        if p == fallback:
            break
    monkeypatch.setenv("EMCOURSE_OFFLINE", "1")
    vol = data.load("emd-1832")
    assert not vol.source.real  # the stand-in, not the planted map
    out = capsys.readouterr().out
    assert "belongs to another user (uid 65534)" in out and "is not used" in out
    assert not data.is_cached("emd-1832")
    # weakened: the same folder owned by this user is used (so the refusal above is the guard)
    for p in [planted, *planted.parents]:
        os.chown(p, os.getuid(), os.getgid())
        if p == fallback:
            break
    os.chmod(fallback, 0o700)
    assert data.load("emd-1832").source.real


def test_a_foreign_file_in_our_own_fallback_is_refused(archive_server, monkeypatch, capsys):
    _as_root()
    content = _real_1832(archive_server)
    fallback = cache.private_fallback(create=True)
    planted = fallback / cache.relpath(EMD_1832_URL)
    planted.parent.mkdir(parents=True)
    planted.write_bytes(content)
    os.chown(planted, NOBODY, NOBODY)
    assert [s for p, s in data.verify() if p == planted][0].startswith("FOREIGN: ")
    monkeypatch.setenv("EMCOURSE_OFFLINE", "1")
    assert not data.load("emd-1832").source.real
    assert "refusing" in capsys.readouterr().out


def test_a_group_writable_or_linked_fallback_is_not_used(data_env, tmp_path, capsys):
    fallback = cache.fallback_cache()
    fallback.mkdir(mode=0o700)
    os.chmod(fallback, 0o777)
    assert cache.private_fallback() is None and fallback not in cache.read_dirs()
    assert "can be written by other users (mode 777)" in capsys.readouterr().out
    fallback.rmdir()
    (tmp_path / "elsewhere").mkdir(mode=0o700)
    fallback.symlink_to(tmp_path / "elsewhere")
    assert cache.private_fallback(create=True) is None
    assert cache.foreign(fallback) == "is a symbolic link"


# -------------------------------------------------------------------- credentials


def test_mirror_credentials_are_never_shown(archive_server, monkeypatch, capsys, caplog):
    secret_url = archive_server.url.replace("http://", "http://ann:s3cret@")
    monkeypatch.setenv("EMCOURSE_MIRROR", secret_url)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(data.DataUnavailableError) as err:  # the mirror lacks it: HTTP 404
        data.fetch("emd-1832")
    exc = err.value
    texts = [str(exc), exc.summary, exc.reason, exc.advice, *exc.details]
    assert "127.0.0.1" in exc.summary
    assert cli.main(["data", "fetch", "-v", "emd-1832"]) == 1
    cli.main(["data", "list"])
    findings = doctor.check_data()
    _real_1832(archive_server)
    data.fetch("emd-1832")  # pooch logs the URL it downloads from
    import pooch

    pooch.get_logger().warning("Downloading data from '%s'", secret_url + "/x")
    texts += [capsys.readouterr().out, caplog.text, *(f.detail for f in findings)]
    assert texts and not [t for t in texts if "s3cret" in t or "ann:" in t]


# ------------------------------------------------------- deadlines and plain causes


def test_a_dripping_server_meets_the_deadline_with_one_message(archive_server, monkeypatch):
    _real_1832(archive_server)
    archive_server.fault(EMD_1832_URL, "drip", 2000)  # 20 kB/s: 18 s for this file
    monkeypatch.setenv("EMCOURSE_MIN_RATE", "1000000")  # deadline: 1 s + 0.36 s
    monkeypatch.setenv("EMCOURSE_STALL_TIMEOUT", "1")
    start = time.monotonic()
    with pytest.raises(data.DataUnavailableError, match="too slow") as err:
        data.fetch("emd-1832")
    assert time.monotonic() - start < 5
    assert err.value.kind == "slow" and "EMCOURSE_MIN_RATE" in err.value.advice
    assert "deadline of 1 s" in str(err.value)
    assert _files(data.cache_dir()) == []


def test_a_stall_is_reported_as_a_stall(archive_server, monkeypatch):
    _real_1832(archive_server)
    archive_server.fault(EMD_1832_URL, "stall", 177_688)
    monkeypatch.setenv("EMCOURSE_STALL_TIMEOUT", "1")
    with pytest.raises(data.DataUnavailableError, match="stalled: no data for 1 s after") as err:
        data.fetch("emd-1832")
    assert err.value.kind == "stall" and "cannot connect" not in str(err.value)
    assert "177,688 bytes of 355,377 bytes" in str(err.value)


def test_a_cut_connection_says_how_much_came(archive_server):
    _real_1832(archive_server)
    archive_server.fault(EMD_1832_URL, "cut", 1000)
    with pytest.raises(data.DataUnavailableError, match="closed after 1,000 bytes of 355,377"):
        data.fetch("emd-1832")


@pytest.fixture
def small_disk(tmp_path, monkeypatch, data_env):
    """EMCOURSE_DATA_DIR on a 64 kB tmpfs (a real full disk); skipped where mount is denied."""
    mount = tmp_path / "small"
    mount.mkdir()
    res = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if res.returncode != 0:
        needs("permission to mount a tmpfs", "a real full disk")
    monkeypatch.setenv("EMCOURSE_DATA_DIR", str(mount))
    yield mount
    subprocess.run(["umount", str(mount)], check=False)


def test_a_full_disk_is_reported_as_a_full_disk_and_the_archive_is_not_tried(
    archive_server, small_disk
):
    _real_1832(archive_server)
    with pytest.raises(data.DataUnavailableError, match="disk full") as err:
        data.fetch("emd-1832")
    exc = err.value
    assert exc.kind == "disk-full" and "355,377 bytes" in str(exc) and str(small_disk) in str(exc)
    assert "server" not in exc.advice and "archive" not in exc.summary
    assert len(exc.details) == 1  # the mirror only
    assert _files(small_disk) == []


def test_a_sidecar_that_cannot_be_written_fails_the_fetch(archive_server, monkeypatch):
    """Simulated at the OS boundary: the sidecar's write raises ENOSPC."""
    _real_1832(archive_server)
    real_open = open

    def full_open(path, mode="r", *args, **kwargs):
        if ".sha256." in str(path) and "w" in mode:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real_open(path, mode, *args, **kwargs)

    # a context, not monkeypatch.undo(): undo would also drop data_env's empty test
    # cache, and the listing below would read the user's own cache instead
    with monkeypatch.context() as patch:
        patch.setattr("builtins.open", full_open)
        with pytest.raises(data.DataUnavailableError, match="disk full") as err:
            data.fetch("emd-1832")
    assert err.value.kind == "disk-full"
    assert _files(data.cache_dir()) == []


def _fetch_slowly(env: dict) -> None:
    os.environ.update(env)
    from emcourse import data as child

    child.fetch("emd-1832")


def test_leftovers_of_a_killed_download_are_cleaned_on_the_next_run(archive_server, monkeypatch):
    _real_1832(archive_server)
    archive_server.fault(EMD_1832_URL, "drip", 2000)
    monkeypatch.setenv("EMCOURSE_STALL_TIMEOUT", "0.5")
    ctx = multiprocessing.get_context("spawn")
    child = ctx.Process(target=_fetch_slowly, args=(dict(os.environ),))
    child.start()
    folder = data.cache_dir() / Path(cache.relpath(EMD_1832_URL)).parent
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not [
        f for f in (os.listdir(folder) if folder.is_dir() else []) if f.startswith("tmp")
    ]:
        time.sleep(0.05)
    os.kill(child.pid, signal.SIGKILL)
    child.join()
    left = [f for f in os.listdir(folder) if not f.endswith(".lock")]
    assert left and all(f.startswith("tmp") for f in left), left
    archive_server.faults.clear()
    time.sleep(1.1)  # older than two stall timeouts: no live download is that quiet
    data.fetch("emd-1832")
    assert sorted(os.listdir(folder)) == ["emd_1832.map.gz", "emd_1832.map.gz.sha256"]


# ----------------------------------------------------------------- doctor and data


def test_doctor_sees_that_an_html_portal_is_not_a_mirror(archive_server):
    archive_server.faults["*"] = ("html",)
    f = next(f for f in doctor.check_data() if f.check == "mirror")
    assert f.status == doctor.PROBLEM and "an HTML page (text/html" in f.detail
    assert "All set." not in doctor.report(doctor.check_data())


def test_doctor_says_where_downloads_go_when_the_caches_are_read_only(data_env, monkeypatch):
    _read_only_caches(monkeypatch)
    f = next(f for f in doctor.check_data() if f.check == "downloads")
    assert f.status == doctor.PROBLEM and str(cache.fallback_cache()) in f.detail
    assert "EMCOURSE_DATA_DIR" in f.fix
    assert "All set." not in doctor.report(doctor.check_data())


def test_doctor_says_there_is_nowhere_to_save(data_env, monkeypatch):
    _read_only_caches(monkeypatch)
    cache.fallback_cache().symlink_to(data_env.parent)
    f = next(f for f in doctor.check_data() if f.check == "downloads")
    assert f.status == doctor.PROBLEM and "nowhere to save downloads" in f.detail
    assert "is a symbolic link" in f.detail


def test_doctor_is_content_with_a_writable_cache(data_env):
    f = next(f for f in doctor.check_data() if f.check == "downloads")
    assert f.status == doctor.OK and str(data.cache_dir()) in f.detail


def test_the_fault_table_matches_the_causes():
    """Every cause a download can end in has advice, and none blames a server for the disk."""
    from emcourse.data.messages import advice

    for kind in ("disk-full", "cache-write"):
        assert "server" not in advice(kind, "emcourse data fetch x")
    assert set(tiers.LOCAL) == {"disk-full", "cache-write"}
    assert json.dumps(advice("slow", "x"))  # defined
