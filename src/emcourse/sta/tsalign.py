"""Tilt-series alignment and reconstruction: shifts, gold beads, the tilt axis, WBP and SIRT.

Images are ``(n, ny, nx)`` sorted by tilt. Shifts are ``(y, x)`` in pixels,
in :func:`scipy.ndimage.shift`'s sense: ``ndimage.shift(moving, s)`` lands on
the reference (the same convention as
:func:`skimage.registration.phase_cross_correlation`). Angles in the image
plane are degrees from the x (column) axis towards the y (row) axis, as in
:mod:`emcourse.sta.tiltseries`: 90 is the y axis. Tilts are degrees.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage, optimize

__all__ = [
    "apply_shifts",
    "axis_scan",
    "bead_model",
    "bin_images",
    "coarse_alignment",
    "cross_correlation_shift",
    "detect_beads",
    "fit_tilt_axis",
    "gauge_free_error",
    "neighbour_shifts",
    "track_beads",
]


def bin_images(images, factor: int) -> np.ndarray:
    """Average ``factor x factor`` pixel blocks of each image (a partial block at an edge dropped).

    Examples
    --------
    >>> bin_images(np.arange(16.0).reshape(1, 4, 4), 2)[0].tolist()
    [[2.5, 4.5], [10.5, 12.5]]
    """
    a = np.asarray(images, dtype=np.float32)
    f = int(factor)
    n, ny, nx = a.shape
    a = a[:, : ny // f * f, : nx // f * f]
    return a.reshape(n, ny // f, f, nx // f, f).mean(axis=(2, 4))


def _bandpass(shape, low: float, high: float) -> np.ndarray:
    """A soft band-pass on the rfft2 grid: keeps ``high`` to ``low`` cycles per pixel."""
    ky = np.fft.fftfreq(shape[0])[:, None]
    kx = np.fft.rfftfreq(shape[1])[None, :]
    k = np.hypot(ky, kx)
    return np.exp(-((k / low) ** 2) / 2) * (1 - np.exp(-((k / max(high, 1e-6)) ** 2) / 2))


def cross_correlation_shift(reference, moving, *, low: float = 0.1, high: float = 0.01):
    """The shift ``(y, x)`` that brings ``moving`` onto ``reference``, by cross-correlation.

    Both images are band-passed (``low`` and ``high`` in cycles per pixel:
    noise above ``low`` and the slow background below ``high`` removed), their
    cross-correlation is computed by FFT, and its peak is refined to a
    fraction of a pixel by a parabola through the peak and its neighbours.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> ref = ndimage.gaussian_filter(rng.normal(size=(64, 64)), 2)
    >>> moved = ndimage.shift(ref, (3.0, -5.0), mode="grid-wrap")
    >>> np.round(cross_correlation_shift(ref, moved), 1).tolist()
    [-3.0, 5.0]
    """
    a = np.asarray(reference, dtype=np.float64)
    b = np.asarray(moving, dtype=np.float64)
    band = _bandpass(a.shape, low, high)
    fa = np.fft.rfft2(a - a.mean()) * band
    fb = np.fft.rfft2(b - b.mean()) * band
    cc = np.fft.irfft2(fa * np.conj(fb), s=a.shape)
    peak = np.array(np.unravel_index(np.argmax(cc), cc.shape))
    shift = peak.astype(float)
    for ax, n in enumerate(cc.shape):
        lo, hi = peak.copy(), peak.copy()
        lo[ax], hi[ax] = (peak[ax] - 1) % n, (peak[ax] + 1) % n
        c0, cm, cp = cc[tuple(peak)], cc[tuple(lo)], cc[tuple(hi)]
        den = cm - 2 * c0 + cp
        if den < 0:
            shift[ax] += 0.5 * (cm - cp) / den
    size = np.array(cc.shape)
    return np.where(shift > size / 2, shift - size, shift)


def neighbour_shifts(images, **band) -> np.ndarray:
    """The shift between each image and the one before it (row 0 is zero), ``(n, 2)`` pixels."""
    imgs = np.asarray(images)
    out = np.zeros((len(imgs), 2))
    for i in range(1, len(imgs)):
        out[i] = cross_correlation_shift(imgs[i - 1], imgs[i], **band)
    return out


def coarse_alignment(images, tilts, **band) -> np.ndarray:
    """Shifts that align every image with the one nearest 0 degrees, by chained cross-correlation.

    Each image is correlated with its neighbour towards 0 degrees (neighbours
    look alike: the specimen turned by one step), and the shifts are added up
    outwards from the zero-tilt image, whose shift is ``(0, 0)``. Apply them
    with :func:`apply_shifts`.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> base = ndimage.gaussian_filter(rng.normal(size=(64, 64)), 2)
    >>> true = np.array([[2.0, 1.0], [0.0, 0.0], [-3.0, 4.0]])
    >>> stack = np.stack([ndimage.shift(base, t, mode="grid-wrap") for t in true])
    >>> np.round(coarse_alignment(stack, [-3.0, 0.0, 3.0]), 1).tolist()
    [[-2.0, -1.0], [0.0, 0.0], [3.0, -4.0]]
    """
    tilts = np.asarray(tilts, dtype=float)
    steps = neighbour_shifts(images, **band)  # steps[i]: image i onto image i - 1
    ref = int(np.argmin(np.abs(tilts)))
    shifts = np.zeros((len(tilts), 2))
    for i in range(ref + 1, len(tilts)):
        shifts[i] = shifts[i - 1] + steps[i]
    for i in range(ref - 1, -1, -1):  # image i onto i + 1 is minus (i + 1 onto i)
        shifts[i] = shifts[i + 1] - steps[i + 1]
    return shifts


def apply_shifts(images, shifts, *, order: int = 1) -> np.ndarray:
    """Each image moved by its shift ``(y, x)`` (pixels), edges filled with the image's median."""
    imgs = np.asarray(images, dtype=np.float32)
    return np.stack(
        [
            ndimage.shift(im, s, order=order, mode="constant", cval=float(np.median(im)))
            for im, s in zip(imgs, np.asarray(shifts, float), strict=True)
        ]
    )


