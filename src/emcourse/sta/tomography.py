"""Tomography: tilt schemes, the CTF, projection and weighted back-projection.

How a tilt series is acquired and turned back into a tomogram, and
:func:`elongation` to measure the missing wedge on the result. Pure
NumPy/SciPy: arrays in, arrays out.
"""

from __future__ import annotations

import numpy as np
import scipy.fft as sfft
from scipy import sparse

from emcourse.sta import ctf as _ctf


def tilt_scheme(
    *,
    min_angle: float = -60.0,
    max_angle: float = 60.0,
    step: float = 3.0,
    order: str = "dose-symmetric",
    group: int = 2,
) -> np.ndarray:
    """Tilt angles in degrees, in the order they are acquired.

    Parameters
    ----------
    min_angle, max_angle, step : float
        Range and increment in degrees; 0 must be on the grid for the
        dose-symmetric and bidirectional schemes.
    order : {"dose-symmetric", "sequential", "bidirectional"}
        ``"dose-symmetric"`` (Hagen et al. 2017): start at 0, then alternate
        sides in groups of ``group`` tilts: with ``group=2`` this gives
        0, +3, -3, -6, +6, +9, -9, ... exactly as in the EMPIAR-10164 mdoc.
        ``"sequential"``: min to max. ``"bidirectional"``: 0 to max, then -step
        down to min.
    group : int
        Tilts per side before switching, for the dose-symmetric scheme.

    Examples
    --------
    >>> tilt_scheme(min_angle=-9, max_angle=9)[:7].tolist()
    [0.0, 3.0, -3.0, -6.0, 6.0, 9.0, -9.0]
    >>> len(tilt_scheme())
    41
    """
    if step <= 0 or min_angle > max_angle:
        raise ValueError(
            f"need step > 0 and min_angle <= max_angle; got step={step}, "
            f"range=({min_angle}, {max_angle})."
        )
    grid = np.arange(min_angle, max_angle + step / 2, step, dtype=np.float64)
    if order == "sequential":
        return grid
    if not np.any(np.isclose(grid, 0.0)):
        raise ValueError(
            f"the {order!r} scheme starts at 0 deg, but 0 is not on the grid "
            f"{min_angle}:{max_angle}:{step}; choose a range that contains 0."
        )
    pos = [a for a in grid if a > 1e-9]
    neg = [a for a in grid[::-1] if a < -1e-9]
    if order == "bidirectional":
        return np.array([0.0, *pos, *neg])
    if order != "dose-symmetric":
        raise ValueError(
            f"unknown order {order!r}; use 'dose-symmetric', 'sequential' or 'bidirectional'."
        )
    out = [0.0]
    sides = [pos, neg]
    side, first = 0, True
    while pos or neg:
        take = 1 if first else group  # the first excursion is one tilt, then groups
        first = False
        src = sides[side]
        for _ in range(take):
            if src:
                out.append(src.pop(0))
        if not sides[1 - side] and src:
            continue
        side = 1 - side
    return np.array(out)


def electron_wavelength(voltage_kv: float) -> float:
    """Relativistic electron wavelength in angstrom (0.0197 at 300 kV): :func:`.ctf.wavelength`."""
    return _ctf.wavelength(voltage_kv)


def _ctf_of_k(k, *, defocus_um, voltage_kv, cs_mm, amplitude_contrast):
    """The isotropic CTF at spatial frequencies ``k`` (1/A): :func:`.ctf.ctf_1d`, um in."""
    return _ctf.ctf_1d(
        k,
        defocus=defocus_um * 1e4,
        voltage=voltage_kv,
        cs=cs_mm,
        amplitude_contrast=amplitude_contrast,
    )


def ctf_1d(
    n: int,
    *,
    voxel_size: float,
    defocus_um: float,
    voltage_kv: float = 300.0,
    cs_mm: float = 2.7,
    amplitude_contrast: float = 0.07,
):
    """The contrast transfer function along one axis, from 0 to Nyquist.

    ``CTF(k) = -(sqrt(1 - A**2) sin chi + A cos chi)`` with
    ``chi = pi lambda dz k**2 - pi/2 Cs lambda**3 k**4``; ``dz > 0`` is
    underfocus. Negative at low frequency: density appears dark in raw images.

    Returns
    -------
    frequency : ndarray
        ``scipy.fft.rfftfreq(n, voxel_size)``, 1/angstrom.
    ctf : ndarray

    Examples
    --------
    >>> f, c = ctf_1d(64, voxel_size=10.0, defocus_um=3.0)
    >>> round(float(c[0]), 2), float(f[-1])
    (-0.07, 0.05)
    """
    k = sfft.rfftfreq(int(n), voxel_size)
    return k, _ctf_of_k(
        k,
        defocus_um=defocus_um,
        voltage_kv=voltage_kv,
        cs_mm=cs_mm,
        amplitude_contrast=amplitude_contrast,
    )


