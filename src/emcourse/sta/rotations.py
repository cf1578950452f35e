"""Rotations: RELION's Euler convention, random and uniform rotation sets, Crowther's step.

Rotation matrices act on ``(x, y, z)`` column vectors (RELION's convention; see
:mod:`emcourse.sta` for the conventions every function follows).
"""

from __future__ import annotations

import numpy as np

_P = np.eye(3)[::-1]  # swaps (x, y, z) <-> (z, y, x)


def euler_to_matrix(eulers) -> np.ndarray:
    """RELION ZYZ Euler angles (rot, tilt, psi) in degrees to rotation matrices.

    Parameters
    ----------
    eulers : array_like, shape (3,) or (n, 3)
        ``(rot, tilt, psi)`` in degrees.

    Returns
    -------
    ndarray, shape (3, 3) or (n, 3, 3)
        RELION's matrix ``A = Rz(psi) Ry(tilt) Rz(rot)`` acting on ``(x, y, z)``
        column vectors (see the module notes for what it does to a volume).

    Examples
    --------
    >>> R = euler_to_matrix([90.0, 0.0, 0.0])
    >>> np.round(R @ [1.0, 0.0, 0.0], 6).tolist()
    [0.0, -1.0, 0.0]
    >>> euler_to_matrix([[0, 0, 0], [10, 20, 30]]).shape
    (2, 3, 3)
    """
    e = np.deg2rad(np.asarray(eulers, dtype=np.float64))
    single = e.ndim == 1
    e = np.atleast_2d(e)
    if e.shape[-1] != 3:
        raise ValueError(f"Euler angles must have 3 columns (rot, tilt, psi); got shape {e.shape}.")
    ca, cb, cg = np.cos(e).T
    sa, sb, sg = np.sin(e).T
    cc, cs, sc, ss = cb * ca, cb * sa, sb * ca, sb * sa
    A = np.empty((len(e), 3, 3))
    A[:, 0, 0] = cg * cc - sg * sa
    A[:, 0, 1] = cg * cs + sg * ca
    A[:, 0, 2] = -cg * sb
    A[:, 1, 0] = -sg * cc - cg * sa
    A[:, 1, 1] = -sg * cs + cg * ca
    A[:, 1, 2] = sg * sb
    A[:, 2, 0] = sc
    A[:, 2, 1] = ss
    A[:, 2, 2] = cb
    return A[0] if single else A


def matrix_to_euler(matrices) -> np.ndarray:
    """Rotation matrices to RELION ZYZ Euler angles (rot, tilt, psi) in degrees.

    The inverse of :func:`euler_to_matrix`, with ``tilt`` in [0, 180] and
    ``rot``, ``psi`` in (-180, 180]. At ``tilt`` 0 or 180 only ``rot + psi`` (or
    ``rot - psi``) is defined; then ``rot`` is set to 0.

    Examples
    --------
    >>> e = matrix_to_euler(euler_to_matrix([10.0, 20.0, 30.0]))
    >>> np.round(e, 6).tolist()
    [10.0, 20.0, 30.0]
    """
    A = np.asarray(matrices, dtype=np.float64)
    single = A.ndim == 2
    A = A.reshape(-1, 3, 3)
    abs_sb = np.hypot(A[:, 0, 2], A[:, 1, 2])
    tilt = np.arctan2(abs_sb, A[:, 2, 2])
    psi = np.arctan2(A[:, 1, 2], -A[:, 0, 2])
    rot = np.arctan2(A[:, 2, 1], A[:, 2, 0])
    gimbal = abs_sb < 1e-6
    up = gimbal & (A[:, 2, 2] > 0)
    down = gimbal & ~(A[:, 2, 2] > 0)
    rot[gimbal] = 0.0
    psi[up] = np.arctan2(-A[up, 1, 0], A[up, 0, 0])
    psi[down] = np.arctan2(A[down, 1, 0], -A[down, 0, 0])
    out = np.rad2deg(np.stack([rot, tilt, psi], axis=-1))
    return out[0] if single else out


