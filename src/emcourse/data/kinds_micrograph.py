"""The ``micrograph`` kind: one 2D cryo-EM image in an MRC file (a CTF fit's input).

Kept apart from :mod:`emcourse.data.kinds` (which holds only its entry in
``KINDS``). The file is read by the strict :func:`emcourse.io.read_mrc`; this
kind adds that it holds exactly one image, that the image is not constant, and
(when the registry marks it verified) its shape. The stand-in is a simulated
micrograph with Thon rings, of the same shape and dtype
(:func:`emcourse.sta.ctf_sim.standin_micrograph`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from emcourse.data.registry import MAIN, source
from emcourse.volume import Source, Volume

__all__ = ["KIND", "open_micrograph", "standin_micrograph_volume", "validate_micrograph"]


def validate_micrograph(path: Path, entry: dict, role: str) -> None:
    """Refuse a file that is not one non-constant 2D image (of the registry's shape)."""
    from emcourse.io import read_mrc

    vol = read_mrc(path)
    if vol.data.ndim != 3 or vol.data.shape[0] != 1:
        raise ValueError(
            f"{path}: expected one micrograph (nz = 1) for {entry['accession']}, "
            f"found an MRC of shape {vol.data.shape}."
        )
    lo, hi = float(np.min(vol.data)), float(np.max(vol.data))
    if not np.isfinite([lo, hi]).all() or lo == hi:
        raise ValueError(
            f"{path}: expected a micrograph for {entry['accession']}, found values from "
            f"{lo:g} to {hi:g} (constant or not finite)."
        )
    shape = entry.get("shape")
    if entry.get("shape_verified") and shape and tuple(vol.data.shape[1:]) != tuple(shape):
        raise ValueError(
            f"{path}: expected a {tuple(shape)} micrograph for {entry['accession']}, "
            f"found {vol.data.shape[1:]}."
        )


def open_micrograph(paths: dict[str, Path], entry: dict) -> Volume:
    """The micrograph as a Volume of shape ``(1, ny, nx)``, the header's pixel size."""
    from emcourse.io import read_mrc

    vol = read_mrc(paths[MAIN])
    return Volume(
        data=vol.data, voxel_size=vol.voxel_size, source=source(entry, real=True), origin=vol.origin
    )


def standin_micrograph_volume(entry: dict, src: Source) -> Volume:
    """The registry entry's stand-in: simulated Thon rings, same shape and dtype."""
    from emcourse.sta.ctf_sim import standin_micrograph

    shape = tuple(entry.get("shape") or (512, 512))
    data = standin_micrograph(
        shape,
        pixel_size=float(entry.get("standin_pixel_size", 4.0)),
        defocus=tuple(entry.get("standin_defocus", (7800.0, 7400.0, 40.0))),
        mean=float(entry.get("standin_mean", 0.0)),
        std=float(entry.get("standin_std", 1.0)),
    )
    return Volume(data=data[None], voxel_size=float(entry.get("voxel_size", 1.0)), source=src)


# the arguments of this kind's emcourse.data.kinds.Kind (its entry in KINDS)
KIND = {
    "returns": "Volume (1, ny, nx): one 2D image, the header's pixel size",
    "open": open_micrograph,
    "standin": standin_micrograph_volume,
    "validate": validate_micrograph,
}
