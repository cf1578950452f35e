"""Every documented way to install the course installs what the lessons import.

The imports are collected from every notebook (lessons, solution and exercise
sheets) with ``ast``; each route's requirements are read from where a learner
reads them: ``make install`` (pyproject's dependencies, the extras the
Makefile installs and its PyTorch step), ``environment.yml`` (conda), and the
"without make" commands of the README and the set-up page.
"""

from __future__ import annotations

import ast
import re
import shlex
import sys
import tomllib
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("notebooks", "solutions", "exercises")

# import name -> distribution name, where they differ
DISTRIBUTION = {
    "skimage": "scikit-image",
    "sklearn": "scikit-learn",
    "PIL": "pillow",
    "yaml": "pyyaml",
    "IPython": "ipython",
    "mpl_toolkits": "matplotlib",
    "emcourse": "emcourse",
}
# distributions a lesson may import that come with one the routes list
# (ipython is the kernel's own package: every route that installs JupyterLab has it)
COMES_WITH = {"ipython": "jupyterlab"}
CONDA_TO_PIP = {"pytorch-cpu": "torch", "pytorch": "torch"}


def _name(requirement: str) -> str:
    match = re.match(r"\s*([A-Za-z0-9_.\-]+)", requirement)
    return match.group(1).lower().replace("_", "-")


def notebook_imports() -> dict[str, set[str]]:
    """Top-level package of every import in every notebook -> the notebooks importing it."""
    found: dict[str, set[str]] = {}
    for folder in FOLDERS:
        for path in sorted((ROOT / folder).rglob("*.ipynb")):
            nb = nbformat.read(path, as_version=4)
            for cell in nb.cells:
                if cell.cell_type != "code":
                    continue
                lines = [
                    ln for ln in cell.source.splitlines() if not ln.lstrip().startswith(("%", "!"))
                ]
                for node in ast.walk(ast.parse("\n".join(lines))):
                    if isinstance(node, ast.Import):
                        names = [alias.name for alias in node.names]
                    elif isinstance(node, ast.ImportFrom) and node.level == 0:
                        names = [node.module]
                    else:
                        continue
                    for name in names:
                        top = name.split(".")[0]
                        if top not in sys.stdlib_module_names:
                            found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _with_extras(extras: list[str]) -> set[str]:
    project = _project()
    reqs = list(project["dependencies"])
    for extra in extras:
        reqs += project["optional-dependencies"][extra]
    return {"emcourse"} | {_name(r) for r in reqs}


def make_route() -> set[str]:
    makefile = (ROOT / "Makefile").read_text()
    (extras,) = re.findall(
        r'\$\(STAMP\): pyproject\.toml\n(?:\t.*\n)*?\t.*-e "\.\[([^]]*)\]"', makefile
    )
    (torch,) = re.findall(r"^TORCH_REQ := (.+)$", makefile, re.M)
    return _with_extras(extras.split(",")) | {_name(torch)}


def conda_route() -> set[str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    names = set()
    for dep in env["dependencies"]:
        if isinstance(dep, str) and not dep.startswith(("python", "pip")):
            names.add(CONDA_TO_PIP.get(_name(dep), _name(dep)))
        elif isinstance(dep, dict):
            for pip_dep in dep.get("pip", []):
                names |= _with_extras([]) if pip_dep == "-e ." else {_name(pip_dep)}
    return names


def pip_commands_route(page: Path, heading: str) -> set[str]:
    """What the ``pip install`` lines of the code block under ``heading`` install."""
    section = page.read_text().split(heading, 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    names: set[str] = set()
    for line in block.splitlines():
        line = line.split("#", 1)[0]
        if "pip install" not in line:
            continue
        words = shlex.split(line.split("pip install", 1)[1])
        skip_next = False
        for word in words:
            if skip_next:
                skip_next = False
            elif word in ("--index-url", "--extra-index-url", "-i", "-r", "-c"):
                skip_next = True
            elif word == "-e" or word.startswith("-"):
                continue
            elif word.startswith("."):
                extras = re.search(r"\[([^]]*)\]", word)
                names |= _with_extras(extras.group(1).split(",") if extras else [])
            else:
                names.add(_name(word))
    assert names, f"no pip install in {page.name} under {heading!r}"
    return names


ROUTES = {
    "make install": make_route,
    "environment.yml": conda_route,
    "README, without make": lambda: pip_commands_route(ROOT / "README.md", "## Without make"),
    "set-up page, without make": lambda: pip_commands_route(
        ROOT / "book/setup.md", "Without `make`:"
    ),
}


def test_the_lessons_import_what_the_parser_expects():
    imports = notebook_imports()
    assert {"numpy", "emcourse", "torch", "skimage"} <= set(imports)  # the collector works


@pytest.mark.parametrize("route", list(ROUTES))
def test_every_route_installs_what_the_lessons_import(route):
    installed = ROUTES[route]()
    missing = {}
    for module, notebooks in notebook_imports().items():
        dist = DISTRIBUTION.get(module, module).lower()
        if dist in installed or COMES_WITH.get(dist) in installed:
            continue
        missing[dist] = sorted(notebooks)
    assert not missing, f"{route} does not install what these notebooks import: {missing}"