def random_rotations(n: int, seed=0) -> np.ndarray:
    """Rotation matrices drawn uniformly from SO(3) (Shoemake's quaternion method).

    Parameters
    ----------
    n : int
        How many.
    seed : int or numpy.random.Generator
        Seed for :func:`numpy.random.default_rng`.

    Returns
    -------
    ndarray, shape (n, 3, 3)

    Examples
    --------
    >>> R = random_rotations(4, seed=1)
    >>> bool(np.allclose(R @ R.transpose(0, 2, 1), np.eye(3)))
    True
    """
    rng = np.random.default_rng(seed)
    u1, u2, u3 = rng.random((3, n))
    q = np.stack(
        [
            np.sqrt(1 - u1) * np.sin(2 * np.pi * u2),
            np.sqrt(1 - u1) * np.cos(2 * np.pi * u2),
            np.sqrt(u1) * np.sin(2 * np.pi * u3),
            np.sqrt(u1) * np.cos(2 * np.pi * u3),
        ],
        axis=-1,
    )
    return _quat_to_matrix(q)


def _quat_to_matrix(q: np.ndarray) -> np.ndarray:
    x, y, z, w = q.T
    R = np.empty((len(q), 3, 3))
    R[:, 0, 0] = 1 - 2 * (y * y + z * z)
    R[:, 0, 1] = 2 * (x * y - z * w)
    R[:, 0, 2] = 2 * (x * z + y * w)
    R[:, 1, 0] = 2 * (x * y + z * w)
    R[:, 1, 1] = 1 - 2 * (x * x + z * z)
    R[:, 1, 2] = 2 * (y * z - x * w)
    R[:, 2, 0] = 2 * (x * z - y * w)
    R[:, 2, 1] = 2 * (y * z + x * w)
    R[:, 2, 2] = 1 - 2 * (x * x + y * y)
    return R


def rotation_angle_between(R1, R2) -> np.ndarray:
    """Angle in degrees of the rotation ``R1.T @ R2`` (0 when they agree).

    Broadcasts over leading axes.

    Examples
    --------
    >>> R = euler_to_matrix([[0, 0, 0], [0, 0, 25]])
    >>> float(np.round(rotation_angle_between(R[0], R[1]), 6))
    25.0
    """
    R1 = np.asarray(R1, dtype=np.float64)
    R2 = np.asarray(R2, dtype=np.float64)
    trace = np.einsum("...ji,...ji->...", R1, R2)
    return np.rad2deg(np.arccos(np.clip((trace - 1) / 2, -1.0, 1.0)))


def crowther_step(diameter_A: float, resolution_A: float) -> float:
    """Angular step in degrees that keeps the particle's rim within one resolution element.

    Crowther's criterion as used by pytom-match-pick: rotating by ``delta``
    moves a point at the rim of a particle of diameter ``D`` by about
    ``D * delta`` (``delta`` in radians); keep that below the resolution ``d``,
    so ``delta = d / D``. Crowther, DeRosier and Klug (1970) derived it as the
    **spacing** of neighbouring views; it is not a covering radius (the worst
    angle from any orientation to the nearest member of a set, what
    :func:`angular_sampling` takes): compare :func:`neighbour_spacing` and
    :func:`covering_radius` of a set.

    Examples
    --------
    >>> round(crowther_step(300.0, 40.0), 2)
    7.64
    """
    if diameter_A <= 0 or resolution_A <= 0:
        raise ValueError(
            f"diameter and resolution must be positive angstrom values; "
            f"got {diameter_A} and {resolution_A}."
        )
    return float(np.rad2deg(resolution_A / diameter_A))


