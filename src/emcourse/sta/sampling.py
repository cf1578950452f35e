"""Sampling and filtering volumes: rotate, shift, bin, resample, low-pass, masks, missing wedge.

Arrays are indexed ``(z, y, x)``; the centre of a box of edge ``n`` is voxel
``n // 2``; Fourier arrays are in :func:`scipy.fft.rfftn`'s layout, zero
frequency first.
"""

from __future__ import annotations

import numpy as np
import scipy.fft as sfft
from scipy import ndimage

from emcourse.sta.rotations import _array_matrix

WORKERS = 2  # threads for scipy.fft: the course machines have two cores


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
    >>> from emcourse.sta import euler_to_matrix
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
    >>> from emcourse.sta import phantom_map
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
    :func:`emcourse.sta.project`) samples the central plane of the
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


def _hermitian_weights(shape):
    """Multiplicity of each rfft coefficient in the full spectrum."""
    w = np.full(shape[2] // 2 + 1, 2.0, np.float32)
    w[0] = 1
    if shape[2] % 2 == 0:
        w[-1] = 1
    return w
