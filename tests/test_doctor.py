"""``emcourse doctor`` on a working set-up and on a broken set-up of each kind."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from emcourse import cli, data, doctor
from emcourse.doctor import NOTE, OK, PROBLEM


def one(findings, check):
    (finding,) = [f for f in findings if f.check == check]
    return finding


def test_python_too_old_is_a_problem_with_a_fix():
    f = one(doctor.check_python((3, 9, 18)), "python")
    assert f.status == PROBLEM and "3.9.18" in f.detail and "3.11" in f.fix
    assert one(doctor.check_python((3, 11, 2)), "python").status == OK


def test_missing_and_too_old_packages_are_named():
    f = one(doctor.check_packages(["numpy>=999", "emcourse-no-such-package>=1"]), "packages")
    assert f.status == PROBLEM
    assert "numpy" in f.detail and "installed, the course needs >=999" in f.detail
    assert "emcourse-no-such-package is not installed" in f.detail
    assert "pip install -e ." in f.fix


def test_the_installed_course_requirements_are_met():
    assert doctor._requirements(), "emcourse's metadata lists no requirement"
    f = one(doctor.check_packages(), "packages")
    assert f.status == OK and f"numpy {version('numpy')}" in f.detail


def test_empty_cache_is_a_note_that_says_make_data(data_env):
    f = one(doctor.check_data(), "cache")
    assert f.status == NOTE and f"0/{len(data.registry())}" in f.detail
    assert "make data" in f.fix


def _fill(server) -> None:
    for entry in data.registry().values():
        for url in doctor._mirror_urls(entry, server.url):
            path = server.root / url.removeprefix(server.url + "/")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"x")


def test_complete_mirror_is_ok(archive_server):
    _fill(archive_server)
    assert one(doctor.check_data(), "mirror").status == OK


def test_incomplete_mirror_names_what_is_missing(archive_server):
    _fill(archive_server)
    name, entry = next(iter(data.registry().items()))
    url = doctor._mirror_urls(entry, archive_server.url)[0]
    (archive_server.root / url.removeprefix(archive_server.url + "/")).unlink()
    f = one(doctor.check_data(), "mirror")
    assert f.status == PROBLEM and name in f.detail and f"emcourse data fetch {name}" in f.fix


def test_unreachable_mirror_is_a_problem(data_env):
    f = one(doctor.check_data("http://127.0.0.1:9", timeout=2), "mirror")
    assert f.status == PROBLEM and "does not answer" in f.detail


def test_mirror_that_is_not_a_url(data_env):
    f = one(doctor.check_data("127.0.0.1:8000"), "mirror")
    assert f.status == PROBLEM and f.fix == "set EMCOURSE_MIRROR=http://127.0.0.1:8000"


def test_low_memory_is_a_problem(tmp_path):
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal: 4000000 kB\nMemAvailable:  512000 kB\n")
    f = one(doctor.check_memory(meminfo=meminfo), "memory")
    assert f.status == PROBLEM and "0.5 GiB available" in f.detail and "Shut" in f.fix
    assert one(doctor.check_memory(minimum=1), "memory").status == OK


def test_full_disk_is_a_problem(tmp_path):
    f = one(doctor.check_disk(tmp_path / "not-yet" / "cache", minimum=1 << 60), "disk")
    assert f.status == PROBLEM and "EMCOURSE_DATA_DIR" in f.fix
    assert one(doctor.check_disk(tmp_path, minimum=1), "disk").status == OK


def _kernel(tmp_path, monkeypatch, python: str) -> None:
    spec = tmp_path / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True)
    argv = [python, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "Python 3", "language": "python"})
    )
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))


def test_kernel_whose_python_is_gone(tmp_path, monkeypatch):
    _kernel(tmp_path, monkeypatch, str(tmp_path / "gone" / "python"))
    f = one(doctor.check_kernel(), "kernel")
    assert f.status == PROBLEM and "does not exist" in f.detail and "ipykernel install" in f.fix


def test_kernel_whose_python_lacks_the_course(tmp_path, monkeypatch):
    env = tmp_path / "bare-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True)
    _kernel(tmp_path, monkeypatch, str(env / "bin" / "python"))
    monkeypatch.delenv("PYTHONPATH", raising=False)
    f = one(doctor.check_kernel(), "kernel")
    assert f.status == PROBLEM and "cannot import the course" in f.detail
    assert "No module named" in f.detail


def test_kernel_of_this_environment_is_ok(tmp_path, monkeypatch):
    _kernel(tmp_path, monkeypatch, sys.executable)
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).resolve().parents[1] / "src"))
    f = one(doctor.check_kernel(), "kernel")
    assert f.status == OK and sys.executable in f.detail


def test_report_gives_the_fix_under_each_problem():
    text = doctor.report(
        [
            doctor.Finding("python", OK, "Python 3.11.7"),
            doctor.Finding("memory", PROBLEM, "0.5 GiB available", "close other programs"),
        ]
    )
    lines = text.splitlines()
    assert lines[1].startswith("PROBLEM memory") and lines[2].strip() == "fix: close other programs"
    assert lines[-1] == "1 problem(s) to fix before the course."


def test_cli_doctor_exit_status_follows_the_problems(monkeypatch, capsys):
    monkeypatch.setattr(doctor, "run_all", lambda: doctor.check_python((3, 8, 0)))
    assert cli.main(["doctor"]) == 1
    assert "fix:" in capsys.readouterr().out
    monkeypatch.setattr(doctor, "run_all", lambda: doctor.check_python((3, 12, 0)))
    assert cli.main(["doctor"]) == 0
    assert "All set." in capsys.readouterr().out


@pytest.mark.parametrize("check", ["python", "packages", "cache", "memory", "disk", "kernel"])
def test_run_all_covers_every_kind(check, data_env):
    assert any(f.check == check for f in doctor.run_all())


def test_mirror_urls_of_every_registry_shape():
    m = "http://mirror:8000/"
    assert doctor._mirror_urls({"url": "https://h.org/a/b.map.gz"}, m) == [
        "http://mirror:8000/h.org/a/b.map.gz"
    ]
    assert doctor._mirror_urls({"url": "https://h.org/t.zarr/"}, m) == [
        "http://mirror:8000/h.org/t.zarr/.zattrs"
    ]
    files = {"files": {"em": "https://h.org/em.tif", "labels": "https://h.org/lab.tif"}}
    assert doctor._mirror_urls(files, m) == [
        "http://mirror:8000/h.org/em.tif",
        "http://mirror:8000/h.org/lab.tif",
    ]
