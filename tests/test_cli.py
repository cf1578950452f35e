"""The command line, run as ``python -m emcourse`` against the local mirror."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import EMD_3197_URL, synthetic_map_gz

from emcourse import cli, data
from emcourse.data import cache
from emcourse.data.registry import file_urls

pytestmark = pytest.mark.usefixtures("data_env")


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "emcourse", *args],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=120,
    )


def test_list_and_markdown(monkeypatch):
    monkeypatch.setenv("EMCOURSE_OFFLINE", "1")
    res = run("data", "list")
    assert res.returncode == 0, res.stderr
    assert "emd-3197" in res.stdout and "CC0-1.0" in res.stdout and "CACHED" in res.stdout
    md = run("data", "list", "--markdown")
    assert md.stdout.startswith("| Name | Archive | Accession")


def test_list_fits_100_columns_with_one_line_per_dataset(monkeypatch, capsys):
    monkeypatch.setenv("EMCOURSE_OFFLINE", "1")
    assert cli.main(["data", "list"]) == 0
    out = capsys.readouterr().out
    table = out.split("\n\n")[0].splitlines()
    assert all(len(line) <= 100 for line in table), max(table, key=len)
    names = [line.split()[0] for line in table[1:] if not line.startswith("(")]
    assert names == list(data.registry())


def test_list_long_holds_the_details(monkeypatch, capsys):
    monkeypatch.setenv("EMCOURSE_OFFLINE", "1")
    assert cli.main(["data", "list", "--long"]) == 0
    out = capsys.readouterr().out
    for name, entry in data.registry().items():
        assert f"\n{name}\n" in out and entry["accession"] in " ".join(out.split())
        assert next(iter(file_urls(entry).values())).rsplit("/", 1)[-1] in out
    assert "cite:" in out and "sha256:" in out and "stand-in:" in out
    assert "https://ftp.ebi.ac.uk/pub/databases/emdb/structures/EMD-3197/map/emd_3197.map.gz" in out
    # wrapped at 100 columns; only a URL, kept whole to be copied, may run longer
    long = [ln for ln in out.splitlines() if len(ln) > 100]
    assert cli.main(["data", "list", "--long", "emd-1832"]) == 0
    one = capsys.readouterr().out
    assert "\nemd-1832\n" in one and "\nemd-3197\n" not in one
    assert all(ln.split()[-1].startswith("https://") and len(ln.split()) <= 3 for ln in long), long


def test_fetch_says_one_line_per_dataset(archive_server, tmp_path):
    from test_data import _make_zarr

    archive_server.put(EMD_3197_URL, synthetic_map_gz(tmp_path))
    _make_zarr(
        archive_server.path_for(data.registry()["portal-10445-ts-100-3"]["url"]), separator="/"
    )
    res = run("data", "fetch", "emd-3197", "portal-10445-ts-100-3")
    assert res.returncode == 0, res.stdout + res.stderr
    lines = res.stdout.splitlines()
    assert len(lines) == 2 and "PosixPath" not in res.stdout, res.stdout
    assert lines[0].startswith("ok     emd-3197: 1 file, ") and "from the mirror, in " in lines[0]
    assert (
        lines[1].startswith("ok     portal-10445-ts-100-3: 21 files, ")
        and "from the mirror" in lines[1]
    )
    assert lines[1].endswith("TS_100_3.zarr")
    again = run("data", "fetch", "portal-10445-ts-100-3").stdout.splitlines()
    assert len(again) == 1 and "21 files" in again[0] and "from the cache" in again[0]


def test_fetch_verify_mirror(archive_server, tmp_path, data_env):
    archive_server.put(EMD_3197_URL, synthetic_map_gz(tmp_path))
    res = run("data", "fetch", "emd-3197")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "ok     emd-3197" in res.stdout
    listing = run("data", "list")
    assert [ln for ln in listing.stdout.splitlines() if ln.startswith("emd-3197 ")][0].endswith(
        "yes"
    )

    res = run("data", "verify")
    assert res.returncode == 0 and "0 corrupt" in res.stdout

    res = run("data", "mirror", str(tmp_path / "m"))
    assert res.returncode == 0
    assert (
        tmp_path / "m/ftp.ebi.ac.uk/pub/databases/emdb/structures/EMD-3197/map/emd_3197.map.gz"
    ).is_file()

    local = data_env / "ftp.ebi.ac.uk/pub/databases/emdb/structures/EMD-3197/map/emd_3197.map.gz"
    local.write_bytes(local.read_bytes()[:-1] + b"!")
    res = run("data", "verify")
    assert res.returncode == 1 and "CORRUPT" in res.stdout


def test_fetch_failures_exit_nonzero(monkeypatch, capsys):
    monkeypatch.setenv("EMCOURSE_OFFLINE", "1")
    assert cli.main(["data", "fetch", "emd-3197", "no-such-thing"]) == 1
    out = capsys.readouterr().out
    assert "FAILED emd-3197" in out and "EMCOURSE_OFFLINE=1" in out
    assert "FAILED no-such-thing" in out
    assert cli.main(["data", "fetch"]) == 2


def test_exercises_build_calls_the_generator(monkeypatch, tmp_path, capsys):
    import emcourse.exercises

    calls = []
    monkeypatch.setattr(emcourse.exercises, "build_all", lambda *a, **k: calls.append(1) or [])
    monkeypatch.chdir(tmp_path)
    assert cli.main(["exercises", "build"]) == 2  # not a course root: says so, builds nothing
    assert calls == [] and "no solutions/ folder" in capsys.readouterr().out
    (tmp_path / "solutions").mkdir()
    assert cli.main(["exercises", "build"]) == 0
    assert calls == [1]


def test_help():
    with pytest.raises(SystemExit) as exc:
        cli.main(["--help"])
    assert exc.value.code == 0


def test_fetch_all_failures_are_one_line_each_with_a_summary(archive_server, tmp_path, capsys):
    archive_server.put(EMD_3197_URL, synthetic_map_gz(tmp_path))  # the mirror has only this
    n = len(data.registry())
    assert cli.main(["data", "fetch", "--all"]) == 1
    out = capsys.readouterr().out
    failed = [ln for ln in out.splitlines() if ln.startswith("FAILED ")]
    assert len(failed) == n - 1
    for line in failed:
        assert "HTTP 404" in line and "; archive: " in line and len(line) < 300
        assert line.count(archive_server.url) == 1
    assert "ok     emd-3197" in out
    assert "once online" not in out
    assert out.count("re-run `emcourse data mirror`") == 1  # the advice, once
    last = out.strip().splitlines()[-1]
    assert last.startswith(f"1/{n} fetched; lessons will use the synthetic stand-ins for: ")
    assert "emd-1832" in last and "emd-3197" not in last

    assert cli.main(["data", "fetch", "-v", "emd-1832"]) == 1
    verbose = capsys.readouterr().out
    assert any(ln.startswith("    ") and "404" in ln for ln in verbose.splitlines())


def test_mirror_of_an_empty_cache_fails_and_lists_what_is_missing(tmp_path, capsys):
    assert cli.main(["data", "mirror", str(tmp_path / "m")]) == 1
    out = capsys.readouterr().out
    assert "0 files copied" in out and "emd-3197" in out and "emd-1832" in out
    assert "http.server" not in out  # nothing to serve


def test_partial_mirror_lists_what_is_missing(archive_server, tmp_path, capsys):
    archive_server.put(EMD_3197_URL, synthetic_map_gz(tmp_path))
    data.fetch("emd-3197")
    assert cli.main(["data", "mirror", str(tmp_path / "m")]) == 0
    out = capsys.readouterr().out
    missing = [ln for ln in out.splitlines() if "missing" in ln.lower()]
    assert missing and "emd-1832" in missing[0] and "emd-3197" not in missing[0]
    assert "http.server" in out


def test_help_names_the_environment_variables(capsys):
    for argv in (["--help"], ["data", "--help"]):
        with pytest.raises(SystemExit):
            cli.main(argv)
        out = capsys.readouterr().out
        for var in ("EMCOURSE_DATA_DIR", "EMCOURSE_MIRROR", "EMCOURSE_OFFLINE"):
            assert var in out, (argv, var)
    with pytest.raises(SystemExit):
        cli.main(["data", "fetch", "--help"])
    out = capsys.readouterr().out
    assert "registry name" in out and "--verbose" in out


def test_list_footer_says_where_data_come_from(monkeypatch, data_env, capsys):
    monkeypatch.setenv("EMCOURSE_OFFLINE", "1")
    assert cli.main(["data", "list"]) == 0
    out = capsys.readouterr().out
    assert f"cache: {data_env}" in out and "mirror: none" in out and "offline: on" in out
    monkeypatch.delenv("EMCOURSE_OFFLINE")
    monkeypatch.setenv("EMCOURSE_MIRROR", "127.0.0.1:8000")
    monkeypatch.setattr(cache, "is_writable", lambda p: data_env not in (p, *p.parents))
    assert cli.main(["data", "list"]) == 0
    out = capsys.readouterr().out
    assert "offline: off" in out and "read-only" in out and "per-user cache: " in out
    assert "EMCOURSE_MIRROR=http://127.0.0.1:8000" in out


def test_unknown_names_are_listed_plainly(capsys):
    assert cli.main(["data", "fetch", "no-such-thing"]) == 1
    out = capsys.readouterr().out
    assert "'no-such-thing'" not in out and "emd-3197" in out
    assert cli.main(["data", "pin", "no-such-thing"]) == 1
    assert "'no-such-thing'" not in capsys.readouterr().out


def test_skips_are_worded_one_way():
    """Every skip goes through conftest.needs or skip_reason (e2e: e2e_support.needs)."""
    import re

    from conftest import REPO, skip_reason

    helpers = {"tests/conftest.py", "e2e/e2e_support.py"}
    own = re.compile(r"pytest\.skip\(|importorskip\(|\.skipif\(|mark\.skip\(")
    offenders = [
        f"{path.relative_to(REPO)}:{n}"
        for folder in ("tests", "e2e")
        for path in sorted((REPO / folder).rglob("*.py"))
        if str(path.relative_to(REPO)) not in helpers
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if own.search(line) and "skip_reason(" not in line  # skipif(..., reason=skip_reason(..))
    ]
    assert not offenders, f"skip with conftest.needs or skip_reason(what, why): {offenders}"
    e2e = (REPO / "e2e" / "e2e_support.py").read_text()
    assert 'f"needs {what} ({why}), not present"' in e2e  # the same words as ...
    assert skip_reason("x", "y") == "needs x (y), not present"  # ... the tests' own
