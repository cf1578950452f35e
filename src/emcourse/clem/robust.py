"""Registration without clean pairs: RANSAC, ICP and coherent point drift.

- :func:`ransac`: paired landmarks with some wrong pairs (outliers).
- :func:`icp` and :func:`cpd`: two unpaired point clouds (e.g. centres of the
  same organelles segmented in both images), the pairing found with the fit.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from emcourse.clem.transforms import _pair, _points, apply, fit, make_transform, rotation_2d

__all__ = ["coarse_cpd", "cpd", "icp", "object_centres", "ransac", "ransac_trials", "spot_centres"]


def _minimal(kind: str, k: int) -> int:
    return {"translation": 1, "rigid": 2 if k == 2 else 3, "similarity": 2 if k == 2 else 3}.get(
        kind, k + 1
    )


def ransac_trials(outlier_fraction: float, sample_size: int, failure: float = 1e-6) -> int:
    """Trials needed so that no all-inlier sample is drawn with probability < ``failure``.

    Examples
    --------
    >>> ransac_trials(0.2, 4, failure=1e-6)
    27
    """
    good = (1 - outlier_fraction) ** sample_size
    return int(np.ceil(np.log(failure) / np.log(1 - good)))


def ransac(
    moving,
    fixed,
    *,
    kind: str = "affine",
    threshold: float,
    n_trials: int = 200,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Fit ``kind`` robustly: the minimal sample whose fit agrees with most pairs wins.

    Parameters
    ----------
    moving, fixed : (n, K) arrays
        Paired points; some pairs may be wrong.
    kind : str
        Transform kind (see :func:`emcourse.clem.fit`).
    threshold : float
        A pair is an inlier when its residual is below this (physical units);
        a few times the expected localisation error.
    n_trials : int
        Random minimal samples to try.
    seed : int
        Random seed.

    Returns
    -------
    matrix : ndarray
        Least-squares fit on the inliers of the best sample.
    inliers : (n,) bool ndarray
    """
    p, q = _pair(moving, fixed)
    n, k = p.shape
    size = _minimal(kind, k)
    rng = np.random.default_rng(seed)
    best = np.zeros(n, dtype=bool)
    best_err = np.inf
    for _ in range(n_trials):
        idx = rng.choice(n, size, replace=False)
        try:
            m = fit(p[idx], q[idx], kind=kind)
        except (ValueError, np.linalg.LinAlgError):
            continue
        res = np.linalg.norm(apply(m, p) - q, axis=1)
        inl = res < threshold
        err = np.sum(np.minimum(res, threshold) ** 2)  # MSAC score breaks ties
        if inl.sum() > best.sum() or (inl.sum() == best.sum() and err < best_err):
            best, best_err = inl, err
    if best.sum() < size:
        raise ValueError(
            f"RANSAC found no sample that {size} pairs agree with within {threshold:g}: "
            "raise the threshold or the number of trials."
        )
    m = fit(p[best], q[best], kind=kind)
    # one refinement: re-select inliers with the least-squares fit
    inl = np.linalg.norm(apply(m, p) - q, axis=1) < threshold
    if inl.sum() >= size:
        m, best = fit(p[inl], q[inl], kind=kind), inl
    return m, best


def icp(
    moving,
    fixed,
    *,
    kind: str = "affine",
    init=None,
    max_distance: float = np.inf,
    n_iter: int = 50,
) -> tuple[np.ndarray, float]:
    """Iterative closest point: pair each moving point with its nearest fixed point, fit, repeat.

    Needs a starting transform ``init`` close enough that most nearest
    neighbours are right. Returns the matrix and the RMS distance of the
    final pairs.
    """
    p, q = _points(moving, "moving"), _points(fixed, "fixed")
    k = p.shape[1]
    m = np.eye(k + 1) if init is None else np.asarray(init, dtype=np.float64)
    tree = cKDTree(q)
    rms = np.inf
    for _ in range(n_iter):
        d, j = tree.query(apply(m, p))
        keep = d < max_distance
        if keep.sum() < k + 1:
            break
        new = fit(p[keep], q[j[keep]], kind=kind)
        new_rms = float(np.sqrt(np.mean(d[keep] ** 2)))
        converged = np.allclose(new, m, atol=1e-6 * max(1.0, np.abs(m).max()))
        m, rms = new, new_rms
        if converged:
            break
    return m, rms


