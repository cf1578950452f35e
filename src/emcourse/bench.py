"""Benchmark the course: run every notebook in a fresh kernel and record its cost.

Usage::

    python -m emcourse.bench                 # every notebook in notebooks/ and solutions/
    python -m emcourse.bench --repeat 3      # median of 3 runs
    python -m emcourse.bench --only 00-archives
    python -m emcourse.bench --peers DIR     # template matching on ../shared/peers's problem

Each notebook runs in a fresh ``python3`` kernel of the current environment,
offline (``EMCOURSE_OFFLINE=1``), with static viewers (``EMCOURSE_STATIC=1``)
and an empty temporary ``EMCOURSE_DATA_DIR``. Recorded per notebook: wall
seconds (kernel start to last cell), peak resident memory of the kernel process
(``VmHWM`` from ``/proc/<pid>/status`` just before shutdown; psutil's current
RSS where /proc is missing), bytes that appeared in the data directory, and
whether it stayed within the budget (60 s, 1 GiB). Results go to
``_build/bench.json`` and ``_build/bench.md`` and the table is printed. When
``emcourse.sta.bench`` exists, its ``measure()`` result is included too.

The exit status is 1 when a notebook fails or exceeds the budget.

``--peers DIR`` runs only the course's side of the template-matching
comparison with pyTME (the problem that ``make_data.py DIR`` writes; see
:func:`emcourse.sta.bench.match_peers`): it reads ``tomogram.mrc``,
``template.mrc`` and ``tomo_truth.npz`` and prints rotations, seconds, the
FFT floor and the particles found (exit status 1 when one is missed).
"""

from __future__ import annotations

import argparse
import fnmatch
import importlib
import importlib.util
import json
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = ["BUDGET_BYTES", "BUDGET_SECONDS", "find_notebooks", "main", "markdown", "run_notebook"]

BUDGET_SECONDS = 60.0
BUDGET_BYTES = 1 << 30
FOLDERS = ("notebooks", "solutions")


def find_notebooks(root: Path, only: str | None = None) -> list[Path]:
    """Notebooks under ``notebooks/`` and ``solutions/``, sorted, optionally filtered.

    ``only`` is a glob (``*`` allowed) or a plain substring of the path relative to
    ``root``.
    """
    found = []
    for folder in FOLDERS:
        base = root / folder
        if base.is_dir():
            found += [
                p for p in sorted(base.rglob("*.ipynb")) if ".ipynb_checkpoints" not in p.parts
            ]
    if only:
        pattern = only if any(c in only for c in "*?[") else f"*{only}*"
        found = [p for p in found if fnmatch.fnmatch(p.relative_to(root).as_posix(), pattern)]
    return found


def _peak_rss(pid: int | None) -> int | None:
    """Peak resident memory (bytes) of a process: VmHWM, or psutil's RSS."""
    if pid is None:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        import psutil

        return int(psutil.Process(pid).memory_info().rss)
    except Exception:  # noqa: BLE001 - psutil missing or the process is gone
        return None


def _kernel_pid(client: Any) -> int | None:
    km = getattr(client, "km", None)
    provisioner = getattr(km, "provisioner", None)
    process = getattr(provisioner, "process", None)
    pid = getattr(process, "pid", None)
    if pid is None:
        pid = getattr(provisioner, "pid", None)
    return pid


