"""Registration errors: FRE, TRE, their predictions from FLE, and Monte Carlo checks.

Vocabulary (Fitzpatrick, West and Maurer 1998):

- **FLE**, fiducial localisation error: how far a clicked landmark is from
  where the feature really is. ``FLE^2`` is the expected *squared length* of
  that error vector (all axes together); with an independent standard
  deviation ``sigma`` per axis, ``FLE^2 = K sigma^2``.
- **FRE**, fiducial registration error: the root-mean-square residual of the
  fit at the landmarks used to fit it. Small FRE does not mean a good fit.
- **TRE**, target registration error: the distance between where the fitted
  transform puts a point *not* used in the fit and where it truly belongs.

Predictions (N landmarks, K dimensions, centroid c, target r):

- 3D rigid: ``TRE^2 = FLE^2/N (1 + 1/3 sum_k d_k^2 / f_k^2)``;
- 2D rigid: ``TRE^2 = FLE^2/N (1 + d^2 / (2 fbar^2))``;
- similarity: either rigid form plus ``FLE^2/(K N) d^2/fbar^2`` for the fitted
  scale (``d = |r - c|``, ``fbar^2`` the mean squared distance from c);
- affine (linear regression): ``TRE^2 = FLE^2 (1/N + (r - c)^T S^-1 (r - c))``
  with ``S = sum_i (p_i - c)(p_i - c)^T``;
- ``E[FRE^2] = (1 - D/(K N)) FLE^2``, D the fit's degrees of freedom.

FLE is expressed in the fixed (EM) space: localisation errors of both point
sets add, ``FLE^2 = FLE_fixed^2 + FLE_moving^2`` mapped through the transform
(:func:`fle_in_fixed`).
"""

from __future__ import annotations

import numpy as np

from emcourse.clem.transforms import _pair, _points, apply, dof, fit

__all__ = [
    "compare_with_monte_carlo",
    "target_covariance",
    "expected_fre",
    "fle_from_fre",
    "fle_from_raters",
    "fle_in_fixed",
    "fre",
    "leave_one_out",
    "loo_predicted",
    "monte_carlo",
    "target_errors",
    "tre_affine",
    "tre_covariance",
    "tre_predicted",
    "tre_rigid",
]


def fre(matrix, moving, fixed) -> float:
    """Root-mean-square distance between mapped moving points and fixed points."""
    p, q = _pair(moving, fixed)
    return float(np.sqrt(np.mean(np.sum((apply(matrix, p) - q) ** 2, axis=1))))


def target_errors(matrix, true_matrix, targets) -> np.ndarray:
    """Distance, per target, between where ``matrix`` and ``true_matrix`` put it."""
    t = _points(targets, "targets")
    return np.linalg.norm(apply(matrix, t) - apply(true_matrix, t), axis=1)


def expected_fre(fle: float, n: int, k: int, kind: str) -> float:
    """Expected RMS FRE, ``sqrt(1 - D/(K N)) FLE``.

    Examples
    --------
    >>> round(expected_fre(1.0, 10, 3, "rigid") ** 2, 6)   # 1 - 2/N
    0.8
    """
    factor = 1.0 - dof(kind, k) / (k * n)
    if factor <= 0:
        raise ValueError(
            f"{n} landmarks cannot over-determine a {k}D {kind} fit ({dof(kind, k)} parameters)."
        )
    return float(fle * np.sqrt(factor))


def fle_from_fre(fre_value: float, n: int, k: int, kind: str) -> float:
    """Estimate FLE from an observed FRE: ``FLE = FRE / sqrt(1 - D/(K N))``.

    Examples
    --------
    >>> round(fle_from_fre(0.8**0.5, 10, 3, "rigid"), 6)
    1.0
    """
    return float(fre_value / expected_fre(1.0, n, k, kind))


