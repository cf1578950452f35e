"""``emcourse doctor``: check a learner's set-up and say how to fix each problem.

Checks, in order: the Python version; every package the course needs, installed
and new enough; the data (which datasets are in the cache, and, when
``EMCOURSE_MIRROR`` is set, that the mirror answers and holds every dataset);
free memory; free disk space where the cache lives; the notebook kernel; and,
in the kernel's Python, every module the lessons import, PyTorch included.

The kernel is judged as JupyterLab started from this environment would start
it (``make lab`` runs ``.venv/bin/jupyter lab``): jupyter_client finds the
``python3`` kernelspec in Jupyter's data path and, when its command is plain
``python`` (as ipykernel's own spec is), runs the server's own Python instead
of whatever ``python`` is first on ``PATH``. So ``.venv/bin/emcourse doctor``
needs no activated environment, and a user-level kernelspec that shadows this
environment's is caught.

Each check returns :class:`Finding` objects; :func:`report` prints one line per
finding, and the fix under every problem. The exit status of ``emcourse
doctor`` is 1 when something must be fixed, 0 otherwise (notes such as "3
datasets not cached; lessons use stand-ins" do not fail it).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

__all__ = [
    "Finding",
    "check_data",
    "check_disk",
    "check_imports",
    "check_kernel",
    "check_memory",
    "check_packages",
    "check_python",
    "kernel_command",
    "main",
    "report",
    "run_all",
]

MIN_PYTHON = (3, 11)
GIB = 1 << 30
MIN_MEMORY = 2 * GIB  # a lesson's budget (1 GiB) plus JupyterLab and the browser
MIN_DISK = 2 * GIB
OK, NOTE, PROBLEM = "ok", "note", "PROBLEM"
# What the lessons and the package functions they call import, checked by importing each
# in the kernel's Python (tests/test_doctor.py compares it with the notebooks' imports).
LESSON_MODULES = (
    "emcourse.data",
    "emcourse.io",
    "emcourse.sta",
    "emcourse.segment",
    "emcourse.mito_instances",
    "emcourse.clem",
    "emcourse.viewers",
    "emcourse.checks",
    "numpy",
    "scipy.fft",
    "scipy.ndimage",
    "scipy.spatial",
    "skimage.feature",
    "skimage.measure",
    "skimage.segmentation",
    "SimpleITK",
    "skimage.registration",
    "skimage.transform",
    "sklearn.ensemble",
    "sklearn.cluster",
    "sklearn.decomposition",
    "sklearn.metrics",
    "matplotlib.pyplot",
    "mpl_toolkits.mplot3d",
    "ipywidgets",
    "IPython.display",
    "mrcfile",
    "tifffile",
    "zarr",
    "numcodecs",
    "h5py",
    "starfile",
    "pandas",
    "PIL.Image",
    "pooch",
    "requests",
    "urllib3",
    "filelock",
    "tqdm",
    "torch",
    "dask.array",
    "stardist.matching",
)
# Imported by the package only for an optional extra that no lesson needs:
# itk (emcourse[elastix]), the reference the CLEM B-spline tests compare with.
OPTIONAL_MODULES = ("itk",)
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"


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


def check_data(mirror: str | None = None, *, timeout: float = 5.0) -> list[Finding]:
    """Which datasets the cache holds, where downloads go, that the mirror serves real files.

    See :func:`emcourse.doctor_data.data_findings`.
    """
    from emcourse.doctor_data import data_findings

    return [Finding(*f) for f in data_findings(mirror, timeout=timeout)]


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
    """At least ``minimum`` bytes free where downloads go (the cache, or where it falls back)."""
    if path is None:
        from emcourse.data import cache

        path = cache.cache_dir()
        for folder in (path, cache.user_cache()):
            if cache.is_writable(folder):
                path = folder
                break
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


def kernel_command(name: str = "python3") -> tuple[list[str], str, dict]:
    """The command, kernelspec folder and environment of kernel ``name``.

    Resolved as a Jupyter server running in this Python resolves it: the
    kernelspec found first in Jupyter's data path (``JUPYTER_PATH``, this
    environment's and the user's folders, in the order jupyter_core gives), and
    a command of plain ``python`` (or ``python3``, ``python3.X``) replaced by
    this ``sys.executable``. Raises ``jupyter_client.kernelspec.NoSuchKernel``.
    """
    from jupyter_client.manager import KernelManager

    km = KernelManager(kernel_name=name)
    spec = km.kernel_spec
    cmd = km.format_kernel_cmd()
    return cmd, spec.resource_dir, dict(spec.env or {})


def _is_this_python(exe: str) -> bool:
    return os.path.abspath(exe) == os.path.abspath(sys.executable)


def _kernel_python(name: str = "python3") -> tuple[str | None, dict]:
    """The kernel's Python (None when there is no runnable kernel) and its environment."""
    try:
        cmd, _, env = kernel_command(name)
    except Exception:  # noqa: BLE001 - no kernel: check_kernel reports why
        return None, {}
    exe = cmd[0] if os.path.isabs(cmd[0]) else shutil.which(cmd[0])
    return (exe if exe and os.access(exe, os.X_OK) else None), env