def _dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def run_notebook(path: Path, *, timeout: int = 600) -> dict[str, Any]:
    """Execute one notebook in a fresh kernel; return its measurements.

    Returns
    -------
    dict
        ``seconds``, ``peak_rss_bytes``, ``downloaded_bytes``, ``ok`` (no cell
        error), ``error`` (first error, one line, or None).
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory(prefix="emcourse-bench-") as tmp:
        data_dir = Path(tmp) / "data"
        data_dir.mkdir()
        env = dict(os.environ)
        env.update(
            EMCOURSE_OFFLINE="1",
            EMCOURSE_STATIC="1",
            EMCOURSE_DATA_DIR=str(data_dir),
            PYDEVD_DISABLE_FILE_VALIDATION="1",
        )
        client = NotebookClient(
            nb,
            timeout=timeout,
            kernel_name="python3",
            resources={"metadata": {"path": str(path.parent)}},
        )
        error = None
        peak = None
        start = time.perf_counter()
        with client.setup_kernel(env=env):
            pid = _kernel_pid(client)
            try:
                for index, cell in enumerate(nb.cells):
                    client.execute_cell(cell, index)
            except CellExecutionError as exc:
                text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))
                lines = [ln for ln in text.splitlines() if ln.strip()]
                error = lines[-1][:300] if lines else type(exc).__name__
            except Exception as exc:  # noqa: BLE001 - timeouts, dead kernels
                error = f"{type(exc).__name__}: {exc}"[:300]
            seconds = time.perf_counter() - start
            peak = _peak_rss(pid)
        downloaded = _dir_bytes(data_dir)
    return {
        "seconds": seconds,
        "peak_rss_bytes": peak,
        "downloaded_bytes": downloaded,
        "ok": error is None,
        "error": error,
    }


def _median(values: list[Any]) -> Any:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def _judge(row: dict[str, Any]) -> str:
    if not row["ok"]:
        return "error"
    if row["seconds"] > BUDGET_SECONDS:
        return "over time"
    if row["peak_rss_bytes"] is None:
        return "memory not measured"
    if row["peak_rss_bytes"] > BUDGET_BYTES:
        return "over memory"
    return "ok"


def _sta_bench() -> dict[str, Any] | None:
    try:
        spec = importlib.util.find_spec("emcourse.sta.bench")
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        return None
    try:
        return dict(importlib.import_module("emcourse.sta.bench").measure())
    except Exception as exc:  # noqa: BLE001 - report, do not hide, a broken benchmark
        return {"error": f"{type(exc).__name__}: {exc}"}


def _mib(n: int | None) -> str:
    return "n/a" if n is None else f"{n / 2**20:,.0f}"


def markdown(report: dict[str, Any]) -> str:
    """The report as a markdown table (plus the STA timings when present)."""
    lines = [
        f"Budget per notebook: {BUDGET_SECONDS:.0f} s and {BUDGET_BYTES / 2**30:.0f} GiB. "
        f"Median of {report['repeat']} run(s) on {report['machine']}.",
        "",
        "| notebook | wall (s) | peak RSS (MiB) | downloaded (MiB) | status |",
        "|---|---:|---:|---:|---|",
    ]
    for row in report["notebooks"]:
        status = row["status"] + (f": {row['error']}" if row.get("error") else "")
        status = status.replace("|", "\\|")
        lines.append(
            f"| {row['notebook']} | {row['seconds']:.1f} | {_mib(row['peak_rss_bytes'])} "
            f"| {row['downloaded_bytes'] / 2**20:,.2f} | {status} |"
        )
    if not report["notebooks"]:
        lines.append("| (no notebooks found) | | | | |")
    sta = report.get("sta_bench")
    if sta is not None:
        lines += [
            "",
            "STA kernels (`emcourse.sta.bench.measure()`):",
            "",
            "| key | value |",
            "|---|---|",
        ]
        for key, value in sta.items():
            shown = f"{value:.3g}" if isinstance(value, float) else str(value)
            lines.append(f"| {key} | {shown.replace('|', '/')} |")
    return "\n".join(lines) + "\n"


def bench(
    root: Path = Path("."), *, repeat: int = 1, only: str | None = None, out: Path | None = None
) -> dict[str, Any]:
    """Run the benchmark and write ``bench.json`` and ``bench.md`` into ``out``."""
    root = Path(root)
    out = Path(out) if out is not None else root / "_build"
    rows = []
    for path in find_notebooks(root, only):
        runs = [run_notebook(path) for _ in range(max(1, repeat))]
        errors = [r["error"] for r in runs if r["error"]]
        row = {
            "notebook": path.relative_to(root).as_posix(),
            "seconds": _median([r["seconds"] for r in runs]),
            "peak_rss_bytes": _median([r["peak_rss_bytes"] for r in runs]),
            "downloaded_bytes": _median([r["downloaded_bytes"] for r in runs]),
            "ok": not errors,
            "error": errors[0] if errors else None,
            "runs": len(runs),
        }
        row["status"] = _judge(row)
        rows.append(row)
        print(
            f"{row['notebook']}: {row['seconds']:.1f} s, {_mib(row['peak_rss_bytes'])} MiB, "
            f"{row['status']}",
            file=sys.stderr,
        )
    report = {
        "budget": {"seconds": BUDGET_SECONDS, "peak_rss_bytes": BUDGET_BYTES},
        "repeat": max(1, repeat),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}",
        "notebooks": rows,
        "sta_bench": _sta_bench(),
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.json").write_text(json.dumps(report, indent=1, sort_keys=True) + "\n")
    (out / "bench.md").write_text(markdown(report))
    return report


def peers(folder: Path) -> dict[str, Any]:
    """Read the peer benchmark problem in ``folder``; run :func:`emcourse.sta.bench.match_peers`."""
    import numpy as np

    from emcourse.io import read_mrc
    from emcourse.sta.bench import match_peers

    folder = Path(folder)
    with np.load(folder / "tomo_truth.npz") as truth:
        positions = truth["positions"]
    return match_peers(
        read_mrc(folder / "tomogram.mrc").data, read_mrc(folder / "template.mrc").data, positions
    )


def main(argv: list[str] | None = None) -> int:
    """Command line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m emcourse.bench",
        description="Run every lesson and solution notebook offline in a fresh kernel and "
        "record wall time, peak memory and bytes downloaded.",
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs per notebook (median)")
    parser.add_argument("--only", default=None, help="glob or substring of notebook paths")
    parser.add_argument("--root", type=Path, default=Path("."), help="repository root")
    parser.add_argument("--out", type=Path, default=None, help="output folder (_build)")
    parser.add_argument(
        "--peers", type=Path, default=None, help="only template matching on this peers problem"
    )
    args = parser.parse_args(argv)
    if args.peers is not None:
        r = peers(args.peers)
        print(
            f"emcourse.sta.template_match: {r['rotations']} rotations, {r['seconds']:.1f} s "
            f"({r['ms_per_rotation']:.1f} ms per rotation, FFT floor "
            f"{r['floor_ms_per_rotation']:.1f} ms, ratio {r['ratio']:.2f}), "
            f"found {r['found']}/{r['particles']}"
        )
        return 0 if r["found"] == r["particles"] else 1
    report = bench(args.root, repeat=args.repeat, only=args.only, out=args.out)
    print(markdown(report), end="")
    bad = [r for r in report["notebooks"] if r["status"] != "ok"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
