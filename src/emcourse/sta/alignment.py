"""Align and average subtomograms: poses, alignment, averaging, gold-standard refinement.

Also :func:`einstein_from_noise`, the demonstration of reference bias.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.fft as sfft

from emcourse.sta.resolution import fsc, resolution_at
from emcourse.sta.rotations import _array_matrix, angular_sampling, local_rotations, matrix_to_euler
from emcourse.sta.sampling import (
    WORKERS,
    _cosine_edge,
    _hermitian_weights,
    _radial_frequency,
    _unrotate,
    lowpass,
    rotate_volume,
    soft_sphere,
    wedge_mask,
)


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
    >>> from emcourse.sta import euler_to_matrix, phantom_map, rotate_volume
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
    >>> from emcourse.sta import phantom_map, random_rotations, rotate_volume
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
    >>> from emcourse.sta import phantom_map
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