def tre_rigid(fiducials, targets, fle: float, *, scale: bool = False) -> np.ndarray:
    """Fitzpatrick's predicted RMS TRE of a rigid fit, 2D or 3D.

    With ``scale=True`` (a similarity fit) the error of the fitted scale adds a
    radial term, ``FLE^2/(K N) * d^2/fbar^2`` (``d = |r - c|``, ``fbar^2`` the
    fiducials' mean squared distance from their centroid): the scale is
    estimated from the radial components of the N residuals, so its relative
    variance is ``FLE^2 / (K N fbar^2)``, and it moves a target radially by
    ``d`` times that relative error.

    Parameters
    ----------
    fiducials : (N, K) array
        Landmark positions (either space: the formula only uses their geometry).
    targets : (m, K) array
        Where the TRE is wanted.
    fle : float
        RMS fiducial localisation error (vector length), same units.
    scale : bool
        Add the term of a fitted isotropic scale (similarity fits).

    Returns
    -------
    (m,) array
        Predicted RMS TRE at each target.
    """
    p = _points(fiducials, "fiducials")
    r = _points(targets, "targets")
    n, k = p.shape
    c = p.mean(0)
    fbar2 = np.mean(np.sum((p - c) ** 2, axis=1))
    d2 = np.sum((r - c) ** 2, axis=1)
    extra = d2 / (k * fbar2) if scale else 0.0
    if k == 2:
        return np.sqrt(fle**2 / n * (1 + d2 / (2 * fbar2) + extra))
    cov = (p - c).T @ (p - c) / n
    lam, axes = np.linalg.eigh(cov)
    f2 = lam.sum() - lam  # mean squared distance of the fiducials from each principal axis
    rc = r - c
    along = rc @ axes  # (m, 3) components along each axis
    d_axis2 = np.sum(rc**2, axis=1)[:, None] - along**2  # squared distance from each axis
    return np.sqrt(fle**2 / n * (1 + np.sum(d_axis2 / f2, axis=1) / 3 + extra))


def tre_affine(fiducials, targets, fle: float) -> np.ndarray:
    """Predicted RMS TRE of an affine fit, the regression form.

    ``TRE^2 = FLE^2 (1/N + (r - c)^T S^-1 (r - c))`` (what ec-CLEM uses for its
    affine confidence ellipses).
    """
    p = _points(fiducials, "fiducials")
    r = _points(targets, "targets")
    n = len(p)
    c = p.mean(0)
    s = (p - c).T @ (p - c)
    rc = r - c
    lever = np.einsum("ij,jk,ik->i", rc, np.linalg.inv(s), rc)
    return np.sqrt(fle**2 * (1.0 / n + lever))


def tre_predicted(fiducials, targets, fle: float, *, kind: str) -> np.ndarray:
    """The prediction that fits ``kind``: Fitzpatrick for rigid (and similarity,
    with the scale term), the regression form for affine."""
    if kind == "affine":
        return tre_affine(fiducials, targets, fle)
    if kind in ("rigid", "similarity"):
        return tre_rigid(fiducials, targets, fle, scale=kind == "similarity")
    raise ValueError(f"no TRE prediction for kind {kind!r}.")


def fle_in_fixed(matrix, sigma_moving, sigma_fixed) -> float:
    """RMS FLE in the fixed space from per-axis standard deviations in both spaces.

    ``sigma_moving`` and ``sigma_fixed`` are scalars or length-K arrays (per
    axis, e.g. ``(300, 100, 100)`` nm for light microscopy with a worse z).
    The moving errors are carried into fixed space by the linear part of
    ``matrix``: ``FLE^2 = trace(A diag(sm^2) A^T) + sum(sf^2)``.
    """
    m = np.asarray(matrix, dtype=np.float64)
    k = m.shape[0] - 1
    a = m[:k, :k]
    sm = np.broadcast_to(np.asarray(sigma_moving, dtype=np.float64), (k,))
    sf = np.broadcast_to(np.asarray(sigma_fixed, dtype=np.float64), (k,))
    return float(np.sqrt(np.trace(a @ np.diag(sm**2) @ a.T) + np.sum(sf**2)))


