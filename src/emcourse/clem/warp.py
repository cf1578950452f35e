"""Pixels and physical space: grids, resampling, warping, overlays, ellipses.

The convention everywhere in the course: pixel ``(i, j)`` of an image with
pixel size ``s`` has its **centre** at ``(i s, j s)`` (plus the image's origin),
so the image covers ``[-s/2, (n - 1/2) s]`` along each axis. Other tools use
the corner (ImageJ's display, matplotlib's ``extent``): a half-pixel offset,
which for a 100 nm light pixel is 50 nm, the size of the error budget.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from emcourse.clem.transforms import invert

__all__ = [
    "bin_image",
    "ellipse",
    "extent",
    "fwhm",
    "overlay",
    "pixel_to_physical",
    "physical_to_pixel",
    "warp",
]


def pixel_to_physical(index, pixel: float, origin=0.0) -> np.ndarray:
    """Physical position (same units as ``pixel``) of pixel centres ``index``.

    Examples
    --------
    >>> pixel_to_physical([[0, 0], [2, 3]], 100.0)
    array([[  0.,   0.],
           [200., 300.]])
    """
    return np.asarray(index, dtype=np.float64) * pixel + np.asarray(origin, dtype=np.float64)


def physical_to_pixel(position, pixel: float, origin=0.0) -> np.ndarray:
    """Fractional pixel index of physical positions (inverse of :func:`pixel_to_physical`)."""
    return (np.asarray(position, dtype=np.float64) - np.asarray(origin, dtype=np.float64)) / pixel


def extent(shape, pixel: float, origin=(0.0, 0.0)) -> tuple[float, float, float, float]:
    """matplotlib ``extent`` (left, right, bottom, top) that puts pixel centres where they are.

    Use with ``imshow(..., extent=extent(img.shape, pixel), origin="upper")``.
    """
    h, w = shape[-2:]
    oy, ox = origin
    return (ox - pixel / 2, ox + (w - 0.5) * pixel, oy + (h - 0.5) * pixel, oy - pixel / 2)


def bin_image(image, factor: int) -> np.ndarray:
    """Average ``factor x factor`` blocks (trailing rows/columns that do not fill a block dropped).

    The centre of binned pixel ``(i, j)`` lies at fine pixel
    ``(factor * i + (factor - 1) / 2, ...)``, not at ``factor * i``.
    """
    a = np.asarray(image, dtype=np.float64)
    h, w = (a.shape[0] // factor) * factor, (a.shape[1] // factor) * factor
    return a[:h, :w].reshape(h // factor, factor, w // factor, factor).mean(axis=(1, 3))


def warp(
    moving,
    matrix,
    *,
    moving_pixel: float,
    out_shape,
    out_pixel: float,
    order: int = 1,
    cval: float = 0.0,
) -> np.ndarray:
    """Resample a moving image onto the fixed grid through a moving -> fixed transform.

    Each output pixel centre ``y`` (physical, fixed space) is pulled from the
    moving image at ``u = matrix^-1 y``. Works for 2D images; a leading
    channel axis is warped plane by plane.

    Parameters
    ----------
    moving : (Y, X) or (C, Y, X) array
        The light image.
    matrix : (3, 3) array
        Moving -> fixed, physical units, (y, x).
    moving_pixel, out_pixel : float
        Pixel sizes of the moving image and of the output grid.
    out_shape : (Y, X)
        Shape of the output grid (e.g. the EM image's shape).
    order : int
        Spline order (1 = linear).

    Returns
    -------
    ndarray
        float32, ``out_shape`` (with the channel axis if the input had one).
    """
    img = np.asarray(moving)
    if img.ndim == 3:
        return np.stack(
            [
                warp(
                    c,
                    matrix,
                    moving_pixel=moving_pixel,
                    out_shape=out_shape,
                    out_pixel=out_pixel,
                    order=order,
                    cval=cval,
                )
                for c in img
            ]
        )
    # input index = (inv(M) (out_index * out_pixel)) / moving_pixel
    inv = invert(matrix)
    lin = inv[:2, :2] * out_pixel / moving_pixel
    off = inv[:2, 2] / moving_pixel
    out = ndimage.affine_transform(
        img.astype(np.float32),
        lin,
        offset=off,
        output_shape=tuple(out_shape),
        order=order,
        cval=cval,
    )
    return out.astype(np.float32)


def _normalise(a, percentiles=(1, 99.7)):
    a = np.asarray(a, dtype=np.float64)
    lo, hi = np.percentile(a, percentiles)
    return np.clip((a - lo) / max(hi - lo, 1e-12), 0, 1)


def overlay(em, channels, *, colours=((1, 0, 1), (0, 1, 0)), alpha: float = 0.8) -> np.ndarray:
    """An RGB overlay: the EM in grey, each light channel added in its colour.

    Intensities are only *displayed* rescaled (1st-99.7th percentile), the
    arrays themselves are not changed.
    """
    grey = _normalise(em)
    rgb = np.repeat(grey[..., None], 3, axis=2) * (1 - 0.4 * alpha)
    chans = np.asarray(channels)
    if chans.ndim == 2:
        chans = chans[None]
    for c, colour in zip(chans, colours, strict=False):
        rgb += alpha * _normalise(c)[..., None] * np.asarray(colour, dtype=np.float64)
    return np.clip(rgb, 0, 1)


def ellipse(cov, *, confidence: float = 0.95, n: int = 100) -> dict:
    """The confidence ellipse of a 2D Gaussian with covariance ``cov`` ((y, x), units^2).

    Returns
    -------
    dict
        ``semi_axes`` (major, minor) in units, ``angle_deg`` of the major axis
        from the x axis towards y, ``scale`` (the chi-square radius for
        ``confidence``) and ``outline`` (n, 2) points (y, x) around the origin.
    """
    c = np.asarray(cov, dtype=np.float64)
    if c.shape != (2, 2):
        raise ValueError(f"cov: expected a (2, 2) covariance, found shape {c.shape}.")
    scale = float(np.sqrt(-2 * np.log(1 - confidence)))  # chi-square, 2 dof
    lam, vec = np.linalg.eigh(c)
    lam = np.clip(lam, 0, None)
    major, minor = vec[:, 1], vec[:, 0]
    t = np.linspace(0, 2 * np.pi, n)
    outline = scale * (
        np.sqrt(lam[1]) * np.cos(t)[:, None] * major + np.sqrt(lam[0]) * np.sin(t)[:, None] * minor
    )
    return {
        "semi_axes": (scale * float(np.sqrt(lam[1])), scale * float(np.sqrt(lam[0]))),
        "angle_deg": float(np.rad2deg(np.arctan2(major[0], major[1]))),
        "scale": scale,
        "outline": outline,
    }


def fwhm(profile, pixel: float = 1.0) -> float:
    """Full width at half maximum of a single-peaked 1D profile, in the units of ``pixel``.

    The background (the profile's minimum) is subtracted; the half-maximum
    crossings on each side of the peak are interpolated linearly.

    Examples
    --------
    >>> x = np.arange(101.0)
    >>> round(fwhm(np.exp(-((x - 50) ** 2) / (2 * 5.0**2))), 1)  # 2.355 sigma
    11.8
    """
    p = np.asarray(profile, dtype=np.float64)
    p = p - p.min()
    peak = int(np.argmax(p))
    half = p[peak] / 2
    left = np.nonzero(p[:peak] < half)[0]
    right = np.nonzero(p[peak:] < half)[0]
    if len(left) == 0 or len(right) == 0:
        raise ValueError("the profile does not fall below half its maximum on both sides.")
    i = left[-1]
    x_left = i + (half - p[i]) / (p[i + 1] - p[i])
    j = peak + right[0]
    x_right = j - 1 + (p[j - 1] - half) / (p[j - 1] - p[j])
    return float((x_right - x_left) * pixel)
