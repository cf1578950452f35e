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


def pyproject_runtime() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return dict(_name_and_spec(r) for r in project["dependencies"])


def conda_runtime() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda_deps = [d for d in env["dependencies"] if isinstance(d, str)]
    return dict(_name_and_spec(d) for d in conda_deps if not d.startswith(("python", "pip")))


def test_environment_lists_the_same_runtime_packages_as_pyproject():
    assert conda_runtime() == pyproject_runtime()


def test_parser_sees_every_package():
    # Guards the parser itself: an empty parse would make the test above pass vacuously.
    assert {"numpy", "mrcfile", "pooch", "jupyter-book"} <= set(conda_runtime())


def test_environment_pins_the_python_the_course_is_tested_on():
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert requires == ">=3.11"
    assert "  - python=3.11" in (ROOT / "environment.yml").read_text().splitlines()