# ------------------------------------------------------------------ gold beads


def _bead_response(image, radius: float) -> np.ndarray:
    """High where a dark disc of ``radius`` pixels sits: minus the Laplacian of Gaussian."""
    sigma = radius / np.sqrt(2.0)
    return ndimage.gaussian_laplace(np.asarray(image, dtype=np.float32), sigma) * sigma**2


def _refine(resp, yx) -> np.ndarray:
    """Sub-pixel position of a response peak near ``yx``: a parabola through it, per axis."""
    p = np.clip(np.round(np.asarray(yx, float)).astype(int), 1, np.array(resp.shape) - 2)
    out = p.astype(float)
    for ax in range(2):
        lo, hi = p.copy(), p.copy()
        lo[ax] -= 1
        hi[ax] += 1
        c0, cm, cp = resp[tuple(p)], resp[tuple(lo)], resp[tuple(hi)]
        den = cm - 2 * c0 + cp
        if den < 0:
            out[ax] += float(np.clip(0.5 * (cm - cp) / den, -0.5, 0.5))
    return out


def detect_beads(
    image, *, radius: float, n_max: int = 30, margin: int = 8, min_fraction: float = 0.3
) -> np.ndarray:
    """Gold beads in one image: ``(m, 2)`` centres ``(y, x)`` in pixels, strongest first.

    Beads are dark discs: the matched filter is the negative Laplacian of a
    Gaussian of width ``radius / sqrt(2)``, whose response peaks at the centre of
    a disc of that radius. Peaks are kept if they stand above the background's
    spread (the median plus 8 median absolute deviations) and at least
    ``min_fraction`` of the strongest peak (gold beads are alike; the halo
    around a bright feature is weaker), and lie ``margin`` pixels inside the
    image.

    Examples
    --------
    >>> img = np.full((64, 64), 100.0); yy, xx = np.indices(img.shape)
    >>> img[(yy - 20) ** 2 + (xx - 40) ** 2 < 25] = 40.0
    >>> np.round(detect_beads(img, radius=5)).tolist()
    [[20.0, 40.0]]
    """
    resp = _bead_response(image, radius)
    peaks = (resp == ndimage.maximum_filter(resp, size=int(2 * radius) | 1)) & (resp > 0)
    med = np.median(resp)
    mad = np.median(np.abs(resp - med)) + 1e-12
    peaks &= resp > max(med + 8 * mad, min_fraction * resp[peaks].max(initial=0.0))
    peaks[:margin], peaks[-margin:], peaks[:, :margin], peaks[:, -margin:] = (False,) * 4
    yx = np.argwhere(peaks)
    yx = yx[np.argsort(-resp[peaks])][:n_max]
    return np.array([_refine(resp, p) for p in yx]).reshape(-1, 2)