def swept_diameter(volume, *, voxel_size: float, fraction: float = 0.05) -> float:
    """Diameter (A) of the sphere that a volume's density sweeps when turned about its centre.

    Twice the largest distance from the box centre of a voxel above
    ``fraction`` of the maximum: the ``D`` of :func:`crowther_step` for a
    template rotated about its box centre (a masked template's ``D`` is its
    mask's, not its molecule's).

    Examples
    --------
    >>> v = np.zeros((9, 9, 9)); v[4, 4, 1:8] = 1.0
    >>> swept_diameter(v, voxel_size=10.0)
    60.0
    """
    v = np.asarray(volume, dtype=float)
    inside = np.argwhere(v > fraction * v.max()) - np.array(v.shape) // 2
    return float(2 * np.linalg.norm(inside, axis=1).max() * voxel_size)


def box_extent(volume, *, voxel_size: float, fraction: float = 0.2) -> np.ndarray:
    """Sizes (A, ``z, y, x``) of the box holding a volume's density above ``fraction`` of its max.

    Examples
    --------
    >>> v = np.zeros((9, 9, 9)); v[4, 2:7, 1:8] = 1.0
    >>> box_extent(v, voxel_size=10.0).tolist()
    [10.0, 50.0, 70.0]
    """
    v = np.asarray(volume, dtype=float)
    inside = np.argwhere(v > fraction * v.max())
    return (inside.max(axis=0) - inside.min(axis=0) + 1) * float(voxel_size)


def neighbour_spacing(rotations) -> np.ndarray:
    """For each rotation of a set, the angle (degrees) to the nearest other member.

    The set's spacing, which Crowther's criterion bounds; its covering radius
    (:func:`covering_radius`) is another quantity.

    Examples
    --------
    >>> float(np.median(neighbour_spacing(angular_sampling(45.0))))   # the 600-cell's vertices
    72.0
    """
    from scipy.spatial.transform import Rotation

    q = Rotation.from_matrix(np.asarray(rotations, dtype=np.float64)).as_quat()
    out = np.empty(len(q))
    for i in range(0, len(q), 2048):
        dots = np.abs(q[i : i + 2048] @ q.T)
        dots[np.arange(len(dots)), np.arange(i, i + len(dots))] = -1.0  # not itself
        out[i : i + 2048] = 2 * np.rad2deg(np.arccos(np.clip(dots.max(axis=1), -1.0, 1.0)))
    return np.round(out, 10)


# Karney's nearly optimal coverings of rotation space (C. F. F. Karney, "Quaternions in
# molecular modeling", J. Mol. Graph. Mod. 25, 595-604, 2007, section 8; the published
# sets: https://github.com/cffk/orientation, MIT licence). Each row: covering radius in
# degrees (every rotation lies within it of a member), number of rotations, and how the
# set is built: ("600-cell", n) from the 600-cell and 120-cell, or ("48-cell", delta,
# sigma) for a body-centred cubic grid in each cell of the 48-cell. Only the sets that
# no smaller set beats (Karney's list of optimal ones), thickest first.
_COVERINGS = (
    (62.80, 24, ("48-cell", 0.70000, 0.0)),
    (44.48, 60, ("600-cell", 60)),
    (36.47, 216, ("48-cell", 0.26091, 7.0)),
    (27.78, 360, ("600-cell", 360)),
    (20.83, 648, ("48-cell", 0.33582, 0.0)),
    (16.29, 1992, ("48-cell", 0.25970, 0.0)),
    (12.29, 4344, ("48-cell", 0.19415, 0.0)),
    (9.72, 7416, ("48-cell", 0.15167, 1.86)),
    (8.17, 12648, ("48-cell", 0.12599, 1.86)),
    (7.40, 19560, ("48-cell", 0.11607, 0.0)),
    (6.60, 27672, ("48-cell", 0.10330, 0.0)),
    (6.48, 28824, ("48-cell", 0.09999, 0.0)),
    (5.75, 39384, ("48-cell", 0.08993, 0.0)),
    (5.27, 53256, ("48-cell", 0.08249, 0.0)),
    (4.71, 70728, ("48-cell", 0.07359, 0.0)),
    (4.37, 89592, ("48-cell", 0.06836, 0.0)),
    (4.00, 113976, ("48-cell", 0.06248, 0.0)),
    (3.74, 141096, ("48-cell", 0.05837, 0.0)),
    (3.53, 170664, ("48-cell", 0.05514, 0.0)),
    (3.26, 207576, ("48-cell", 0.05094, 0.0)),
)


