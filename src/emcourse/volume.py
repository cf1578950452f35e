"""The small types that travel between modules: a volume and where it came from."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Source:
    """Provenance of a dataset, shown wherever a lesson loads it.

    Parameters
    ----------
    accession : str
        Archive accession, e.g. ``"EMD-3197"``, ``"EMPIAR-10982"``.
    licence : str
        Licence of the data, e.g. ``"CC0-1.0"``.
    citation : str
        How to cite the data (authors, year, title, journal or DOI).
    url : str
        Where the original file lives in the archive.
    real : bool
        True for real archive data, False for the synthetic stand-in.
    note : str
        Free text: the subset taken, or why the stand-in was used.
    """

    accession: str
    licence: str = "CC0-1.0"
    citation: str = ""
    url: str = ""
    real: bool = True
    note: str = ""

    def __str__(self) -> str:
        kind = "real archive data" if self.real else "synthetic stand-in"
        lines = [f"{self.accession} ({kind}), licence {self.licence}"]
        if self.citation:
            lines.append(f"Cite: {self.citation}")
        if self.url:
            lines.append(f"From: {self.url}")
        if self.note:
            lines.append(f"Note: {self.note}")
        return "\n".join(lines)


@dataclass(frozen=True)
class Volume:
    """A 3D array with its voxel size and provenance.

    Parameters
    ----------
    data : ndarray
        Indexed ``(z, y, x)``: plane, row, column.
    voxel_size : float or tuple of float
        Angstrom per voxel; a ``(z, y, x)`` tuple where the axes differ.
    source : Source
        Where the data came from.
    origin : tuple of float
        Position of voxel ``(0, 0, 0)`` in angstrom, ``(z, y, x)``.
    """

    data: np.ndarray
    voxel_size: float | tuple[float, float, float]
    source: Source = field(default_factory=lambda: Source("unknown", real=False))
    origin: tuple[float, float, float] = (0.0, 0.0, 0.0)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def voxel_size_zyx(self) -> tuple[float, float, float]:
        """Voxel size as a ``(z, y, x)`` tuple in angstrom."""
        vs = self.voxel_size
        if np.ndim(vs) == 0:
            return (float(vs),) * 3
        return tuple(float(v) for v in vs)

    def __repr__(self) -> str:
        return (
            f"Volume(shape={self.data.shape}, dtype={self.data.dtype}, "
            f"voxel_size={self.voxel_size} A, source={self.source.accession!r}, "
            f"real={self.source.real})"
        )


def convert_voxel_coordinates(points_zyx, *, from_voxel_size, to_voxel_size) -> np.ndarray:
    """Express voxel coordinates of one grid in voxels of another, through angstrom.

    Both grids share their origin: voxel ``(0, 0, 0)`` of each is centred on the
    same point, as for the voxel spacings of one cryoET Data Portal run and for
    the levels of its OME-Zarr pyramids. A point at index ``i`` lies at
    ``i * from_voxel_size`` angstrom, which is ``i * from_voxel_size /
    to_voxel_size`` voxels of the other grid. Two spacings are rarely exact
    multiples: the portal publishes 4.990 A and 10.012 A, so halving would be
    off by 0.3 % (3 voxels across a 1,260-voxel tomogram).

    Parameters
    ----------
    points_zyx : array_like, shape (n, 3)
        Coordinates in voxels of the first grid, ``(z, y, x)``.
    from_voxel_size, to_voxel_size : float or tuple of float
        Angstrom per voxel of the two grids; a ``(z, y, x)`` tuple where the
        axes differ.

    Returns
    -------
    ndarray of float, shape (n, 3)

    Examples
    --------
    >>> convert_voxel_coordinates([[100.0, 1000.0, 10.0]], from_voxel_size=4.990,
    ...                           to_voxel_size=10.012).round(2)
    array([[ 49.84, 498.4 ,   4.98]])
    """
    pts = np.asarray(points_zyx, dtype=float).reshape(-1, 3)
    scale = np.broadcast_to(np.asarray(from_voxel_size, float), 3) / np.broadcast_to(
        np.asarray(to_voxel_size, float), 3
    )
    return pts * scale