def monte_carlo(
    moving,
    true_matrix,
    targets,
    *,
    kind: str,
    sigma_moving=0.0,
    sigma_fixed=0.0,
    n_trials: int = 2000,
    seed: int = 0,
) -> dict:
    """Simulate many landmark clicks and measure FRE and TRE of the fits.

    Each trial adds independent Gaussian errors (per-axis standard deviations
    ``sigma_moving``, ``sigma_fixed``; scalars or length-K) to the true moving
    landmarks and to their true images under ``true_matrix``, fits ``kind``,
    and measures the error at ``targets`` against ``true_matrix``.

    Returns
    -------
    dict
        ``tre`` (m,) RMS TRE per target over trials; ``fre`` RMS FRE;
        ``fle`` the RMS FLE in fixed space (:func:`fle_in_fixed`);
        ``n_trials``.
    """
    p = _points(moving, "moving")
    t = _points(targets, "targets")
    n, k = p.shape
    q = apply(true_matrix, p)
    truth = apply(true_matrix, t)
    sm = np.broadcast_to(np.asarray(sigma_moving, dtype=np.float64), (k,))
    sf = np.broadcast_to(np.asarray(sigma_fixed, dtype=np.float64), (k,))
    rng = np.random.default_rng(seed)
    tre2 = np.zeros(len(t))
    fre2 = 0.0
    for _ in range(n_trials):
        pm = p + rng.standard_normal((n, k)) * sm
        qm = q + rng.standard_normal((n, k)) * sf
        m = fit(pm, qm, kind=kind)
        tre2 += np.sum((apply(m, t) - truth) ** 2, axis=1)
        fre2 += np.mean(np.sum((apply(m, pm) - qm) ** 2, axis=1))
    return {
        "tre": np.sqrt(tre2 / n_trials),
        "fre": float(np.sqrt(fre2 / n_trials)),
        "fle": fle_in_fixed(true_matrix, sm, sf),
        "n_trials": n_trials,
    }


def leave_one_out(moving, fixed, *, kind: str) -> np.ndarray:
    """Leave-one-out errors: fit without landmark i, measure the miss at landmark i.

    The miss includes landmark i's own localisation error, so its expected
    square is ``TRE^2(r_i) + FLE^2`` (with TRE predicted from the other N - 1).
    """
    p, q = _pair(moving, fixed)
    out = np.empty(len(p))
    for i in range(len(p)):
        keep = np.arange(len(p)) != i
        m = fit(p[keep], q[keep], kind=kind)
        out[i] = np.linalg.norm(apply(m, p[i : i + 1])[0] - q[i])
    return out


def tre_covariance(
    moving, fixed, targets, *, kind: str, cov_moving=0.0, cov_fixed=0.0, step: float = 1e-3
) -> np.ndarray:
    """First-order covariance of a fitted target position, for any FLE shape.

    Propagates independent landmark errors (``cov_moving``, ``cov_fixed``:
    per-axis standard deviations as scalars or length-K arrays, or full KxK
    covariance matrices) through the least-squares fit by numerical
    derivatives of the fit. Unlike the isotropic formulas it holds for
    anisotropic errors such as a light microscope's worse z.

    Returns
    -------
    (m, K, K) ndarray
        Covariance of the mapped position of each target (fixed-space units^2).
        Its trace is the predicted TRE^2; its eigenvectors give the
        uncertainty ellipse.
    """
    p, q = _pair(moving, fixed)
    t = _points(targets, "targets")
    n, k = p.shape

    def as_cov(c):
        c = np.asarray(c, dtype=np.float64)
        if c.ndim == 2:
            return c
        return np.diag(np.broadcast_to(c, (k,)) ** 2)

    cm, cf = as_cov(cov_moving), as_cov(cov_fixed)
    scale = max(float(np.ptp(np.vstack([p, q]))), 1e-12) * step
    out = np.zeros((len(t), k, k))
    for pts, cov, which in ((p, cm, 0), (q, cf, 1)):
        if not np.any(cov):
            continue
        for i in range(n):
            jac = np.empty((len(t), k, k))  # d target / d point i, axis a
            for a in range(k):
                plus, minus = pts.copy(), pts.copy()
                plus[i, a] += scale
                minus[i, a] -= scale
                args_p = (plus, q) if which == 0 else (p, plus)
                args_m = (minus, q) if which == 0 else (p, minus)
                dp = apply(fit(*args_p, kind=kind), t) - apply(fit(*args_m, kind=kind), t)
                jac[:, :, a] = dp / (2 * scale)
            out += jac @ cov @ jac.transpose(0, 2, 1)
    return out


