"""Locate a fluorescent bead or punctum, and how precisely: estimators and their formulas.

A spot is a pixelated 2D Gaussian: ``N`` photons spread by a PSF of standard
deviation ``s`` (nm), integrated over square pixels of side ``a`` (nm), on a
background of ``b2`` photons per pixel (``b2 = b^2``, ``b`` the background's
noise per pixel), with Poisson noise. Spot images are ``(n, h, w)`` stacks;
pixel ``(i, j)`` of a window is centred at ``(i a, j a)`` nm, and positions
are ``(y, x)`` in nm in that frame (add the window's origin for the field).

Estimators (all vectorised over the stack):

- :func:`centroid`: background-subtracted centre of mass;
- :func:`fit_gaussian` with ``method="lsq"``: unweighted least squares, the
  fit most software calls "Gaussian fitting" (``scipy.optimize.curve_fit``
  does the same, one spot at a time);
- :func:`fit_gaussian` with ``method="mle"``: maximum likelihood under
  Poisson noise (Fisher scoring).

Precision formulas (standard deviation per axis, nm):

- :func:`thompson_precision`, Thompson, Larson and Webb (2002, Biophys. J.
  82:2775): ``var = (s^2 + a^2/12)/N + 8 pi s^4 b^2 / (a^2 N^2)``;
- :func:`mortensen_lsq_precision`, Mortensen et al. (2010, Nat. Methods
  7:377), eq. 6 with ``F = 1`` (no EMCCD excess noise):
  ``var = (sa^2/N) (16/9 + 8 pi sa^2 b^2 / (N a^2))``, ``sa^2 = s^2 + a^2/12``;
- :func:`mortensen_mle_precision`, Mortensen et al. (2010), their
  supplement's eq. 54: ``var = (sa^2/N) / (1 + int_0^1 ln t / (1 + t/tau) dt)``,
  ``tau = 2 pi sa^2 b^2 / (N a^2)``; without background ``sa^2/N``;
- :func:`centroid_precision`: the centroid's variance on a finite window,
  derived here (error propagation), ``var = sum_p (y_p - y0)^2 lambda_p / N^2``
  with ``lambda_p`` the expected counts, which is ``sa^2/N`` plus a background
  term that grows with the window.

The formulas were checked against the papers' forms as implemented in
gdsc-smlm (``Gaussian2DPeakResultHelper``: ``getVarianceX`` for eq. 6,
``getMLVarianceX``/``computeI1`` for eq. 5) and SLIMfast's
``model_localization_precision`` (Thompson), and each against a Monte Carlo
of this module's own spots (``tests/test_clem_localise.py``).
Thompson's formula lacks the 16/9 of an unweighted least-squares fit on
Poisson data: at low background it is optimistic by a factor 3/4 in sigma
(Mortensen's fit is a third worse than Thompson says).
"""

from __future__ import annotations

import numpy as np
from scipy import integrate, special

__all__ = [
    "centroid",
    "centroid_precision",
    "fit_gaussian",
    "localise_beads",
    "mortensen_lsq_precision",
    "mortensen_mle_precision",
    "precision_monte_carlo",
    "render_beads",
    "render_spots",
    "spot_model",
    "thompson_precision",
    "windows",
]

_ROOT2PI = np.sqrt(2 * np.pi)


def _edges(n: int, pixel: float, centre: np.ndarray, s: np.ndarray):
    """Pixel-integrated 1D Gaussian (n_spots, n) and its derivatives by centre and by s."""
    lo = (np.arange(n) - 0.5) * pixel
    hi = lo + pixel
    c, s = centre[:, None], s[:, None]
    ulo, uhi = (lo - c) / s, (hi - c) / s
    e = 0.5 * (special.erf(uhi / np.sqrt(2)) - special.erf(ulo / np.sqrt(2)))
    glo, ghi = np.exp(-0.5 * ulo**2) / (_ROOT2PI * s), np.exp(-0.5 * uhi**2) / (_ROOT2PI * s)
    de_dc = -(ghi - glo)
    de_ds = -(uhi * ghi - ulo * glo)
    return e, de_dc, de_ds


