"""Thin-plate splines fitted to landmarks: BigWarp's non-linear transform, in 2D and 3D.

A thin-plate spline maps a point ``x`` to

    f(x) = A x + b + sum_i w_i U(|x - p_i|)

where ``p_i`` are the moving landmarks, ``A, b`` an affine part and ``w_i``
(one K-vector per landmark) the bending weights, fixed by requiring ``f(p_i)
= q_i`` at every landmark and ``sum_i w_i = 0``, ``sum_i w_i p_i^T = 0`` (the
bending part carries no affine component). With ``regularization`` lambda > 0
the diagonal of the kernel matrix gets lambda (BigWarp's "stiffness"): the
spline then no longer passes through the landmarks but trades closeness for
smoothness, and lambda -> infinity gives the least-squares affine.

**The kernel.** ``U(r) = r^2 log r`` is the thin-plate kernel of 2D (the
bending energy of a thin plate, Bookstein 1989). In 3D the biharmonic
Green's function is ``U(r) = |r|`` (up to sign), which ITK's
``ThinPlateSplineKernelTransform::ComputeG`` uses (read:
InsightSoftwareConsortium/ITK, ``Modules/Core/Transform/include/
itkThinPlateSplineKernelTransform.hxx``: ``gmatrix[i][i] = r``), as does VTK's
``vtkThinPlateSplineTransform`` with its basis ``R``. BigWarp's library,
jitk-tps (read: bogovicj/jitk-tps, ``src/main/java/jitk/spline/
ThinPlateR2LogRSplineKernelTransform.java``), uses ``r^2 log r`` whatever the
number of dimensions (its ``computeG`` and ``computeDeformationContribution``
call ``r2Logr(r)`` for any ``ndims``; ``r2Logr`` returns 0 for r <= 1e-8), fits
the displacements ``q_i - p_i``, and puts its ``stiffness`` on the kernel
matrix's diagonal. The course follows BigWarp by default, because BigWarp is
the tool a facility uses and its landmarks are what the course reads: a
learner who moves a BigWarp landmark file into Python should get the same
map. ``kernel="r"`` gives ITK's and VTK's 3D choice, to compare. Both kernels
interpolate the landmarks exactly; they differ between them.

**Units.** The interpolant does not depend on the unit (nm or um): scaling
coordinates by s turns ``r^2 log r`` into ``s^2 (r^2 log r + r^2 log s)``, and
``sum_i w_i r_i^2`` is constant under the side conditions, so the extra term
is absorbed into the translation. The fit centres and scales the landmarks
internally (for a well-conditioned solve); ``regularization`` is in that
normalised frame (landmarks of unit RMS radius).

**The trap.** Without regularization the spline passes through every
landmark: the fiducial registration error is 0 whatever the data, so it says
nothing. Its error shows only on points it was not fitted to: leave-one-out
(:func:`tps_leave_one_out`) or held-out targets.

Points are ``(n, K)`` arrays, (z, y, x) or (y, x) columns, any one unit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "ThinPlateSpline",
    "apply_tps",
    "distorted_section",
    "fit_tps",
    "smooth_distortion",
    "tps_kernel",
    "tps_leave_one_out",
]

KERNELS = ("r2logr", "r")


def tps_kernel(r, *, kernel: str = "r2logr") -> np.ndarray:
    """The radial basis function: ``r^2 log r`` (0 at r = 0; BigWarp, 2D and 3D) or ``r``.

    Examples
    --------
    >>> round(float(tps_kernel(np.e)), 6)  # e^2 * log e
    7.389056
    >>> float(tps_kernel(0.0)), float(tps_kernel(2.0, kernel="r"))
    (0.0, 2.0)
    """
    r = np.asarray(r, dtype=np.float64)
    if kernel == "r":
        return r.copy()
    if kernel != "r2logr":
        raise ValueError(f"kernel: expected one of {KERNELS}, found {kernel!r}.")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(r > 1e-12, r * r * np.log(np.where(r > 1e-12, r, 1.0)), 0.0)


@dataclass(frozen=True)
class ThinPlateSpline:
    """A fitted thin-plate spline: call it on ``(n, K)`` points (see :func:`fit_tps`).

    ``centres`` are the moving landmarks (course units), ``weights`` the
    bending weights and ``affine`` the ``(K+1, K)`` affine part, both in the
    normalised frame ``(x - offset) / scale``.
    """

    centres: np.ndarray
    weights: np.ndarray
    affine: np.ndarray
    offset: np.ndarray
    scale: float
    kernel: str = "r2logr"
    regularization: float = 0.0

    def __call__(self, points) -> np.ndarray:
        return apply_tps(self, points)

    @property
    def ndim(self) -> int:
        return int(self.centres.shape[1])


def _points(p, name: str) -> np.ndarray:
    a = np.asarray(p, dtype=np.float64)
    if a.ndim != 2 or a.shape[1] not in (2, 3) or not np.isfinite(a).all():
        raise ValueError(f"{name}: expected an (n, 2) or (n, 3) array of finite numbers.")
    return a


def fit_tps(
    moving, fixed, *, kernel: str = "r2logr", regularization: float = 0.0
) -> ThinPlateSpline:
    """Fit a thin-plate spline that maps ``moving`` landmarks onto ``fixed`` ones.

    Parameters
    ----------
    moving, fixed : (n, K) arrays
        Paired landmarks, K = 2 or 3, the same unit; n >= K + 2.
    kernel : {"r2logr", "r"}
        ``r^2 log r`` (BigWarp, 2D and 3D) or ``r`` (ITK and VTK in 3D).
    regularization : float
        Added to the kernel matrix's diagonal (BigWarp's stiffness), in the
        normalised frame; 0 interpolates every landmark exactly.

    Returns
    -------
    ThinPlateSpline
        Call it on points to map them (moving -> fixed).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> p = rng.uniform(0, 1000, (10, 2))
    >>> q = p + 20 * np.sin(p / 300)
    >>> f = fit_tps(p, q)
    >>> bool(np.allclose(f(p), q))  # exact at the landmarks: FRE = 0
    True
    """
    p, q = _points(moving, "moving"), _points(fixed, "fixed")
    if p.shape != q.shape:
        raise ValueError(f"moving and fixed: expected the same shape, found {p.shape}, {q.shape}.")
    n, k = p.shape
    if n < k + 2:
        raise ValueError(
            f"a thin-plate spline in {k}D needs at least {k + 2} landmarks, found {n}."
        )
    offset = p.mean(axis=0)
    scale = float(np.sqrt(np.mean(np.sum((p - offset) ** 2, axis=1)))) or 1.0
    x = (p - offset) / scale
    kmat = tps_kernel(np.linalg.norm(x[:, None] - x[None], axis=-1), kernel=kernel)
    kmat = kmat + float(regularization) * np.eye(n)
    pmat = np.hstack([x, np.ones((n, 1))])
    lhs = np.zeros((n + k + 1, n + k + 1))
    lhs[:n, :n] = kmat
    lhs[:n, n:] = pmat
    lhs[n:, :n] = pmat.T
    rhs = np.vstack([q, np.zeros((k + 1, k))])
    if np.linalg.matrix_rank(pmat) < k + 1:
        raise ValueError(
            f"the landmarks do not determine a thin-plate spline: they lie on a "
            f"{'line' if k == 2 else 'plane or line'} (or repeat), and an affine part needs "
            f"{k + 1} independent points."
        )
    try:
        sol = np.linalg.solve(lhs, rhs)
    except np.linalg.LinAlgError as exc:
        raise ValueError(
            "the landmarks do not determine a thin-plate spline (repeated points, or all on "
            f"one line/plane): {exc}."
        ) from exc
    return ThinPlateSpline(
        centres=p,
        weights=sol[:n],
        affine=sol[n:],
        offset=offset,
        scale=scale,
        kernel=kernel,
        regularization=float(regularization),
    )


def apply_tps(spline: ThinPlateSpline, points, *, chunk: int = 4096) -> np.ndarray:
    """Map ``(n, K)`` points with a fitted spline (moving -> fixed), in chunks."""
    x = (_points(points, "points") - spline.offset) / spline.scale
    if x.shape[1] != spline.ndim:
        raise ValueError(f"points: expected {spline.ndim} columns, found {x.shape[1]}.")
    c = (spline.centres - spline.offset) / spline.scale
    out = np.empty_like(x)
    for s in range(0, len(x), chunk):
        xs = x[s : s + chunk]
        u = tps_kernel(np.linalg.norm(xs[:, None] - c[None], axis=-1), kernel=spline.kernel)
        out[s : s + chunk] = u @ spline.weights + np.hstack([xs, np.ones((len(xs), 1))]) @ (
            spline.affine
        )
    return out


def tps_leave_one_out(
    moving, fixed, *, kernel: str = "r2logr", regularization: float = 0.0
) -> np.ndarray:
    """Leave-one-out errors of a thin-plate spline: fit without landmark i, miss at landmark i.

    The same measure as :func:`emcourse.clem.leave_one_out` gives for a
    linear fit (it includes landmark i's own localisation error), so the two
    compare directly. Returns the n distances.
    """
    p, q = _points(moving, "moving"), _points(fixed, "fixed")
    out = np.empty(len(p))
    for i in range(len(p)):
        keep = np.arange(len(p)) != i
        f = fit_tps(p[keep], q[keep], kernel=kernel, regularization=regularization)
        out[i] = np.linalg.norm(f(p[i : i + 1])[0] - q[i])
    return out


def smooth_distortion(points, *, amplitude: float, wavelength: float, phase=0.0) -> np.ndarray:
    """A known smooth non-linear displacement, as a section warped in cutting or imaging.

    Each coordinate is displaced by ``amplitude * sin(2 pi x_other / wavelength +
    phase)`` of the next axis (a shear wave), so the map is smooth, invertible
    for ``2 pi amplitude < wavelength``, and no affine map reproduces it.
    Returns the displaced points (same shape and unit).
    """
    x = _points(points, "points")
    rolled = np.roll(x, 1, axis=1)
    return x + amplitude * np.sin(2 * np.pi * rolled / wavelength + phase)


def distorted_section(
    n: int = 30,
    *,
    seed: int = 0,
    extent: float = 30000.0,
    amplitude: float = 300.0,
    wavelength: float = 20000.0,
    sigma: float = 20.0,
    n_targets: int = 400,
):
    """A 2D stand-in: landmarks on a section distorted smoothly on top of an affine map (nm).

    The true light -> EM map is ``smooth_distortion(A p)``, with ``A`` a
    plausible affine (:func:`emcourse.clem.true_transform`) and a shear wave
    of ``amplitude`` nm and ``wavelength`` nm; both point sets carry
    ``sigma`` nm of clicking error per axis. ``truth`` holds ``targets``
    (held-out light points, inside the landmarks' field), ``targets_fixed``
    (where they truly belong in the EM), ``matrix``, ``amplitude``,
    ``wavelength`` and ``sigma``.

    Returns
    -------
    emcourse.clem.Landmarks
    """
    from emcourse.clem.standin import true_transform
    from emcourse.clem.transforms import apply
    from emcourse.clem.types import Landmarks
    from emcourse.volume import Source

    rng = np.random.default_rng(seed)
    m = true_transform(2, seed=seed + 1)

    def truth_map(p):
        return smooth_distortion(apply(m, p), amplitude=amplitude, wavelength=wavelength)

    p_true = rng.uniform(0, extent, (n, 2))
    targets = rng.uniform(0.1 * extent, 0.9 * extent, (n_targets, 2))
    moving = p_true + rng.standard_normal((n, 2)) * sigma
    fixed = truth_map(p_true) + rng.standard_normal((n, 2)) * sigma
    truth = {
        "matrix": m,
        "targets": targets,
        "targets_fixed": truth_map(targets),
        "amplitude": amplitude,
        "wavelength": wavelength,
        "sigma": sigma,
    }
    src = Source(
        "emcourse-clem-distorted-section",
        licence="CC0-1.0",
        real=False,
        note="synthetic stand-in made by emcourse.clem.distorted_section (seeded; known map)",
    )
    return Landmarks(moving, fixed, unit="nm", source=src, truth=truth)
