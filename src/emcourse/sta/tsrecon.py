"""Reconstruct an aligned tilt series: the axis of a rod, WBP and SIRT about any axis, sharpness.

Works with :mod:`emcourse.sta.tsalign` (shifts, beads, the axis from beads).
Images ``(n, ny, nx)`` sorted by tilt; in-plane angles in degrees from the x
axis towards the y axis (90 is the y axis); tilts in degrees.
Reconstructions are ``(z, y, x)`` with the tilt axis along y, as
:func:`emcourse.sta.tomography.weighted_backprojection` makes them.
"""

from __future__ import annotations

import numpy as np

from emcourse.sta.tiltseries import rotate_plane
from emcourse.sta.tomography import _projector, weighted_backprojection

__all__ = [
    "even_odd_correlation",
    "gradient_energy",
    "rod_axis",
    "rod_offsets",
    "sirt",
    "turn_axis_to_y",
    "wbp_about_axis",
    "wbp_slab",
]


def _mask(image) -> np.ndarray:
    from skimage.filters import threshold_otsu

    im = np.asarray(image, dtype=np.float32)
    return im > threshold_otsu(im)


def rod_axis(images, tilts) -> dict:
    """The tilt axis of a rod-shaped specimen turned about its own length (on-axis tomography).

    In each image the rod (above Otsu's threshold) is a long blob; its
    direction is the main axis of the blob's pixel positions. A rod lying
    exactly along the tilt axis points the same way in every image; one
    inclined by a small angle to it wobbles about the axis as it turns, by
    ``A cos t + B sin t``. The axis is the constant of the least-squares fit
    ``direction_i = axis + A cos t_i + B sin t_i``.

    Returns
    -------
    dict
        ``axis`` (degrees, -90..90), ``directions`` (per image), ``wobble``
        (degrees, the amplitude ``hypot(A, B)``), ``scatter`` (degrees, the
        root mean square of what the fit leaves).

    Examples
    --------
    >>> img = np.zeros((3, 64, 64), np.float32)
    >>> yy, xx = np.indices((64, 64))
    >>> img[:, np.abs((yy - 32) * np.cos(0.1) - (xx - 32) * np.sin(0.1)) < 4] = 1.0
    >>> bool(abs(rod_axis(img, [-30.0, 0.0, 30.0])["axis"] - np.rad2deg(0.1)) < 0.2)
    True
    """
    t = np.deg2rad(np.asarray(tilts, dtype=float))
    dirs = []
    for im in np.asarray(images):
        yy, xx = np.nonzero(_mask(im))
        cov = np.cov(np.stack([xx - xx.mean(), yy - yy.mean()]))
        vx, vy = np.linalg.eigh(cov)[1][:, 1]
        dirs.append(np.rad2deg(np.arctan2(vy, vx)))
    dirs = np.mod(np.array(dirs) + 90.0, 180.0) - 90.0
    design = np.stack([np.ones_like(t), np.cos(t), np.sin(t)], axis=1)
    coef, *_ = np.linalg.lstsq(design, dirs, rcond=None)
    left = dirs - design @ coef
    return {
        "axis": float(coef[0]),
        "directions": dirs,
        "wobble": float(np.hypot(coef[1], coef[2])),
        "scatter": float(np.sqrt(np.mean(left**2))),
    }