def ctf_2d(
    shape,
    *,
    voxel_size: float,
    defocus_um: float,
    voltage_kv: float = 300.0,
    cs_mm: float = 2.7,
    amplitude_contrast: float = 0.07,
    rfft: bool = False,
) -> np.ndarray:
    """The (isotropic) CTF on a 2D Fourier grid for images of ``shape`` (rows, columns).

    Zero frequency first (the :func:`numpy.fft.fft2` layout; ``rfft=True`` for
    the :func:`numpy.fft.rfft2` half plane); use ``np.fft.fftshift`` to display.
    See :func:`ctf_1d` for the formula.

    Examples
    --------
    >>> c = ctf_2d((32, 32), voxel_size=10.0, defocus_um=3.0)
    >>> c.shape, round(float(c[0, 0]), 2)
    ((32, 32), -0.07)
    """
    ky = sfft.fftfreq(shape[0], voxel_size)[:, None]
    kx = (sfft.rfftfreq if rfft else sfft.fftfreq)(shape[1], voxel_size)[None, :]
    k = np.sqrt(ky**2 + kx**2)
    return _ctf_of_k(
        k,
        defocus_um=defocus_um,
        voltage_kv=voltage_kv,
        cs_mm=cs_mm,
        amplitude_contrast=amplitude_contrast,
    ).astype(np.float32)


def _projector(angles_deg, nz: int, nx: int):
    """Sparse matrix mapping a (z, x) slice, flattened, to all tilts' rows (tilt, x').

    The specimen is rotated by ``theta`` about y; a point (x, z) (centred
    coordinates) lands on detector column ``x' = x cos theta + z sin theta``.
    Joseph's ray-driven method: for ``|theta| <= 45`` deg each ray steps through
    the z planes, interpolating linearly along x, with path length
    ``1 / |cos theta|`` per plane; for steeper tilts it steps through the x
    columns, interpolating along z, with path length ``1 / |sin theta|``, so
    that no voxel is skipped between rays. The transpose is the back-projection.
    """
    angles = np.deg2rad(np.atleast_1d(np.asarray(angles_deg, dtype=np.float64)))
    if np.any(np.abs(angles) > np.deg2rad(80)):
        raise ValueError(
            "tilts beyond +-80 deg are not supported by this projector; "
            f"got {np.rad2deg(np.abs(angles).max()):.1f} deg."
        )
    cz, cx = nz // 2, nx // 2
    j = np.arange(nx) - cx  # detector column, centred
    rows, cols, vals = [], [], []
    for t, th in enumerate(angles):
        c, s = np.cos(th), np.sin(th)
        along_z = abs(c) >= abs(s)  # step through z planes, interpolate along x
        if along_z:
            n_fine, lead, step, base, u = nx, c, s, cx, np.arange(nz) - cz
        else:  # step through x columns, interpolate along z
            n_fine, lead, step, base, u = nz, s, c, cz, np.arange(nx) - cx
        pos = (j[None, :] - u[:, None] * step) / lead + base  # (n_step, nx'): fine index
        i0 = np.floor(pos).astype(np.int64)
        w1 = pos - i0
        for di, w in ((0, 1 - w1), (1, w1)):
            ii = i0 + di
            ok = (ii >= 0) & (ii < n_fine) & (w > 1e-7)
            uu, jj = np.nonzero(ok)
            rows.append(t * nx + jj)
            if along_z:  # (z = uu, x = ii)
                cols.append(uu * nx + ii[ok])
            else:  # (z = ii, x = uu)
                cols.append(ii[ok] * nx + uu)
            vals.append((w[ok] / abs(lead)).astype(np.float32))
    rows, cols, vals = (np.concatenate(a) for a in (rows, cols, vals))
    return sparse.csr_matrix((vals, (rows, cols)), shape=(len(angles) * nx, nz * nx))


def project(volume, angle_deg) -> np.ndarray:
    """Parallel-beam projection(s) of a volume tilted about the y (row) axis.

    Parameters
    ----------
    volume : ndarray (z, y, x)
    angle_deg : float or sequence of float
        Tilt angle(s) in degrees, |angle| <= 80.

    Returns
    -------
    ndarray of float32
        ``(y, x)`` for one angle, ``(n_tilts, y, x)`` for several: line
        integrals in units of density x voxels.

    Examples
    --------
    >>> vol = np.zeros((8, 4, 16), np.float32); vol[4, 2, 8] = 1.0
    >>> p = project(vol, 0.0)
    >>> p.shape, float(p[2, 8])
    ((4, 16), 1.0)
    >>> blob = np.exp(-((np.indices((16, 4, 32)) - [[[[8]]], [[[2]]], [[[16]]]]) ** 2).sum(0) / 8)
    >>> np.round(project(blob, [30.0, -30.0]).sum(axis=(1, 2)) / blob.sum(), 2).tolist()
    [1.0, 1.0]
    """
    vol = np.asarray(volume, dtype=np.float32)
    single = np.ndim(angle_deg) == 0
    nz, ny, nx = vol.shape
    A = _projector(angle_deg, nz, nx)
    v2 = np.ascontiguousarray(vol.transpose(0, 2, 1)).reshape(nz * nx, ny)
    p = (A @ v2).reshape(-1, nx, ny).transpose(0, 2, 1)
    p = np.ascontiguousarray(p, dtype=np.float32)
    return p[0] if single else p