def track_beads(images, tilts, seeds, *, radius: float, search: float = 4.0) -> np.ndarray:
    """Follow beads from the zero-tilt image outwards: ``(n, m, 2)`` positions, NaN where lost.

    ``images`` should be roughly aligned (:func:`coarse_alignment`), so that a
    bead moves little between neighbouring tilts. In each image, a bead is
    looked for within ``search`` pixels of where it was in the neighbour
    towards 0 degrees; a bead whose response there is weaker than a quarter of
    its zero-tilt response is marked lost (NaN) from then on.
    """
    imgs = np.asarray(images)
    tilts = np.asarray(tilts, dtype=float)
    ref = int(np.argmin(np.abs(tilts)))
    seeds = np.asarray(seeds, dtype=float).reshape(-1, 2)
    tracks = np.full((len(imgs), len(seeds), 2), np.nan)
    resp0 = _bead_response(imgs[ref], radius)
    tracks[ref] = [_refine(resp0, s) for s in seeds]
    strength0 = ndimage.map_coordinates(resp0, tracks[ref].T, order=1)
    r = int(np.ceil(search))
    for direction in (1, -1):
        i = ref + direction
        while 0 <= i < len(imgs):
            resp = _bead_response(imgs[i], radius)
            for j, prev in enumerate(tracks[i - direction]):
                if np.isnan(prev[0]):
                    continue
                y, x = np.round(prev).astype(int)
                y0, x0 = max(y - r, 0), max(x - r, 0)
                win = resp[y0 : y + r + 1, x0 : x + r + 1]
                if win.size == 0:
                    continue
                k = np.unravel_index(np.argmax(win), win.shape)
                if win[k] < 0.25 * strength0[j]:
                    continue
                tracks[i, j] = _refine(resp, (y0 + k[0], x0 + k[1]))
            i += direction
    return tracks


def bead_model(positions, tilts, axis_deg: float, centre) -> np.ndarray:
    """Where beads at ``positions`` appear at each tilt: ``(n, m, 2)`` ``(y, x)`` pixels.

    ``positions`` are ``(m, 3)``: ``u`` along the tilt axis, ``X`` across it in
    the plane of the untilted specimen and ``Z`` its height, in pixels from
    ``centre`` ``(y, x)``. Tilting by ``t`` moves a bead across the axis to
    ``X cos t + Z sin t``; the axis lies at ``axis_deg`` from the x axis.

    Examples
    --------
    >>> p = bead_model([[0.0, 0.0, 10.0]], [0.0, 30.0], 90.0, (32.0, 32.0))
    >>> np.round(p[:, 0], 3).tolist()   # the axis is y: the bead moves along -x
    [[32.0, 32.0], [32.0, 27.0]]
    """
    pos = np.asarray(positions, dtype=float).reshape(-1, 3)
    t = np.deg2rad(np.asarray(tilts, dtype=float))[:, None]
    a = np.deg2rad(axis_deg)
    along = np.array([np.sin(a), np.cos(a)])  # (y, x) unit vector of the axis
    across = np.array([np.cos(a), -np.sin(a)])
    v = pos[None, :, 1] * np.cos(t) + pos[None, :, 2] * np.sin(t)
    return np.asarray(centre, float) + pos[None, :, 0, None] * along + v[..., None] * across


