"""``emcourse doctor`` on a working set-up and on a broken set-up of each kind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

from conftest import needs

from emcourse import cli, data, doctor, doctor_data
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


def _start(url: str) -> bytes:
    """Bytes that begin like a real file of ``url``'s kind (what the doctor reads)."""
    for ending, magics in doctor_data.MAGIC.items():
        if url.endswith(ending):
            return magics[0] + b"\0" * 60
    return b"PixelSpacing = 5.4\n"


def _fill(server) -> None:
    for entry in data.registry().values():
        for url in doctor_data.mirror_urls(entry, server.url):
            path = server.root / url.removeprefix(server.url + "/")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(_start(url))


def test_complete_mirror_is_ok(archive_server):
    _fill(archive_server)
    assert one(doctor.check_data(), "mirror").status == OK


def test_incomplete_mirror_names_what_is_missing(archive_server):
    _fill(archive_server)
    name, entry = next(iter(data.registry().items()))
    url = doctor_data.mirror_urls(entry, archive_server.url)[0]
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


def _fake_python_on_path(tmp_path, monkeypatch) -> Path:
    """A ``python`` first on PATH that cannot import the course (a pyenv shim, say)."""
    bin_ = tmp_path / "shims"
    bin_.mkdir()
    for name in ("python", "python3"):
        shim = bin_ / name
        shim.write_text(
            "#!/bin/sh\necho \"ModuleNotFoundError: No module named 'emcourse'\" >&2\nexit 1\n"
        )
        shim.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_}{os.pathsep}/usr/bin{os.pathsep}/bin")
    return bin_


def test_kernel_spec_of_plain_python_runs_this_python_not_the_one_on_path(tmp_path, monkeypatch):
    # ipykernel's own spec says "python": JupyterLab started from this environment runs
    # its own sys.executable, whatever `python` on PATH is (the venv need not be activated)
    _fake_python_on_path(tmp_path, monkeypatch)
    _kernel(tmp_path, monkeypatch, "python")
    f = one(doctor.check_kernel(), "kernel")
    assert f.status == OK and sys.executable in f.detail and "this environment's" in f.detail


def test_this_environment_kernelspec_wins_over_a_user_one(tmp_path, monkeypatch):
    # the user's kernelspec (e.g. from another Python) comes after this environment's
    env = tmp_path / "bare-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True)
    user = tmp_path / "user-data" / "kernels" / "python3"
    user.mkdir(parents=True)
    argv = [str(env / "bin" / "python"), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (user / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "Py", "language": "python"})
    )
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "user-data"))
    monkeypatch.delenv("JUPYTER_PATH", raising=False)
    monkeypatch.setenv("JUPYTER_PREFER_ENV_PATH", "1")
    own = Path(sys.prefix, "share", "jupyter", "kernels", "python3")
    if not own.is_dir():
        needs(str(own), "this environment's own kernelspec, as ipykernel installs it")
    assert one(doctor.check_kernel(), "kernel").status == OK
    # ...unless Jupyter is told to prefer the user's folders: then it shadows this one
    monkeypatch.setenv("JUPYTER_PREFER_ENV_PATH", "0")
    monkeypatch.delenv("PYTHONPATH", raising=False)
    f = one(doctor.check_kernel(), "kernel")
    assert f.status == PROBLEM and "cannot import the course" in f.detail and str(user) in f.detail
    assert f"{sys.executable} -m ipykernel install --user --name python3" in f.fix
    assert str(user) in f.fix


def test_doctor_runs_from_the_venv_without_activation(tmp_path, monkeypatch, data_env):
    _fake_python_on_path(tmp_path, monkeypatch)
    _kernel(tmp_path, monkeypatch, "python")
    for var in ("VIRTUAL_ENV", "CONDA_PREFIX"):
        monkeypatch.delenv(var, raising=False)
    res = subprocess.run(
        [sys.executable, "-m", "emcourse", "doctor"], capture_output=True, text=True, timeout=300
    )
    kernel = [line for line in res.stdout.splitlines() if " kernel " in line]
    assert kernel and kernel[0].startswith("ok") and sys.executable in kernel[0], res.stdout
    assert [line for line in res.stdout.splitlines() if line.startswith("ok      torch")]


