"""A FIB-SEM-like stand-in for the EMPIAR-10982 ``hela_cell`` volume, with ground truth.

The real volume (MitoNet benchmark, Conrad and Narayan 2023) is a 256^3 uint8
FIB-SEM crop of a HeLa cell at 15 nm isotropic voxels, with expert instance
labels of its mitochondria. This generator makes a volume of the same voxel
size and value range with the features a segmentation lesson relies on:

- **mitochondria**: bent capsules 200-500 nm across (a quadratic Bézier
  centre line swept by a ball), a grey matrix darker than the cytoplasm, a
  dark double membrane on the rim, dark cristae across the long axis; some
  pairs almost touch (the case marker-controlled watershed is for);
- **distractors**: lipid droplets (uniform, darker than mitochondria), ER
  sheets (thin dark folded membranes) and vesicles (small light spheres with a
  dark rim);
- textured cytoplasm, blur (the beam's point spread), Poisson (shot) and
  Gaussian (detector) noise, and optionally curtaining stripes and a charging
  gradient.

What it lacks, compared with the real cell: a nucleus, the Golgi, cell
boundaries, mitochondria branching or in contact with other organelles, and the
real volume's exact histogram (the stand-in's grey levels were chosen by eye to
match FIB-SEM's inverted contrast: membranes dark, cytoplasm light).

All arrays are indexed ``(z, y, x)``; lengths are in nanometres.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

__all__ = ["VemStandin", "bezier_capsule_distance", "hela_standin", "neuron_standin"]

#: Voxel size of EMPIAR-10982 ``hela_cell`` in nanometres (isotropic).
HELA_VOXEL_NM = 15.0

# Grey levels of the clean image (uint8 scale) before blur and noise.
_CYTO, _MATRIX, _MEMBRANE, _CRISTA, _LIPID, _ER, _VESICLE = 170, 120, 45, 70, 35, 95, 190


@dataclass(frozen=True)
class VemStandin:
    """A simulated FIB-SEM volume with its ground truth.

    Attributes
    ----------
    em : ndarray of uint8, shape (z, y, x)
        The image, as a FIB-SEM volume is shipped.
    labels : ndarray of uint16
        Mitochondria instances, 0 = background, 1..n one per mitochondrion.
    clean : ndarray of float32
        The image before blur and noise (the denoising target), same grey scale.
    voxel_size : float
        Nanometres per voxel (isotropic).
    distractors : ndarray of uint8
        1 = lipid droplet, 2 = ER sheet, 3 = vesicle, 0 = none (for teaching).
    """

    em: np.ndarray
    labels: np.ndarray
    clean: np.ndarray
    voxel_size: float
    distractors: np.ndarray


def bezier_capsule_distance(
    coords: np.ndarray, p0: np.ndarray, p1: np.ndarray, p2: np.ndarray, *, n_segments: int = 8
) -> tuple[np.ndarray, np.ndarray]:
    """Distance from points to a quadratic Bézier curve, and the arc length at the nearest point.

    Parameters
    ----------
    coords : ndarray, shape (..., 3)
        Points in voxels.
    p0, p1, p2 : ndarray, shape (3,)
        End point, control point, end point of the curve.
    n_segments : int
        The curve is approximated by this many straight segments.

    Returns
    -------
    distance, arclength : ndarray, shape (...)
        Distance to the curve, and arc length (voxels from ``p0``) of the nearest point on it.
    """
    t = np.linspace(0.0, 1.0, n_segments + 1)[:, None]
    pts = (1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t**2 * p2
    seg_len = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    start = np.concatenate([[0.0], np.cumsum(seg_len)])
    c = [np.asarray(coords[..., i], np.float32) for i in range(3)]
    best = np.full(c[0].shape, np.inf, dtype=np.float32)
    arc = np.zeros(c[0].shape, dtype=np.float32)
    for a, b, length, s0 in zip(pts[:-1], pts[1:], seg_len, start[:-1], strict=True):
        ab = (b - a).astype(np.float32)
        rel = [c[i] - np.float32(a[i]) for i in range(3)]
        u = (rel[0] * ab[0] + rel[1] * ab[1] + rel[2] * ab[2]) / np.float32(max(length**2, 1e-9))
        np.clip(u, 0.0, 1.0, out=u)
        d2 = sum((rel[i] - u * ab[i]) ** 2 for i in range(3))
        closer = d2 < best
        best = np.where(closer, d2, best)
        arc = np.where(closer, np.float32(s0) + u * np.float32(length), arc)
    return np.sqrt(best), arc


def _box(centre: np.ndarray, half: np.ndarray, shape: tuple[int, ...]):
    lo = np.maximum(np.floor(centre - half).astype(int), 0)
    hi = np.minimum(np.ceil(centre + half).astype(int) + 1, shape)
    return tuple(slice(a, b) for a, b in zip(lo, hi, strict=True)), lo


def _normal32(rng, shape) -> np.ndarray:
    """``rng.standard_normal(shape)`` as float32, drawn a z slice at a time.

    The same numbers as one call (the generator fills arrays in order), without
    the full-size float64 temporary: a stand-in's peak memory is a lesson's.
    """
    out = np.empty(shape, np.float32)
    for z in range(shape[0]):
        out[z] = rng.standard_normal(shape[1:])
    return out


def _poisson32(rng, lam: np.ndarray) -> np.ndarray:
    """``rng.poisson(lam)`` as float32, a z slice at a time (same numbers, no int64 volume)."""
    out = np.empty(lam.shape, np.float32)
    for z in range(lam.shape[0]):
        out[z] = rng.poisson(lam[z])
    return out


def _smooth_noise(rng, shape, sigma):
    """Gaussian-filtered white noise scaled to unit variance; coarse fields made at 1/4 size."""
    if sigma >= 4.0:
        small = tuple(max(2, -(-n // 4)) for n in shape)
        f = ndi.gaussian_filter(rng.standard_normal(small).astype(np.float32), sigma / 4.0)
        f = ndi.zoom(f, [n / m for n, m in zip(shape, small, strict=True)], order=1)
        f = f[tuple(slice(0, n) for n in shape)]
    else:
        f = ndi.gaussian_filter(_normal32(rng, shape), sigma)
    return f / (f.std() + 1e-12)


def hela_standin(
    shape: tuple[int, int, int] = (256, 256, 256),
    *,
    voxel_size: float = HELA_VOXEL_NM,
    n_mito: int | None = None,
    seed: int = 0,
    noise: float = 1.0,
    curtaining: float = 0.0,
    charging: float = 0.0,
) -> VemStandin:
    """Simulate a HeLa FIB-SEM volume with labelled mitochondria.

    Parameters
    ----------
    shape : tuple of int
        ``(z, y, x)`` in voxels; the real ``hela_cell`` is 256^3.
    voxel_size : float
        Nanometres per voxel; object sizes are set in nanometres.
    n_mito : int, optional
        Number of mitochondria to place; default about 11 per (1.9 um)^3, the
        density of the real volume (about 60 in its 3.84 um cube).
    seed : int
        Seed of ``np.random.default_rng``; the same seed gives the same volume.
    noise : float
        Scale of the Poisson and Gaussian noise (0 = none, 1 = like the real data).
    curtaining : float
        Amplitude (grey levels) of vertical stripes that vary along x (0 = none).
    charging : float
        Fractional brightening towards one corner of each slice (0 = none).

    Returns
    -------
    VemStandin

    Examples
    --------
    >>> s = hela_standin((32, 64, 64), seed=1)
    >>> s.em.dtype, s.em.shape, int(s.labels.max()) > 0
    (dtype('uint8'), (32, 64, 64), True)
    """
    rng = np.random.default_rng(seed)
    shape = tuple(int(s) for s in shape)
    nm = float(voxel_size)
    vol_um3 = np.prod(shape) * (nm / 1000.0) ** 3
    if n_mito is None:
        n_mito = max(2, int(round(60 * vol_um3 / 3.84**3)))
    labels = np.zeros(shape, np.uint16)
    clean = np.full(shape, float(_CYTO), np.float32)
    clean += 8.0 * _smooth_noise(rng, shape, 1.5)  # cytoplasmic texture
    taken = np.zeros(shape, bool)  # mitochondria plus a one-voxel gap
    curves: list[tuple[np.ndarray, float]] = []  # sampled centre lines and radii placed so far
    t = np.linspace(0.0, 1.0, 24)[:, None]
    for _ in range(n_mito * 30):
        if len(curves) >= n_mito:
            break
        r = rng.uniform(100.0, 250.0) / nm  # radius in voxels (200-500 nm across)
        length = rng.uniform(300.0, 1500.0) / nm
        centre = rng.uniform([0, 0, 0], shape)
        axis = rng.standard_normal(3)
        axis /= np.linalg.norm(axis)
        bend = rng.standard_normal(3)
        bend -= bend.dot(axis) * axis
        bend *= rng.uniform(0.0, 0.35) * length / (np.linalg.norm(bend) + 1e-9)
        p0, p2 = centre - axis * length / 2, centre + axis * length / 2
        p1 = centre + bend
        line = (1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t**2 * p2
        # cheap rejection first: centre lines closer than the radii plus a gap
        if any(
            np.min(np.linalg.norm(line[:, None] - other[None], axis=-1)) < r + r_other + 1.5
            for other, r_other in curves
        ):
            continue
        lo = np.maximum(np.floor(line.min(0) - r - 1).astype(int), 0)
        hi = np.minimum(np.ceil(line.max(0) + r + 2).astype(int), shape)
        if np.any(hi - lo < 2):
            continue
        sl = tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))
        coords = np.stack(
            np.meshgrid(
                *[np.arange(a, b, dtype=np.float32) for a, b in zip(lo, hi, strict=True)],
                indexing="ij",
            ),
            -1,
        )
        d, arc = bezier_capsule_distance(coords, p0, p1, p2)
        inside = d <= r
        if inside.sum() < 50 or (taken[sl] & (d <= r + 1.0)).any():
            continue
        curves.append((line, r))
        placed = len(curves)
        labels[sl][inside] = placed
        taken[sl] |= d <= r + 1.0
        rim = inside & (d > r - 30.0 / nm)  # double membrane about 30 nm thick
        spacing = rng.uniform(60.0, 110.0) / nm  # cristae every 60-110 nm along the axis
        phase = rng.uniform(0, np.pi)
        cristae = inside & (np.abs(np.sin(np.pi * arc / spacing + phase)) < 0.3) & (d < r - 1.5)
        region = clean[sl]
        region[inside] = _MATRIX + 6.0 * rng.standard_normal(int(inside.sum()))
        region[cristae] = _CRISTA
        region[rim] = _MEMBRANE
    distractors = np.zeros(shape, np.uint8)
    # ER sheets: thin level sets of a smooth random field, away from mitochondria
    field = _smooth_noise(rng, shape, 60.0 / nm * 2)
    er_band = 12.0 / nm / (60.0 / nm * 2)  # about 25 nm thick
    er = (np.abs(field) < er_band * 1.5) & ~taken & (_smooth_noise(rng, shape, 6.0) > 0.4)
    clean[er] = _ER
    distractors[er] = 2
    # lipid droplets (100-250 nm radius, uniform and dark) and vesicles (25-50 nm radius)
    zz = np.indices(shape, dtype=np.float32) if np.prod(shape) <= 2**22 else None
    for kind, count, (rmin, rmax), value in (
        (1, max(1, n_mito // 6), (100.0, 250.0), _LIPID),
        (3, n_mito * 3, (25.0, 50.0), _VESICLE),
    ):
        for _ in range(count):
            r = rng.uniform(rmin, rmax) / nm
            c = rng.uniform([0, 0, 0], shape)
            sl, _lo = _box(c, np.full(3, r + 1), shape)
            if zz is not None:
                g = zz[(slice(None), *sl)]
            else:
                g = np.stack(np.meshgrid(*[np.arange(s.start, s.stop) for s in sl], indexing="ij"))
            d = np.sqrt(sum((g[i] - c[i]) ** 2 for i in range(3)))
            ball = (d <= r) & ~taken[sl]
            region = clean[sl]
            if kind == 1:
                region[ball] = value
            else:
                region[ball] = value
                region[ball & (d > r - 1.2)] = _MEMBRANE + 20
            distractors[sl][ball] = kind
    # optics and detector: blur, charging, curtaining, shot and read noise
    img = ndi.gaussian_filter(clean, 0.8)
    if charging:
        yy, xx = np.meshgrid(*[np.linspace(0, 1, n) for n in shape[1:]], indexing="ij")
        img *= 1.0 + charging * np.exp(-((1 - yy) ** 2 + xx**2) / 0.3)[None]
    if curtaining:
        stripes = ndi.gaussian_filter1d(rng.standard_normal((shape[0], shape[2])), 1.0, axis=1)
        stripes = ndi.gaussian_filter1d(stripes, 8.0, axis=0)
        img += curtaining * (stripes / (stripes.std() + 1e-12))[:, None, :]
    if noise:
        gain = 2.0 / noise**2  # counts per grey level: lower gain, more shot noise
        img = _poisson32(rng, np.clip(img, 0, None) * gain) / gain
        img += 4.0 * noise * _normal32(rng, shape)
    em = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    return VemStandin(em, labels, clean, nm, distractors)


def neuron_standin(
    shape: tuple[int, int, int] = (50, 100, 200), *, n_cells: int = 90, seed: int = 0
) -> VemStandin:
    """A stand-in for the GALA FIB-SEM neuropil blocks: densely packed neurites, dark membranes.

    Cells are the watershed basins of a smooth random field grown from random
    seeds, stretched along z so that neurites run through the block; label 0
    marks the one-voxel membranes between them (as in the GALA ground truth).

    Examples
    --------
    >>> s = neuron_standin((10, 40, 40), n_cells=12, seed=0)
    >>> s.labels.dtype, bool((s.labels == 0).any()), int(s.labels.max()) <= 12
    (dtype('int32'), True, True)
    """
    from skimage import segmentation

    rng = np.random.default_rng(seed)
    markers = np.zeros(shape, np.int32)
    pts = rng.integers(0, shape, size=(n_cells, 3))
    markers[tuple(pts.T)] = np.arange(1, n_cells + 1)
    # distance to the nearest seed, shrunk along z (neurites run through the block), made wavy
    elevation = ndi.distance_transform_edt(markers == 0, sampling=(0.25, 1.0, 1.0))
    elevation += 3.0 * _smooth_noise(rng, shape, 3.0)
    cells = segmentation.watershed(elevation, markers).astype(np.int32)
    boundary = segmentation.find_boundaries(cells, mode="inner")
    labels = np.where(boundary, 0, cells).astype(np.int32)
    clean = np.where(boundary, 60.0, 175.0).astype(np.float32)
    clean += 10.0 * _smooth_noise(rng, shape, 1.0)
    img = ndi.gaussian_filter(clean, 0.8)
    img = _poisson32(rng, np.clip(img, 0, None) * 0.5) / 0.5
    img += 5.0 * _normal32(rng, shape)
    em = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    return VemStandin(em, labels, clean, 10.0, np.zeros(shape, np.uint8))