def spot_model(params, shape, pixel: float, *, jacobian: bool = False):
    """Expected counts of spots ``params = (n, 5)`` columns ``(y, x, N, s, b2)``, nm and photons.

    Returns ``(n, h, w)`` expected counts, and with ``jacobian=True`` also the
    derivatives ``(n, h*w, 5)`` by the five parameters.
    """
    p = np.atleast_2d(np.asarray(params, dtype=np.float64))
    h, w = shape
    ey, dy, sy = _edges(h, pixel, p[:, 0], p[:, 3])
    ex, dx, sx = _edges(w, pixel, p[:, 1], p[:, 3])
    n_ph = p[:, 2][:, None, None]
    psf = ey[:, :, None] * ex[:, None, :]
    mu = n_ph * psf + p[:, 4][:, None, None]
    if not jacobian:
        return mu
    jac = np.stack(
        [
            n_ph * dy[:, :, None] * ex[:, None, :],
            n_ph * ey[:, :, None] * dx[:, None, :],
            psf,
            n_ph * (sy[:, :, None] * ex[:, None, :] + ey[:, :, None] * sx[:, None, :]),
            np.ones_like(psf),
        ],
        axis=-1,
    )
    return mu, jac.reshape(len(p), h * w, 5)


def render_spots(
    centres, *, photons, sigma: float, pixel: float, background: float, shape=(11, 11), rng=None
):
    """Poisson images ``(n, h, w)`` of spots at ``centres`` (n, 2) nm in the window frame.

    ``photons`` (scalar or (n,)) is the expected signal ``N``; ``background``
    the expected background photons per pixel (``b^2``).
    """
    rng = np.random.default_rng(rng)
    c = np.atleast_2d(np.asarray(centres, dtype=np.float64))
    n = len(c)
    p = np.column_stack(
        [c, np.broadcast_to(photons, (n,)), np.full(n, sigma), np.full(n, background)]
    )
    return rng.poisson(spot_model(p, shape, pixel)).astype(np.float64)


def _border_background(stack: np.ndarray) -> np.ndarray:
    edge = np.concatenate(
        [stack[:, 0, :], stack[:, -1, :], stack[:, 1:-1, 0], stack[:, 1:-1, -1]], axis=1
    )
    return edge.mean(axis=1)


def centroid(stack, *, pixel: float, background=None) -> np.ndarray:
    """Background-subtracted centre of mass of each window, ``(n, 2)`` nm ``(y, x)``.

    ``background`` (photons per pixel, scalar or (n,)) is subtracted before
    weighting; ``None`` estimates it as the mean of each window's border.
    Nothing is clipped (clipping negative values biases the centroid towards
    the window's centre).
    """
    st = np.asarray(stack, dtype=np.float64)
    if st.ndim == 2:
        st = st[None]
    bg = _border_background(st) if background is None else np.broadcast_to(background, len(st))
    d = st - np.asarray(bg, dtype=np.float64)[:, None, None]
    h, w = st.shape[1:]
    tot = d.sum(axis=(1, 2))
    y = (d.sum(axis=2) * np.arange(h)).sum(axis=1) / tot
    x = (d.sum(axis=1) * np.arange(w)).sum(axis=1) / tot
    return np.column_stack([y, x]) * pixel


