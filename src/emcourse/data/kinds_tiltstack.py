"""The ``tilt-series-stack`` kind: a tilt series' image stack (MRC) with its tilts and log.

Kept apart from :mod:`emcourse.data.kinds` (which holds only its entry in
``KINDS``). Roles: ``stack`` (an MRC stack, an FEI one with its extended
header accepted by :func:`emcourse.io.read_mrc`), ``tilts`` (IMOD ``.rawtlt``)
and ``log`` (the acquisition log, read by
:func:`emcourse.io.read_fei_tomography_log`). The tilts of the ``.rawtlt``
must agree with those the stack's FEI extended header recorded. The stand-in
is :func:`emcourse.sta.rodseries.simulate_rod_series`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from emcourse.data.registry import source
from emcourse.volume import Source

__all__ = ["KIND", "open_tilt_stack", "standin_tilt_stack", "validate_tilt_stack"]


def validate_tilt_stack(path: Path, entry: dict, role: str) -> None:
    """Each file readable by its reader; the stack's shape and the number of tilts as registered."""
    from emcourse.io import read_fei_tomography_log, read_mrc_header, read_rawtlt

    shape = tuple(entry.get("shape", ()))
    if role == "stack":
        h = read_mrc_header(path)
        found = (h["nz"], h["ny"], h["nx"])
        if shape and found != shape:
            raise ValueError(
                f"{path}: expected a tilt series of shape {shape} (images, rows, columns) for "
                f"{entry['accession']}, found NZ x NY x NX = {found}."
            )
    elif role == "tilts":
        tilts = read_rawtlt(path)
        if shape and len(tilts) != shape[0]:
            raise ValueError(
                f"{path}: expected {shape[0]} tilt angles for {entry['accession']}, "
                f"found {len(tilts)}."
            )
    elif role == "log":
        read_fei_tomography_log(path)


def open_tilt_stack(paths: dict[str, Path], entry: dict) -> dict:
    """Images (float32), tilts, pixel size (angstrom), the log's axis and the FEI records."""
    from emcourse.io import (
        read_fei_extended_header,
        read_fei_tomography_log,
        read_mrc,
        read_rawtlt,
    )

    images = read_mrc(paths["stack"]).data
    tilts = read_rawtlt(paths["tilts"])
    fei = read_fei_extended_header(paths["stack"])
    if len(tilts) != len(images) or not np.allclose(fei["a_tilt"], tilts, atol=0.05):
        raise ValueError(
            f"{paths['tilts']}: the tilts disagree with the stack {paths['stack'].name}'s FEI "
            f"extended header (a_tilt): {len(tilts)} against {len(images)} images, largest "
            f"difference {np.max(np.abs(fei['a_tilt'][: len(tilts)] - tilts[: len(images)])):.2f}"
            " deg."
        )
    log = read_fei_tomography_log(paths["log"])
    return {
        "images": images,
        "tilts": tilts,
        "pixel_size": 10.0 * log["pixel_size_nm"],
        "logged_axis": log["tilt_axis"],
        "fei": fei,
        "truth": None,
        "source": source(entry, real=True),
    }


def standin_tilt_stack(entry: dict, src: Source) -> dict:
    """A banded rod turned about the horizontal axis, same shape, tilts and value range."""
    from emcourse.sta.rodseries import simulate_rod_series

    n, ny, nx = entry.get("shape", (77, 256, 256))
    lo, hi = entry.get("tilt_range", (-76.0, 76.0))
    tilts = np.linspace(lo, hi, n)
    sim = simulate_rod_series(tilts, shape=(ny, nx), seed=int(entry.get("standin_seed", 0)))
    return {
        "images": sim["images"],
        "tilts": tilts,
        "pixel_size": float(entry["voxel_size"]),
        "logged_axis": float(entry.get("logged_axis", 90.0)),
        "fei": None,
        "truth": {"shifts": sim["shifts"], "axis": sim["axis"]},
        "source": src,
    }


# the arguments of this kind's emcourse.data.kinds.Kind (its entry in KINDS)
KIND = {
    "returns": "dict: images (n, ny, nx) float32, tilts (degrees), pixel_size (angstrom), "
    "logged_axis (the log's degrees), fei (the FEI extended header's records, or None), "
    "truth (the stand-in's shifts and axis, or None), source",
    "open": open_tilt_stack,
    "standin": standin_tilt_stack,
    "validate": validate_tilt_stack,
}
