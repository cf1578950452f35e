"""Point transforms as homogeneous matrices, and their least-squares fits.

Conventions used throughout :mod:`emcourse.clem`:

- A point set is an ``(n, K)`` array, ``K`` = 2 or 3, in **physical units**
  (nanometres unless said otherwise), columns in the course's array order:
  ``(y, x)`` in 2D and ``(z, y, x)`` in 3D. File formats that store ``x, y, z``
  are converted by :mod:`emcourse.io` (landmarks, transforms).
- A transform is a ``(K+1, K+1)`` homogeneous matrix ``M`` that maps
  **moving** points (light microscopy) onto **fixed** points (electron
  microscopy): ``fixed ≈ moving @ M[:K, :K].T + M[:K, K]``.
- ``kind`` is one of ``"translation"``, ``"rigid"`` (rotation + translation),
  ``"similarity"`` (+ one isotropic scale) or ``"affine"``.

The fits are closed-form: Kabsch/Umeyama for rigid and similarity (SVD of the
cross-covariance), ordinary least squares for affine.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "KINDS",
    "apply",
    "compose",
    "dof",
    "fit",
    "fit_affine",
    "fit_rigid",
    "fit_similarity",
    "fit_translation",
    "invert",
    "make_transform",
    "matrix_xyz",
    "rotation_2d",
    "rotation_3d",
]

KINDS = ("translation", "rigid", "similarity", "affine")


def _points(p, name="points") -> np.ndarray:
    p = np.asarray(p, dtype=np.float64)
    if p.ndim == 1:
        p = p[None]
    if p.ndim != 2 or p.shape[1] not in (2, 3):
        raise ValueError(f"{name}: expected an (n, 2) or (n, 3) array, found shape {p.shape}.")
    return p


def dof(kind: str, k: int) -> int:
    """Degrees of freedom of a transform ``kind`` in ``k`` dimensions.

    Examples
    --------
    >>> dof("rigid", 3), dof("similarity", 2), dof("affine", 3)
    (6, 4, 12)
    """
    rot = k * (k - 1) // 2
    return {
        "translation": k,
        "rigid": k + rot,
        "similarity": k + rot + 1,
        "affine": k * (k + 1),
    }[_kind(kind)]


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"unknown transform kind {kind!r}: expected one of {', '.join(KINDS)}.")
    return kind


def apply(matrix, points) -> np.ndarray:
    """Map ``(n, K)`` points through a ``(K+1, K+1)`` homogeneous matrix.

    Examples
    --------
    >>> m = make_transform(translation=(1.0, 2.0))
    >>> apply(m, [[0.0, 0.0], [1.0, 1.0]])
    array([[1., 2.],
           [2., 3.]])
    """
    m = np.asarray(matrix, dtype=np.float64)
    p = _points(points)
    k = p.shape[1]
    if m.shape != (k + 1, k + 1):
        raise ValueError(
            f"matrix: expected shape {(k + 1, k + 1)} for {k}D points, found {m.shape}."
        )
    return p @ m[:k, :k].T + m[:k, k]


def invert(matrix) -> np.ndarray:
    """The inverse transform (fixed -> moving)."""
    return np.linalg.inv(np.asarray(matrix, dtype=np.float64))


def compose(*matrices) -> np.ndarray:
    """``compose(a, b)`` applies ``a`` first, then ``b`` (the matrix product ``b @ a``)."""
    out = np.eye(np.asarray(matrices[0]).shape[0])
    for m in matrices:
        out = np.asarray(m, dtype=np.float64) @ out
    return out


def rotation_2d(angle_deg: float) -> np.ndarray:
    """2x2 rotation by ``angle_deg`` in the (y, x) plane (counter-clockwise in x-y)."""
    a = np.deg2rad(angle_deg)
    # (y, x) order: y' = cos a y + sin a x ; x' = -sin a y + cos a x is a rotation
    # by +a from x towards y.
    return np.array([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]])


def rotation_3d(axis, angle_deg: float) -> np.ndarray:
    """3x3 rotation about ``axis`` (given in (z, y, x)) by ``angle_deg`` (Rodrigues)."""
    u = np.asarray(axis, dtype=np.float64)
    u = u / np.linalg.norm(u)
    a = np.deg2rad(angle_deg)
    ux = np.array([[0, -u[2], u[1]], [u[2], 0, -u[0]], [-u[1], u[0], 0]])
    return np.eye(3) + np.sin(a) * ux + (1 - np.cos(a)) * ux @ ux


def make_transform(*, linear=None, translation=None, scale=1.0, k: int | None = None) -> np.ndarray:
    """A homogeneous matrix from a linear part, an isotropic scale and a translation.

    Examples
    --------
    >>> make_transform(linear=rotation_2d(90), translation=(0, 5)).round(6)
    array([[ 0.,  1.,  0.],
           [-1.,  0.,  5.],
           [ 0.,  0.,  1.]])
    """
    if linear is not None:
        lin = np.asarray(linear, dtype=np.float64)
        k = lin.shape[0]
    else:
        k = k or (len(translation) if translation is not None else 3)
        lin = np.eye(k)
    m = np.eye(k + 1)
    m[:k, :k] = scale * lin
    if translation is not None:
        m[:k, k] = np.asarray(translation, dtype=np.float64)
    return m


def matrix_xyz(matrix) -> np.ndarray:
    """Reorder a homogeneous matrix between ``(z, y, x)`` and ``(x, y, z)`` axis order.

    The same function converts both ways (reversing the axes twice is the
    identity). Files that other tools read (BigWarp, ec-CLEM, MoBIE, elastix)
    use x, y, z.
    """
    m = np.asarray(matrix, dtype=np.float64)
    k = m.shape[0] - 1
    order = [*range(k - 1, -1, -1), k]
    return m[np.ix_(order, order)]


def fit_translation(moving, fixed, weights=None) -> np.ndarray:
    """Least-squares translation ``fixed ≈ moving + t``."""
    p, q = _pair(moving, fixed)
    return make_transform(translation=q.mean(0) - p.mean(0), k=p.shape[1])


def _pair(moving, fixed):
    p, q = _points(moving, "moving"), _points(fixed, "fixed")
    if p.shape != q.shape:
        raise ValueError(
            f"moving and fixed points must pair up: found shapes {p.shape} and {q.shape}."
        )
    return p, q


def _procrustes(p: np.ndarray, q: np.ndarray, *, scaling: bool) -> np.ndarray:
    """Umeyama (1991): the rotation (and scale) minimising sum |s R p_i + t - q_i|^2."""
    k = p.shape[1]
    need = k if scaling else k - 1
    if len(p) < max(need, 2):
        raise ValueError(f"a {k}D fit needs at least {max(need, 2)} point pairs, found {len(p)}.")
    cp, cq = p.mean(0), q.mean(0)
    p0, q0 = p - cp, q - cq
    u, s, vt = np.linalg.svd(q0.T @ p0)
    d = np.ones(k)
    d[-1] = np.sign(np.linalg.det(u @ vt)) or 1.0
    r = u @ np.diag(d) @ vt
    scale = float((s * d).sum() / (p0**2).sum()) if scaling else 1.0
    m = make_transform(linear=r, scale=scale)
    m[:k, k] = cq - scale * r @ cp
    return m


def fit_rigid(moving, fixed) -> np.ndarray:
    """Least-squares rigid transform (rotation + translation, no reflection).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> p = rng.normal(size=(6, 3))
    >>> m = make_transform(linear=rotation_3d((0, 0, 1), 30), translation=(1, 2, 3))
    >>> np.allclose(fit_rigid(p, apply(m, p)), m)
    True
    """
    p, q = _pair(moving, fixed)
    return _procrustes(p, q, scaling=False)


def fit_similarity(moving, fixed) -> np.ndarray:
    """Least-squares similarity transform (rotation, isotropic scale, translation)."""
    p, q = _pair(moving, fixed)
    return _procrustes(p, q, scaling=True)


def fit_affine(moving, fixed) -> np.ndarray:
    """Least-squares affine transform (ordinary least squares on homogeneous points)."""
    p, q = _pair(moving, fixed)
    k = p.shape[1]
    if len(p) < k + 1:
        raise ValueError(f"a {k}D affine fit needs at least {k + 1} point pairs, found {len(p)}.")
    a = np.hstack([p, np.ones((len(p), 1))])
    sol, *_ = np.linalg.lstsq(a, q, rcond=None)
    m = np.eye(k + 1)
    m[:k] = sol.T
    return m


_FITS = {
    "translation": fit_translation,
    "rigid": fit_rigid,
    "similarity": fit_similarity,
    "affine": fit_affine,
}


def fit(moving, fixed, *, kind: str = "affine") -> np.ndarray:
    """Least-squares fit of a transform ``kind`` mapping ``moving`` onto ``fixed``.

    Parameters
    ----------
    moving, fixed : (n, K) arrays
        Paired points, physical units, (z, y, x) or (y, x) columns.
    kind : str
        ``"translation"``, ``"rigid"``, ``"similarity"`` or ``"affine"``.

    Returns
    -------
    (K+1, K+1) ndarray
        The homogeneous matrix, moving -> fixed.
    """
    return _FITS[_kind(kind)](moving, fixed)
