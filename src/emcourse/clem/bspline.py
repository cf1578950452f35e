"""elastix's cubic B-spline transform, applied to points and to images without elastix.

An elastix ``BSplineTransform`` is a grid of control points (``GridSize``,
``GridSpacing``, ``GridOrigin``, ``GridDirection``) with a K-vector of
coefficients at each. A point ``x`` (physical units of the images, here the
file's micrometres) is displaced by

    T(x) = x + sum_j c_j B3(u_0 - j_0) B3(u_1 - j_1) [B3(u_2 - j_2)]

where ``u = (D S)^-1 (x - origin)`` is its continuous grid index (``D`` the
direction, ``S`` the spacing) and ``B3`` the cubic B-spline
(``2/3 - t^2 + |t|^3 / 2`` for ``|t| < 1``, ``(2 - |t|)^3 / 6`` for
``1 <= |t| < 2``): the 4 x 4 (x 4) control points around ``x``. As in elastix
(its ``AdvancedBSplineDeformableTransform``), a point whose 4^K support would
leave the grid (``u`` outside ``[1, size - 2)`` on an axis) is not displaced.

**Direction.** Like every elastix transform, it maps a point of the FIXED
image to where it lies in the MOVING image: that is what resampling the
moving image onto the fixed grid needs (for each output voxel, where to read).
To carry a moving-image point (a light-microscopy spot) into fixed space the
map must be inverted; for a smooth B-spline that is a few fixed-point
iterations (:func:`invert_points`).

**Chains.** A file naming ``InitialTransformParametersFileName`` with
``HowToCombineTransforms "Compose"`` is applied AFTER that initial transform:
``T(x) = T_bspline(T_initial(x))``. :func:`emcourse.io.elastix_steps` lists
the chain in the order of application; :func:`apply_steps` applies it.

Points are ``(n, K)`` arrays in the course's ``(z, y, x)`` order; grids keep
the file's x, y, z order (as :func:`emcourse.io.elastix_bspline_grid` returns
them). Pure NumPy/SciPy: no files.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

__all__ = [
    "apply_steps",
    "bspline_displacement",
    "cubic_bspline",
    "invert_points",
    "resample_fixed_grid",
]


def cubic_bspline(t) -> np.ndarray:
    """The cubic B-spline basis ``B3(t)``: 2/3 at 0, 1/6 at +-1, 0 from +-2; sums to 1.

    Examples
    --------
    >>> [round(float(v), 4) for v in cubic_bspline([0.0, 1.0, 2.0, 0.5])]
    [0.6667, 0.1667, 0.0, 0.4792]
    """
    a = np.abs(np.asarray(t, dtype=np.float64))
    return np.where(a < 1, 2 / 3 - a**2 + a**3 / 2, np.where(a < 2, (2 - a) ** 3 / 6, 0.0))


def bspline_displacement(grid: dict, points) -> np.ndarray:
    """The B-spline's displacement at ``(n, K)`` points ((z, y, x), the grid's unit).

    ``grid`` as :func:`emcourse.io.elastix_bspline_grid` returns it. Points
    outside the grid's valid region get zero displacement, as in elastix.
    """
    x = np.asarray(points, dtype=np.float64)[:, ::-1]  # x, y, z like the file
    k = x.shape[1]
    size = np.asarray(grid["grid_size"], dtype=int)
    coeffs = np.asarray(grid["coefficients"], dtype=np.float64)  # (K, [nz,] ny, nx)
    if len(size) != k:
        raise ValueError(f"points: expected {len(size)} columns for this grid, found {k}.")
    ds = np.asarray(grid["direction"], dtype=np.float64) * np.asarray(grid["spacing"])[None, :]
    u = np.linalg.solve(ds, (x - np.asarray(grid["origin"])).T).T  # continuous grid index
    inside = ((u >= 1) & (u < size - 2)).all(axis=1)
    start = np.floor(u).astype(int) - 1  # the 4 control points around each point
    out = np.zeros_like(x)
    if not inside.any():
        return out[:, ::-1]
    ui, si = u[inside], start[inside]
    w = [cubic_bspline(ui[:, a, None] - (si[:, a, None] + np.arange(4))) for a in range(k)]
    disp = np.zeros((len(ui), k))
    for offsets in np.ndindex(*(4,) * k):
        weight = np.prod([w[a][:, offsets[a]] for a in range(k)], axis=0)
        idx = tuple(si[:, a] + offsets[a] for a in reversed(range(k)))  # coeffs are z, y, x
        disp += weight[:, None] * np.stack([coeffs[c][idx] for c in range(k)], axis=1)
    out[inside] = disp
    return out[:, ::-1]


def apply_steps(steps, points) -> np.ndarray:
    """Apply an elastix chain, ``[(kind, value), ...]`` in application order, to points.

    ``kind`` is ``"affine"`` (a homogeneous (z, y, x) matrix) or ``"bspline"``
    (a grid dict). Maps FIXED-image points to MOVING-image points, as elastix.
    """
    y = np.asarray(points, dtype=np.float64).copy()
    for kind, value in steps:
        if kind == "affine":
            m = np.asarray(value, dtype=np.float64)
            y = y @ m[:-1, :-1].T + m[:-1, -1]
        elif kind == "bspline":
            y = y + bspline_displacement(value, y)
        else:
            raise ValueError(f"steps: expected 'affine' or 'bspline', found {kind!r}.")
    return y


def invert_points(steps, points, *, iterations: int = 50, tol: float = 1e-6) -> np.ndarray:
    """Moving-image points carried to fixed space: solve ``T(x) = y`` by fixed-point steps.

    Starts from the inverse of the chain's affine steps, then corrects by the
    residual (converges while the B-spline's displacement changes slowly,
    i.e. its Jacobian stays near the identity, as for any registration
    without folding). Returns the points x with ``apply_steps(steps, x) = y``.
    """
    y = np.asarray(points, dtype=np.float64)
    x = y.copy()
    for kind, value in reversed(list(steps)):
        if kind == "affine":
            m = np.linalg.inv(np.asarray(value, dtype=np.float64))
            x = x @ m[:-1, :-1].T + m[:-1, -1]
    lin = np.eye(y.shape[1])
    for kind, value in steps:
        if kind == "affine":
            lin = np.asarray(value, dtype=np.float64)[:-1, :-1] @ lin
    lin_inv = np.linalg.inv(lin)
    for _ in range(iterations):
        r = apply_steps(steps, x) - y
        x = x - r @ lin_inv.T
        if np.abs(r).max() < tol:
            break
    return x


def resample_fixed_grid(
    moving, moving_spacing, steps, *, shape, spacing, origin=None, moving_origin=None, order=1
) -> np.ndarray:
    """Resample a moving image onto a fixed grid through an elastix chain (what transformix does).

    Each output voxel's centre (fixed space, (z, y, x) ``origin + index *
    spacing``) is mapped by the chain to moving space and the moving image
    is read there (``order`` 1: linear). As elastix: 0 more than half a voxel
    outside the image (its default pixel value, ITK's inside-the-buffer
    rule), the image mirrored within that half voxel (its B-spline
    interpolator). Use a reduced ``shape`` with a coarser ``spacing`` to see
    a transform defined over a volume too large to resample in full.
    """
    k = len(shape)
    origin = np.zeros(k) if origin is None else np.asarray(origin, dtype=np.float64)
    m_origin = np.zeros(k) if moving_origin is None else np.asarray(moving_origin, float)
    grid = np.indices(shape, dtype=np.float64).reshape(k, -1).T
    centres = origin + grid * np.asarray(spacing, dtype=np.float64)
    mapped = apply_steps(steps, centres)
    idx = (mapped - m_origin) / np.asarray(moving_spacing, dtype=np.float64)
    image = np.asarray(moving, dtype=np.float64)
    # ITK's rule: a point is inside the image up to half a voxel beyond the edge centres,
    # where elastix's B-spline interpolator mirrors the image about the edge voxel (scipy's
    # "mirror"); further out it gets the default pixel value 0
    inside = ((idx >= -0.5) & (idx < np.array(image.shape) - 0.5)).all(axis=1)
    out = np.zeros(len(idx))
    out[inside] = ndimage.map_coordinates(image, idx[inside].T, order=order, mode="mirror")
    return out.reshape(shape)
