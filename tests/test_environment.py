"""The documented routes install the same packages.

environment.yml (conda, for hubs and Binder) and pyproject.toml must not drift,
and PyTorch comes from the index that ``make``'s TORCH_INDEX names.
"""

import hashlib
import json
import os
import re
import subprocess
import sys
import threading
import tomllib
import zipfile
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def _name_and_spec(requirement: str) -> tuple[str, str]:
    match = re.match(r"\s*([A-Za-z0-9_.\-]+)\s*(.*)", requirement)
    name, spec = match.group(1), match.group(2).replace(" ", "")
    return name.lower().replace("_", "-"), spec


# conda-forge names of packages that pyproject lists under another name, and the extras
# that environment.yml installs too (the "nn" extra: PyTorch, CPU build, lesson 20-04).
CONDA_TO_PIP = {"pytorch-cpu": "torch"}
CONDA_EXTRAS = ("nn",)


def pyproject_runtime() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in CONDA_EXTRAS:
        reqs += project["optional-dependencies"][extra]
    return dict(_name_and_spec(r) for r in reqs)


def conda_runtime() -> dict[str, str]:
    """conda packages plus the pip section's (packages conda-forge lacks), minus ``-e .``."""
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda_deps = [d for d in env["dependencies"] if isinstance(d, str)]
    pip_deps = [d for e in env["dependencies"] if isinstance(e, dict) for d in e.get("pip", [])]
    pairs = [_name_and_spec(d) for d in conda_deps if not d.startswith(("python", "pip"))]
    pairs += [_name_and_spec(d) for d in pip_deps if not d.startswith("-")]
    return {CONDA_TO_PIP.get(name, name): spec for name, spec in pairs}


def test_conda_takes_the_cpu_build_of_pytorch():
    deps = yaml.safe_load((ROOT / "environment.yml").read_text())["dependencies"]
    names = {_name_and_spec(d)[0] for d in deps if isinstance(d, str)}
    assert "pytorch-cpu" in names and "pytorch" not in names and "torch" not in names


def test_environment_lists_the_same_runtime_packages_as_pyproject():
    assert conda_runtime() == pyproject_runtime()


def test_parser_sees_every_package():
    # Guards the parser itself: an empty parse would make the test above pass vacuously.
    assert {"numpy", "mrcfile", "pooch", "jupyter-book"} <= set(conda_runtime())


def test_environment_pins_the_python_the_course_is_tested_on():
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert requires == ">=3.11"
    assert "  - python=3.11" in (ROOT / "environment.yml").read_text().splitlines()


# ---------------------------------------------------------------------------
# PyTorch: a make step of its own, from TORCH_INDEX (PyTorch's CPU wheels by default)
# ---------------------------------------------------------------------------

TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def _make_dry(*args: str) -> str:
    out = subprocess.run(
        ["make", "-n", "-o", ".venv/.installed", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout


def test_make_installs_the_cpu_build_of_pytorch_with_the_pyproject_pin(tmp_path):
    nn = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    (pin,) = nn["nn"]
    command = _make_dry("torch", f"TORCH_STAMP={tmp_path / 'stamp'}")
    assert f"--index-url {TORCH_CPU_INDEX}" in command and f'"{pin}"' in command
    assert "+cpu" not in command  # a local version would match no macOS wheel
    assert "--retries" in command and "--timeout" in command  # an unreachable index fails fast
    # and the main install no longer pulls it from the default index
    assert "nn]" not in _make_dry("install", "-o", ".venv/.installed-torch")


def _dummy_wheel(folder: Path, name: str = "torch", version: str = "2.13.0") -> Path:
    """A tiny pure-Python wheel named like ``name``: a stand-in for PyTorch's."""
    dist = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": b"",
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
        f"{dist}/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
        b"Tag: py3-none-any\n",
    }
    record = "".join(f"{path},,\n" for path in files) + f"{dist}/RECORD,,\n"
    files[f"{dist}/RECORD"] = record.encode()
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for path, content in files.items():
            zf.writestr(path, content)
    return wheel


@pytest.fixture
def torch_index(tmp_path):
    """A PEP 503 index on 127.0.0.1 with one project, torch; yields (URL, requested paths)."""
    root = tmp_path / "index"
    (root / "simple" / "torch").mkdir(parents=True)
    wheel = _dummy_wheel(root)
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    (root / "simple" / "torch" / "index.html").write_text(
        f'<html><body><a href="../../{wheel.name}#sha256={digest}">{wheel.name}</a></body></html>'
    )
    requested: list[str] = []

    class Handler(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            requested.append(self.path)

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/simple", requested
    finally:
        server.shutdown()
        server.server_close()


def test_the_torch_step_takes_torch_from_the_index_given_by_torch_index(tmp_path, torch_index):
    url, requested = torch_index
    report = tmp_path / "report.json"
    # no pip configuration and no PIP_* variables: only the index that make passes is seen
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    args = f"--dry-run --ignore-installed --no-deps --report {report}"
    subprocess.run(
        [
            "make",
            "-o",
            ".venv/.installed",
            "torch",
            f"TORCH_STAMP={tmp_path / 'stamp'}",
            f"TORCH_INDEX={url}",
            f"TORCH_PIP_ARGS={args}",
            f"PY={sys.executable}",
        ],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    (item,) = json.loads(report.read_text())["install"]
    assert item["metadata"]["name"] == "torch" and item["metadata"]["version"] == "2.13.0"
    assert item["download_info"]["url"].startswith(url.removesuffix("/simple"))
    assert "/simple/torch/" in requested
