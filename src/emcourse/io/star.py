"""RELION 4/5 tomography particle STAR files (positions in voxels, Euler angles in degrees)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

__all__ = ["read_particles_star", "write_particles_star"]


def write_particles_star(
    path: str | os.PathLike,
    positions_zyx: np.ndarray,
    eulers_deg: np.ndarray | None = None,
    *,
    voxel_size: float,
    tomo_name: str | list[str],
    tomo_shape: tuple[int, int, int] | None = None,
    voltage: float = 300.0,
    spherical_aberration: float = 2.7,
    amplitude_contrast: float = 0.1,
) -> None:
    """Write particle positions and orientations as a RELION 5 tomography STAR file.

    Two blocks, as RELION 5 writes them: ``data_optics`` (one optics group,
    with ``rlnTomoTiltSeriesPixelSize``) and ``data_particles`` with
    ``rlnTomoName``, ``rlnCoordinateX/Y/Z`` (pixels of the tomogram),
    ``rlnAngleRot/Tilt/Psi`` (ZYZ Euler angles in degrees) and
    ``rlnOpticsGroup``. When ``tomo_shape`` is given, RELION 5's centred
    coordinates ``rlnCenteredCoordinateX/Y/ZAngst`` (angstrom from the
    tomogram centre) are written as well.

    Parameters
    ----------
    path : path-like
        Output ``.star`` file; overwritten.
    positions_zyx : ndarray, shape (n, 3)
        Particle centres in voxels, ``(z, y, x)`` order.
    eulers_deg : ndarray, shape (n, 3), optional
        ``(rot, tilt, psi)`` in degrees, RELION's ZYZ convention; zeros if omitted.
    voxel_size : float
        Angstrom per tomogram voxel (the coordinates' pixel size).
    tomo_name : str or list of str
        ``rlnTomoName`` for all particles, or one per particle.
    tomo_shape : tuple of int, optional
        ``(z, y, x)`` shape of the tomogram, for the centred coordinates.
    voltage, spherical_aberration, amplitude_contrast : float
        Optics group values (kV, mm, fraction).
    """
    import pandas as pd
    import starfile

    pos = np.asarray(positions_zyx, dtype=float).reshape(-1, 3)
    n = len(pos)
    eul = np.zeros((n, 3)) if eulers_deg is None else np.asarray(eulers_deg, float).reshape(-1, 3)
    if len(eul) != n:
        raise ValueError(f"{n} positions but {len(eul)} Euler-angle triples; expected equal.")
    names = [tomo_name] * n if isinstance(tomo_name, str) else list(tomo_name)
    if len(names) != n:
        raise ValueError(f"{n} positions but {len(names)} tomogram names.")
    optics = pd.DataFrame(
        {
            "rlnOpticsGroup": [1],
            "rlnOpticsGroupName": ["opticsGroup1"],
            "rlnVoltage": [float(voltage)],
            "rlnSphericalAberration": [float(spherical_aberration)],
            "rlnAmplitudeContrast": [float(amplitude_contrast)],
            "rlnTomoTiltSeriesPixelSize": [float(voxel_size)],
        }
    )
    particles = {
        "rlnTomoName": names,
        "rlnCoordinateX": pos[:, 2],
        "rlnCoordinateY": pos[:, 1],
        "rlnCoordinateZ": pos[:, 0],
    }
    if tomo_shape is not None:
        centre = (np.asarray(tomo_shape, dtype=float) / 2.0)[::-1]  # x, y, z
        for i, ax in enumerate("XYZ"):
            particles[f"rlnCenteredCoordinate{ax}Angst"] = (pos[:, 2 - i] - centre[i]) * voxel_size
    particles.update(
        {
            "rlnAngleRot": eul[:, 0],
            "rlnAngleTilt": eul[:, 1],
            "rlnAnglePsi": eul[:, 2],
            "rlnOpticsGroup": np.ones(n, dtype=int),
        }
    )
    starfile.write(
        {"optics": optics, "particles": pd.DataFrame(particles)}, Path(path), overwrite=True
    )


def read_particles_star(
    path: str | os.PathLike, *, tomo_shape: tuple[int, int, int] | None = None
) -> dict:
    """Read a RELION (3, 4 or 5) tomography particle STAR file.

    Columns are found by their header labels, never by position: RELION-3
    files as deposited (one unnamed ``data_`` block, no optics table) put
    ``rlnTomoName`` or ``rlnMicrographName`` and the coordinates in any order.

    Parameters
    ----------
    path : path-like
        The ``.star`` file.
    tomo_shape : tuple of int, optional
        ``(z, y, x)`` tomogram shape; needed only when the file has RELION 5's
        centred coordinates in angstrom and no ``rlnCoordinateX/Y/Z``.

    Returns
    -------
    dict
        ``positions`` (n, 3) float ``(z, y, x)`` voxels; ``eulers_deg`` (n, 3)
        ``(rot, tilt, psi)``; ``tomo_names`` (n,) array of str; ``voxel_size``
        (angstrom, from ``rlnTomoTiltSeriesPixelSize`` when present, else None);
        ``particles`` the full table as a DataFrame.

    Raises
    ------
    ValueError
        When the file has no particle table or no usable coordinates.
    """
    import starfile

    path = Path(path)
    blocks = starfile.read(path, always_dict=True)
    if "particles" in blocks:
        df = blocks["particles"]
    else:
        labels = ("rlnTomoName", "rlnMicrographName", "rlnCoordinateX")
        tables = [
            b for b in blocks.values() if hasattr(b, "columns") and any(c in b for c in labels)
        ]
        if not tables:
            raise ValueError(
                f"{path}: expected a particle table (a 'data_particles' block, or a block "
                f"with rlnTomoName or rlnCoordinateX/Y/Z), found blocks {list(blocks)}."
            )
        df = tables[0]
    voxel_size = None
    optics = blocks.get("optics")
    for table in (optics, df):
        if table is not None and "rlnTomoTiltSeriesPixelSize" in table:
            voxel_size = float(table["rlnTomoTiltSeriesPixelSize"].iloc[0])
            break
    if all(f"rlnCoordinate{a}" in df for a in "XYZ"):
        pos = df[["rlnCoordinateZ", "rlnCoordinateY", "rlnCoordinateX"]].to_numpy(float)
    elif all(f"rlnCenteredCoordinate{a}Angst" in df for a in "XYZ"):
        if tomo_shape is None or voxel_size is None:
            raise ValueError(
                f"{path}: the file has only centred coordinates in angstrom; pass "
                "tomo_shape=(z, y, x) (and the file needs rlnTomoTiltSeriesPixelSize) to "
                "turn them into voxels."
            )
        cols = ["rlnCenteredCoordinateZAngst", "rlnCenteredCoordinateYAngst"]
        cols.append("rlnCenteredCoordinateXAngst")
        pos = df[cols].to_numpy(float) / voxel_size + np.asarray(tomo_shape, float) / 2.0
    else:
        raise ValueError(
            f"{path}: expected rlnCoordinateX/Y/Z or rlnCenteredCoordinateX/Y/ZAngst columns, "
            f"found {list(df.columns)}."
        )
    angles = ["rlnAngleRot", "rlnAngleTilt", "rlnAnglePsi"]
    eul = df[angles].to_numpy(float) if all(a in df for a in angles) else np.zeros((len(df), 3))
    # RELION 4/5 name the tomogram rlnTomoName; RELION 3 subtomogram files rlnMicrographName
    name_col = next((c for c in ("rlnTomoName", "rlnMicrographName") if c in df), None)
    names = df[name_col].astype(str).to_numpy() if name_col else None
    return {
        "positions": pos,
        "eulers_deg": eul,
        "tomo_names": names,
        "voxel_size": voxel_size,
        "particles": df,
    }
