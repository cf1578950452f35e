"""Estimate the CTF from an image: tile-averaged power spectra, background, fit.

What CTFFIND does (Rohou and Grigorieff 2015), written small enough to read:

1. cut the image into tiles and average their periodograms (Welch's method in
   2D): the noise of one periodogram is as large as its signal, the average of
   ``n`` tiles has ``1/sqrt(n)`` of it;
2. take the amplitude spectrum (the square root) and subtract a smooth radial
   background (a low-order polynomial in ``|k|`` fitted over the band), which
   leaves the Thon rings oscillating about zero;
3. find the defocus whose ``CTF**2`` correlates best with what is left, first
   without astigmatism (a grid over defocus, then a bounded 1D refinement), then
   with it (defocus U, V and the angle by Nelder-Mead from the best of a small
   grid of starts).

CTFFIND is a program, not a Python library: run it on the command line (or in
RELION/Warp/IMOD pipelines) and read its output text file.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage, optimize, signal

from emcourse.sta.ctf import ctf_1d, ctf_2d, wavelength

__all__ = [
    "CTFFit",
    "DefocusGradient",
    "clean_tile_centres",
    "defocus_gradient",
    "nearest_minimum",
    "thon_minima",
    "fit_ctf",
    "power_spectrum",
    "radial_profile",
    "subtract_background",
    "tile_centres",
]


def tile_centres(shape, tile: int, *, step: int | None = None) -> np.ndarray:
    """Centres ``(y, x)`` (pixels) of the tiles that :func:`power_spectrum` cuts.

    Tiles of ``tile`` x ``tile`` pixels every ``step`` pixels (default half a
    tile: 50 % overlap), covering the image as evenly as the step allows.

    Examples
    --------
    >>> tile_centres((512, 512), 256).tolist()[:2]
    [[128, 128], [128, 256]]
    """
    ny, nx = shape
    tile = int(tile)
    if tile > min(ny, nx) or tile < 8:
        raise ValueError(f"tile ({tile}) must be between 8 and the image's smaller side {shape}.")
    step = tile // 2 if step is None else int(step)
    ys = np.arange(0, ny - tile + 1, step)
    xs = np.arange(0, nx - tile + 1, step)
    yy, xx = np.meshgrid(ys, xs, indexing="ij")
    return np.column_stack([yy.ravel(), xx.ravel()]) + tile // 2


def power_spectrum(
    image, *, tile: int = 256, step: int | None = None, centres=None, return_count=False
):
    """Tile-averaged power spectrum (periodogram averaging, Welch's method in 2D).

    Parameters
    ----------
    image : ndarray (ny, nx)
    tile : int
        Tile edge in pixels: the spectrum's sampling is ``1 / (tile * pixel_size)``.
    step : int, optional
        Distance between tiles (default ``tile // 2``).
    centres : array (n, 2), optional
        Use only the tiles centred here (from :func:`tile_centres`), e.g. one strip
        of a tilted image or tiles away from contamination.
    return_count : bool
        Also return the number of tiles averaged.

    Returns
    -------
    ndarray (tile, tile)
        ``mean(|fft2(t - mean(t))|**2) / tile**2``, float64, zero frequency at
        ``[0, 0]`` (the unshifted :func:`numpy.fft.fftfreq` layout).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> ps = power_spectrum(rng.normal(size=(256, 256)), tile=64)
    >>> ps.shape, round(float(ps[1:, 1:].mean()), 1)  # white noise of variance 1
    ((64, 64), 1.0)
    """
    img = np.asarray(image, dtype=np.float64)
    if img.ndim != 2:
        raise ValueError(f"power_spectrum needs a 2D image; got shape {img.shape}.")
    if centres is None:
        centres = tile_centres(img.shape, tile, step=step)
    centres = np.asarray(centres, dtype=int).reshape(-1, 2)
    if len(centres) == 0:
        raise ValueError("power_spectrum got no tiles to average.")
    h = int(tile) // 2
    acc = np.zeros((int(tile), int(tile)))
    for cy, cx in centres:
        t = img[cy - h : cy - h + tile, cx - h : cx - h + tile]
        if t.shape != acc.shape:
            raise ValueError(f"the tile at {(int(cy), int(cx))} leaves the image {img.shape}.")
        acc += np.abs(np.fft.fft2(t - t.mean())) ** 2
    ps = acc / (len(centres) * tile * tile)
    return (ps, len(centres)) if return_count else ps


def radial_profile(ps, *, pixel_size: float = 1.0):
    """Rotational average of a 2D spectrum on the unshifted grid, in 1-pixel rings.

    Returns
    -------
    freq : ndarray
        Ring centres, ``i / (n * pixel_size)`` (cycles per pixel when
        ``pixel_size`` is 1), from 0 to Nyquist.
    profile : ndarray
        Mean of ``ps`` in each ring.

    Examples
    --------
    >>> f, p = radial_profile(np.ones((32, 32)), pixel_size=2.0)
    >>> len(f), float(f[-1]), bool(np.allclose(p, 1))
    (17, 0.25, True)
    """
    ps = np.asarray(ps, dtype=np.float64)
    n = min(ps.shape)
    ky = np.fft.fftfreq(ps.shape[0])[:, None] * n
    kx = np.fft.fftfreq(ps.shape[1])[None, :] * n
    ring = np.rint(np.sqrt(ky**2 + kx**2)).astype(int)
    nr = n // 2 + 1
    ok = ring < nr
    prof = np.bincount(ring[ok], ps[ok], minlength=nr) / np.maximum(
        np.bincount(ring[ok], minlength=nr), 1
    )
    return np.arange(nr) / (n * pixel_size), prof


def _grid(shape, pixel_size):
    ky = np.fft.fftfreq(shape[0], d=pixel_size)[:, None]
    kx = np.fft.fftfreq(shape[1], d=pixel_size)[None, :]
    k = np.sqrt(ky**2 + kx**2)
    return k, np.arctan2(ky, kx), ky, kx


def _band_mask(shape, pixel_size, band):
    """Pixels inside the resolution band, off the two axes (edge and detector artefacts)."""
    k, _, ky, kx = _grid(shape, pixel_size)
    lo, hi = band
    axis = 1.5 / (min(shape) * pixel_size)
    return (k >= lo) & (k <= hi) & (np.abs(ky) > axis) & (np.abs(kx) > axis)


def subtract_background(ps, *, pixel_size: float, band, degree: int = 4):
    """Amplitude spectrum minus a smooth radial background fitted over ``band``.

    The background is a polynomial of ``degree`` in ``|k|`` fitted by least squares
    to ``sqrt(ps)`` over the band's pixels: smooth enough to pass under the rings,
    which then oscillate about zero.

    Returns
    -------
    residual : ndarray
        ``sqrt(ps) - background`` on the same grid (meaningful inside the band).
    mask : ndarray of bool
        The band's pixels (off the axes).

    Examples
    --------
    >>> k = np.hypot(*np.meshgrid(np.fft.fftfreq(64), np.fft.fftfreq(64)))
    >>> r, m = subtract_background((1 + 3 * k) ** 2, pixel_size=1.0, band=(0.05, 0.45))
    >>> bool(np.abs(r[m]).max() < 1e-9)
    True
    """
    amp = np.sqrt(np.asarray(ps, dtype=np.float64))
    mask = _band_mask(amp.shape, pixel_size, band)
    if mask.sum() < 10 * (degree + 1):
        raise ValueError(
            f"the band {band} (1/A) holds only {int(mask.sum())} pixels at "
            f"{pixel_size} A per pixel: widen it, or use larger tiles."
        )
    k = _grid(amp.shape, pixel_size)[0]
    x = (k - band[0]) / (band[1] - band[0])  # 0..1 over the band: a well-conditioned basis
    coef = np.polynomial.polynomial.polyfit(x[mask], amp[mask], degree)
    return amp - np.polynomial.polynomial.polyval(x, coef), mask


@dataclass
class CTFFit:
    """A CTF fit: defocus in angstrom (positive = underfocus), angle in degrees."""

    defocus_u: float
    defocus_v: float
    astig_angle: float
    defocus_isotropic: float
    score: float

    @property
    def defocus(self) -> float:
        """Mean defocus ``(U + V) / 2``, angstrom."""
        return 0.5 * (self.defocus_u + self.defocus_v)

    @property
    def astigmatism(self) -> float:
        """``U - V``, angstrom."""
        return self.defocus_u - self.defocus_v


def _pearson(a, b):
    a = a - a.mean()
    b = b - b.mean()
    den = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / den) if den > 0 else 0.0


def fit_ctf(
    ps,
    pixel_size: float,
    *,
    band=(1 / 40, 1 / 8),
    defocus_range=(5000.0, 80000.0),
    voltage: float = 300.0,
    cs: float = 2.7,
    amplitude_contrast: float = 0.1,
    astigmatism: bool = True,
    max_astigmatism: float = 0.5,
    degree: int = 4,
) -> CTFFit:
    """Fit defocus (and astigmatism) to a power spectrum from :func:`power_spectrum`.

    Parameters
    ----------
    ps : ndarray (n, n)
        Tile-averaged power spectrum, unshifted.
    pixel_size : float
        Angstrom per pixel. For an image of unknown pixel size pass 1.0 and read
        ``band`` in cycles per pixel and the defocus as ``defocus / pixel_size**2``
        (then set ``cs=0``: the Cs term scales as ``1 / pixel_size**4``).
    band : (float, float)
        Frequencies fitted, 1/A (default 40 to 8 A).
    defocus_range : (float, float)
        Defocus searched, angstrom.
    voltage, cs, amplitude_contrast
        kV, mm, fraction.
    astigmatism : bool
        Fit U, V and the angle (else U = V, the isotropic fit).
    max_astigmatism : float
        Largest ``(U - V) / mean`` tried in the starts of the 2D fit.
    degree : int
        Degree of the background polynomial.

    Returns
    -------
    CTFFit
        ``score`` is the correlation of ``CTF**2`` with the background-subtracted
        amplitude spectrum over the band (about 0 for a wrong defocus).

    Examples
    --------
    >>> from emcourse.sta.ctf_sim import simulate_micrograph
    >>> img = simulate_micrograph((512, 512), 1.35, defocus_u=40000, defocus_v=40000,
    ...                           astig_angle=0, seed=0)
    >>> fit = fit_ctf(power_spectrum(img, tile=256), 1.35, astigmatism=False)
    >>> abs(fit.defocus / 40000 - 1) < 0.02
    True
    """
    resid, mask = subtract_background(ps, pixel_size=pixel_size, band=band, degree=degree)
    k, phi, _, _ = _grid(np.shape(ps), pixel_size)
    r, kk, ph = resid[mask], k[mask], phi[mask]
    opt = dict(voltage=voltage, cs=cs, amplitude_contrast=amplitude_contrast)

    def score_iso(dz):
        return _pearson(r, ctf_1d(kk, defocus=dz, **opt) ** 2)

    lo, hi = (float(v) for v in defocus_range)
    # grid step: the phase at the band's edge moves by at most pi/4 between nodes
    step = 1.0 / (4.0 * wavelength(voltage) * band[1] ** 2)
    grid = np.arange(lo, hi + step, step)
    scores = np.array([score_iso(d) for d in grid])
    i = int(np.argmax(scores))
    res = optimize.minimize_scalar(
        lambda d: -score_iso(d),
        bounds=(grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]),
        method="bounded",
        options={"xatol": 1.0},
    )
    d0 = float(res.x)
    if not astigmatism:
        s = -float(res.fun)
        return CTFFit(d0, d0, 0.0, d0, s)

    c2 = np.cos(2 * ph)
    s2 = np.sin(2 * ph)

    def score_2d(p):
        m, ax, ay = p
        dz = m + ax * c2 + ay * s2
        return _pearson(r, ctf_1d(kk, defocus=dz, **opt) ** 2)

    starts = [(d0, 0.0, 0.0)]
    for frac in (0.05, 0.15, max_astigmatism):
        for ang in np.deg2rad(np.arange(0, 180, 22.5)):
            h = 0.5 * frac * d0
            starts.append((d0, h * np.cos(2 * ang), h * np.sin(2 * ang)))
    best = max(starts, key=score_2d)
    simplex = np.array(best) + np.array(
        [[0, 0, 0], [0.01 * d0, 0, 0], [0, 0.01 * d0, 0], [0, 0, 0.01 * d0]]
    )
    res = optimize.minimize(
        lambda p: -score_2d(p),
        best,
        method="Nelder-Mead",
        options={"initial_simplex": simplex, "xatol": 1.0, "fatol": 1e-7, "maxiter": 2000},
    )
    m, ax, ay = res.x
    h = float(np.hypot(ax, ay))
    ang = float(np.degrees(0.5 * np.arctan2(ay, ax)))
    return CTFFit(float(m + h), float(m - h), ang, d0, -float(res.fun))


def ctf_model_2d(fit: CTFFit, shape, pixel_size, **opt) -> np.ndarray:
    """``CTF**2`` of a fit on the spectrum's grid, for display beside the data."""
    return (
        ctf_2d(
            shape,
            pixel_size,
            defocus_u=fit.defocus_u,
            defocus_v=fit.defocus_v,
            astig_angle=fit.astig_angle,
            **opt,
        )
        ** 2
    )


@dataclass
class DefocusGradient:
    """Defocus per strip of tiles parallel to the tilt axis, and the line through them."""

    distance: np.ndarray  # mean distance of each strip's tiles from the axis, A
    defocus: np.ndarray  # fitted defocus per strip, A
    n_tiles: np.ndarray
    slope: float  # defocus change per A of distance: tan(tilt)
    intercept: float  # defocus on the axis, A
    slope_error: float  # standard error of the slope, from the scatter about the line

    @property
    def tilt(self) -> float:
        """The tilt (degrees) that the slope implies: ``atan(slope)``."""
        return float(np.degrees(np.arctan(self.slope)))


def defocus_gradient(
    image,
    pixel_size: float,
    *,
    tilt_axis_angle: float,
    tile: int = 256,
    step: int | None = None,
    n_strips: int = 5,
    **fit_options,
) -> DefocusGradient:
    """Fit the defocus in strips of tiles parallel to the tilt axis.

    Tiles (:func:`tile_centres`) are sorted by their centre's distance from the
    axis (:func:`emcourse.sta.ctf_sim.axis_distance`) into ``n_strips`` groups of
    equal size; each group's averaged spectrum is fitted without astigmatism
    (:func:`fit_ctf`); a straight line through (distance, defocus) gives the
    gradient, ``tan(tilt)`` for a flat specimen.

    Examples
    --------
    >>> from emcourse.sta.ctf_sim import simulate_micrograph
    >>> img = simulate_micrograph((768, 768), 1.35, defocus_u=4e4, defocus_v=4e4,
    ...                           astig_angle=0, tilt=60, tilt_axis_angle=85, seed=0)
    >>> g = defocus_gradient(img, 1.35, tilt_axis_angle=85, n_strips=3)
    >>> abs(g.tilt - 60) < 10
    True
    """
    from emcourse.sta.ctf_sim import axis_distance

    img = np.asarray(image, dtype=np.float64)
    centres = tile_centres(img.shape, tile, step=step)
    d = axis_distance(img.shape, pixel_size, tilt_axis_angle, points=centres)
    order = np.argsort(d, kind="stable")
    groups = np.array_split(order, int(n_strips))
    fit_options = {"astigmatism": False, **fit_options}
    dist, dz, cnt = [], [], []
    for g in groups:
        ps = power_spectrum(img, tile=tile, centres=centres[g])
        dist.append(float(d[g].mean()))
        dz.append(fit_ctf(ps, pixel_size, **fit_options).defocus)
        cnt.append(len(g))
    dist, dz = np.array(dist), np.array(dz)
    (slope, intercept), cov = np.polyfit(dist, dz, 1, cov="unscaled")
    resid = dz - (slope * dist + intercept)
    dof = max(len(dz) - 2, 1)
    se = float(np.sqrt(cov[0, 0] * (resid @ resid) / dof))
    return DefocusGradient(dist, dz, np.array(cnt), float(slope), float(intercept), se)


def clean_tile_centres(image, tile: int, *, step: int | None = None, k: float = 4.0):
    """Centres of the tiles free of dark contamination (ice blobs, carbon edges).

    A tile is dropped when more than 1 % of its pixels lie ``k`` robust standard
    deviations (1.4826 x the median absolute deviation) below the image's median:
    such patches add their own strong, ring-free spectrum.

    Examples
    --------
    >>> img = np.random.default_rng(0).normal(size=(256, 256))
    >>> img[:64, :64] -= 20  # a dark blob in one corner
    >>> len(tile_centres(img.shape, 64)), len(clean_tile_centres(img, 64))
    (49, 45)
    """
    img = np.asarray(image, dtype=np.float64)
    centres = tile_centres(img.shape, tile, step=step)
    med = np.median(img)
    dark = img < med - k * 1.4826 * np.median(np.abs(img - med))
    h = int(tile) // 2
    frac = np.array([dark[y - h : y - h + tile, x - h : x - h + tile].mean() for y, x in centres])
    return centres[frac <= 0.01]


def thon_minima(
    ps, pixel_size: float, *, band, degree: int = 4, smooth: float = 1.0, prominence=0.25
):
    """Frequencies (1/A, or cycles per pixel at ``pixel_size=1``) of the observed Thon minima.

    The background-subtracted amplitude spectrum (:func:`subtract_background`)
    is averaged in 1-pixel rings over the band, smoothed by a Gaussian of
    ``smooth`` rings, and its local minima deeper than ``prominence`` times the
    profile's range (:func:`scipy.signal.find_peaks` on the negated profile) are
    returned. Found from the data alone: no CTF model is used.

    Examples
    --------
    >>> from emcourse.sta.ctf_sim import simulate_micrograph
    >>> img = simulate_micrograph((512, 512), 1.35, defocus_u=4e4, defocus_v=4e4,
    ...                           astig_angle=0, seed=0)
    >>> m = thon_minima(power_spectrum(img, tile=256), 1.35, band=(1 / 40, 1 / 12))
    >>> bool(abs(m[0] - 1 / 28.16) <= 1 / (256 * 1.35))  # the first zero, within a sample
    True
    """
    resid, mask = subtract_background(ps, pixel_size=pixel_size, band=band, degree=degree)
    f, num = radial_profile(np.where(mask, resid, 0.0), pixel_size=pixel_size)
    _, cnt = radial_profile(mask.astype(float), pixel_size=pixel_size)
    inside = (cnt > 0) & (f >= band[0]) & (f <= band[1])
    prof = np.where(inside, num / np.where(cnt > 0, cnt, 1.0), 0.0)
    idx = np.nonzero(inside)[0]
    sm = ndimage.gaussian_filter1d(prof[idx], smooth) if smooth else prof[idx]
    peaks, _ = signal.find_peaks(-sm, prominence=prominence * float(np.ptp(sm)))
    return f[idx[peaks]]


def nearest_minimum(zeros, minima) -> np.ndarray:
    """For each predicted zero, the distance to the nearest observed minimum (same units).

    Examples
    --------
    >>> nearest_minimum([0.32, 0.46], [0.20, 0.324, 0.457]).round(3).tolist()
    [0.004, 0.003]
    """
    z = np.asarray(zeros, dtype=np.float64)[:, None]
    m = np.asarray(minima, dtype=np.float64)[None, :]
    if m.size == 0:
        return np.full(z.shape[0], np.inf)
    return np.abs(z - m).min(axis=1)