def loo_predicted(fiducials, fle: float, *, kind: str) -> np.ndarray:
    """Predicted leave-one-out miss at each landmark.

    ``LOO_i^2 = TRE^2(r_i; fit on the other N - 1) + FLE^2``: the fit's error
    at the left-out point plus that point's own localisation error.
    """
    p = _points(fiducials, "fiducials")
    out = np.empty(len(p))
    for i in range(len(p)):
        keep = np.arange(len(p)) != i
        tre = tre_predicted(p[keep], p[i : i + 1], fle, kind=kind)[0]
        out[i] = np.sqrt(tre**2 + fle**2)
    return out


def fle_from_raters(a, b) -> float:
    """One rater's RMS localisation error from two raters' placements of the same points.

    Two independent errors of equal size differ by ``sqrt(2)`` times either:
    ``FLE = rms|a - b| / sqrt(2)``. It measures only the error of the clicks
    in this space, not that of the other image, nor any error both share.
    """
    a, b = _pair(a, b)
    return float(np.sqrt(np.mean(np.sum((a - b) ** 2, axis=1)) / 2))


def compare_with_monte_carlo(
    fiducials,
    targets,
    *,
    kind: str,
    sigma_moving=0.0,
    sigma_fixed=0.0,
    n_trials: int = 2000,
    seed: int = 0,
) -> dict:
    """Predicted against simulated RMS TRE for one fiducial layout and fit ``kind``.

    The true transform is of the fitted kind (a rotation of 20 degrees about
    a tilted axis, times 1.1 for similarity, plus a 5 % shear for affine), so
    the fit is unbiased and only the localisation error counts.

    Returns
    -------
    dict
        ``predicted`` and ``simulated`` (m,) RMS TRE per target, ``ratio``
        (simulated / predicted), ``fle`` (fixed space), ``fre`` and
        ``fre_expected``.
    """
    from emcourse.clem.transforms import make_transform, rotation_2d, rotation_3d

    p = _points(fiducials, "fiducials")
    k = p.shape[1]
    lin = rotation_3d((1.0, 0.3, 0.2), 20.0) if k == 3 else rotation_2d(20.0)
    if kind in ("similarity", "affine"):
        lin = 1.1 * lin
    if kind == "affine":
        shear = np.eye(k)
        shear[-2, -1] = 0.05
        lin = lin @ shear
    truth = make_transform(linear=lin, translation=np.full(k, 500.0))
    mc = monte_carlo(
        p,
        truth,
        targets,
        kind=kind,
        sigma_moving=sigma_moving,
        sigma_fixed=sigma_fixed,
        n_trials=n_trials,
        seed=seed,
    )
    pred = tre_predicted(p, targets, mc["fle"], kind=kind)
    return {
        "predicted": pred,
        "simulated": mc["tre"],
        "ratio": mc["tre"] / pred,
        "fle": mc["fle"],
        "fre": mc["fre"],
        "fre_expected": expected_fre(mc["fle"], len(p), k, kind),
    }


def target_covariance(
    moving, fixed, targets, *, kind: str, fle: float, target_sd: float = 0.0
) -> np.ndarray:
    """Covariance (fixed-space units^2) of where a light target lands in the EM.

    Two independent parts: the fit's error at the target (:func:`tre_covariance`
    with an isotropic ``fle`` shared by the two point sets) and the target's own
    position error in the light image, ``target_sd`` per axis (its
    localisation precision, plus any offset between the stain and the
    structure it marks), carried into EM space by the fitted linear part.

    Returns
    -------
    (m, K, K) ndarray
    """
    p, q = _pair(moving, fixed)
    k = p.shape[1]
    per_axis = fle / np.sqrt(2 * k)  # FLE^2 = K (s_m^2 + s_f^2) with s_m = s_f
    cov = tre_covariance(p, q, targets, kind=kind, cov_moving=per_axis, cov_fixed=per_axis)
    a = fit(p, q, kind=kind)[:k, :k]
    return cov + target_sd**2 * (a @ a.T)[None]