def _fit_at_axis(tracks, tilts, axis_deg, centre):
    """Least squares of beads and shifts for one axis angle: (rms, positions, shifts, residuals)."""
    n, m, _ = tracks.shape
    t = np.deg2rad(tilts)
    a = np.deg2rad(axis_deg)
    along = np.array([np.sin(a), np.cos(a)])
    across = np.array([np.cos(a), -np.sin(a)])
    i, j = np.nonzero(~np.isnan(tracks[..., 0]))
    k = len(i)
    n_par = 3 * m + 2 * n  # per bead (u, X, Z); per image a shift (y, x)
    A = np.zeros((2 * k + 3, n_par))
    for c in range(2):
        r = np.arange(k) * 2 + c
        A[r, 3 * j] = along[c]
        A[r, 3 * j + 1] = across[c] * np.cos(t[i])
        A[r, 3 * j + 2] = across[c] * np.sin(t[i])
        A[r, 3 * m + 2 * i + c] = 1.0
    # the gauge (see gauge_free_error): the beads' mean u, X and Z are 0
    A[-3, 3 * m :] = np.tile(along, n)  # u: a common shift along the axis, to the beads
    A[-2, 1 : 3 * m : 3] = 1.0  # X: the rotation centre across the axis ...
    A[-1, 2 : 3 * m : 3] = 1.0  # ... and in height sits at the beads' centre
    b = np.zeros(2 * k + 3)
    b[:-3] = (tracks[i, j] - centre).ravel()
    # normal equations (a few hundred unknowns; a tiny ridge keeps a lost bead's columns solvable)
    sol = np.linalg.solve(A.T @ A + 1e-9 * np.eye(n_par), A.T @ b)
    res = (A[:-3] @ sol - b[:-3]).reshape(k, 2)
    full = np.full((n, m), np.nan)
    full[i, j] = np.hypot(res[:, 0], res[:, 1])
    rms = float(np.sqrt(np.mean((res**2).sum(axis=1))))
    return rms, sol[: 3 * m].reshape(m, 3), sol[3 * m :].reshape(n, 2), full


def fit_tilt_axis(tracks, tilts, *, centre, step: float = 5.0, reject: float = 3.0) -> dict:
    """The tilt-axis angle, bead positions and image shifts that best explain bead tracks.

    For a given axis angle the model (:func:`bead_model` plus a shift per
    image) is linear in the beads' positions and the shifts, so it is solved by
    least squares; the angle is the one whose fit leaves the smallest residual
    (a grid every ``step`` degrees over 0..180, then a bounded search around the
    best). Positions whose residual exceeds ``reject`` times the root mean
    square (a bead mistaken for its neighbour) are dropped and the fit is
    repeated once. Tracks are ``(n, m, 2)`` ``(y, x)`` pixels in the
    *unaligned* images, NaN where a bead was not found.

    Returns
    -------
    dict
        ``axis`` (degrees, 0..180), ``shifts`` ``(n, 2)``: where each image's
        content was moved to (align by shifting by minus these),
        ``positions`` ``(m, 3)`` ``(u, X, Z)``, ``residual`` (pixels, the root
        mean square distance between tracked and modelled bead positions),
        ``residuals`` ``(n, m)`` per position, ``rejected`` (how many were
        dropped) and ``residual_no_shifts`` (the best fit with every shift held
        at 0: how far the raw series is from a rigid tilt).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> tilts = np.arange(-60.0, 61.0, 3.0)
    >>> beads = rng.uniform(-40, 40, (8, 3))
    >>> shifts = rng.normal(0, 5, (len(tilts), 2))
    >>> tracks = bead_model(beads, tilts, 84.0, (64.0, 64.0)) + shifts[:, None]
    >>> fit = fit_tilt_axis(tracks, tilts, centre=(64.0, 64.0))
    >>> round(fit["axis"], 2), fit["residual"] < 0.01
    (84.0, True)
    """
    tr = np.array(tracks, dtype=float)
    tilts = np.asarray(tilts, dtype=float)
    centre = np.asarray(centre, dtype=float)
    rejected = 0
    for _ in range(2):
        grid = np.arange(0.0, 180.0, float(step))
        scores = [_fit_at_axis(tr, tilts, g, centre)[0] for g in grid]
        best = grid[int(np.argmin(scores))]
        opt = optimize.minimize_scalar(
            lambda g: _fit_at_axis(tr, tilts, g, centre)[0],
            bounds=(best - step, best + step),
            method="bounded",
            options={"xatol": 1e-3},
        )
        rms, pos, shifts, res = _fit_at_axis(tr, tilts, float(opt.x), centre)
        bad = res > reject * max(rms, 1e-9)
        if not bad.any() or rejected:
            break
        tr[bad] = np.nan
        rejected = int(bad.sum())
    axis = float(np.mod(opt.x, 180.0))
    no_shift = _fit_without_shifts(tr, tilts, axis, centre)
    return {
        "axis": axis,
        "shifts": shifts,
        "positions": pos,
        "residual": rms,
        "residuals": res,
        "rejected": rejected,
        "residual_no_shifts": no_shift,
    }