def _quat_product(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton products of quaternions ``(w, x, y, z)``, broadcast over leading axes."""
    aw, ax, ay, az = np.moveaxis(a, -1, 0)
    bw, bx, by, bz = np.moveaxis(b, -1, 0)
    return np.stack(
        [
            aw * bw - ax * bx - ay * by - az * bz,
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
        ],
        axis=-1,
    )


def _cube_group() -> np.ndarray:
    """The 24 rotations of a cube as unit quaternions ``(w, x, y, z)`` (one of each +-q pair)."""
    s = 0.5**0.5
    q = [np.eye(4)[i] for i in range(4)]  # identity and the three 180 deg axis turns
    q += [np.array([1, *sgn]) / 2 for sgn in np.array(np.meshgrid(*[[1, -1]] * 3)).T.reshape(-1, 3)]
    for i in range(1, 4):  # +-90 deg about each axis
        for sign in (1, -1):
            v = np.zeros(4)
            v[0], v[i] = s, sign * s
            q.append(v)
    for i, j in ((1, 2), (1, 3), (2, 3)):  # 180 deg about the face diagonals
        for sign in (1, -1):
            v = np.zeros(4)
            v[i], v[j] = s, sign * s
            q.append(v)
    return np.array(q)


def _cell_grid(delta: float, sigma: float) -> np.ndarray:
    """Karney's body-centred cubic grid in the 48-cell's cell around the identity.

    Points ``(1, p1, p2, p3)`` with ``p = (k, l, m) * delta / 2`` (``k, l, m`` all
    even or all odd; stretched by ``sinh(sigma p) / sigma`` when ``sigma > 0``)
    inside the truncated cube ``|p_i| < sqrt(2) - 1``, ``|p1| + |p2| + |p3| < 1``,
    projected onto the unit sphere of quaternions.
    """
    kmax = int(np.ceil(2 * 0.5 / delta)) + 2
    k = np.arange(-kmax, kmax + 1)
    grid = np.stack(np.meshgrid(k, k, k, indexing="ij"), axis=-1).reshape(-1, 3)
    grid = grid[(grid % 2 == grid[:, :1] % 2).all(axis=1)]  # all even or all odd
    p = grid * (delta / 2)
    if sigma > 0:
        p = np.sinh(sigma * p) / sigma
    inside = (np.abs(p) < 2**0.5 - 1).all(axis=1) & (np.abs(p).sum(axis=1) < 1)
    q = np.concatenate([np.ones((int(inside.sum()), 1)), p[inside]], axis=1)
    return q / np.linalg.norm(q, axis=1, keepdims=True)


def _icosians(with_cells: bool) -> np.ndarray:
    """The 600-cell's vertices (60 rotations), plus its cell centres (300 more) if asked."""
    phi = (1 + 5**0.5) / 2
    v = [np.eye(4)[i] for i in range(4)]
    v += [np.array([1, *sgn]) / 2 for sgn in np.array(np.meshgrid(*[[1, -1]] * 3)).T.reshape(-1, 3)]
    even = [(0, 1, 2, 3), (0, 2, 3, 1), (0, 3, 1, 2), (1, 0, 3, 2), (1, 2, 0, 3), (1, 3, 2, 0)]
    even += [(2, 0, 1, 3), (2, 1, 3, 0), (2, 3, 0, 1), (3, 0, 2, 1), (3, 1, 0, 2), (3, 2, 1, 0)]
    for perm in even:  # even permutations of (phi, 1, 1/phi, 0) / 2, signs on the non-zeros
        for sgn in np.array(np.meshgrid(*[[1, -1]] * 3)).T.reshape(-1, 3):
            base = np.array([phi, 1, 1 / phi, 0]) / 2
            base[:3] *= sgn
            out = np.empty(4)
            out[list(perm)] = base
            v.append(out)
    v = np.array(v)
    v = v[(v[:, 0] > 1e-9) | ((np.abs(v[:, 0]) < 1e-9) & _first_nonzero_positive(v))]
    if not with_cells:
        return v
    full = np.concatenate([v, -v])  # 120 vertices; a cell is 4 mutually adjacent ones
    adjacent = full @ full.T > np.cos(np.pi / 5) - 1e-6
    np.fill_diagonal(adjacent, False)
    cells = set()
    for a in range(len(full)):
        nb = np.flatnonzero(adjacent[a])
        for i, b in enumerate(nb):
            for j, c in enumerate(nb[i + 1 :], start=i + 1):
                if not adjacent[b, c]:
                    continue
                for d in nb[j + 1 :]:
                    if adjacent[b, d] and adjacent[c, d]:
                        cells.add(tuple(sorted((a, b, c, d))))
    centres = np.array([full[list(c)].sum(axis=0) for c in sorted(cells)])
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    centres = centres[
        (centres[:, 0] > 1e-9) | ((np.abs(centres[:, 0]) < 1e-9) & _first_nonzero_positive(centres))
    ]
    return np.concatenate([v, centres])


def _first_nonzero_positive(q: np.ndarray) -> np.ndarray:
    first = np.argmax(np.abs(q) > 1e-9, axis=1)
    return q[np.arange(len(q)), first] > 0


def _covering_set(recipe) -> np.ndarray:
    """Unit quaternions ``(w, x, y, z)`` of one set of :data:`_COVERINGS`."""
    if recipe[0] == "600-cell":
        return _icosians(with_cells=recipe[1] > 60)
    _, delta, sigma = recipe
    cell = _cell_grid(delta, sigma)
    return _quat_product(_cube_group()[:, None, :], cell[None, :, :]).reshape(-1, 4)


def angular_sampling(step_deg: float) -> np.ndarray:
    """Rotations that cover SO(3): every rotation lies within ``step_deg`` of one of them.

    ``step_deg`` is the *covering radius*: the largest angle by which any
    orientation must be rotated to reach the nearest member of the set, so a
    search over these rotations is never more than ``step_deg`` off. The set
    is the smallest of Karney's nearly optimal coverings (Karney 2007; the
    sets pyTME uses) whose covering radius is at most ``step_deg``: a
    body-centred cubic grid inside each of the 24 cells of the 48-cell (the
    cube's rotation group), or the vertices and cell centres of the 600-cell.
    For a step finer than 3.26 degrees the grid spacing is scaled down from the
    finest tabulated set, and the covering radius is about ``step_deg``.

    Parameters
    ----------
    step_deg : float
        Covering radius in degrees, in (0, 180].

    Returns
    -------
    ndarray, shape (n, 3, 3)
        Rotation matrices (RELION convention).

    Examples
    --------
    >>> len(angular_sampling(30.0)), len(angular_sampling(16.29))
    (360, 1992)
    """
    if not 0 < step_deg <= 180:
        raise ValueError(f"step_deg must be in (0, 180] degrees; got {step_deg}.")
    fits = [row for row in _COVERINGS if row[0] <= step_deg + 1e-9]
    if fits:
        recipe = fits[0][2]
    else:  # finer than the table: shrink the finest grid's spacing in proportion
        alpha, _, (_, delta, _) = _COVERINGS[-1]
        recipe = ("48-cell", delta * step_deg / alpha, 0.0)
    q = _covering_set(recipe)
    return _quat_to_matrix(q[:, [1, 2, 3, 0]])


def covering_radius(rotations, *, probes: int = 20000, seed=0) -> float:
    """Estimate how far (degrees) any rotation can be from the nearest one of a set.

    The covering radius of a set is the largest angle, over all rotations,
    to the nearest member: a search over the set is never further off.
    Estimated from ``probes`` uniformly random rotations; the 20 furthest are
    then moved, by random steps that shrink, to where the nearest member is
    further still. The result is a lower bound that comes within about 0.1
    degree of the true radius for the sets of :func:`angular_sampling`.

    Examples
    --------
    >>> round(covering_radius(angular_sampling(45.0), probes=2000), 0)   # the 600-cell: 44.48
    44.0
    """
    from scipy.spatial.transform import Rotation

    members = Rotation.from_matrix(np.asarray(rotations, dtype=np.float64)).as_quat()
    rng = np.random.default_rng(seed)

    def gap(q):  # angle (degrees) from each quaternion of q to the nearest member
        out = np.empty(len(q))
        for i in range(0, len(q), 4096):
            dots = np.abs(q[i : i + 4096] @ members.T).max(axis=1)
            out[i : i + 4096] = 2 * np.rad2deg(np.arccos(np.clip(dots, -1.0, 1.0)))
        return out

    q = Rotation.random(int(probes), random_state=rng).as_quat()
    far = gap(q)
    best = float(far.max())
    for start in q[np.argsort(far)[-20:]]:
        here, value, size = start, float(gap(start[None])[0]), 0.05
        while size > 1e-4:
            tries = here + size * rng.standard_normal((16, 4))
            tries /= np.linalg.norm(tries, axis=1, keepdims=True)
            values = gap(tries)
            k = int(np.argmax(values))
            if values[k] > value:
                here, value = tries[k], float(values[k])
            else:
                size *= 0.6
        best = max(best, value)
    return best


def local_rotations(max_angle_deg: float, step_deg: float) -> np.ndarray:
    """Rotations within about ``max_angle_deg`` of the identity, ``step_deg`` apart.

    Used for local refinement: a particle at pose ``R`` is searched over
    ``R @ local_rotations(...)``. The identity is always the first element.

    Returns
    -------
    ndarray, shape (n, 3, 3)

    Examples
    --------
    >>> D = local_rotations(10.0, 5.0)
    >>> bool(np.allclose(D[0], np.eye(3))), bool(rotation_angle_between(np.eye(3), D).max() < 16)
    (True, True)
    """
    if step_deg <= 0 or max_angle_deg < 0:
        raise ValueError(
            f"need step_deg > 0 and max_angle_deg >= 0; got {step_deg}, {max_angle_deg}."
        )
    n_psi = int(np.floor(max_angle_deg / step_deg))
    psis = np.arange(-n_psi, n_psi + 1) * step_deg
    # directions on a polar grid inside the cap of radius max_angle around +z
    eulers = [[0.0, 0.0, p] for p in psis]
    n_rings = int(np.floor(max_angle_deg / step_deg))
    for ring in range(1, n_rings + 1):
        tilt = ring * step_deg
        n_az = max(int(round(2 * np.pi * np.sin(np.deg2rad(tilt)) / np.deg2rad(step_deg))), 3)
        for az in np.arange(n_az) * 360.0 / n_az:
            # rot = az, psi = -az + p keeps the in-plane angle centred on zero
            eulers.extend([az, tilt, -az + p] for p in psis)
    eulers = np.array(eulers)
    order = np.argsort(np.abs(eulers[:, 1]) + np.abs(eulers[:, 0] + eulers[:, 2]), kind="stable")
    return euler_to_matrix(eulers[order])


def _array_matrix(R: np.ndarray) -> np.ndarray:
    """A rotation on (x, y, z) vectors expressed on (z, y, x) array indices."""
    return _P @ np.asarray(R, dtype=np.float64) @ _P
