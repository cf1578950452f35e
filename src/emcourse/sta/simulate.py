"""Simulate the track's data: a phantom molecule and tomograms of it, with ground truth.

These seeded, deterministic generators are the offline stand-ins for the
track's archive data (:func:`phantom_map` for a map, :func:`simulate_tomogram`
for a tomogram with its particle picks) and the ground truth that lessons
measure themselves against. Pure NumPy/SciPy: arrays in, arrays out, no files,
no plots.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.fft as sfft
from scipy import ndimage

from emcourse.sta.dose import exposure_filter
from emcourse.sta.rotations import matrix_to_euler, random_rotations
from emcourse.sta.sampling import rotate_volume
from emcourse.sta.symmetry import symmetrize
from emcourse.sta.tomography import ctf_2d, project, tilt_scheme, weighted_backprojection

# The phantom "molecule": Gaussian blobs in a frame 1 unit = 1/2 diameter,
# (z, y, x, sigma, weight). A body, a bent arm ending in a head, a small knob on
# one side and a ring-like groove: no rotational symmetry and no mirror
# symmetry, so a wrong hand or orientation is visible in any view.
_PHANTOM_BLOBS = np.array(
    [
        # body: two overlapping lobes
        (0.00, 0.00, 0.00, 0.20, 1.00),
        (0.10, -0.28, 0.05, 0.17, 0.90),
        # arm bending up and to +x
        (0.25, 0.25, 0.10, 0.10, 0.80),
        (0.42, 0.38, 0.30, 0.09, 0.75),
        # head at the end of the arm
        (0.55, 0.30, 0.60, 0.14, 0.95),
        # knob on the -x side of the body (breaks the mirror symmetry)
        (-0.25, -0.10, -0.45, 0.09, 0.80),
        # foot pointing down and back
        (-0.50, -0.45, 0.10, 0.11, 0.70),
    ]
)


def phantom_map(*, box: int = 32, voxel_size: float = 10.0, diameter: float = 220.0) -> np.ndarray:
    """Render the asymmetric molecule-like phantom used as a density map.

    Parameters
    ----------
    box : int
        Edge length of the cubic output in voxels.
    voxel_size : float
        Angstrom per voxel.
    diameter : float
        Approximate largest extent of the molecule in angstrom.

    Returns
    -------
    ndarray of float32, shape (box, box, box)
        Density indexed (z, y, x), centred in the box, maximum 1, background 0.

    Examples
    --------
    >>> vol = phantom_map(box=24, voxel_size=12.0)
    >>> vol.shape, vol.dtype
    ((24, 24, 24), dtype('float32'))
    >>> bool(vol.max() == 1.0)
    True
    """
    half = diameter / 2.0
    coords = (np.arange(box) - box // 2) * voxel_size
    z, y, x = np.meshgrid(coords, coords, coords, indexing="ij", sparse=True)
    vol = np.zeros((box, box, box), dtype=np.float64)
    for bz, by, bx, sigma, weight in _PHANTOM_BLOBS:
        d2 = (z - bz * half) ** 2 + (y - by * half) ** 2 + (x - bx * half) ** 2
        vol += weight * np.exp(-d2 / (2 * (sigma * half) ** 2))
    vol /= vol.max()
    return vol.astype(np.float32)


# --------------------------------------------------------------------------- tomograms


@dataclass(frozen=True)
class SimulatedTomogram:
    """A simulated tomogram with its ground truth.

    Attributes
    ----------
    tomogram : ndarray of float32 (z, y, x)
        WBP reconstruction; protein density is positive (bright).
    positions : ndarray (n, 3)
        True particle centres ``(z, y, x)`` in voxels (sub-voxel).
    rotations : ndarray (n, 3, 3)
        True poses: particle = ``emcourse.sta.rotate_volume(reference, rotations[i])``.
    eulers : ndarray (n, 3)
        The same as RELION ZYZ ``(rot, tilt, psi)`` in degrees.
    tilt_angles : ndarray
        Tilts in acquisition order, degrees.
    voxel_size : float
        Angstrom per voxel.
    snr : float
        Signal-to-noise ratio per projection (see :func:`simulate_tomogram`).
    defocus_um : float
        Underfocus in micrometres.
    tilt_range : tuple of float
        (min, max) tilt, for :func:`emcourse.sta.wedge_mask`.
    decoy_positions, decoy_rotations : ndarray (m, 3), (m, 3, 3)
        Centres and poses of the decoys (``decoy=`` of :func:`simulate_tomogram`);
        empty without them.
    """

    tomogram: np.ndarray
    positions: np.ndarray
    rotations: np.ndarray
    eulers: np.ndarray
    tilt_angles: np.ndarray
    voxel_size: float
    snr: float
    defocus_um: float
    tilt_range: tuple
    defocus_per_tilt: np.ndarray | None = None
    exposure: np.ndarray | None = None
    correction: str = "flip"
    decoy_positions: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    decoy_rotations: np.ndarray = field(default_factory=lambda: np.zeros((0, 3, 3)))


def standin_map(
    *,
    box: int,
    voxel_size: float,
    value_range: tuple[float, float] = (0.0, 1.0),
    diameter: float | None = None,
    form: str = "molecule",
    symmetry: int = 1,
) -> np.ndarray:
    """A synthetic map that mimics a deposited one: box, voxel size, value range, form.

    The stand-in that replaces an EMDB map offline (see the registry's
    ``standin_*`` fields), so that a lesson reads the same on either.

    Parameters
    ----------
    box : int
        Edge of the cubic map in voxels.
    voxel_size : float
        Angstrom per voxel.
    value_range : (float, float)
        Minimum and maximum of the real map; the stand-in has the same.
    diameter : float, optional
        ``form="molecule"``: approximate largest extent in angstrom (default
        60 % of the box).
    form : {"molecule", "membrane"}
        ``"molecule"``: the compact, asymmetric :func:`phantom_map`, density
        positive, with the faint negative halo that a CTF-corrected
        reconstruction leaves around a particle when ``value_range`` starts
        below zero. ``"membrane"``: a patch of a protein-coated bilayer
        (layers across y, a lattice along x), filling the box like a
        subtomogram average of a membrane.
    symmetry : int
        ``form="molecule"``: the order n of a rotational symmetry about z (Cn,
        :func:`~emcourse.sta.symmetry.symmetrize`); 1 for none, like the
        phantom itself.

    Returns
    -------
    ndarray of float32, shape (box, box, box)

    Examples
    --------
    >>> m = standin_map(box=32, voxel_size=5.7, value_range=(-0.16, 2.05), diameter=150)
    >>> m.shape, round(float(m.min()), 2), round(float(m.max()), 2)
    ((32, 32, 32), -0.16, 2.05)
    >>> m = standin_map(box=20, voxel_size=11.4, value_range=(-4.1, 5.6), form="membrane")
    >>> round(float(m.min()), 2), round(float(m.max()), 2)
    (-4.1, 5.6)
    """
    lo, hi = (float(v) for v in value_range)
    if not hi > lo:
        raise ValueError(f"value_range must be (min, max) with max > min, found {value_range}.")
    if form == "molecule":
        dia = 0.6 * box * voxel_size if diameter is None else float(diameter)
        p = phantom_map(box=box, voxel_size=voxel_size, diameter=dia)
        if symmetry > 1:
            # off-centre copies: the phantom's centre of mass sits near the axis
            p = symmetrize(np.roll(p, box // 8, axis=2), int(symmetry))
        p = p.astype(np.float64)
        if lo < 0 < hi:
            # difference of Gaussians: a negative rim around the particle, as deposited maps
            # have; negative and positive values scaled apart, so 0 stays background
            p = p - ndimage.gaussian_filter(p, 20.0 / voxel_size)
            return np.where(p < 0, p * (lo / p.min()), p * (hi / p.max())).astype(np.float32)
        return (lo + (hi - lo) * (p - p.min()) / (p.max() - p.min())).astype(np.float32)
    if form == "membrane":
        c = np.arange(box) / box  # fractions of the box
        y = c[None, :, None]
        x = c[None, None, :]
        z = c[:, None, None]

        def band(centre, width):
            return np.exp(-0.5 * ((y - centre) / width) ** 2)

        wave = 0.8 + 0.2 * np.cos(2 * np.pi * 3 * z)
        lattice = 1 + 0.4 * np.cos(2 * np.pi * 2 * (x - 0.2)) * wave
        v = band(0.4, 0.12) * lattice + 0.9 * band(0.9, 0.06)
        v = v - 0.5 * band(0.12, 0.06) - 0.5 * band(0.7, 0.05)
        v = np.broadcast_to(v, (box, box, box))
        return (lo + (hi - lo) * (v - v.min()) / (v.max() - v.min())).astype(np.float32)
    raise ValueError(f"form must be 'molecule' or 'membrane', found {form!r}.")


def _support_radius(reference, frac=0.05) -> float:
    ref = np.asarray(reference)
    c = np.array([n // 2 for n in ref.shape])
    pts = np.argwhere(ref > frac * ref.max())
    if len(pts) == 0:
        return 1.0
    return float(np.sqrt(((pts - c) ** 2).sum(axis=1)).max()) + 0.5


def _place_positions(rng, shape, margin, n, min_dist, max_tries=20000):
    lo = np.array([margin] * 3, dtype=np.float64)
    hi = np.array(shape, dtype=np.float64) - margin - 1
    if np.any(hi <= lo):
        raise ValueError(
            f"volume {shape} is too small for particles needing a margin of {margin} voxels; "
            "use a bigger shape or a smaller reference box."
        )
    pts = []
    tries = 0
    while len(pts) < n and tries < max_tries:
        tries += 1
        p = lo + rng.random(3) * (hi - lo)
        if pts and np.min(np.sum((np.asarray(pts) - p) ** 2, axis=1)) < min_dist**2:
            continue
        pts.append(p)
    if len(pts) < n:
        raise ValueError(
            f"could place only {len(pts)} of {n} non-overlapping particles "
            f"(minimum distance {min_dist:.1f} voxels) in a volume of shape {shape}; "
            "ask for fewer particles or a bigger volume."
        )
    return np.asarray(pts)


def simulate_tomogram(
    reference,
    *,
    voxel_size: float = 10.0,
    shape=(64, 256, 256),
    n_particles: int = 60,
    tilt_range=(-60.0, 60.0),
    tilt_step: float = 3.0,
    snr: float = 0.1,
    defocus_um: float = 2.0,
    dose_per_tilt: float = 0.0,
    seed=0,
    tilt_angles=None,
    exposure=None,
    amplitude_contrast: float = 0.07,
    correction: str = "flip",
    decoy=None,
    n_decoys: int = 0,
) -> SimulatedTomogram:
    """Simulate a cryo-ET tomogram of randomly placed, randomly oriented copies of a reference.

    Steps: place ``n_particles`` non-overlapping copies (centres at least one
    particle diameter apart, fully inside the volume) with uniformly random
    rotations; project the volume at each tilt of a dose-symmetric scheme
    (:func:`tilt_scheme`); apply the CTF; optionally attenuate by the
    cumulative dose in acquisition order (Grant & Grigorieff 2015 critical
    exposure); add white Gaussian noise; phase-flip; reconstruct by weighted
    back-projection (:func:`weighted_backprojection`).

    **SNR** is defined per projection: the variance of the noise-free
    projection (after the CTF, over the whole image) divided by the variance
    of the added noise. ``snr=0.1`` means each tilt image has ten times more
    noise variance than signal variance.

    Parameters
    ----------
    reference : ndarray (b, b, b)
        Density at ``voxel_size``, e.g. :func:`phantom_map`.
    voxel_size : float
        Angstrom per voxel.
    shape : tuple of 3 int
        Tomogram shape ``(z, y, x)``.
    n_particles : int
    tilt_range : (float, float)
        Degrees.
    tilt_step : float
        Degrees.
    snr : float
        Per-projection signal-to-noise ratio (above); ``np.inf`` for no noise.
    defocus_um : float or array of float
        Underfocus in micrometres: one for every tilt, or one per tilt of
        ``tilt_angles`` (e.g. CTFFIND's per tilt from a tilt table:
        :func:`emcourse.sta.tomogram_acquisition`); no defocus gradient across an image.
        At 2 um and 300 kV the first CTF zero (20 A) lies at the Nyquist
        frequency of 10 A voxels; at 3 um it moves to 24 A, at 3.9 um to 28 A.
    dose_per_tilt : float
        Electrons per square angstrom per tilt for the exposure filter (the
        Grant & Grigorieff decay applied as damage, at each tilt's
        mid-exposure); 0 = off.
    seed : int
        Everything random comes from ``numpy.random.default_rng(seed)``.
    tilt_angles : array of float, optional
        The tilts in acquisition order, degrees (e.g. a real tilt table's);
        overrides ``tilt_range`` and ``tilt_step``.
    exposure : array of float, optional
        Per tilt of ``tilt_angles`` (acquisition order), the exposure in e/A^2
        at which its damage is computed (a real pre-exposure plus half the
        image's own dose); instead of ``dose_per_tilt``.
    amplitude_contrast : float
        Fraction of amplitude contrast of the CTF (0.07 by default; RELION's
        EMPIAR-10164 tutorial uses 0.1).
    correction : {"flip", "none"}
        ``"flip"``: each tilt phase flipped by the sign of its own CTF before
        back-projection (the multiplication by ``sign(CTF)`` of
        :func:`emcourse.sta.ctf.phase_flip`); ``"none"``: the CTF left in.
    decoy : ndarray (b, b, b), optional
        A second density (same box as ``reference``) placed ``n_decoys`` times
        among the particles, at random positions and poses, as false targets;
        its positions are not in ``positions`` but in ``decoy_positions``.
    n_decoys : int

    Returns
    -------
    SimulatedTomogram

    Examples
    --------
    >>> ref = phantom_map(box=16, voxel_size=20.0)
    >>> sim = simulate_tomogram(ref, voxel_size=20.0, shape=(32, 64, 64), n_particles=4)
    >>> sim.tomogram.shape, sim.positions.shape, len(sim.tilt_angles)
    ((32, 64, 64), (4, 3), 41)
    """
    reference = np.asarray(reference, dtype=np.float32)
    shape = tuple(int(s) for s in shape)
    rng = np.random.default_rng(seed)
    box = reference.shape[0]
    radius = _support_radius(reference)
    n, m = int(n_particles), int(n_decoys) if decoy is not None else 0
    if m:
        decoy = np.asarray(decoy, dtype=np.float32)
        if decoy.shape != reference.shape:
            raise ValueError(f"decoy {decoy.shape} and reference {reference.shape} differ in box.")
        radius = max(radius, _support_radius(decoy))
    everything = _place_positions(rng, shape, box // 2 + 1, n + m, 2 * radius)
    positions = everything[:n]
    rotations = random_rotations(n, seed=rng)
    eulers = matrix_to_euler(rotations)
    decoy_rotations = random_rotations(m, seed=rng) if m else np.zeros((0, 3, 3))
    maps = [reference] * n + [decoy] * m

    volume = np.zeros(shape, np.float32)
    for p, R, density in zip(everything, [*rotations, *decoy_rotations], maps, strict=True):
        ip = np.rint(p).astype(int)
        frac = p - ip
        part = rotate_volume(density, R, shift=frac, order=3)
        sl = tuple(slice(i - box // 2, i - box // 2 + box) for i in ip)
        volume[sl] += part

    if tilt_angles is None:
        lo, hi = (float(t) for t in tilt_range)
        angles = tilt_scheme(min_angle=lo, max_angle=hi, step=tilt_step)
    else:
        angles = np.asarray(tilt_angles, dtype=np.float64).ravel()
        lo, hi = float(angles.min()), float(angles.max())
    if correction not in ("flip", "none"):
        raise ValueError(f"correction must be 'flip' or 'none'; got {correction!r}.")
    defoci = np.asarray(defocus_um, dtype=np.float64)
    if defoci.ndim and defoci.shape != angles.shape:
        raise ValueError(
            f"defocus_um must be one value or one per tilt ({len(angles)}); got {defoci.shape}."
        )
    defoci = np.broadcast_to(defoci, angles.shape)
    proj = project(volume, angles)
    ny, nx = shape[1], shape[2]
    opts = dict(voxel_size=voxel_size, amplitude_contrast=amplitude_contrast, rfft=True)
    if np.all(defoci == defoci[0]):  # one CTF for all tilts
        ctf = ctf_2d((ny, nx), defocus_um=float(defoci[0]), **opts)
    else:
        ctf = np.stack([ctf_2d((ny, nx), defocus_um=float(d), **opts) for d in defoci])
    F = sfft.rfft2(proj, workers=2)
    F *= ctf
    if exposure is not None and dose_per_tilt > 0:
        raise ValueError("give either dose_per_tilt or exposure, not both.")
    if dose_per_tilt > 0:
        exposure = dose_per_tilt * (np.arange(len(angles)) + 0.5)  # mid-exposure cumulative dose
    if exposure is not None:
        exposure = np.asarray(exposure, dtype=np.float64).ravel()
        if exposure.shape != angles.shape:
            raise ValueError(
                f"exposure needs one value per tilt ({len(angles)}); got {exposure.shape}."
            )
        F *= exposure_filter(exposure, (ny, nx), voxel_size, rfft=True).astype(np.float32)
    proj = sfft.irfft2(F, s=(ny, nx), workers=2)
    if np.isfinite(snr):
        if snr <= 0:
            raise ValueError(f"snr must be positive (or np.inf for no noise); got {snr}.")
        sigma = np.sqrt(proj.var(axis=(1, 2)) / snr)
        proj += rng.standard_normal(proj.shape, dtype=np.float32) * sigma[:, None, None].astype(
            np.float32
        )
    flip = np.sign(ctf) if correction == "flip" else None
    tomo = weighted_backprojection(proj, angles, thickness=shape[0], flip=flip)
    return SimulatedTomogram(
        tomogram=tomo,
        positions=positions,
        rotations=rotations,
        eulers=eulers,
        tilt_angles=angles,
        voxel_size=float(voxel_size),
        snr=float(snr),
        defocus_um=float(np.median(defoci)),
        tilt_range=(lo, hi),
        defocus_per_tilt=np.array(defoci),
        exposure=exposure,
        correction=correction,
        decoy_positions=everything[n:],
        decoy_rotations=decoy_rotations,
    )
