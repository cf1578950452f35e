"""Checks of the sheet "Segment a volume larger than memory": halos, block sizes, map_overlap.

Tasks: :func:`blocks_halo` (the halo a pipeline needs, in voxels),
:func:`blocks_chunk_side` (the largest cubic block for a memory limit),
:func:`blocks_map_overlap` (a blockwise Gaussian equal to the in-memory one);
questions: :func:`blocks_peak_prediction` (predict, then run) and
:func:`blocks_seams_choice` (interpretation).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from emcourse.checks._core import CheckResult, check_function
from emcourse.checks._questions import choice, prediction

__all__ = [
    "blocks_chunk_side",
    "blocks_halo",
    "blocks_map_overlap",
    "blocks_peak_prediction",
    "blocks_seams_choice",
]


def _halo(sigma_nm: float, radius_nm: float, voxel_nm: float) -> int:
    r = int(round(radius_nm / voxel_nm))
    return int(math.ceil(4 * sigma_nm / voxel_nm)) + 2 * r


def blocks_halo(fn: Callable[[float, float, float], Any]) -> CheckResult:
    """Check ``fn(sigma_nm, radius_nm, voxel_nm) -> halo in voxels`` for smoothing + opening."""
    name = "halo of a Gaussian then an opening"
    hint = (
        "a voxel of the output depends on every input voxel the filters reach; the reaches of "
        "steps done one after the other add up. Work in voxels.",
        "SciPy cuts a Gaussian at 4 σ (round up); an opening is an erosion then a dilation, each "
        "reaching the ball's radius.",
    )
    sigma, radius, voxel = 30.0, 30.0, 15.0
    expected = _halo(sigma, radius, voxel)
    r = round(radius / voxel)
    return check_function(
        fn,
        sigma,
        radius,
        voxel,
        name=name,
        expected=float(expected),
        atol=0.5,
        hint=hint,
        units="voxels",
        diagnoses=[
            (4 * sigma + 2 * radius, "that is in nanometres: divide by the voxel size."),
            (
                math.ceil(4 * sigma / voxel) + r,
                "an opening reaches twice its radius: the erosion reaches r, and the dilation "
                "after it r more.",
            ),
            (
                math.ceil(4 * sigma / voxel) + 4 * r,
                "that counts the ball's diameter twice: the erosion and the dilation each reach "
                "its radius.",
            ),
            (
                math.ceil(4 * sigma / voxel),
                "that is the Gaussian's reach alone: the opening reaches further still.",
            ),
            (
                math.ceil(sigma / voxel) + 2 * r,
                "a Gaussian reaches well beyond one σ: SciPy keeps its kernel out to 4 σ.",
            ),
        ],
    )


def _side(memory_mib: float, halo: int, itemsize: int, copies: int, threads: int) -> int:
    per_voxel = itemsize * copies * threads
    return int(math.floor((memory_mib * 2**20 / per_voxel) ** (1 / 3))) - 2 * halo


def blocks_chunk_side(fn: Callable[..., Any]) -> CheckResult:
    """Check ``fn(memory_mib, *, halo, itemsize, copies, threads) -> largest cube side``."""
    name = "largest cubic block for a memory limit"
    hint = (
        "the memory holds, for every thread, a few arrays the size of one block *with its halo* "
        "on every side; each voxel of them takes the dtype's bytes.",
        "solve threads x copies x itemsize x (n + 2 halo)³ <= memory in bytes for the whole n "
        "(1 MiB is 2**20 bytes; floor the cube root).",
    )
    args = dict(halo=12, itemsize=4, copies=3, threads=2)
    expected = _side(512, **args)
    k = args["itemsize"] * args["copies"] * args["threads"]

    def largest(memory_mib):
        return fn(memory_mib, **args)

    largest.__name__ = getattr(fn, "__name__", "your function")  # named as the learner's
    return check_function(
        largest,
        512.0,
        name=name,
        expected=float(expected),
        atol=1.0,
        hint=hint,
        units="voxels",
        diagnoses=[
            (
                math.floor((512 / k) ** (1 / 3)) - 24,
                "that treats MiB as bytes: 1 MiB is 2**20 bytes.",
            ),
            (
                math.floor((512e6 / k) ** (1 / 3)) - 24,
                "that uses 10**6 bytes for a MiB; a mebibyte is 2**20 bytes.",
            ),
            (
                _side(512, 12, 1, 3, 2),
                "each voxel takes the dtype's bytes (4 for float32), not one.",
            ),
            (_side(512, 0, 4, 3, 2), "the halo is held too: a block is n + 2 halo voxels across."),
            (_side(512, 12, 4, 3, 1), "every thread holds its own block at the same time."),
        ],
    )


def blocks_map_overlap(fn: Callable[..., Any]) -> CheckResult:
    """Check ``fn(lazy, sigma) -> dask array``: a blockwise Gaussian equal to the in-memory one."""
    import dask.array as da
    from scipy import ndimage as ndi

    name = "blockwise Gaussian with map_overlap"
    hint = (
        "`lazy.map_overlap(function, depth=..., boundary=...)` runs a function on every block "
        "with a margin from its neighbours; the margin must cover the filter's reach.",
        "the Gaussian reaches `ceil(4 * sigma)` voxels; `boundary='none'` leaves the volume's "
        "outer faces to the filter, as in memory.",
    )
    rng = np.random.default_rng(7)
    volume = rng.normal(100, 20, (40, 48, 48)).astype(np.float32)
    lazy = da.from_array(volume, chunks=(20, 24, 24))
    sigma = 1.5
    expected = ndi.gaussian_filter(volume, sigma)
    too_small = da.map_overlap(ndi.gaussian_filter, lazy, depth=2, boundary="none", sigma=sigma)
    no_halo = lazy.map_blocks(ndi.gaussian_filter, sigma=sigma)

    def run(v, s):
        out = fn(da.from_array(v, chunks=(20, 24, 24)), s)
        if not isinstance(out, da.Array):
            raise TypeError(f"return the lazy dask array (got {type(out).__name__}), not computed")
        return np.asarray(out.compute(), np.float32)

    run.__name__ = getattr(fn, "__name__", "your function")  # named as the learner's

    return check_function(
        run,
        volume,
        sigma,
        name=name,
        expected=expected,
        atol=1e-3,
        hint=hint,
        diagnoses=[
            (no_halo.compute(), "the blocks got no halo: every seam differs."),
            (
                too_small.compute(),
                "the halo is smaller than the Gaussian's reach (4 σ): the seams differ.",
            ),
        ],
    )


def blocks_peak_prediction(guess: Any, report: dict) -> CheckResult:
    """Predict the peak memory above the baseline for the larger volume of ``report``."""
    base = report["baseline_bytes"]
    small, large = report["runs"]
    growth = large["volume_bytes"] / small["volume_bytes"]
    small_mib = (small["peak_bytes"] - base) / 2**20
    actual = (large["peak_bytes"] - base) / 2**20
    return prediction(
        f"peak memory above the baseline for a volume {growth:.0f} times larger",
        guess,
        actual,
        rtol=0.5,
        units="MiB",
        explanation="blockwise, the process holds a few blocks with their halos per thread and "
        "the blocks waiting for their neighbours, not the volume: the peak grows far less than "
        f"the volume (here from {small_mib:.0f} MiB for the small one).",
        diagnoses=[
            (
                growth * small_mib,
                "memory does not follow the volume blockwise: only the blocks in flight are held.",
            )
        ],
    )


def blocks_seams_choice(answer: Any) -> CheckResult:
    """Why a blockwise mask differs from the in-memory one in a few voxels, all on seams."""
    return choice(
        "why 0.1 % of the voxels differ, all within a few voxels of a block seam",
        answer,
        options={
            "a": "the halo is smaller than the pipeline's reach",
            "b": "the threshold was computed per block (Otsu on each block)",
            "c": "floating-point rounding differs between dask and NumPy",
            "d": "the blocks on disk and dask's chunks are not aligned",
        },
        correct="a",
        explanation="errors only near seams mean a block missed input its filters needed: the "
        "halo must be at least the reach of the whole chain (4 σ of the Gaussian plus twice the "
        "opening's radius).",
        why_not={
            "b": "a threshold per block would change whole blocks, far from the seams too.",
            "c": "the same filter on the same voxels gives the same bits; with a large enough "
            "halo the masks are equal, not close.",
            "d": "misaligned chunks only cost reading time: dask assembles the same voxels.",
        },
    )