def check_kernel(name: str = "python3", *, timeout: float = 60.0) -> list[Finding]:
    """The notebook kernel that JupyterLab from this environment starts imports the course."""
    from jupyter_client.kernelspec import NoSuchKernel

    python = sys.executable
    fix = (
        f"register this environment's Python as the kernel: `{python} -m ipykernel install "
        f"--user --name {name}`"
    )
    try:
        cmd, where, env = kernel_command(name)
    except NoSuchKernel:
        return [Finding("kernel", PROBLEM, f"no Jupyter kernel named {name}", fix)]
    exe = cmd[0]
    found = exe if os.path.isabs(exe) else shutil.which(exe)
    spec = f"kernelspec {where}"
    if not _is_this_python(exe):
        fix += f" (or delete {where} if you no longer need it)"
    if not found or not os.access(found, os.X_OK):
        return [
            Finding(
                "kernel", PROBLEM, f"kernel {name} runs {exe}, which does not exist ({spec})", fix
            )
        ]
    probe = "import emcourse, sys; print(sys.version.split()[0])"
    try:
        out = subprocess.run(
            [found, "-c", probe],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env={**os.environ, **env},
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return [Finding("kernel", PROBLEM, f"kernel {name} ({found}) does not start: {exc}", fix)]
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["no output"])[-1]
        return [
            Finding(
                "kernel",
                PROBLEM,
                f"kernel {name} runs {found}, which cannot import the course ({last}; {spec})",
                fix,
            )
        ]
    whose = "this environment's Python" if _is_this_python(found) else found
    return [Finding("kernel", OK, f"kernel {name}: {whose} {found} (Python {out.stdout.strip()})")]


_IMPORT_PROBE = """\
import importlib, importlib.util, json, sys
out = {}
for name in sys.argv[1:]:
    try:
        if importlib.util.find_spec(name.split(".")[0]) is None:
            out[name] = ["missing", ""]
            continue
        module = importlib.import_module(name)
        top = sys.modules[name.split(".")[0]]
        out[name] = ["ok", str(getattr(top, "__version__", ""))]
    except BaseException as exc:  # a broken install raises anything, even SystemExit
        text = " ".join(str(exc).split())[:200]
        out[name] = ["broken", f"{type(exc).__name__}: {text}"]
print("\\n" + json.dumps(out))
"""


def _torch_pin() -> str:
    """``torch==X`` as the course's ``nn`` extra pins it (``torch`` when unknown)."""
    try:
        for text in metadata.requires("emcourse") or []:
            if text.startswith("torch") and "extra" in text:
                return text.split(";")[0].strip().replace(" ", "")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare source tree
        pass
    return "torch"


def check_imports(
    python: str | None = None,
    *,
    modules: tuple[str, ...] = LESSON_MODULES,
    env: dict | None = None,
    timeout: float = 300.0,
) -> list[Finding]:
    """Every module the lessons import imports in ``python`` (default: the kernel's Python).

    Run in a separate process, so that a package that is installed but broken (a
    missing shared library, a NumPy built for another version) is caught without
    harming this one. PyTorch gets a finding of its own, with the CPU build's
    install command as the fix.
    """
    if python is None:
        python, kernel_env = _kernel_python()
        python = python or sys.executable
        env = {**kernel_env, **(env or {})}
    try:
        out = subprocess.run(
            [python, "-c", _IMPORT_PROBE, *modules],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env={**os.environ, "MPLBACKEND": "Agg", **(env or {})},
        )
        results = json.loads(out.stdout.strip().splitlines()[-1])
    except (OSError, subprocess.TimeoutExpired, ValueError, IndexError) as exc:
        return [
            Finding(
                "imports",
                PROBLEM,
                f"could not import the lessons' modules in {python}: {exc}",
                "reinstall the course (`pip install -e .` with that Python)",
            )
        ]
    torch = results.pop("torch", None)
    findings = []
    missing = [name for name, (state, _) in results.items() if state == "missing"]
    broken = {name: why for name, (state, why) in results.items() if state == "broken"}
    bad = [f"{name} is not installed" for name in missing]
    bad += [f"{name} fails to import ({why})" for name, why in broken.items()]
    if bad:
        fixes = []
        if missing:
            fixes.append(f"`{python} -m pip install -e .` in the course folder (or `make install`)")
        if broken:
            dists = metadata.packages_distributions()
            names = {dists.get(m.split(".")[0], [m.split(".")[0]])[0] for m in broken}
            fixes.append(f"`{python} -m pip install --force-reinstall {' '.join(sorted(names))}`")
        findings.append(
            Finding("imports", PROBLEM, f"in {python}: " + "; ".join(bad), "; ".join(fixes))
        )
    else:
        findings.append(
            Finding("imports", OK, f"all {len(results)} modules the lessons use import in {python}")
        )
    if torch is not None:
        state, why = torch
        fix = (
            f"lesson 20-04 needs it; install the CPU build: `{python} -m pip install "
            f"'{_torch_pin()}' --index-url {TORCH_CPU_INDEX}` (a GPU build: see the set-up page)"
        )
        if state == "ok":
            findings.append(Finding("torch", OK, f"PyTorch {why} imports"))
        elif state == "missing":
            findings.append(Finding("torch", PROBLEM, f"PyTorch is not installed in {python}", fix))
        else:
            findings.append(
                Finding("torch", PROBLEM, f"PyTorch is installed but fails to import ({why})", fix)
            )
    return findings


def run_all() -> list[Finding]:
    """Every check, in the order of the report."""
    findings: list[Finding] = []
    checks = (check_python, check_packages, check_data, check_memory, check_disk, check_kernel)
    for check in (*checks, check_imports):
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