def weighted_backprojection(projections, angles, *, thickness: int, flip=None) -> np.ndarray:
    """Reconstruct a tomogram from a tilt series by weighted (filtered) back-projection.

    Each projection is filtered with a ramp ``|k_x|`` (perpendicular to the
    tilt axis), optionally phase-flipped, and smeared back along its
    projection direction; the sum over tilts is weighted by the angular
    increment, so densities keep their scale (away from the missing wedge).

    Parameters
    ----------
    projections : ndarray (n_tilts, y, x)
    angles : sequence of float
        Tilt of each projection in degrees (any order).
    thickness : int
        Number of z planes to reconstruct.
    flip : ndarray (n_tilts, y, x // 2 + 1) or (y, x // 2 + 1), optional
        Sign of the CTF on the ``rfft2`` grid for phase flipping.

    Returns
    -------
    ndarray of float32 (thickness, y, x)

    Examples
    --------
    >>> vol = np.zeros((16, 8, 32), np.float32); vol[8, 4, 16] = 1.0
    >>> angles = np.arange(-60, 61, 3.0)
    >>> rec = weighted_backprojection(project(vol, angles), angles, thickness=16)
    >>> tuple(int(i) for i in np.unravel_index(np.argmax(rec), rec.shape))
    (8, 4, 16)
    """
    proj = np.asarray(projections, dtype=np.float32)
    angles = np.asarray(angles, dtype=np.float64)
    if proj.ndim != 3 or len(proj) != len(angles):
        raise ValueError(
            f"projections must be (n_tilts, y, x) with one angle each; got {proj.shape} "
            f"and {len(angles)} angles."
        )
    n_t, ny, nx = proj.shape
    # angular weight: half the gap to each neighbour, in radians
    srt = np.sort(angles)
    gaps = np.diff(srt)
    dtheta_sorted = np.empty(n_t)
    if n_t == 1:
        dtheta_sorted[:] = 1.0
    else:
        dtheta_sorted[1:-1] = 0.5 * (gaps[:-1] + gaps[1:])
        dtheta_sorted[0], dtheta_sorted[-1] = gaps[0], gaps[-1]
    dtheta = np.empty(n_t)
    dtheta[np.argsort(angles, kind="stable")] = np.deg2rad(dtheta_sorted)
    ramp = np.abs(sfft.rfftfreq(nx)).astype(np.float32)
    ramp[0] = 0.25 / nx  # keeps a little of the mean, as the discrete ramp does
    F = sfft.rfft2(proj, workers=2)
    F *= ramp[None, None, :]
    if flip is not None:
        F *= np.asarray(flip, dtype=np.float32)
    F *= dtheta.astype(np.float32)[:, None, None]
    filt = sfft.irfft2(F, s=(ny, nx), workers=2)
    A = _projector(angles, int(thickness), nx)
    p2 = np.ascontiguousarray(filt.transpose(0, 2, 1)).reshape(n_t * nx, ny)
    rec = (A.T @ p2).reshape(int(thickness), nx, ny).transpose(0, 2, 1)
    return np.ascontiguousarray(rec, dtype=np.float32)


def _fwhm(profile) -> float:
    """Full width at half maximum (voxels) of the peak at a 1D profile's maximum."""
    p = np.asarray(profile, dtype=np.float64)
    i = int(np.argmax(p))
    half = p[i] / 2.0
    r = i
    while r + 1 < len(p) and p[r + 1] > half:
        r += 1
    lft = i
    while lft > 0 and p[lft - 1] > half:
        lft -= 1
    if r + 1 >= len(p) or lft == 0:
        raise ValueError("the peak does not fall to half its maximum inside the profile.")
    right = r + (p[r] - half) / (p[r] - p[r + 1])
    left = lft - (p[lft] - half) / (p[lft] - p[lft - 1])
    return float(right - left)


def elongation(volume) -> tuple[float, float, float]:
    """Widths of the brightest blob of a volume along z and x, and their ratio.

    The full widths at half maximum (linear interpolation) of the profiles
    along z and along x through the brightest voxel. Use it on an isolated,
    point-like object to measure the missing wedge's elongation.

    Returns
    -------
    width_z, width_x, ratio : float
        Widths in voxels and ``width_z / width_x``.

    Examples
    --------
    >>> z, y, x = np.indices((32, 5, 32)) - np.array([16, 2, 16])[:, None, None, None]
    >>> blob = np.exp(-(z**2 / 32.0 + y**2 / 8.0 + x**2 / 8.0))  # sigma 4 along z, 2 along x
    >>> round(elongation(blob)[2], 1)
    2.0
    """
    vol = np.asarray(volume, dtype=np.float64)
    iz, iy, ix = np.unravel_index(int(np.argmax(vol)), vol.shape)
    wz = _fwhm(vol[:, iy, ix])
    wx = _fwhm(vol[iz, iy, :])
    return wz, wx, wz / wx
