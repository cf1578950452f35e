"""Peak memory of blockwise processing, measured in a fresh process.

A notebook's kernel keeps whatever it has held, so its own peak says little
about one computation. :func:`peak_memory_blockwise` starts a new Python,
records its peak resident memory once the libraries are imported (the
*baseline*: NumPy, SciPy's ndimage, dask and zarr, and the two modules of the
course it runs, loaded without the rest of the package), then while it
processes each OME-Zarr volume in turn with
:func:`emcourse.segment.blockwise_mito_mask`, the result written to OME-Zarr
block by block. On Linux the peak is read from ``VmHWM`` in
``/proc/self/status`` and reset before each volume (``/proc/self/clear_refs``),
so each volume gets its own peak; elsewhere ``ru_maxrss``, a high-water mark
over the whole process.

POSIX only (Linux, macOS): the ``resource`` module does not exist on Windows.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

__all__ = ["own_peak_bytes", "peak_memory_blockwise"]

_CHILD = r"""
import importlib.util, json, resource, sys, time
import dask, dask.array, numpy, scipy.ndimage, zarr

def load(name, path):  # one module, without its package's __init__ (and what that imports)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

args = json.loads(sys.argv[1])
read_ome_zarr = load("omezarr", args["modules"]["omezarr"]).read_ome_zarr
write_ome_zarr = load("omezarr", args["modules"]["omezarr"]).write_ome_zarr
blockwise_mito_mask = load("blockwise", args["modules"]["blockwise"]).blockwise_mito_mask
def peak():  # Linux: VmHWM, this process's own peak since exec or the last reset
    try:
        with open("/proc/self/status") as f:
            line = next(s for s in f if s.startswith("VmHWM:"))
        return int(line.split()[1]) * 1024
    except OSError:  # macOS: ru_maxrss in bytes (it may include the parent's peak at fork)
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

def reset():  # Linux: writing 5 to clear_refs resets VmHWM to the current RSS
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False

out = {"baseline_bytes": peak(), "runs": []}
with dask.config.set(scheduler="threads", num_workers=args["num_workers"]):
    for i, path in enumerate(args["paths"]):
        out["per_run"] = reset()
        t = time.perf_counter()
        vol, voxel = read_ome_zarr(path)
        mask = blockwise_mito_mask(vol, **args["pipeline"])
        target = f"{args['out_dir']}/mask-{i}.ome.zarr"
        write_ome_zarr(target, mask, voxel_size_nm=voxel, chunks=vol.chunksize, compressor=None)
        out["runs"].append({"path": path, "shape": list(vol.shape), "volume_bytes": int(vol.nbytes),
                            "peak_bytes": peak(), "seconds": time.perf_counter() - t})
print(json.dumps(out))
"""


def own_peak_bytes() -> int:
    """Peak resident memory of this process so far, in bytes (POSIX).

    Linux: ``VmHWM`` of ``/proc/self/status``; elsewhere ``ru_maxrss``.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            line = next(s for s in f if s.startswith("VmHWM:"))
        return int(line.split()[1]) * 1024
    except (OSError, StopIteration):
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return int(peak if sys.platform == "darwin" else peak * 1024)


def peak_memory_blockwise(
    paths,
    *,
    out_dir,
    sigma: float,
    low: float,
    high: float,
    opening_radius: int,
    num_workers: int = 2,
    timeout: float = 600.0,
) -> dict:
    """Process OME-Zarr volumes blockwise in a fresh process; report its peak memory.

    Parameters
    ----------
    paths : list of str or Path
        OME-Zarr groups, processed in this order (smallest first, so that a
        rise in the peak shows what the larger ones added).
    out_dir : str or Path
        Where the masks are written (``mask-<i>.ome.zarr``): a scratch folder.
    sigma, low, high, opening_radius
        The pipeline's settings (:func:`emcourse.segment.blockwise_mito_mask`).
    num_workers : int
        Threads of dask's scheduler: each holds one block with its halo at a time.

    Returns
    -------
    dict
        ``baseline_bytes`` (peak after the imports) and ``runs``: per volume its
        ``shape``, ``volume_bytes``, ``peak_bytes`` (the process's peak while it
        ran; since the start where the peak cannot be reset, then ``per_run`` is
        False) and ``seconds``.

    Raises
    ------
    RuntimeError
        When the child process fails (its error output is included).
    """
    if os.name != "posix":
        raise RuntimeError("peak_memory_blockwise needs the POSIX resource module (Linux, macOS).")
    args = {
        "paths": [str(p) for p in paths],
        "out_dir": str(out_dir),
        "num_workers": int(num_workers),
        "pipeline": {"sigma": sigma, "low": low, "high": high, "opening_radius": opening_radius},
    }
    here = Path(__file__).resolve().parent  # this copy of emcourse's two modules
    args["modules"] = {
        "omezarr": str(here / "io" / "omezarr.py"),
        "blockwise": str(here / "segment" / "blockwise.py"),
    }
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps(args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"the measuring process failed ({proc.returncode}):\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])
