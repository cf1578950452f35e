"""Particles and tomograms written in RELION 5's conventions, and read back into voxels.

RELION 5 keeps a particle's position as ``rlnCenteredCoordinate{X,Y,Z}Angst``:
angstrom from the centre of its tomogram, whatever the binning. The tomogram
itself is described by a row of the tomograms table (``data_global``): the
tilt-series pixel size (``rlnTomoTiltSeriesPixelSize``), the binning of the
reconstruction (``rlnTomoTomogramBinning``) and the tomogram's size in
**unbinned tilt-series pixels** (``rlnTomoSize{X,Y,Z}``), whose centre is
size / 2. So a voxel ``i`` of a tomogram binned to ``voxel_size`` lies at
``(i - shape / 2) * voxel_size`` angstrom from the centre, the convention the
real files of RELION 5's tutorial follow (checked in the tests on those files:
every TS_01 particle maps into its 4000 x 4000 x 2000 pixel tomogram and
back to the same angstrom). These are checks against RELION 5's files, not its
programs, which are not installable here.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

__all__ = [
    "centred_angstrom",
    "relion5_voxels",
    "write_relion5_particles",
    "write_relion5_tomograms",
]

_XYZ = tuple(f"rlnCenteredCoordinate{a}Angst" for a in "XYZ")


def centred_angstrom(positions_zyx, tomo_shape, voxel_size: float) -> np.ndarray:
    """Voxel positions ``(z, y, x)`` as RELION 5's centred coordinates, ``(X, Y, Z)`` in A.

    Examples
    --------
    >>> centred_angstrom([[32.0, 128.0, 100.5]], (64, 256, 256), 10.0).tolist()
    [[-275.0, 0.0, 0.0]]
    """
    pos = np.asarray(positions_zyx, dtype=float).reshape(-1, 3)
    centre = np.asarray(tomo_shape, dtype=float) / 2.0
    return ((pos - centre) * float(voxel_size))[:, ::-1]


def relion5_voxels(particles, tomograms, voxel_size: float) -> tuple[np.ndarray, dict]:
    """RELION 5 particles as ``(z, y, x)`` voxels of their tomograms binned to ``voxel_size``.

    Parameters
    ----------
    particles : DataFrame
        A ``data_particles`` table with ``rlnTomoName`` and the centred
        coordinates in angstrom.
    tomograms : DataFrame
        The tomograms table (``data_global``) with ``rlnTomoName``,
        ``rlnTomoTiltSeriesPixelSize`` and ``rlnTomoSize{X,Y,Z}``.
    voxel_size : float
        Angstrom per voxel of the (binned) tomograms to map into.

    Returns
    -------
    positions : ndarray, shape (n, 3)
        ``(z, y, x)`` voxels.
    shapes : dict
        Tomogram name -> its ``(z, y, x)`` shape in those voxels (not rounded).

    Raises
    ------
    ValueError
        A column missing, or a particle whose tomogram the table does not list.
    """
    need = ["rlnTomoName", *_XYZ]
    for table, cols, what in (
        (particles, need, "particles"),
        (tomograms, ["rlnTomoName", "rlnTomoTiltSeriesPixelSize", "rlnTomoSizeX"], "tomograms"),
    ):
        missing = [c for c in cols if c not in table.columns]
        if missing:
            raise ValueError(f"the {what} table has no column {missing[0]}; found {list(table)}.")
    rows = {str(r.rlnTomoName): r for r in tomograms.itertuples(index=False)}
    names = particles["rlnTomoName"].astype(str).to_numpy()
    unknown = sorted(set(names) - set(rows))
    if unknown:
        raise ValueError(
            f"particles in tomogram {unknown[0]!r}, which the tomograms table does not list "
            f"(it lists {sorted(rows)})."
        )
    shapes, pos = {}, np.empty((len(names), 3))
    xyz = particles[list(_XYZ)].to_numpy(float)
    for name, r in rows.items():
        size_px = np.array([r.rlnTomoSizeZ, r.rlnTomoSizeY, r.rlnTomoSizeX], dtype=float)
        pixel = float(r.rlnTomoTiltSeriesPixelSize)
        shapes[name] = tuple(size_px * pixel / voxel_size)
        here = names == name
        pos[here] = (xyz[here][:, ::-1] / pixel + size_px / 2.0) * pixel / voxel_size
    return pos, shapes


def write_relion5_particles(
    path: str | os.PathLike,
    positions_zyx,
    eulers_deg=None,
    *,
    voxel_size: float,
    tomo_shape,
    tomo_name: str,
    tilt_series_pixel_size: float | None = None,
    half_sets=None,
    voltage: float = 300.0,
    spherical_aberration: float = 2.7,
    amplitude_contrast: float = 0.1,
) -> None:
    """Write particles as RELION 5 does: ``general``, ``optics``, ``particles`` blocks.

    Positions go out as centred coordinates in angstrom (no
    ``rlnCoordinateX/Y/Z``), angles as RELION's ZYZ ``rlnAngleRot/Tilt/Psi``
    in degrees, half-sets (1 or 2) as ``rlnRandomSubset``; the optics table
    holds the **tilt-series** pixel size (``tilt_series_pixel_size``, the
    tomogram's voxel size when the tilt series was not binned). Columns are a
    subset of the tutorial's ``run_data.star``, in its order; its columns for
    extracted subtomograms (image names, origins, priors) are left out.
    """
    import pandas as pd
    import starfile

    pos = np.asarray(positions_zyx, dtype=float).reshape(-1, 3)
    n = len(pos)
    eul = np.zeros((n, 3)) if eulers_deg is None else np.asarray(eulers_deg, float).reshape(-1, 3)
    if len(eul) != n:
        raise ValueError(f"{n} positions but {len(eul)} Euler-angle triples; expected equal.")
    pixel = float(voxel_size if tilt_series_pixel_size is None else tilt_series_pixel_size)
    optics = pd.DataFrame(
        {
            "rlnVoltage": [float(voltage)],
            "rlnSphericalAberration": [float(spherical_aberration)],
            "rlnAmplitudeContrast": [float(amplitude_contrast)],
            "rlnTomoTiltSeriesPixelSize": [pixel],
            "rlnOpticsGroup": [1],
            "rlnOpticsGroupName": ["optics1"],
        }
    )
    xyz = centred_angstrom(pos, tomo_shape, voxel_size)
    table = {
        "rlnTomoName": [tomo_name] * n,
        "rlnAngleRot": eul[:, 0],
        "rlnAngleTilt": eul[:, 1],
        "rlnAnglePsi": eul[:, 2],
        "rlnOpticsGroup": np.ones(n, dtype=int),
        "rlnTomoParticleName": [f"{tomo_name}/{i + 1}" for i in range(n)],
        **{col: xyz[:, i] for i, col in enumerate(_XYZ)},
    }
    if half_sets is not None:
        halves = np.asarray(half_sets, dtype=int).reshape(-1)
        if len(halves) != n or not np.isin(halves, (1, 2)).all():
            raise ValueError(f"half_sets: expected {n} values, each 1 or 2.")
        table["rlnRandomSubset"] = halves
    blocks = {
        "general": {"rlnTomoSubTomosAre2DStacks": 1},
        "optics": optics,
        "particles": pd.DataFrame(table),
    }
    starfile.write(blocks, Path(path), overwrite=True)


def write_relion5_tomograms(
    path: str | os.PathLike,
    tomo_name: str,
    *,
    tomo_shape,
    voxel_size: float,
    tilt_series_pixel_size: float | None = None,
    hand: float = -1.0,
    original_pixel_size: float | None = None,
    voltage: float = 300.0,
    spherical_aberration: float = 2.7,
    amplitude_contrast: float = 0.1,
) -> None:
    """Write a RELION 5 tomograms table (``data_global``) for one tomogram.

    ``tomo_shape`` is the ``(z, y, x)`` shape in voxels of ``voxel_size``;
    the table records it, as RELION 5 does, in unbinned tilt-series pixels,
    with the binning ``voxel_size / tilt_series_pixel_size``. The columns
    naming RELION's own files (the tilt-series table, the half tomograms, the
    alignment directive) are left out: there are none here.
    ``original_pixel_size`` is the movies' pixel (``rlnMicrographOriginalPixelSize``;
    the tutorial's 0.675 A super-resolution pixel); the tilt-series pixel if omitted.
    """
    import pandas as pd
    import starfile

    pixel = float(voxel_size if tilt_series_pixel_size is None else tilt_series_pixel_size)
    binning = float(voxel_size) / pixel
    size = np.rint(np.asarray(tomo_shape, dtype=float) * binning).astype(int)  # z, y, x
    table = pd.DataFrame(
        {
            "rlnTomoName": [tomo_name],
            "rlnVoltage": [float(voltage)],
            "rlnSphericalAberration": [float(spherical_aberration)],
            "rlnAmplitudeContrast": [float(amplitude_contrast)],
            "rlnMicrographOriginalPixelSize": [
                pixel if original_pixel_size is None else float(original_pixel_size)
            ],
            "rlnTomoHand": [float(hand)],
            "rlnOpticsGroupName": ["optics1"],
            "rlnTomoTiltSeriesPixelSize": [pixel],
            "rlnTomoTomogramBinning": [binning],
            "rlnTomoSizeX": [int(size[2])],
            "rlnTomoSizeY": [int(size[1])],
            "rlnTomoSizeZ": [int(size[0])],
        }
    )
    starfile.write({"global": table}, Path(path), overwrite=True)
