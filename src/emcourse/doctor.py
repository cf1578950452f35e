"""``emcourse doctor``: check a learner's set-up and say how to fix each problem.

Checks, in order: the Python version; every package the course needs, installed
and new enough; the data (which datasets are in the cache, and, when
``EMCOURSE_MIRROR`` is set, that the mirror answers and holds every dataset);
free memory; free disk space where the cache lives; the notebook kernel
(``python3`` exists, starts a Python that can import the course package).

Each check returns :class:`Finding` objects; :func:`report` prints one line per
finding, and the fix under every problem. The exit status of ``emcourse
doctor`` is 1 when something must be fixed, 0 otherwise (notes such as "3
datasets not cached; lessons use stand-ins" do not fail it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from urllib.parse import urlsplit

__all__ = [
    "Finding",
    "check_data",
    "check_disk",
    "check_kernel",
    "check_memory",
    "check_packages",
    "check_python",
    "main",
    "report",
    "run_all",
]

MIN_PYTHON = (3, 11)
GIB = 1 << 30
MIN_MEMORY = 2 * GIB  # a lesson's budget (1 GiB) plus JupyterLab and the browser
MIN_DISK = 2 * GIB
OK, NOTE, PROBLEM = "ok", "note", "PROBLEM"


@dataclass(frozen=True)
class Finding:
    """One line of the report: what was checked, the status, what was found, the fix."""

    check: str
    status: str  # "ok", "note" or "PROBLEM"
    detail: str
    fix: str = ""


def _gib(n: float) -> str:
    return f"{n / GIB:.1f} GiB"


def check_python(version: tuple[int, ...] = tuple(sys.version_info[:3])) -> list[Finding]:
    """Python is at least :data:`MIN_PYTHON`."""
    text = ".".join(map(str, version))
    if tuple(version[:2]) >= MIN_PYTHON:
        return [Finding("python", OK, f"Python {text} ({sys.executable})")]
    need = ".".join(map(str, MIN_PYTHON))
    return [
        Finding(
            "python",
            PROBLEM,
            f"Python {text}; the course needs {need} or newer",
            f"install Python {need}+ (or `conda env create -f environment.yml`), then "
            "`python3 -m venv .venv && .venv/bin/pip install -e .` in the course folder",
        )
    ]


def _requirements() -> list[str]:
    """The course's runtime requirements, from the installed package's metadata."""
    return [r for r in (metadata.requires("emcourse") or []) if "extra ==" not in r]


def check_packages(requirements: list[str] | None = None) -> list[Finding]:
    """Every requirement is installed in a version its specifier accepts."""
    from packaging.requirements import Requirement

    findings, bad, found = [], [], []
    for text in _requirements() if requirements is None else requirements:
        req = Requirement(text)
        try:
            version = metadata.version(req.name)
        except metadata.PackageNotFoundError:
            bad.append(f"{req.name} is not installed (needs {req.specifier or 'any version'})")
            continue
        found.append(f"{req.name} {version}")
        if req.specifier and not req.specifier.contains(version, prereleases=True):
            bad.append(f"{req.name} {version} is installed, the course needs {req.specifier}")
    if bad:
        findings.append(
            Finding(
                "packages",
                PROBLEM,
                "; ".join(bad),
                "in the course folder run `pip install -e .` (or `make install`) with the "
                "Python that runs your notebooks",
            )
        )
    else:
        findings.append(Finding("packages", OK, "installed as needed: " + ", ".join(found)))
    return findings


def _mirror_urls(entry: dict, mirror: str) -> list[str]:
    """Where a dataset's files are on a mirror laid out as ``<host>/<path>``."""
    urls = list(entry.get("files", {}).values()) if "files" in entry else [entry["url"]]
    out = []
    for url in urls:
        if url.rstrip("/").endswith(".zarr"):
            url = url.rstrip("/") + "/.zattrs"
        parts = urlsplit(url)
        out.append(f"{mirror.rstrip('/')}/{parts.hostname}{parts.path}")
    return out


def check_data(mirror: str | None = None, *, timeout: float = 5.0) -> list[Finding]:
    """Which datasets the cache holds; the mirror answers and holds every dataset."""
    import requests

    from emcourse import data

    entries = data.registry()
    missing = [name for name in entries if not data.is_cached(name)]
    cache = data.cache_dir()
    if missing:
        findings = [
            Finding(
                "cache",
                NOTE,
                f"{len(entries) - len(missing)}/{len(entries)} datasets in {cache}; "
                f"not cached: {', '.join(missing)} (lessons use their announced stand-ins)",
                "`make data` or `emcourse data fetch --all` (online, or with EMCOURSE_MIRROR set)",
            )
        ]
    else:
        findings = [Finding("cache", OK, f"all {len(entries)} datasets in {cache}")]
    mirror = os.environ.get("EMCOURSE_MIRROR", "").strip() if mirror is None else mirror
    if not mirror:
        return findings
    if not mirror.lower().startswith(("http://", "https://")):
        return findings + [
            Finding(
                "mirror",
                PROBLEM,
                f"EMCOURSE_MIRROR={mirror} is not a URL",
                f"set EMCOURSE_MIRROR=http://{mirror.split('://')[-1]}",
            )
        ]
    absent, unreachable = [], ""
    with requests.Session() as session:
        for name, entry in entries.items():
            for url in _mirror_urls(entry, mirror):
                try:
                    status = session.head(url, timeout=timeout, allow_redirects=True).status_code
                except requests.exceptions.RequestException as exc:
                    unreachable = f"{type(exc).__name__} on {url}"
                    break
                if status != 200:
                    absent.append(name)
                    break
            if unreachable:
                break
    if unreachable:
        return findings + [
            Finding(
                "mirror",
                PROBLEM,
                f"the mirror {mirror} does not answer ({unreachable})",
                "check the address with the instructor, or unset EMCOURSE_MIRROR to use the "
                "archives",
            )
        ]
    if absent:
        return findings + [
            Finding(
                "mirror",
                PROBLEM,
                f"the mirror {mirror} lacks {', '.join(absent)}",
                "on the mirror's machine: `emcourse data fetch "
                + " ".join(absent)
                + "`, then `emcourse data mirror DIR` again",
            )
        ]
    return findings + [Finding("mirror", OK, f"{mirror} holds all {len(entries)} datasets")]


