"""The command line, run as ``python -m emcourse`` against the local mirror."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import EMD_3197_URL, synthetic_map_gz

from emcourse import cli

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