def axis_scan(tracks, tilts, angles, *, centre) -> np.ndarray:
    """The residual (pixels) of the beads-and-shifts fit at each candidate axis angle.

    Examples
    --------
    >>> tilts = np.arange(-60.0, 61.0, 3.0)
    >>> tracks = bead_model([[5.0, 10.0, 20.0], [-9.0, 3.0, -15.0]], tilts, 85.0, (32.0, 32.0))
    >>> scan = axis_scan(tracks, tilts, [80.0, 85.0, 90.0], centre=(32.0, 32.0))
    >>> int(np.argmin(scan)), bool(scan[1] < 1e-6)
    (1, True)
    """
    tr = np.asarray(tracks, dtype=float)
    c = np.asarray(centre, dtype=float)
    t = np.asarray(tilts, dtype=float)
    return np.array([_fit_at_axis(tr, t, float(a), c)[0] for a in np.atleast_1d(angles)])


def gauge_free_error(shifts, true_shifts, tilts, axis_deg: float) -> np.ndarray:
    """Per-image distance (pixels) between two sets of shifts, up to what beads cannot fix.

    Bead tracks fix the image shifts up to three numbers: moving every bead by
    ``k`` along the axis moves every image by ``-k`` along it; moving the
    rotation centre by ``X`` across the axis and ``Z`` in height changes image
    ``i``'s shift by ``(X cos t_i + Z sin t_i)`` across the axis. Both leave the
    reconstruction the same up to where its centre sits. This removes the
    least-squares best such difference, then measures what is left.

    Examples
    --------
    >>> tilts = np.array([-30.0, 0.0, 30.0]); a = np.deg2rad(80.0)
    >>> across = np.array([np.cos(a), -np.sin(a)])
    >>> t = np.deg2rad(tilts)
    >>> gauge = (2.0 * np.cos(t) + 1.0 * np.sin(t))[:, None] * across
    >>> np.round(gauge_free_error(gauge + 5.0, np.full((3, 2), 5.0), tilts, 80.0), 6).tolist()
    [0.0, 0.0, 0.0]
    """
    d = np.asarray(shifts, float) - np.asarray(true_shifts, float)
    t = np.deg2rad(np.asarray(tilts, float))
    a = np.deg2rad(axis_deg)
    along, across = np.array([np.sin(a), np.cos(a)]), np.array([np.cos(a), -np.sin(a)])
    basis = np.stack(
        [np.tile(along, (len(t), 1)), np.cos(t)[:, None] * across, np.sin(t)[:, None] * across]
    ).reshape(3, -1)
    coef, *_ = np.linalg.lstsq(basis.T, d.ravel(), rcond=None)
    left = (d.ravel() - coef @ basis).reshape(-1, 2)
    return np.hypot(left[:, 0], left[:, 1])


def _fit_without_shifts(tracks, tilts, axis_deg, centre) -> float:
    """Residual (pixels) of the best rigid fit, beads only and no image shifts, at this axis."""
    t = np.deg2rad(tilts)
    a = np.deg2rad(axis_deg)
    along, across = np.array([np.sin(a), np.cos(a)]), np.array([np.cos(a), -np.sin(a)])
    squares = []
    for j in range(tracks.shape[1]):
        ok = ~np.isnan(tracks[:, j, 0])
        cols = [np.full(ok.sum(), 1.0), np.cos(t[ok]), np.sin(t[ok])]
        design = np.concatenate([np.stack([along[c] * cols[0], across[c] * cols[1],
                                           across[c] * cols[2]], 1) for c in range(2)])  # fmt: skip
        obs = np.concatenate([tracks[ok, j, c] - centre[c] for c in range(2)])
        sol, *_ = np.linalg.lstsq(design, obs, rcond=None)
        squares.append(((design @ sol - obs) ** 2).reshape(2, -1).sum(axis=0))
    return float(np.sqrt(np.mean(np.concatenate(squares))))