def _broken_packages(tmp_path, **modules: str) -> dict:
    """PYTHONPATH that shadows each module with one whose import raises ``modules[name]``."""
    site = tmp_path / "broken-site"
    for name, raise_ in modules.items():
        (site / name).mkdir(parents=True)
        (site / name / "__init__.py").write_text(f"raise {raise_}\n")
    src = Path(__file__).resolve().parents[1] / "src"
    return {"PYTHONPATH": f"{site}{os.pathsep}{src}"}


def test_installed_but_broken_packages_are_caught(tmp_path):
    env = _broken_packages(
        tmp_path,
        tifffile='ImportError("numpy.core.multiarray failed to import")',
        torch='OSError("libtorch_cpu.so: cannot open shared object file")',
    )
    findings = doctor.check_imports(sys.executable, env=env)
    f = one(findings, "imports")
    assert f.status == PROBLEM and "tifffile fails to import (ImportError: numpy.core" in f.detail
    assert f.fix.endswith("-m pip install --force-reinstall tifffile`")
    t = one(findings, "torch")
    assert t.status == PROBLEM and "installed but fails to import" in t.detail
    assert "libtorch_cpu.so" in t.detail and doctor.TORCH_CPU_INDEX in t.fix


def test_torch_not_installed_gives_the_cpu_build_command(tmp_path):
    # this Python without its site-packages (-S) has the standard library only
    bare = tmp_path / "python-without-site"
    bare.write_text(f'#!/bin/sh\nexec "{sys.executable}" -S "$@"\n')
    bare.chmod(0o755)
    findings = doctor.check_imports(str(bare), modules=("json", "numpy", "torch"))
    f = one(findings, "imports")
    assert f.status == PROBLEM and f.detail == f"in {bare}: numpy is not installed"
    t = one(findings, "torch")
    assert t.status == PROBLEM and t.detail == f"PyTorch is not installed in {bare}"
    assert "lesson 20-04" in t.fix
    assert f"`{bare} -m pip install 'torch" in t.fix and doctor.TORCH_CPU_INDEX in t.fix


def test_every_lesson_import_is_checked():
    """LESSON_MODULES covers what notebooks, sheets and the package they call import."""
    import ast

    root = Path(__file__).resolve().parents[1]
    tools = {"bench.py", "cli.py", "doctor.py", "exercises.py", "__main__.py"}
    sources = [
        p.read_text() for p in (root / "src" / "emcourse").rglob("*.py") if p.name not in tools
    ]
    for nb in [*root.glob("notebooks/*/*.ipynb"), *root.glob("solutions/*/*.ipynb")]:
        for cell in json.loads(nb.read_text())["cells"]:
            if cell["cell_type"] == "code":
                lines = "".join(cell["source"]).splitlines()
                sources.append(
                    "\n".join(ln for ln in lines if not ln.lstrip().startswith(("%", "!")))
                )
    imported = set()
    for text in sources:
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Import):
                imported |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                imported.add(node.module.split(".")[0])
    checked = {m.split(".")[0] for m in (*doctor.LESSON_MODULES, *doctor.OPTIONAL_MODULES)}
    missing = imported - checked - set(sys.stdlib_module_names) - {"__future__", "emcourse"}
    assert not missing, f"add to doctor.LESSON_MODULES: {sorted(missing)}"


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


def test_run_all_covers_every_kind(data_env):
    checks = {f.check for f in doctor.run_all()}
    assert checks >= {"python", "packages", "cache", "memory", "disk", "kernel", "imports", "torch"}


def test_mirror_urls_of_every_registry_shape():
    m = "http://mirror:8000/"
    assert doctor_data.mirror_urls({"url": "https://h.org/a/b.map.gz"}, m) == [
        "http://mirror:8000/h.org/a/b.map.gz"
    ]
    assert doctor_data.mirror_urls({"url": "https://h.org/t.zarr/"}, m) == [
        "http://mirror:8000/h.org/t.zarr/.zattrs"
    ]
    files = {"files": {"em": "https://h.org/em.tif", "labels": "https://h.org/lab.tif"}}
    assert doctor_data.mirror_urls(files, m) == [
        "http://mirror:8000/h.org/em.tif",
        "http://mirror:8000/h.org/lab.tif",
    ]
