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
    so ``delta = d / D``.

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


def _fibonacci_sphere(n: int) -> np.ndarray:
    i = np.arange(n) + 0.5
    z = 1 - 2 * i / n
    phi = np.pi * (1 + 5**0.5) * i
    r = np.sqrt(1 - z * z)
    return np.stack([r * np.cos(phi), r * np.sin(phi), z], axis=-1)


def _directions_to_eulers(dirs: np.ndarray, psis_deg: np.ndarray) -> np.ndarray:
    rot = np.rad2deg(np.arctan2(dirs[:, 1], dirs[:, 0]))
    tilt = np.rad2deg(np.arccos(np.clip(dirs[:, 2], -1, 1)))
    n_d, n_p = len(dirs), len(psis_deg)
    e = np.empty((n_d, n_p, 3))
    e[:, :, 0] = rot[:, None]
    e[:, :, 1] = tilt[:, None]
    e[:, :, 2] = psis_deg[None, :]
    return e.reshape(-1, 3)


def angular_sampling(step_deg: float) -> np.ndarray:
    """A roughly uniform set of rotations covering SO(3) at about ``step_deg`` spacing.

    Directions (rot, tilt) come from a Fibonacci sphere with one point per
    ``step**2`` steradian (the rule pytom-match-pick uses with HEALPix), and the
    in-plane angle psi is sampled every ``step`` degrees.

    Returns
    -------
    ndarray, shape (n, 3, 3)
        Rotation matrices (RELION convention).

    Examples
    --------
    >>> len(angular_sampling(30.0))
    552
    """
    if not 0 < step_deg <= 180:
        raise ValueError(f"step_deg must be in (0, 180] degrees; got {step_deg}.")
    step = np.deg2rad(step_deg)
    n_dirs = max(int(np.ceil(4 * np.pi / step**2)), 2)
    n_psi = int(np.ceil(360.0 / step_deg))
    psis = np.arange(n_psi) * (360.0 / n_psi)
    return euler_to_matrix(_directions_to_eulers(_fibonacci_sphere(n_dirs), psis))


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
