"""A simulated HAADF-STEM tilt series of a needle turned about its own length: a stand-in.

The real series it stands in for (a needle-shaped specimen, 77 tilts from -76
to +76 degrees, 256 x 256, tilt axis horizontal) is registered as
``etspy-haadf-tiltseries``. HAADF images are projections of the specimen's
density with no CTF and a high signal, so the stand-in is the projection of a
rod with bright bands and a few off-axis inclusions, tilted about the x axis,
moved by known shifts and scaled to the real file's value range.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from emcourse.sta.tomography import project

__all__ = ["simulate_rod_series"]


def _rod(nz: int, ny: int, nx: int, rng) -> np.ndarray:
    """A rod along y (the tilt axis in the frame of :func:`project`), tip at 3/4 of the height."""
    z, y, x = (a.astype(np.float32) for a in np.ogrid[:nz, :ny, :nx])
    r = np.hypot(z - nz // 2, x - nx // 2)
    tip = 0.78 * ny
    radius = 0.133 * ny * np.clip((tip - y) / (0.2 * ny), 0.0, 1.0) ** 0.5
    body = 1.0 / (1.0 + np.exp(np.clip((r - radius) / 0.6, -50.0, 50.0)))
    density = 0.45 * body
    for lo, hi, level in (
        (0.36, 0.44, 1.0),
        (0.48, 0.52, 0.8),
        (0.56, 0.62, 0.7),
        (0.66, 0.7, 0.6),
    ):
        density += level * body * ((y > lo * ny) & (y < hi * ny))
    for _ in range(6):  # inclusions off the axis: what makes each projection different
        c = np.array([nz // 2, rng.uniform(0.3, 0.7) * ny, nx // 2])
        c[[0, 2]] += rng.normal(0.0, 0.055 * ny, 2)
        blob = [np.exp(-((g - c[k]) ** 2) / (2 * 1.5**2)) for k, g in enumerate((z, y, x))]
        density += 1.2 * blob[0] * blob[1] * blob[2] * body
    return density


def simulate_rod_series(
    tilts, *, shape=(256, 256), thickness: int = 96, shift_spread: float = 8.0, seed: int = 0
) -> dict:
    """Projections of a banded rod tilted about the image's x axis, with known shifts.

    The rod lies along the tilt axis (horizontal: 0 degrees from x), as in
    on-axis tomography of a needle. Each image is moved by a shift ``(y, x)``:
    ``y`` jumps of ``shift_spread`` pixels from image to image (a stage that is
    re-centred after each exposure) and a slow drift of a few pixels in ``x``;
    then scaled to the real series' values (mean about -27,650, spread about
    11,500 in int16 counts) with 0.5 % noise.

    Returns
    -------
    dict
        ``images`` ``(n, ny, nx)`` float32, ``tilts``, ``shifts`` ``(n, 2)``
        pixels (where each image's content was moved), ``axis`` (0.0).

    Examples
    --------
    >>> s = simulate_rod_series(np.arange(-60.0, 61.0, 30.0), shape=(64, 64), thickness=32)
    >>> s["images"].shape, s["axis"]
    ((5, 64, 64), 0.0)
    """
    rng = np.random.default_rng(seed)
    tilts = np.asarray(tilts, dtype=float)
    ny, nx = shape
    # made at half the size (the time budget), then enlarged: the rod along y' = the image's x
    vol = _rod(int(thickness) // 2, nx // 2, ny // 2, rng)
    proj = project(vol, tilts)  # tilt about y'
    half = np.swapaxes(proj, 1, 2)  # y' -> x: the axis is horizontal
    images = ndimage.zoom(half, (1, ny / half.shape[1], nx / half.shape[2]), order=1)
    n = len(tilts)
    shifts = np.stack(
        [rng.normal(0.0, shift_spread, n), np.cumsum(rng.normal(0.0, 0.6, n))], axis=1
    )
    shifts -= shifts[int(np.argmin(np.abs(tilts)))]
    out = np.empty((n, ny, nx), np.float32)
    for i in range(n):
        out[i] = ndimage.shift(images[i], shifts[i], order=1, mode="constant", cval=0.0)
    out += rng.normal(0.0, 0.005 * out.max(), out.shape).astype(np.float32)
    out = (out - out.mean()) / out.std() * 11485.0 - 27648.0
    return {"images": out.astype(np.float32), "tilts": tilts, "shifts": shifts, "axis": 0.0}
