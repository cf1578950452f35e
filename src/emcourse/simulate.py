"""Seeded, deterministic synthetic data with ground truth.

These generators are the course's offline stand-ins for archive data and the
ground truth that lessons measure themselves against. Pure NumPy/SciPy: arrays
in, arrays out, no files, no plots.
"""

from __future__ import annotations

import numpy as np

# The phantom "molecule": Gaussian blobs in a frame 1 unit = 1/2 diameter,
# (z, y, x, sigma, weight). A body, a bent arm ending in a head, a small knob on
# one side and a ring-like groove: no rotational symmetry and no mirror
# symmetry, so a wrong hand or orientation is visible in any view.
_PHANTOM_BLOBS = np.array(
    [
        # body: two overlapping lobes
        (0.00, 0.00, 0.00, 0.20, 1.00),
        (0.10, -0.28, 0.05, 0.17, 0.90),
        # arm bending up and to +x
        (0.25, 0.25, 0.10, 0.10, 0.80),
        (0.42, 0.38, 0.30, 0.09, 0.75),
        # head at the end of the arm
        (0.55, 0.30, 0.60, 0.14, 0.95),
        # knob on the -x side of the body (breaks the mirror symmetry)
        (-0.25, -0.10, -0.45, 0.09, 0.80),
        # foot pointing down and back
        (-0.50, -0.45, 0.10, 0.11, 0.70),
    ]
)


def phantom_map(*, box: int = 32, voxel_size: float = 10.0, diameter: float = 220.0) -> np.ndarray:
    """Render the asymmetric molecule-like phantom used as a density map.

    Parameters
    ----------
    box : int
        Edge length of the cubic output in voxels.
    voxel_size : float
        Angstrom per voxel.
    diameter : float
        Approximate largest extent of the molecule in angstrom.

    Returns
    -------
    ndarray of float32, shape (box, box, box)
        Density indexed (z, y, x), centred in the box, maximum 1, background 0.

    Examples
    --------
    >>> vol = phantom_map(box=24, voxel_size=12.0)
    >>> vol.shape, vol.dtype
    ((24, 24, 24), dtype('float32'))
    >>> bool(vol.max() == 1.0)
    True
    """
    half = diameter / 2.0
    coords = (np.arange(box) - box // 2) * voxel_size
    z, y, x = np.meshgrid(coords, coords, coords, indexing="ij", sparse=True)
    vol = np.zeros((box, box, box), dtype=np.float64)
    for bz, by, bx, sigma, weight in _PHANTOM_BLOBS:
        d2 = (z - bz * half) ** 2 + (y - by * half) ** 2 + (x - bx * half) ** 2
        vol += weight * np.exp(-d2 / (2 * (sigma * half) ** 2))
    vol /= vol.max()
    return vol.astype(np.float32)