def cpd(
    moving,
    fixed,
    *,
    kind: str = "affine",
    init=None,
    w: float = 0.1,
    n_iter: int = 200,
    tol: float = 1e-8,
) -> tuple[np.ndarray, float]:
    """Coherent point drift (Myronenko and Song 2010), rigid/similarity or affine.

    The moving points are centres of a Gaussian mixture in the fixed space;
    expectation-maximisation alternates soft pairings (each fixed point is
    explained by every moving point with a weight) and a weighted fit of the
    transform, while the mixture's width sigma shrinks. ``w`` is the share
    of fixed points expected to be noise (no partner).

    Returns
    -------
    matrix : ndarray
        Moving -> fixed.
    sigma : float
        Final mixture width (physical units): how well the clouds agree.
    """
    y0, x = _points(moving, "moving"), _points(fixed, "fixed")
    m_pts, d = y0.shape
    n_pts = len(x)
    mat = np.eye(d + 1) if init is None else np.asarray(init, dtype=np.float64)
    # work in units of the fixed cloud's spread: the outlier term assumes unit volume
    unit = float(np.sqrt(np.mean(np.sum((x - x.mean(0)) ** 2, axis=1)))) or 1.0
    x = x / unit
    y = apply(mat, y0) / unit
    sigma2 = np.sum((x[None] - y[:, None]) ** 2) / (d * m_pts * n_pts)
    # EM on the points already mapped by init; compose at the end
    b, t = np.eye(d), np.zeros(d)
    for _ in range(n_iter):
        ty = y @ b.T + t
        d2 = np.sum((x[None] - ty[:, None]) ** 2, axis=2)  # (M, N)
        num = np.exp(-d2 / (2 * sigma2))
        c = (2 * np.pi * sigma2) ** (d / 2) * w / (1 - w) * m_pts / n_pts
        p = num / (num.sum(0, keepdims=True) + c)
        np_sum = p.sum()
        if np_sum < 1e-6 * min(m_pts, n_pts):  # the mixture explains nothing: stop
            break
        mu_x = x.T @ p.sum(0) / np_sum
        mu_y = y.T @ p.sum(1) / np_sum
        xh, yh = x - mu_x, y - mu_y
        a = xh.T @ p.T @ yh  # (d, d)
        yy = yh.T @ (p.sum(1)[:, None] * yh)
        xx = np.sum(p.sum(0) * np.sum(xh**2, axis=1))
        if kind == "affine":
            if np.linalg.cond(yy) > 1e12:
                break
            b = a @ np.linalg.inv(yy)
            new_sigma2 = (xx - np.trace(a @ b.T)) / (np_sum * d)
        else:
            u, _, vt = np.linalg.svd(a)
            cdiag = np.ones(d)
            cdiag[-1] = np.linalg.det(u @ vt)
            r = u @ np.diag(cdiag) @ vt
            s = np.trace(a.T @ r) / np.trace(yy) if kind == "similarity" else 1.0
            b = s * r
            new_sigma2 = (xx - s * np.trace(a.T @ r)) / (np_sum * d)
        t = mu_x - b @ mu_y
        new_sigma2 = max(float(new_sigma2), 1e-12)
        done = abs(sigma2 - new_sigma2) < tol * sigma2
        sigma2 = new_sigma2
        if done:
            break
    step = make_transform(linear=b, translation=t * unit)
    return step @ mat, float(np.sqrt(sigma2)) * unit


def object_centres(mask, *, pixel: float = 1.0, min_area: int = 1) -> np.ndarray:
    """Centroids of the connected objects of a binary mask, physical units, (y, x).

    Objects smaller than ``min_area`` pixels are dropped (noise specks).
    """
    lab, n = ndimage.label(np.asarray(mask, dtype=bool))
    if n == 0:
        return np.zeros((0, np.ndim(mask)))
    idx = np.arange(1, n + 1)
    area = ndimage.sum_labels(np.ones_like(lab), lab, idx)
    keep = idx[area >= min_area]
    if len(keep) == 0:
        return np.zeros((0, np.ndim(mask)))
    return np.array(ndimage.center_of_mass(np.ones_like(lab), lab, keep)) * pixel


def coarse_cpd(moving, fixed, *, step_deg: float = 30.0, kind: str = "similarity") -> np.ndarray:
    """A global start for 2D point clouds: CPD from every ``step_deg`` starting rotation.

    Each start centres the clouds on each other, rotates by one angle and runs
    :func:`cpd`; the result whose mapped moving points lie closest to fixed
    points (median nearest-neighbour distance) wins. Refine it with
    ``cpd(..., kind="affine", init=...)``.
    """
    p, q = _points(moving, "moving"), _points(fixed, "fixed")
    if p.shape[1] != 2:
        raise ValueError(f"coarse_cpd searches 2D rotations; found {p.shape[1]}D points.")
    tree = cKDTree(q)
    best, best_d = None, np.inf
    for angle in np.arange(0.0, 360.0, step_deg):
        init = make_transform(linear=rotation_2d(angle))
        init[:2, 2] = q.mean(0) - init[:2, :2] @ p.mean(0)
        m, _ = cpd(p, q, kind=kind, init=init)
        d = float(np.median(tree.query(apply(m, p))[0]))
        if d < best_d:
            best, best_d = m, d
    return best


def spot_centres(image, *, pixel: float = 1.0, threshold: float, radius: int = 3) -> np.ndarray:
    """Sub-pixel centres of bright spots: local maxima above ``threshold``, refined by centroid.

    Each maximum is refined by the background-subtracted intensity-weighted
    centroid of the ``(2 radius + 1)^2`` window around it (background: the
    image's median). Returns ``(n, 2)`` positions in physical units, (y, x).
    """
    img = np.asarray(image, dtype=np.float64)
    size = 2 * radius + 1
    peaks = (img == ndimage.maximum_filter(img, size=size)) & (img > threshold)
    bg = float(np.median(img))
    out = []
    for y, x in np.argwhere(peaks):
        if not (radius <= y < img.shape[0] - radius and radius <= x < img.shape[1] - radius):
            continue
        win = np.clip(img[y - radius : y + radius + 1, x - radius : x + radius + 1] - bg, 0, None)
        yy, xx = np.mgrid[-radius : radius + 1, -radius : radius + 1]
        out.append((y + (yy * win).sum() / win.sum(), x + (xx * win).sum() / win.sum()))
    return np.array(out).reshape(-1, 2) * pixel