def _start(st: np.ndarray, pixel: float, sigma0: float) -> np.ndarray:
    bg = _border_background(st)
    n_ph = np.maximum((st - bg[:, None, None]).sum(axis=(1, 2)), 1.0)
    h, w = st.shape[1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        c = centroid(st, pixel=pixel, background=bg)
    c = np.where(np.isfinite(c), c, (np.array([h, w]) - 1) / 2 * pixel)
    c = np.clip(c, 0, (np.array([h, w]) - 1) * pixel)
    return np.column_stack([c, n_ph, np.full(len(st), sigma0), np.maximum(bg, 1e-3)])


def _cost(st, mu, method):
    if method == "lsq":
        return ((st - mu) ** 2).sum(axis=(1, 2))
    return (mu - st * np.log(mu)).sum(axis=(1, 2))


def fit_gaussian(
    stack, *, pixel: float, sigma0: float, method: str = "lsq", n_iter: int = 40
) -> np.ndarray:
    """Fit a pixel-integrated Gaussian ``(y, x, N, s, b2)`` to every window at once.

    ``method="lsq"`` minimises the sum of squared residuals (what
    ``scipy.optimize.curve_fit`` does); ``method="mle"`` maximises the Poisson
    likelihood by Fisher scoring (iteratively reweighted least squares with
    weights ``1/mu``). Both use Levenberg-Marquardt damping per spot, start
    from the centroid, and fit all five parameters (position, photons, width,
    background). Returns ``(n, 5)``: ``y, x`` in nm in the window frame.
    """
    if method not in ("lsq", "mle"):
        raise ValueError(f"method must be 'lsq' or 'mle', found {method!r}.")
    st = np.asarray(stack, dtype=np.float64)
    if st.ndim == 2:
        st = st[None]
    n, h, w = st.shape
    p = _start(st, pixel, sigma0)
    lam = np.full(n, 1e-3)
    floor = 1e-6 if method == "mle" else -np.inf
    cost = _cost(st, spot_model(p, (h, w), pixel), method)
    flat = st.reshape(n, -1)
    active = np.ones(n, dtype=bool)
    for _ in range(n_iter):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        mu, jac = spot_model(p[idx], (h, w), pixel, jacobian=True)
        mu = mu.reshape(idx.size, -1)
        jw = jac / mu[:, :, None] if method == "mle" else jac
        a = jw.transpose(0, 2, 1) @ jac
        g = (jw * (flat[idx] - mu)[:, :, None]).sum(axis=1)
        diag = np.maximum(np.einsum("nii->ni", a), 1e-12)
        a_damped = a + lam[idx, None, None] * diag[:, :, None] * np.eye(5)
        step = np.linalg.solve(a_damped, g[:, :, None])[:, :, 0]
        trial = p[idx] + step
        trial[:, 2] = np.maximum(trial[:, 2], 1.0)
        trial[:, 3] = np.clip(np.abs(trial[:, 3]), 0.1 * pixel, 10 * max(h, w) * pixel)
        trial[:, 4] = np.maximum(trial[:, 4], floor)
        new = _cost(st[idx], spot_model(trial, (h, w), pixel), method)
        better = np.isfinite(new) & (new <= cost[idx])
        ok = idx[better]
        p[ok], cost[ok] = trial[better], new[better]
        lam[idx] = np.where(better, lam[idx] * 0.3, lam[idx] * 10.0).clip(1e-9, 1e9)
        # converged: an accepted step moved the position by under 1e-4 pixel
        done = better & (np.abs(step[:, :2]).max(axis=1) < 1e-4 * pixel)
        active[idx[done]] = False
    return p


def thompson_precision(photons, *, sigma: float, pixel: float, background) -> np.ndarray:
    """Thompson, Larson and Webb (2002) eq. 17: per-axis standard deviation, nm."""
    n, b2 = np.asarray(photons, float), np.asarray(background, float)
    var = (sigma**2 + pixel**2 / 12) / n + 8 * np.pi * sigma**4 * b2 / (pixel**2 * n**2)
    return np.sqrt(var)


def mortensen_lsq_precision(photons, *, sigma: float, pixel: float, background) -> np.ndarray:
    """Mortensen et al. (2010) eq. 6 (F = 1): least-squares Gaussian fit, per axis, nm."""
    n, b2 = np.asarray(photons, float), np.asarray(background, float)
    sa2 = sigma**2 + pixel**2 / 12
    return np.sqrt(sa2 / n * (16 / 9 + 8 * np.pi * sa2 * b2 / (n * pixel**2)))


def _i1(tau: float) -> float:
    if tau == 0:
        return 1.0
    val, _ = integrate.quad(lambda t: np.log(t) / (1 + t / tau), 0, 1)
    return 1.0 + val


def mortensen_mle_precision(photons, *, sigma: float, pixel: float, background) -> np.ndarray:
    """Mortensen et al. (2010), supplement eq. 54 (F = 1): maximum-likelihood fit, per axis, nm."""
    n, b2 = np.broadcast_arrays(np.asarray(photons, float), np.asarray(background, float))
    sa2 = sigma**2 + pixel**2 / 12
    tau = 2 * np.pi * sa2 * b2 / (n * pixel**2)
    i1 = np.vectorize(_i1)(tau)
    return np.sqrt(sa2 / n / i1)


def centroid_precision(
    photons, *, sigma: float, pixel: float, background, shape=(11, 11)
) -> np.ndarray:
    """Per-axis standard deviation of :func:`centroid` (known background) on a window, nm.

    Error propagation of ``sum_p y_p d_p / sum_p d_p`` with Poisson counts of
    mean ``lambda_p``: ``var = sum_p (y_p - y0)^2 lambda_p / N^2``, averaged
    over a spot position uniform within the central pixel.
    """
    n_arr, b_arr = np.broadcast_arrays(np.asarray(photons, float), np.asarray(background, float))
    h = shape[0]
    offs = (np.arange(8) + 0.5) / 8 - 0.5
    centre = (h - 1) / 2 * pixel + offs * pixel
    out = np.empty(n_arr.shape)
    for idx in np.ndindex(n_arr.shape):
        n, b2 = n_arr[idx], b_arr[idx]
        e, _, _ = _edges(h, pixel, centre, np.full(len(centre), sigma))
        y = np.arange(h) * pixel
        d2 = (y[None, :] - centre[:, None]) ** 2
        # signal along y; the other axis sums to ~1 for the signal and to w pixels for background
        var = (d2 * n * e).sum(1) / n**2 + b2 * shape[1] * d2.sum(1) / n**2
        out[idx] = np.sqrt(var.mean())
    return out


def precision_monte_carlo(
    photons,
    backgrounds,
    *,
    sigma: float,
    pixel: float,
    method: str = "lsq",
    n_draws: int = 400,
    shape=(11, 11),
    seed: int = 0,
) -> dict:
    """Simulated RMS error per axis of an estimator over a grid of photons and backgrounds.

    Each draw puts the spot at a position uniform within the central pixel.
    ``method`` is ``"centroid"`` (known background), ``"lsq"`` or ``"mle"``.
    Returns ``rms`` (len(photons), len(backgrounds)) nm, and ``rel_se``, the
    Monte Carlo's relative standard error of an RMS from ``2 n_draws`` axis
    errors, ``1/sqrt(4 n_draws)`` for Gaussian errors.
    """
    rng = np.random.default_rng(seed)
    photons, backgrounds = np.atleast_1d(photons), np.atleast_1d(backgrounds)
    rms = np.empty((len(photons), len(backgrounds)))
    mid = (np.array(shape) - 1) / 2 * pixel
    for i, n in enumerate(photons):
        for j, b2 in enumerate(backgrounds):
            truth = mid + rng.uniform(-0.5, 0.5, (n_draws, 2)) * pixel
            st = render_spots(
                truth, photons=n, sigma=sigma, pixel=pixel, background=b2, shape=shape, rng=rng
            )
            if method == "centroid":
                est = centroid(st, pixel=pixel, background=b2)
            else:
                est = fit_gaussian(st, pixel=pixel, sigma0=sigma, method=method)[:, :2]
            rms[i, j] = np.sqrt(np.mean((est - truth) ** 2))
    return {
        "rms": rms,
        "rel_se": 1 / np.sqrt(4 * n_draws),
        "photons": photons,
        "backgrounds": backgrounds,
    }


def render_beads(
    positions, *, photons, sigma: float, pixel: float, background: float, half: int = 5, rng=None
):
    """Windows around beads at ``positions`` (n, 2) nm in a field: ``(stack, origins)``.

    Each bead gets a ``(2 half + 1)^2`` window whose pixel ``(0, 0)`` sits at
    ``origins[i]`` nm (a whole number of pixels); field position = window
    position + origin.
    """
    pos = np.atleast_2d(np.asarray(positions, dtype=np.float64))
    origins = (np.round(pos / pixel) - half) * pixel
    size = 2 * half + 1
    stack = render_spots(
        pos - origins,
        photons=photons,
        sigma=sigma,
        pixel=pixel,
        background=background,
        shape=(size, size),
        rng=rng,
    )
    return stack, origins


def localise_beads(stack, origins, *, pixel: float, sigma0: float, method: str = "lsq"):
    """Field positions (n, 2) nm of beads from their windows (:func:`render_beads`)."""
    if method == "centroid":
        est = centroid(stack, pixel=pixel)
    else:
        est = fit_gaussian(stack, pixel=pixel, sigma0=sigma0, method=method)[:, :2]
    return est + np.asarray(origins, dtype=np.float64)


def windows(image, positions, *, pixel: float, half: int = 3):
    """Cut ``(2 half + 1)^2`` windows of a 2D ``image`` around ``positions`` (n, 2) nm.

    Returns ``(stack, origins)`` as :func:`render_beads` does, for
    :func:`localise_beads`. Positions whose window leaves the image raise.
    """
    img = np.asarray(image, dtype=np.float64)
    pos = np.atleast_2d(np.asarray(positions, dtype=np.float64))
    corner = np.round(pos / pixel).astype(int) - half
    size = 2 * half + 1
    if (corner < 0).any() or (corner + size > np.array(img.shape)).any():
        raise ValueError(
            f"a window of {size} x {size} pixels around a position leaves the "
            f"{img.shape} image: keep positions {half} pixels from the border."
        )
    stack = np.stack([img[r : r + size, c : c + size] for r, c in corner])
    return stack, corner * pixel
