"""Subtomogram averaging: rotations, template matching, alignment, averaging, FSC.

Pure NumPy/SciPy functions on arrays; no files, no plots.

Conventions (read this once; every function follows it)
--------------------------------------------------------
* Arrays are indexed ``(z, y, x)``: plane, row, column. Positions and shifts are
  given in the same ``(z, y, x)`` order, in voxels.
* The centre of a box of edge ``n`` is voxel ``n // 2`` on each axis (the same
  point that :func:`numpy.fft.fftshift` puts the zero frequency on).
* Euler angles are RELION's ZYZ triple ``(rot, tilt, psi)`` in degrees, and
  :func:`euler_to_matrix` returns exactly RELION's matrix ``A``
  (``Euler_angles2matrix``). Rotation matrices act on column vectors in
  ``(x, y, z)`` order, as RELION's do: x is the column axis, y the row axis,
  z the plane axis.
* A rotation ``R`` is *active* and maps the reference onto the particle: a
  particle with pose ``(R, t)`` looks like ``particle(r) = reference(R.T @ (r - t))``
  (``r`` relative to the box centre). This is what RELION's projector does with
  ``A``; :func:`rotate_volume` applies it, and :func:`emcourse.simulate.simulate_tomogram`
  stores the matrices it used this way.
* Tilts in a tilt series are rotations of the specimen about the y axis (the
  row axis), the missing wedge therefore lies around the ``k_z`` axis and is
  described by ``tilt_range = (min_tilt, max_tilt)`` in degrees.
* Voxel sizes are in angstrom; spatial frequencies in 1/angstrom.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.fft as sfft
from scipy import ndimage

__all__ = [
    "Poses",
    "RefineResult",
    "align",
    "angular_sampling",
    "average",
    "bin_volume",
    "crowther_step",
    "einstein_from_noise",
    "euler_to_matrix",
    "extract_subtomograms",
    "find_peaks",
    "fsc",
    "half_sets",
    "local_rotations",
    "lowpass",
    "matrix_to_euler",
    "precision_recall",
    "random_rotations",
    "refine",
    "resample",
    "resolution_at",
    "rotate_volume",
    "rotation_angle_between",
    "shift_volume",
    "soft_sphere",
    "subtract_radial_average",
    "template_match",
    "wedge_mask",
]

WORKERS = 2  # threads for scipy.fft: the course machines have two cores

_P = np.eye(3)[::-1]  # swaps (x, y, z) <-> (z, y, x)


# --------------------------------------------------------------------------- rotations


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


# --------------------------------------------------------------------------- volumes


def _centre(shape) -> np.ndarray:
    return np.array([n // 2 for n in shape], dtype=np.float64)


def rotate_volume(volume, R, *, shift=(0.0, 0.0, 0.0), order: int = 1) -> np.ndarray:
    """Rotate a volume actively by ``R`` about its centre, then shift it.

    ``out(r) = volume(R.T @ (r - shift))`` with ``r`` relative to the box centre
    (module conventions). Interpolation by :func:`scipy.ndimage.affine_transform`;
    voxels that come from outside the box are 0.

    Parameters
    ----------
    volume : ndarray, (z, y, x)
    R : ndarray (3, 3)
        Rotation matrix acting on (x, y, z) vectors (RELION convention).
    shift : sequence of 3 float
        ``(dz, dy, dx)`` in voxels, applied after the rotation.
    order : int
        Spline order: 1 (trilinear, fast) or 3 (sharper, about 5 times slower).

    Examples
    --------
    >>> vol = np.zeros((9, 9, 9), np.float32); vol[4, 4, 6] = 1   # +2 voxels along x
    >>> out = rotate_volume(vol, euler_to_matrix([90.0, 0, 0]))   # x -> -y
    >>> np.argwhere(out > 0.5).tolist()
    [[4, 2, 4]]
    """
    volume = np.asarray(volume)
    if volume.dtype.kind != "f":
        volume = volume.astype(np.float32)
    M = _array_matrix(R).T  # output index -> input index, on (z, y, x)
    c = _centre(volume.shape)
    offset = c - M @ (c + np.asarray(shift, dtype=np.float64))
    return ndimage.affine_transform(volume, M, offset=offset, order=order, mode="constant")


def _unrotate(volume, R, shift, order=1):
    """Bring a particle with pose (R, shift) back into the reference frame."""
    M = _array_matrix(R)
    c = _centre(volume.shape)
    offset = c + np.asarray(shift, dtype=np.float64) - M @ c
    return ndimage.affine_transform(volume, M, offset=offset, order=order, mode="constant")


def _freq_grid(shape, rfft=True):
    """Frequencies in cycles per voxel, (kz, ky, kx), broadcastable."""
    kz = sfft.fftfreq(shape[0])[:, None, None]
    ky = sfft.fftfreq(shape[1])[None, :, None]
    kx = (sfft.rfftfreq if rfft else sfft.fftfreq)(shape[2])[None, None, :]
    return kz, ky, kx


def shift_volume(volume, shift) -> np.ndarray:
    """Shift a volume by ``(dz, dy, dx)`` voxels (sub-voxel allowed) with a Fourier phase ramp.

    The shift is circular: what leaves one side comes back on the other.

    Examples
    --------
    >>> vol = np.zeros((8, 8, 8)); vol[4, 4, 4] = 1
    >>> np.argwhere(shift_volume(vol, (1, -2, 0)) > 0.5).tolist()
    [[5, 2, 4]]
    """
    volume = np.asarray(volume)
    dtype = volume.dtype if volume.dtype.kind == "f" else np.float32
    kz, ky, kx = _freq_grid(volume.shape)
    dz, dy, dx = (float(s) for s in shift)
    phase = np.exp(-2j * np.pi * (kz * dz + ky * dy + kx * dx))
    F = sfft.rfftn(volume, workers=WORKERS)
    return sfft.irfftn(F * phase, s=volume.shape, workers=WORKERS).astype(dtype, copy=False)


def bin_volume(volume, factor: int) -> np.ndarray:
    """Downsample by averaging ``factor**3`` blocks (voxel size grows by ``factor``).

    Edges that do not fill a whole block are dropped. Averaging keeps the
    density scale. A position ``p`` in the binned volume is ``p * factor +
    (factor - 1) / 2`` in the original.

    Examples
    --------
    >>> bin_volume(np.ones((5, 4, 4)), 2).shape
    (2, 2, 2)
    """
    volume = np.asarray(volume)
    f = int(factor)
    if f < 1:
        raise ValueError(f"factor must be a positive integer; got {factor}.")
    nz, ny, nx = (s // f for s in volume.shape)
    v = volume[: nz * f, : ny * f, : nx * f].reshape(nz, f, ny, f, nx, f)
    return v.mean(axis=(1, 3, 5), dtype=np.float64).astype(
        volume.dtype if volume.dtype.kind == "f" else np.float32
    )


def soft_sphere(shape, radius: float, *, edge: float = 2.0) -> np.ndarray:
    """A spherical mask centred in the box with a raised-cosine edge ``edge`` voxels wide.

    Examples
    --------
    >>> m = soft_sphere((16, 16, 16), 5)
    >>> float(m[8, 8, 8]), float(m[0, 0, 0])
    (1.0, 0.0)
    """
    if np.isscalar(shape):
        shape = (int(shape),) * 3
    c = _centre(shape)
    z, y, x = np.ogrid[: shape[0], : shape[1], : shape[2]]
    r = np.sqrt((z - c[0]) ** 2 + (y - c[1]) ** 2 + (x - c[2]) ** 2)
    if edge <= 0:
        return (r <= radius).astype(np.float32)
    t = np.clip((r - radius) / edge, 0, 1)
    return (0.5 + 0.5 * np.cos(np.pi * t)).astype(np.float32)


def subtract_radial_average(volume) -> np.ndarray:
    """The volume minus its spherical average about the box centre.

    What is left is the part of the density that is *not* a centred,
    spherically symmetric blob: its shape. Comparing these residuals tells
    whether two maps share a specific shape rather than just size and centring.

    Examples
    --------
    >>> z, y, x = np.indices((9, 9, 9)) - 4
    >>> ball = np.exp(-(z**2 + y**2 + x**2) / 8.0)
    >>> bool(np.abs(subtract_radial_average(ball)).max() < 0.1)
    True
    """
    v = np.asarray(volume, dtype=np.float64)
    grids = np.indices(v.shape) - _centre(v.shape).reshape(-1, *([1] * v.ndim))
    r = np.sqrt((grids**2).sum(axis=0)).ravel()
    i = np.floor(r).astype(int)
    w = r - i  # linear binning: each voxel counts for the two shells around its radius
    num = np.bincount(i, v.ravel() * (1 - w)) + np.bincount(i + 1, v.ravel() * w)[: i.max() + 1]
    den = np.bincount(i, 1 - w) + np.bincount(i + 1, w)[: i.max() + 1]
    profile = num / np.maximum(den, 1e-12)
    return v - np.interp(r, np.arange(len(profile)), profile).reshape(v.shape)


def resample(
    volume, *, voxel_size: float, new_voxel_size: float, box: int | None = None, order: int = 3
) -> np.ndarray:
    """Resample a volume to another voxel size, about its centre, into a cubic box.

    The centre voxel ``n // 2`` of the input lands on the centre voxel
    ``box // 2`` of the output, so a map centred in its box stays centred.
    Interpolation by a spline of ``order`` (:func:`scipy.ndimage.affine_transform`);
    the output is padded with 0 or cropped to ``box``. Densities are
    interpolated, not rescaled.

    Parameters
    ----------
    volume : ndarray (z, y, x)
    voxel_size, new_voxel_size : float
        Angstrom per voxel, before and after.
    box : int, optional
        Edge of the output box; default: the input's physical size in the new
        voxels, rounded.
    order : int
        Spline order (1 trilinear, 3 cubic).

    Returns
    -------
    ndarray of float32 (box, box, box)

    Examples
    --------
    >>> from emcourse.simulate import phantom_map
    >>> coarse = phantom_map(box=20, voxel_size=11.4, diameter=137.0)
    >>> fine = resample(coarse, voxel_size=11.4, new_voxel_size=10.0, box=32)
    >>> truth = phantom_map(box=32, voxel_size=10.0, diameter=137.0)
    >>> fine.shape, bool(np.corrcoef(fine.ravel(), truth.ravel())[0, 1] > 0.98)
    ((32, 32, 32), True)
    """
    volume = np.asarray(volume, dtype=np.float32)
    if volume.ndim != 3 or voxel_size <= 0 or new_voxel_size <= 0:
        raise ValueError(
            f"resample needs a 3D volume and positive voxel sizes in angstrom; got shape "
            f"{volume.shape}, {voxel_size} and {new_voxel_size}."
        )
    scale = float(new_voxel_size) / float(voxel_size)
    if box is None:
        box = int(round(max(volume.shape) / scale))
    out_c = np.full(3, box // 2, dtype=np.float64)
    offset = _centre(volume.shape) - scale * out_c
    return ndimage.affine_transform(
        volume,
        np.eye(3) * scale,
        offset=offset,
        output_shape=(box,) * 3,
        order=order,
        mode="constant",
    )


def lowpass(volume, resolution_A: float, *, voxel_size: float, edge: float = 0.1) -> np.ndarray:
    """Low-pass filter to ``resolution_A`` angstrom with a soft (raised-cosine) edge.

    Frequencies below ``(1 - edge) / resolution`` pass unchanged, above
    ``(1 + edge) / resolution`` are removed. Intensities are not rescaled.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> noise = rng.normal(size=(16, 16, 16))
    >>> bool(lowpass(noise, 40.0, voxel_size=10.0).std() < 0.3 * noise.std())
    True
    """
    volume = np.asarray(volume)
    dtype = volume.dtype if volume.dtype.kind == "f" else np.float32
    if resolution_A <= 0 or voxel_size <= 0:
        raise ValueError(
            f"resolution and voxel_size must be positive angstrom values; "
            f"got {resolution_A} and {voxel_size}."
        )
    k = _radial_frequency(volume.shape, rfft=True) / voxel_size
    filt = _cosine_edge(k, 1.0 / resolution_A, edge)
    F = sfft.rfftn(volume, workers=WORKERS)
    return sfft.irfftn(F * filt, s=volume.shape, workers=WORKERS).astype(dtype, copy=False)


def _radial_frequency(shape, rfft=True):
    kz, ky, kx = _freq_grid(shape, rfft=rfft)
    return np.sqrt(kz**2 + ky**2 + kx**2)


def _cosine_edge(k, cutoff, edge=0.1):
    lo, hi = cutoff * (1 - edge), cutoff * (1 + edge)
    t = np.clip((k - lo) / max(hi - lo, 1e-12), 0, 1)
    return (0.5 + 0.5 * np.cos(np.pi * t)).astype(np.float32)


# --------------------------------------------------------------------------- missing wedge


def _parse_tilt_range(tilt_range):
    lo, hi = (float(t) for t in tilt_range)
    if not -90 <= lo < hi <= 90:
        raise ValueError(
            f"tilt_range must be (min_tilt, max_tilt) in degrees with -90 <= min < max <= 90; "
            f"got {tilt_range}."
        )
    return lo, hi


def wedge_mask(shape, *, tilt_range=(-60.0, 60.0), rfft: bool = True, rotation=None):
    """Fourier-space mask of the frequencies a tilt series samples (1) or misses (0).

    A projection at tilt ``theta`` (specimen rotated about y, see
    :func:`emcourse.simulate.project`) samples the central plane of the
    specimen's Fourier transform that contains ``k_y`` and the direction
    ``(k_x, k_z) = (cos theta, sin theta)``. The union over the tilt range is
    everything except a wedge around ``k_z``: the missing wedge.

    Parameters
    ----------
    shape : tuple of 3 int
        Real-space shape ``(z, y, x)``.
    tilt_range : (float, float)
        Lowest and highest tilt in degrees.
    rfft : bool
        True: the half-spectrum layout of :func:`scipy.fft.rfftn`, shape
        ``(z, y, x // 2 + 1)``. False: the full :func:`scipy.fft.fftn` layout.
        Zero frequency first either way; use ``np.fft.fftshift`` to display.
    rotation : ndarray (3, 3), optional
        Pose ``R`` of a particle: return the wedge as seen after the particle
        has been rotated back into the reference frame (``k -> R k``).

    Returns
    -------
    ndarray of float32

    Examples
    --------
    >>> w = wedge_mask((16, 16, 16), tilt_range=(-60, 60), rfft=False)
    >>> float(w[0, 0, 4]), float(w[4, 0, 0])   # k_x sampled, k_z missing
    (1.0, 0.0)
    >>> round(float(w.mean()), 2)              # +-60 deg samples about 2/3 of Fourier space
    0.71
    """
    lo, hi = _parse_tilt_range(tilt_range)
    kz, ky, kx = _freq_grid(tuple(shape), rfft=rfft)
    kz, ky, kx = np.broadcast_arrays(kz, ky, kx)
    if rotation is not None:
        M = _array_matrix(rotation)
        kz, ky, kx = (M[i, 0] * kz + M[i, 1] * ky + M[i, 2] * kx for i in range(3))
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = np.rad2deg(np.arctan(kz / kx))  # in [-90, 90], NaN at kx = kz = 0
    alpha = np.where(kx == 0, 90.0, alpha)
    inside = (alpha >= lo - 1e-9) & (alpha <= hi + 1e-9)
    if hi >= 90 or lo <= -90:
        inside |= np.abs(alpha) >= 90 - 1e-9
    on_axis = np.hypot(kx, kz) < 1e-9  # the k_y axis is on every tilt's plane
    return (inside | on_axis).astype(np.float32)


# --------------------------------------------------------------------------- template matching


def _reflected_indices(box_shape, big_shape):
    """Indices that place a box point-reflected about voxel 0 of a periodic big array.

    ``big[idx] = box`` puts box voxel ``m`` at ``(b // 2 - m) mod n``, so that a
    convolution with ``big`` is a correlation with ``box`` whose peak sits at the
    position of the box centre.
    """
    return np.ix_(*[(b // 2 - np.arange(b)) % n for b, n in zip(box_shape, big_shape, strict=True)])


def template_match(
    tomogram,
    template,
    *,
    angles,
    mask=None,
    wedge=None,
    lowpass_A=None,
    voxel_size=None,
):
    """Missing-wedge-aware template matching with the local normalised cross-correlation.

    For each rotation ``R`` in ``angles`` the template is rotated (active, so a
    particle with pose ``R`` matches it), multiplied by the missing wedge in
    Fourier space, normalised to zero mean and unit variance under the mask,
    and correlated with the tomogram by FFT. The score at each voxel is the
    Pearson correlation between the rotated template and the tomogram inside
    the mask centred there (Roseman's FLCF). The mask must be spherical (it
    is not rotated), so the local standard deviation of the tomogram is
    computed once. The tomogram's FFT is computed once and reused.

    Parameters
    ----------
    tomogram : ndarray (z, y, x)
    template : ndarray (b, b, b)
        Reference density centred in its box, same voxel size as the tomogram.
    angles : ndarray (n, 3, 3)
        Rotation matrices to try (e.g. ``angular_sampling(crowther_step(...))``).
    mask : ndarray (b, b, b), optional
        Spherical mask; default a soft sphere of radius ``0.45 * b``.
    wedge : (float, float), optional
        Tilt range in degrees; applies :func:`wedge_mask` to each rotated template.
    lowpass_A, voxel_size : float, optional
        Low-pass the template to this resolution (angstrom) first.

    Returns
    -------
    scores : ndarray of float32, shape of ``tomogram``
        Best correlation over all rotations at each voxel (-1..1).
    best_index : ndarray of int32
        Index into ``angles`` of the rotation that gave it.

    Examples
    --------
    >>> from emcourse.simulate import phantom_map
    >>> tpl = phantom_map(box=16, voxel_size=20.0)
    >>> tomo = np.zeros((24, 32, 32), np.float32); tomo[12:28, 8:24, 4:20] = tpl[:12]
    >>> tomo += 0.1 * np.random.default_rng(0).normal(size=tomo.shape)
    >>> scores, best = template_match(tomo, tpl, angles=np.eye(3)[None])
    >>> np.unravel_index(np.argmax(scores), scores.shape)[1:]
    (np.int64(16), np.int64(12))
    """
    tomogram = np.asarray(tomogram, dtype=np.float32)
    template = np.asarray(template, dtype=np.float32)
    angles = np.asarray(angles, dtype=np.float64).reshape(-1, 3, 3)
    if template.ndim != 3 or tomogram.ndim != 3:
        raise ValueError(
            "tomogram and template must be 3D (z, y, x); "
            f"got {tomogram.shape} and {template.shape}."
        )
    if any(b > n for b, n in zip(template.shape, tomogram.shape, strict=True)):
        raise ValueError(
            f"template {template.shape} is larger than the tomogram {tomogram.shape}; "
            "crop the template or use a bigger tomogram."
        )
    bshape = template.shape
    if mask is None:
        mask = soft_sphere(bshape, 0.45 * min(bshape), edge=2.0)
    mask = np.asarray(mask, dtype=np.float32)
    if lowpass_A is not None:
        if voxel_size is None:
            raise ValueError("lowpass_A needs voxel_size (angstrom per voxel).")
        template = lowpass(template, lowpass_A, voxel_size=voxel_size)
    shape = tomogram.shape
    idx = _reflected_indices(bshape, shape)

    # local mean and standard deviation of the tomogram under the (symmetric) mask
    n_mask = float(mask.sum())
    mbig = np.zeros(shape, np.float32)
    mbig[idx] = mask
    Fm = sfft.rfftn(mbig, workers=WORKERS)
    Ft = sfft.rfftn(tomogram, workers=WORKERS)
    mean = sfft.irfftn(Ft * Fm, s=shape, workers=WORKERS) / n_mask
    mean_sq = sfft.irfftn(sfft.rfftn(tomogram * tomogram, workers=WORKERS) * Fm, s=shape)
    mean_sq /= n_mask
    var = mean_sq - mean * mean
    del mean, mean_sq, Fm
    std = np.sqrt(np.maximum(var, 1e-12 * max(float(var.max()), 1e-30)))
    del var

    wedge_small = None if wedge is None else wedge_mask(bshape, tilt_range=wedge)
    buf = np.zeros(shape, np.float32)
    scores = np.full(shape, -np.inf, np.float32)
    best = np.zeros(shape, np.int32)
    better = np.empty(shape, bool)
    chunk = 64
    for start in range(0, len(angles), chunk):
        # rotate, wedge-filter and normalise a batch of templates (batched small FFTs)
        ts = np.stack([rotate_volume(template, R, order=1) for R in angles[start : start + chunk]])
        if wedge_small is not None:
            ts = sfft.irfftn(
                sfft.rfftn(ts, axes=(1, 2, 3), workers=WORKERS) * wedge_small,
                s=bshape,
                axes=(1, 2, 3),
                workers=WORKERS,
            )
        ts *= mask
        ts -= mask * (ts.sum(axis=(1, 2, 3), keepdims=True) / n_mask)
        ts /= np.sqrt((ts * ts).sum(axis=(1, 2, 3), keepdims=True) / n_mask) * n_mask + 1e-30
        for j, t in enumerate(ts):
            i = start + j
            _correlate_into(t, idx, buf, Ft, shape, scores, best, better, i)
    scores /= std
    return scores, best


def _correlate_into(t, idx, buf, Ft, shape, scores, best, better, i):
    """One rotation of template matching: correlate and keep the running maximum."""
    # correlation = convolution with the point-reflected template, centred on voxel 0
    buf[idx] = t
    F = sfft.rfftn(buf, workers=WORKERS)
    F *= Ft
    cc = sfft.irfftn(F, s=shape, workers=WORKERS, overwrite_x=True)
    np.greater(cc, scores, out=better)
    np.copyto(best, i, where=better)
    np.maximum(scores, cc, out=scores)


def find_peaks(scores, *, min_distance: float, threshold=None, n=None, exclude_border=0):
    """Peaks of a score map, strongest first, no two closer than ``min_distance`` voxels.

    Greedy non-maximum suppression: take the highest remaining local maximum,
    discard every candidate within ``min_distance`` of it, repeat.

    Parameters
    ----------
    scores : ndarray (z, y, x)
    min_distance : float
        Minimum distance between peaks in voxels (about a particle diameter).
    threshold : float, optional
        Keep peaks with a score above this (default: above the map's minimum).
    n : int, optional
        Keep at most this many peaks.
    exclude_border : int
        Ignore peaks closer than this to any face of the volume.

    Returns
    -------
    ndarray of int, shape (m, 3)
        Peak positions ``(z, y, x)``, strongest first.

    Examples
    --------
    >>> s = np.zeros((10, 10, 10)); s[2, 2, 2] = 3; s[2, 2, 4] = 2; s[7, 7, 7] = 1
    >>> find_peaks(s, min_distance=3).tolist()
    [[2, 2, 2], [7, 7, 7]]
    """
    scores = np.asarray(scores)
    size = 2 * int(np.ceil(min_distance)) + 1
    local_max = scores == ndimage.maximum_filter(scores, size=size, mode="nearest")
    local_max &= scores > (scores.min() if threshold is None else threshold)
    if exclude_border:
        b = int(exclude_border)
        inner = np.zeros_like(local_max)
        inner[b : -b or None, b : -b or None, b : -b or None] = True
        local_max &= inner
    cand = np.argwhere(local_max)
    cand = cand[np.argsort(-scores[tuple(cand.T)], kind="stable")]
    kept = []
    for p in cand:
        if kept and np.min(np.sum((np.asarray(kept) - p) ** 2, axis=1)) < min_distance**2:
            continue
        kept.append(p)
        if n is not None and len(kept) >= n:
            break
    return np.asarray(kept, dtype=np.int64).reshape(-1, 3)


def precision_recall(found, truth, *, tolerance: float):
    """Precision and recall of picked positions against the true ones.

    Each true particle can be matched by at most one pick, closest pairs first;
    a pick within ``tolerance`` voxels of an unmatched true position is a true
    positive.

    Returns
    -------
    precision, recall : float

    Examples
    --------
    >>> precision_recall([[0, 0, 0], [10, 10, 10]], [[0, 0, 1], [5, 5, 5]], tolerance=2)
    (0.5, 0.5)
    """
    found = np.asarray(found, dtype=np.float64).reshape(-1, 3)
    truth = np.asarray(truth, dtype=np.float64).reshape(-1, 3)
    if len(found) == 0 or len(truth) == 0:
        return (0.0 if len(found) else 1.0), (0.0 if len(truth) else 1.0)
    d = np.linalg.norm(found[:, None, :] - truth[None, :, :], axis=-1)
    pairs = np.argwhere(d <= tolerance)
    pairs = pairs[np.argsort(d[tuple(pairs.T)], kind="stable")]
    used_f, used_t = set(), set()
    for i, j in pairs:
        if i not in used_f and j not in used_t:
            used_f.add(int(i))
            used_t.add(int(j))
    tp = len(used_f)
    return tp / len(found), tp / len(truth)


# --------------------------------------------------------------------------- subtomograms


def extract_subtomograms(tomogram, positions, *, box: int) -> np.ndarray:
    """Cut cubic boxes centred on the rounded positions (voxel ``box // 2`` = position).

    Parts of a box outside the tomogram are filled with 0.

    Returns
    -------
    ndarray of float32, shape (n, box, box, box)

    Examples
    --------
    >>> tomo = np.arange(1000, dtype=np.float32).reshape(10, 10, 10)
    >>> sub = extract_subtomograms(tomo, [[5, 5, 5]], box=4)
    >>> bool(sub[0, 2, 2, 2] == tomo[5, 5, 5])
    True
    """
    tomogram = np.asarray(tomogram)
    pos = np.rint(np.asarray(positions, dtype=np.float64).reshape(-1, 3)).astype(int)
    out = np.zeros((len(pos), box, box, box), np.float32)
    for i, p in enumerate(pos):
        lo = p - box // 2
        src, dst = [], []
        for ax in range(3):
            a, b = max(lo[ax], 0), min(lo[ax] + box, tomogram.shape[ax])
            if a >= b:
                break
            src.append(slice(a, b))
            dst.append(slice(a - lo[ax], b - lo[ax]))
        else:
            out[(i, *dst)] = tomogram[tuple(src)]
    return out


@dataclass(frozen=True)
class Poses:
    """Poses of particles in their subtomograms.

    ``subtomo_i(r) ~ reference(rotations[i].T @ (r - shifts[i]))`` (module conventions).

    Attributes
    ----------
    rotations : ndarray (n, 3, 3)
        RELION rotation matrices, ``euler_to_matrix(eulers)``.
    shifts : ndarray (n, 3)
        ``(dz, dy, dx)`` in voxels from the box centre to the particle centre.
    scores : ndarray (n,)
        Normalised cross-correlation at the pose (missing-wedge compensated).
    """

    rotations: np.ndarray
    shifts: np.ndarray
    scores: np.ndarray

    @property
    def eulers(self) -> np.ndarray:
        """RELION (rot, tilt, psi) in degrees."""
        return matrix_to_euler(self.rotations)

    def __len__(self) -> int:
        return len(self.rotations)

    def take(self, index) -> Poses:
        """The poses of a subset of particles."""
        return Poses(self.rotations[index], self.shifts[index], self.scores[index])

    @classmethod
    def identity(cls, n: int) -> Poses:
        return cls(np.tile(np.eye(3), (n, 1, 1)), np.zeros((n, 3)), np.zeros(n))


def _hermitian_weights(shape):
    """Multiplicity of each rfft coefficient in the full spectrum."""
    w = np.full(shape[2] // 2 + 1, 2.0, np.float32)
    w[0] = 1
    if shape[2] % 2 == 0:
        w[-1] = 1
    return w


def _shift_window(shape, max_shift):
    """Flat indices (in a wrapped correlation map) and offsets of shifts within max_shift."""
    r = int(np.floor(max_shift))
    g = np.arange(-r, r + 1)
    dz, dy, dx = np.meshgrid(g, g, g, indexing="ij")
    keep = dz**2 + dy**2 + dx**2 <= max_shift**2 + 1e-9
    offs = np.stack([dz[keep], dy[keep], dx[keep]], axis=-1)
    flat = np.ravel_multi_index(tuple((offs % np.array(shape)).T), shape)
    return flat, offs


def _parabolic(cm, m, c, p):
    """Sub-voxel offset of a maximum from three samples."""
    den = cm - 2 * c + p
    return 0.0 if den >= 0 else float(np.clip(0.5 * (cm - p) / den, -0.5, 0.5))


def _wedge_for(shape, wedge, R=None):
    if wedge is None:
        return np.ones((shape[0], shape[1], shape[2] // 2 + 1), np.float32)
    return wedge_mask(shape, tilt_range=wedge, rfft=True, rotation=R)


def _band(shape, voxel_size, resolution_A):
    """rfft-layout low-pass filter (1 everywhere if no resolution given)."""
    if resolution_A is None:
        return np.ones((shape[0], shape[1], shape[2] // 2 + 1), np.float32)
    if voxel_size is None:
        raise ValueError("a resolution limit needs voxel_size (angstrom per voxel).")
    k = _radial_frequency(shape, rfft=True) / voxel_size
    return _cosine_edge(k, 1.0 / resolution_A, 0.1)


def align(
    subtomos,
    reference,
    *,
    angles,
    max_shift: float,
    wedge=None,
    poses: Poses | None = None,
    mask=None,
    resolution_A=None,
    voxel_size=None,
    chunk: int = 64,
) -> Poses:
    """Find each particle's rotation and shift against a reference, compensating the missing wedge.

    Each subtomogram is first brought into the reference frame with its
    current pose (one interpolation), then compared with the reference
    rotated by every rotation in ``angles`` and shifted by up to
    ``max_shift`` voxels, by FFT cross-correlation. The reference is rotated
    and Fourier transformed once for all particles. Missing-wedge
    compensation: the score is the cross-correlation divided by the norm of
    the rotated reference *inside the particle's wedge*, so rotations that
    hide the reference's strong features in the missing wedge get no bonus
    for matching less of the particle.

    Parameters
    ----------
    subtomos : ndarray (n, b, b, b)
    reference : ndarray (b, b, b)
    angles : ndarray (m, 3, 3)
        Rotations to try, *relative to each particle's current pose*: the new
        rotation is ``poses.rotations[i] @ angles[k]``. With ``poses=None``
        this is a global search (use :func:`angular_sampling`); for a local
        refinement use :func:`local_rotations`.
    max_shift : float
        Largest shift searched, in voxels, from the current shift.
    wedge : (float, float), optional
        Tilt range of the tomogram the particles came from.
    poses : Poses, optional
        Current poses (default: identity rotation, zero shift).
    mask : ndarray (b, b, b), optional
        Real-space mask applied to the reference (default soft sphere 0.45 b).
    resolution_A, voxel_size : float, optional
        Only compare frequencies up to this resolution (angstrom).
    chunk : int
        Rotations per batched inverse FFT (memory: ``chunk * b**3 * 12`` bytes).

    Returns
    -------
    Poses
        New rotations, shifts (sub-voxel, by parabolic interpolation) and
        scores (missing-wedge normalised cross-correlation).

    Examples
    --------
    >>> from emcourse.simulate import phantom_map
    >>> ref = phantom_map(box=24, voxel_size=12.0)
    >>> R = euler_to_matrix([30.0, 40.0, 50.0])
    >>> particle = rotate_volume(ref, R, shift=(1.0, -2.0, 0.0))
    >>> angles = np.concatenate([np.eye(3)[None], R[None], euler_to_matrix([[0, 40, 0]])])
    >>> p = align(particle[None], ref, angles=angles, max_shift=3)
    >>> bool(np.allclose(p.rotations[0], R)), np.round(p.shifts[0], 1).tolist()
    (True, [1.0, -2.0, 0.0])
    """
    subtomos = np.asarray(subtomos, dtype=np.float32)
    if subtomos.ndim == 3:
        subtomos = subtomos[None]
    reference = np.asarray(reference, dtype=np.float32)
    shape = reference.shape
    if subtomos.shape[1:] != shape:
        raise ValueError(
            f"subtomograms {subtomos.shape[1:]} and reference {shape} must have the same box; "
            "extract with box=reference.shape[0]."
        )
    angles = np.asarray(angles, dtype=np.float64).reshape(-1, 3, 3)
    n, m = len(subtomos), len(angles)
    if poses is None:
        poses = Poses.identity(n)
    if mask is None:
        mask = soft_sphere(shape, 0.45 * min(shape), edge=3.0)
    band = _band(shape, voxel_size, resolution_A)
    herm = _hermitian_weights(shape)

    # rotated, masked, band-limited references: conj FFT and power spectrum, computed once
    ref = reference * mask
    half = shape[2] // 2 + 1
    Fref = np.empty((m, shape[0], shape[1], half), np.complex64)
    for k, R in enumerate(angles):
        Fref[k] = sfft.rfftn(rotate_volume(ref, R, order=1), workers=WORKERS)
    Fref *= band
    # remove the mean (zero frequency) so the score is a correlation coefficient
    Fref[:, 0, 0, 0] = 0
    power = (np.abs(Fref) ** 2).reshape(m, -1)  # (m, nfreq); Hermitian weights below
    np.conjugate(Fref, out=Fref)

    flat, offs = _shift_window(shape, max_shift)
    rotations = np.empty((n, 3, 3))
    shifts = np.empty((n, 3))
    scores = np.empty(n)
    for i in range(n):
        R0, t0 = poses.rotations[i], np.asarray(poses.shifts[i], dtype=np.float64)
        s = _unrotate(subtomos[i], R0, t0, order=1)
        w = _wedge_for(shape, wedge, R0)
        G = sfft.rfftn(s, workers=WORKERS) * (w * band)
        G[0, 0, 0] = 0
        g_norm = np.sqrt(float(np.sum(np.abs(G) ** 2 * herm))) + 1e-30
        r_norm = np.sqrt(power @ (w * herm).ravel()) + 1e-30  # reference norm inside the wedge
        n_total = float(np.prod(shape))
        best_val, best_k, best_j = -np.inf, 0, 0
        for start in range(0, m, chunk):
            stop = min(start + chunk, m)
            cc = sfft.irfftn(Fref[start:stop] * G, s=shape, axes=(1, 2, 3), workers=WORKERS)
            vals = cc.reshape(stop - start, -1)[:, flat] / r_norm[start:stop, None]
            j = int(np.argmax(vals))
            kk, jj = divmod(j, len(flat))
            if vals[kk, jj] > best_val:
                best_val, best_k, best_j = float(vals[kk, jj]), start + kk, jj
        # sub-voxel refinement of the shift on the best rotation's correlation map
        cc = sfft.irfftn(Fref[best_k] * G, s=shape, workers=WORKERS)
        off = offs[best_j]
        sub = np.empty(3)
        for ax in range(3):
            e = np.zeros(3, int)
            e[ax] = 1
            vm, v0, vp = (cc[tuple((off + d * e) % shape)] for d in (-1, 0, 1))
            sub[ax] = off[ax] + _parabolic(vm, -1, v0, vp)
        M0 = _array_matrix(R0)
        rotations[i] = R0 @ angles[best_k]
        shifts[i] = t0 + M0 @ sub
        scores[i] = best_val * n_total / g_norm
    return Poses(rotations, shifts, scores)


def average(subtomos, poses: Poses, *, wedge=None, order: int = 1, min_weight=None):
    """Average subtomograms in the reference frame with missing-wedge weight normalisation.

    Each particle is rotated and shifted back with its pose; the Fourier
    transforms are summed, and so are the particles' (rotated) wedge masks. The
    average is the summed transform divided, frequency by frequency, by the
    number of particles that sampled that frequency, so frequencies in many
    missing wedges are not attenuated. Frequencies sampled by fewer than
    ``min_weight`` particles (default 10 % of them, at least 1) are divided by
    ``min_weight`` instead, to avoid amplifying noise.

    Returns
    -------
    ndarray of float32 (b, b, b)

    Examples
    --------
    >>> from emcourse.simulate import phantom_map
    >>> ref = phantom_map(box=16, voxel_size=15.0)
    >>> R = random_rotations(3, seed=0)
    >>> subs = np.stack([rotate_volume(ref, r, order=3) for r in R])
    >>> avg = average(subs, Poses(R, np.zeros((3, 3)), np.zeros(3)))
    >>> bool(np.corrcoef(avg.ravel(), ref.ravel())[0, 1] > 0.95)
    True
    """
    subtomos = np.asarray(subtomos, dtype=np.float32)
    shape = subtomos.shape[1:]
    n = len(subtomos)
    if len(poses) != n:
        raise ValueError(f"{n} subtomograms but {len(poses)} poses; pass one pose per particle.")
    F = np.zeros((shape[0], shape[1], shape[2] // 2 + 1), np.complex128)
    W = np.zeros(F.shape, np.float64)
    for i in range(n):
        R, t = poses.rotations[i], poses.shifts[i]
        s = _unrotate(subtomos[i], R, t, order=order)
        w = _wedge_for(shape, wedge, R)
        F += sfft.rfftn(s, workers=WORKERS) * w
        W += w
    if min_weight is None:
        min_weight = max(1.0, 0.1 * n)
    F /= np.maximum(W, min_weight)
    return sfft.irfftn(F, s=shape, workers=WORKERS).astype(np.float32)


def half_sets(n: int, *, seed=0):
    """Split particle indices 0..n-1 at random into two gold-standard halves.

    Examples
    --------
    >>> a, b = half_sets(7)
    >>> sorted(np.concatenate([a, b]).tolist()) == list(range(7)), abs(len(a) - len(b)) <= 1
    (True, True)
    """
    perm = np.random.default_rng(seed).permutation(n)
    return np.sort(perm[: (n + 1) // 2]), np.sort(perm[(n + 1) // 2 :])


@dataclass(frozen=True)
class RefineResult:
    """What :func:`refine` returns.

    Attributes
    ----------
    average : ndarray (b, b, b)
        Final average of all particles.
    half_maps : tuple of 2 ndarray
        Final averages of the two independently refined halves.
    poses : Poses
        Final poses of all particles (in the input order).
    halves : tuple of 2 index arrays
        Which particles went into each half.
    history : list of ndarray
        The full average after each iteration (the first is from the input poses).
    fsc_history : list of (freq, fsc)
        Gold-standard FSC between the half maps after each iteration.
    pose_history : list of Poses
        The poses of all particles after each iteration (the first are the input
        poses), in the input order; to follow pose errors over the iterations.
    """

    average: np.ndarray
    half_maps: tuple
    poses: Poses
    halves: tuple
    history: list
    fsc_history: list
    pose_history: list = field(default_factory=list)


def refine(
    subtomos,
    reference,
    *,
    poses: Poses | None = None,
    wedge=None,
    voxel_size: float,
    iterations: int = 3,
    start_step: float = 20.0,
    max_shift: float = 3.0,
    initial_resolution_A: float | None = None,
    mask=None,
    seed=0,
) -> RefineResult:
    """Gold-standard iterative refinement: align, average, measure, repeat.

    The particles are split into two halves (:func:`half_sets`). Both halves
    start from the same ``reference`` (low-passed to ``initial_resolution_A``
    if given) and are then refined independently: each iteration aligns every
    particle to its own half's current average, with a local search around
    its current pose whose angular range and step halve every iteration
    (``start_step``, ``start_step / 2``, ...). The alignment compares
    frequencies only up to the resolution the halves' FSC supports
    (0.143 criterion), so noise is not fitted.

    Returns
    -------
    RefineResult
    """
    subtomos = np.asarray(subtomos, dtype=np.float32)
    n = len(subtomos)
    if n < 2:
        raise ValueError(f"gold-standard refinement needs at least 2 particles; got {n}.")
    if poses is None:
        poses = Poses.identity(n)
    ref0 = np.asarray(reference, dtype=np.float32)
    if initial_resolution_A is not None:
        ref0 = lowpass(ref0, initial_resolution_A, voxel_size=voxel_size)
    halves = half_sets(n, seed=seed)
    half_poses = [poses.take(h) for h in halves]
    half_maps = [
        average(subtomos[h], p, wedge=wedge) for h, p in zip(halves, half_poses, strict=True)
    ]
    refs = [ref0, ref0]
    history, fsc_history = [], []

    def _full(hp):
        rot = np.empty((n, 3, 3))
        sh = np.empty((n, 3))
        sc = np.empty(n)
        for h, p in zip(halves, hp, strict=True):
            rot[h], sh[h], sc[h] = p.rotations, p.shifts, p.scores
        return Poses(rot, sh, sc)

    pose_history = [_full(half_poses)]
    history.append(average(subtomos, pose_history[0], wedge=wedge))
    fsc_history.append(fsc(half_maps[0], half_maps[1], voxel_size=voxel_size))
    resolution = initial_resolution_A
    step = float(start_step)
    for _ in range(iterations):
        angles = local_rotations(step, step / 2)
        new = []
        for h, p, r in zip(halves, half_poses, refs, strict=True):
            new.append(
                align(
                    subtomos[h],
                    r,
                    angles=angles,
                    max_shift=max_shift,
                    wedge=wedge,
                    poses=p,
                    mask=mask,
                    resolution_A=resolution,
                    voxel_size=voxel_size,
                )
            )
        half_poses = new
        half_maps = [
            average(subtomos[h], p, wedge=wedge) for h, p in zip(halves, half_poses, strict=True)
        ]
        freq, curve = fsc(half_maps[0], half_maps[1], voxel_size=voxel_size)
        fsc_history.append((freq, curve))
        resolution = resolution_at(freq, curve, threshold=0.143)
        refs = half_maps
        pose_history.append(_full(half_poses))
        history.append(average(subtomos, pose_history[-1], wedge=wedge))
        step /= 2
    return RefineResult(
        average=history[-1],
        half_maps=tuple(half_maps),
        poses=pose_history[-1],
        halves=halves,
        history=history,
        fsc_history=fsc_history,
        pose_history=pose_history,
    )


# --------------------------------------------------------------------------- resolution


def fsc(a, b, *, voxel_size: float, mask=None):
    """Fourier shell correlation between two volumes.

    Parameters
    ----------
    a, b : ndarray (b, b, b)
    voxel_size : float
        Angstrom per voxel.
    mask : ndarray, optional
        Real-space mask applied to both volumes first.

    Returns
    -------
    frequency : ndarray
        Shell centres in 1/angstrom, from 0 to Nyquist (``1 / (2 * voxel_size)``).
    fsc : ndarray
        Correlation per shell (1 for identical volumes, about 0 for independent noise).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> v = rng.normal(size=(16, 16, 16))
    >>> f, c = fsc(v, v, voxel_size=10.0)
    >>> bool(np.allclose(c, 1)), float(f[-1])
    (True, 0.05)
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 3:
        raise ValueError(
            f"fsc needs two 3D volumes of the same shape; got {a.shape} and {b.shape}."
        )
    if mask is not None:
        a, b = a * mask, b * mask
    shape = a.shape
    Fa = sfft.rfftn(a, workers=WORKERS)
    Fb = sfft.rfftn(b, workers=WORKERS)
    herm = _hermitian_weights(shape)
    n = min(shape)
    shell = np.rint(_radial_frequency(shape, rfft=True) * n).astype(int)
    n_shells = n // 2 + 1
    valid = shell < n_shells
    sh = shell[valid]
    wgt = np.broadcast_to(herm, shell.shape)[valid]
    num = np.bincount(sh, (wgt * (Fa * np.conj(Fb)).real[valid]), minlength=n_shells)
    da = np.bincount(sh, wgt * (np.abs(Fa) ** 2)[valid], minlength=n_shells)
    db = np.bincount(sh, wgt * (np.abs(Fb) ** 2)[valid], minlength=n_shells)
    with np.errstate(invalid="ignore", divide="ignore"):
        curve = num / np.sqrt(da * db)
    curve = np.nan_to_num(curve, nan=0.0)
    freq = np.arange(n_shells) / (n * voxel_size)
    return freq, curve


def resolution_at(frequency, curve, threshold: float = 0.143) -> float:
    """Resolution in angstrom where an FSC curve first drops below ``threshold``.

    Linear interpolation between the two shells around the crossing (the zero
    shell is skipped). If the curve never drops below the threshold, the
    Nyquist resolution ``1 / frequency[-1]`` is returned: the data support at
    least that.

    Examples
    --------
    >>> f = np.array([0.0, 0.01, 0.02, 0.03, 0.04, 0.05])
    >>> c = np.array([1.0, 0.9, 0.6, 0.3, 0.1, 0.0])
    >>> round(resolution_at(f, c, 0.5), 2)
    42.86
    """
    f = np.asarray(frequency, dtype=np.float64)
    c = np.asarray(curve, dtype=np.float64)
    below = np.nonzero(c[1:] < threshold)[0]
    if len(below) == 0:
        return float(1.0 / f[-1])
    i = below[0] + 1
    f0, f1, c0, c1 = f[i - 1], f[i], c[i - 1], c[i]
    fx = f1 if c0 == c1 else f0 + (threshold - c0) * (f1 - f0) / (c1 - c0)
    return float(1.0 / fx) if fx > 0 else float("inf")


# --------------------------------------------------------------------------- reference bias


def einstein_from_noise(reference, *, n: int = 50, angles=None, max_shift: float = 3.0, seed=0):
    """Align pure noise to a reference and average it: the reference appears anyway.

    A demonstration of reference bias (Henderson 2013, "Avoiding the pitfalls
    of single particle cryo-electron microscopy: Einstein from noise"): every
    noise volume has *some* rotation and shift that correlates slightly with
    the reference; averaging n of them in those poses adds the slight
    correlations up.

    Returns
    -------
    aligned_average : ndarray
        Average of the noise volumes in their best poses.
    correlation : float
        Pearson correlation of that average with the reference.
    unaligned_correlation : float
        The same for the plain average of the noise (about 0).

    Examples
    --------
    >>> from emcourse.simulate import phantom_map
    >>> ref = phantom_map(box=16, voxel_size=15.0)
    >>> avg, cc, cc0 = einstein_from_noise(ref, n=20, angles=angular_sampling(60.0))
    >>> bool(cc > 0.3 > abs(cc0))
    True
    """
    reference = np.asarray(reference, dtype=np.float32)
    rng = np.random.default_rng(seed)
    noise = rng.normal(size=(n, *reference.shape)).astype(np.float32)
    if angles is None:
        angles = angular_sampling(30.0)
    poses = align(noise, reference, angles=angles, max_shift=max_shift)
    avg = average(noise, poses)
    plain = noise.mean(axis=0)
    mask = soft_sphere(reference.shape, 0.45 * min(reference.shape)) > 0.5

    def corr(v):
        return float(np.corrcoef(v[mask], reference[mask])[0, 1])

    return avg, corr(avg), corr(plain)


# --------------------------------------------------------------------------- worked example


def prepare_reference(
    volume, *, voxel_size: float, new_voxel_size: float = 10.0, box: int = 32, radius: float = 12.0
) -> np.ndarray:
    """Bring a deposited map to the tomogram's voxel size and mask it with a soft sphere.

    :func:`resample` into a ``box``-voxel cube, then multiply by
    :func:`soft_sphere` of ``radius`` voxels (edge 3), so a map that fills its
    deposited box leaves room for its neighbours in a simulated tomogram.

    Examples
    --------
    >>> from emcourse.simulate import phantom_map
    >>> ref = prepare_reference(phantom_map(box=20, voxel_size=11.4), voxel_size=11.4)
    >>> ref.shape, bool(ref[0, 0, 0] == 0.0)
    ((32, 32, 32), True)
    """
    ref = resample(volume, voxel_size=voxel_size, new_voxel_size=new_voxel_size, box=box)
    return ref * soft_sphere(box, radius, edge=3)


@dataclass(frozen=True)
class SimulatedAverage:
    """What :func:`average_simulated` returns: the simulation and every stage after it."""

    simulation: object
    centres: np.ndarray
    subtomos: np.ndarray
    global_poses: Poses
    result: RefineResult


def average_simulated(
    reference,
    *,
    voxel_size: float = 10.0,
    shape=(64, 256, 256),
    n_particles: int = 60,
    snr: float = 0.1,
    seed=0,
    search_step: float = 30.0,
    search_resolution_A: float = 40.0,
    iterations: int = 3,
) -> SimulatedAverage:
    """The track's worked example in one call: simulate, extract, search, refine.

    Simulates a tomogram of ``reference`` (:func:`emcourse.simulate.simulate_tomogram`),
    cuts subtomograms at the true centres rounded to whole voxels, finds first
    poses by a global search (``search_step`` degrees) against the reference
    low-passed to ``search_resolution_A``, then runs gold-standard
    :func:`refine` for ``iterations`` starting from the same low-passed map.
    The lesson "Align and average subtomograms" takes these steps one by one.
    """
    from emcourse.simulate import simulate_tomogram

    box = reference.shape[0]
    sim = simulate_tomogram(
        reference, voxel_size=voxel_size, shape=shape, n_particles=n_particles, snr=snr, seed=seed
    )
    centres = np.rint(sim.positions)
    subtomos = extract_subtomograms(sim.tomogram, centres, box=box)
    search_ref = lowpass(reference, search_resolution_A, voxel_size=voxel_size)
    found = align(
        subtomos,
        search_ref,
        angles=angular_sampling(search_step),
        max_shift=3,
        wedge=sim.tilt_range,
    )
    result = refine(
        subtomos,
        reference,
        poses=found,
        wedge=sim.tilt_range,
        voxel_size=voxel_size,
        iterations=iterations,
        start_step=search_step,
        initial_resolution_A=search_resolution_A,
    )
    return SimulatedAverage(sim, centres, subtomos, found, result)
