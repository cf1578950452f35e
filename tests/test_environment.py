"""environment.yml (conda, for hubs and Binder) and pyproject.toml must not drift."""

import re
import tomllib
from pathlib import Path

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