def rod_offsets(images, axis_deg: float) -> np.ndarray:
    """Where the rod's centre line sits across the axis in each image (pixels from the centre).

    The intensity-weighted mean, over the rod's pixels, of their distance from
    the image centre across an axis at ``axis_deg``. For a rod on the tilt
    axis in an aligned series these are all the same; their spread is the
    alignment's residual across the axis.
    """
    out = []
    a = np.deg2rad(axis_deg)
    for im in np.asarray(images, dtype=np.float64):
        ny, nx = im.shape
        yy, xx = np.indices(im.shape, dtype=float)
        across = (yy - ny // 2) * np.cos(a) - (xx - nx // 2) * np.sin(a)
        w = np.where(_mask(im), im - im.min(), 0.0)
        out.append(float((across * w).sum() / w.sum()))
    return np.array(out)


def turn_axis_to_y(images, axis_deg: float) -> np.ndarray:
    """Each image turned about its centre so that an axis at ``axis_deg`` lies along y (cubic)."""
    return np.stack([rotate_plane(im, 90.0 - axis_deg, order=3) for im in np.asarray(images)])


def wbp_about_axis(images, tilts, axis_deg: float, *, thickness: int) -> np.ndarray:
    """Weighted back-projection of aligned images whose tilt axis lies at ``axis_deg``.

    The images are turned so the axis lies along y and their median is
    subtracted, then :func:`~emcourse.sta.tomography.weighted_backprojection`
    reconstructs ``(thickness, ny, nx)``.
    """
    turned = turn_axis_to_y(images, axis_deg)
    turned -= np.median(turned)
    return weighted_backprojection(turned, tilts, thickness=thickness)


def wbp_slab(images, tilts, axis_deg: float, *, rows: slice, thickness: int) -> dict:
    """WBP of a slab of aligned images, from all tilts and from the even and odd tilts apart.

    The images are turned so the axis lies along y (:func:`turn_axis_to_y`),
    the rows ``rows`` (along the axis) kept and their median subtracted; each
    of the three reconstructions is ``(thickness, n_rows, nx)``. Returns
    ``turned`` (the slab's projections, for SIRT or a library call), ``all``,
    ``even`` and ``odd``.
    """
    turned = turn_axis_to_y(images, axis_deg)[:, rows]
    turned -= np.median(turned)
    t = np.asarray(tilts, dtype=float)
    return {
        "turned": turned,
        "all": weighted_backprojection(turned, t, thickness=thickness),
        "even": weighted_backprojection(turned[0::2], t[0::2], thickness=thickness),
        "odd": weighted_backprojection(turned[1::2], t[1::2], thickness=thickness),
    }


def sirt(projections, angles, *, thickness: int, n_iter: int = 20, relax: float = 1.0):
    """Reconstruct by SIRT: repeated corrections by the back-projected, normalised residual.

    ``x <- x + relax C A^T R (b - A x)`` with ``A`` the projector of
    :func:`emcourse.sta.tomography.project` (tilt about the y axis), ``R``
    one over each ray's length and ``C`` one over each voxel's total weight
    (Gregor and Benson 2008). Projections ``(n_tilts, y, x)``, the axis along
    y; returns ``(thickness, y, x)`` float32, starting from zero.

    Examples
    --------
    >>> from emcourse.sta.tomography import project
    >>> vol = np.zeros((16, 2, 32), np.float32); vol[8, :, 16] = 1.0
    >>> angles = np.arange(-60, 61, 3.0)
    >>> rec = sirt(project(vol, angles), angles, thickness=16, n_iter=30)
    >>> tuple(int(i) for i in np.unravel_index(np.argmax(rec[:, 0]), (16, 32)))
    (8, 16)
    """
    proj = np.asarray(projections, dtype=np.float32)
    n_t, ny, nx = proj.shape
    A = _projector(np.asarray(angles, float), int(thickness), nx)
    b = np.ascontiguousarray(proj.transpose(0, 2, 1)).reshape(n_t * nx, ny)
    row_sum = np.asarray(A.sum(axis=1)).ravel()
    col_sum = np.asarray(A.sum(axis=0)).ravel()
    R = (1.0 / np.maximum(row_sum, 1e-12) * (row_sum > 0)).astype(np.float32)[:, None]
    C = (1.0 / np.maximum(col_sum, 1e-12) * (col_sum > 0)).astype(np.float32)[:, None]
    AT = A.T.tocsr()
    x = np.zeros((A.shape[1], ny), np.float32)
    for _ in range(int(n_iter)):
        x += relax * C * (AT @ (R * (b - A @ x)))
    rec = x.reshape(int(thickness), nx, ny).transpose(0, 2, 1)
    return np.ascontiguousarray(rec, dtype=np.float32)


def gradient_energy(volume) -> float:
    """Sharpness: the mean squared gradient of a volume over its variance (1/pixel^2).

    Blur lowers it (edges spread out); a change of scale does not. Compare it
    only between reconstructions of the same data on the same grid.

    Examples
    --------
    >>> from scipy import ndimage
    >>> v = np.zeros((16, 16, 16)); v[4:12, 4:12, 4:12] = 1.0
    >>> gradient_energy(v) > gradient_energy(ndimage.gaussian_filter(v, 2))
    True
    """
    v = np.asarray(volume, dtype=np.float64)
    return float(sum((g**2).mean() for g in np.gradient(v)) / v.var())


def even_odd_correlation(rec_even, rec_odd) -> float:
    """Pearson correlation of two reconstructions from interleaved halves of the tilts.

    Each half holds every second tilt, so both see the same specimen; where
    the images are misaligned, the two halves smear it differently and agree
    less.
    """
    a = np.asarray(rec_even, dtype=np.float64).ravel()
    b = np.asarray(rec_odd, dtype=np.float64).ravel()
    return float(np.corrcoef(a, b)[0, 1])