def _available_memory(meminfo: Path = Path("/proc/meminfo")) -> int | None:
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except ImportError:
        return None


def check_memory(
    *, minimum: int = MIN_MEMORY, meminfo: Path = Path("/proc/meminfo")
) -> list[Finding]:
    """At least ``minimum`` bytes of memory available."""
    available = _available_memory(meminfo)
    if available is None:
        return [Finding("memory", NOTE, "could not read the free memory", "")]
    if available >= minimum:
        return [Finding("memory", OK, f"{_gib(available)} available")]
    return [
        Finding(
            "memory",
            PROBLEM,
            f"{_gib(available)} available; a lesson needs up to 1 GiB plus JupyterLab "
            f"({_gib(minimum)} in all)",
            "close other programs and shut down kernels you no longer use (Kernel > Shut "
            "Down All Kernels); on a hub, ask for a bigger server",
        )
    ]


def _existing(path: Path) -> Path:
    path = path.resolve()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_disk(path: Path | None = None, *, minimum: int = MIN_DISK) -> list[Finding]:
    """At least ``minimum`` bytes free where the data cache lives."""
    if path is None:
        from emcourse import data

        path = data.cache_dir()
    free = shutil.disk_usage(_existing(Path(path))).free
    if free >= minimum:
        return [Finding("disk", OK, f"{_gib(free)} free at {path}")]
    return [
        Finding(
            "disk",
            PROBLEM,
            f"{_gib(free)} free at {path}; the course needs {_gib(minimum)}",
            "free some space, or point EMCOURSE_DATA_DIR at a folder on a disk with room",
        )
    ]


def check_kernel(name: str = "python3", *, timeout: float = 60.0) -> list[Finding]:
    """The notebook kernel exists and its Python imports this course package."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    fix = (
        "register this environment's kernel: `python -m ipykernel install --user "
        f"--name {name}` (run it with the Python that has the course installed)"
    )
    try:
        spec = KernelSpecManager().get_kernel_spec(name)
    except NoSuchKernel:
        return [Finding("kernel", PROBLEM, f"no Jupyter kernel named {name}", fix)]
    exe = spec.argv[0]
    found = exe if os.path.isabs(exe) else shutil.which(exe)
    if not found or not os.access(found, os.X_OK):
        return [Finding("kernel", PROBLEM, f"kernel {name} runs {exe}, which does not exist", fix)]
    probe = "import emcourse, sys; print(sys.version.split()[0])"
    try:
        out = subprocess.run(
            [found, "-c", probe], capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return [Finding("kernel", PROBLEM, f"kernel {name} ({found}) does not start: {exc}", fix)]
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["no output"])[-1]
        return [
            Finding(
                "kernel",
                PROBLEM,
                f"kernel {name} runs {found}, which cannot import the course ({last})",
                fix,
            )
        ]
    return [Finding("kernel", OK, f"kernel {name}: {found} (Python {out.stdout.strip()})")]


def run_all() -> list[Finding]:
    """Every check, in the order of the report."""
    findings: list[Finding] = []
    for check in (check_python, check_packages, check_data, check_memory, check_disk, check_kernel):
        try:
            findings += check()
        except Exception as exc:  # noqa: BLE001 - a broken check is itself a finding
            findings.append(
                Finding(
                    check.__name__.removeprefix("check_"),
                    PROBLEM,
                    f"the check failed: {type(exc).__name__}: {exc}",
                    "reinstall the course (`pip install -e .`) and run `emcourse doctor` again",
                )
            )
    return findings


def report(findings: list[Finding]) -> str:
    """The printed report: one line per finding, its fix indented below.

    Examples
    --------
    >>> print(report([Finding("python", OK, "Python 3.11.7"),
    ...               Finding("disk", PROBLEM, "0.2 GiB free", "free some space")]), end="")
    ok      python  Python 3.11.7
    PROBLEM disk    0.2 GiB free
                    fix: free some space
    1 problem(s) to fix before the course.
    """
    width = max(len(f.check) for f in findings)
    lines = []
    for f in findings:
        lines.append(f"{f.status:<7} {f.check:<{width}}  {f.detail}")
        if f.fix and f.status != OK:
            lines.append(f"{'':<7} {'':<{width}}  fix: {f.fix}")
    problems = sum(f.status == PROBLEM for f in findings)
    lines.append("All set." if not problems else f"{problems} problem(s) to fix before the course.")
    return "\n".join(lines) + "\n"


def main() -> int:
    """Print the report; 1 when something must be fixed."""
    findings = run_all()
    print(report(findings), end="")
    return int(any(f.status == PROBLEM for f in findings))
