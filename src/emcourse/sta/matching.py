"""Find particles in a tomogram: template matching, peak picking, scoring, extraction."""

from __future__ import annotations

import numpy as np
import scipy.fft as sfft
from scipy import ndimage

from emcourse.sta.sampling import WORKERS, lowpass, rotate_volume, soft_sphere, wedge_mask


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

    Two shortcuts make each rotation cost less than a forward and an inverse
    FFT of the tomogram, with the same scores: the forward FFT of the padded
    template skips the planes and rows that are all zero, and when ``R`` and
    its turns by 180 degrees about x, y or z are all in ``angles`` (as in
    every set of :func:`angular_sampling`), the template is rotated and
    transformed once for the four: a turned template correlated with the
    tomogram is the template correlated with the turned tomogram (an exact
    permutation of voxels), turned back. For this the outermost plane of an
    even box (index 0, which has no mirror image about the centre voxel) is
    left out of the template and the mask.

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
    >>> from emcourse.sta import phantom_map
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
    # An even box has a plane (index 0) with no mirror image about the centre voxel: leave
    # it empty, so the template and its 180 degree turns about the axes are exact images.
    edge = tuple(slice(0, 1) if b % 2 == 0 else slice(0, 0) for b in bshape)
    mask = _clear_edges(mask.copy(), edge)

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
    wedge_full = None if wedge is None else wedge_mask(bshape, tilt_range=wedge, rfft=False)
    flips = [
        (G, axes)
        for G, axes in _FLIPS
        if np.array_equal(mask, _turn(mask, axes, box=True))
        and (wedge_full is None or np.array_equal(wedge_full, _turn(wedge_full, axes)))
    ]
    orbits = _flip_orbits(angles, flips)
    fft = _PaddedFFT(bshape, shape)
    Fs = {(): Ft}  # the tomogram's spectrum, and those of its 180 degree turns when used
    scores = {(): np.full(shape, -np.inf, np.float32)}
    best = {(): np.zeros(shape, np.int32)}
    work = np.empty_like(Ft)
    chunk = 64
    for start in range(0, len(orbits), chunk):
        group = orbits[start : start + chunk]
        # rotate, wedge-filter and normalise a batch of templates (batched small FFTs)
        ts = np.stack([rotate_volume(template, angles[orbit[0][0]], order=1) for orbit in group])
        _clear_edges(ts, edge, batch=True)
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
        for t, orbit in zip(ts, group, strict=True):
            # correlation = convolution with the point-reflected template (centred on voxel 0)
            F = fft.forward(t)
            for index, axes in orbit:
                # the template turned by 180 deg about an axis, correlated with the tomogram,
                # is the template correlated with the tomogram turned the same way, turned back
                if axes not in Fs:
                    Fs[axes] = sfft.rfftn(_turn(tomogram, axes), workers=WORKERS)
                    scores[axes] = np.full(shape, -np.inf, np.float32)
                    best[axes] = np.zeros(shape, np.int32)
                np.multiply(F, Fs[axes], out=work)
                _keep_best(fft.inverse(work), scores[axes], best[axes], index)
    out, out_best = scores.pop(()), best.pop(())
    for axes, s in scores.items():
        s, b = _turn(s, axes), _turn(best[axes], axes)
        better = s > out
        out_best[better] = b[better]
        np.maximum(out, s, out=out)
    out /= std
    return out, out_best


# 180 degree turns about x, y and z (matrices on (x, y, z) vectors, RELION's convention) and
# the array axes (z, y, x) each one reverses.
_FLIPS = (
    (np.diag([1.0, -1.0, -1.0]), (0, 1)),
    (np.diag([-1.0, 1.0, -1.0]), (0, 2)),
    (np.diag([-1.0, -1.0, 1.0]), (1, 2)),
)


def _turn(volume, axes, *, box=False):
    """``volume(-r)`` along ``axes``, exactly (a permutation of voxels).

    About voxel 0 of a periodic grid (a tomogram, a spectrum), or with
    ``box=True`` about the centre voxel ``n // 2`` of a box (for an even ``n``,
    plane 0 is its own image).
    """
    if not axes:
        return volume
    shift = [1 if not box or volume.shape[a] % 2 == 0 else 0 for a in axes]
    return np.roll(np.flip(volume, axes), shift, axes)


def _clear_edges(volume, edge, *, batch=False):
    """Zero the planes ``edge[k]`` along each axis ``k`` (of each volume in a batch)."""
    lead = (slice(None),) if batch else ()
    for k, s in enumerate(edge):
        volume[lead + (slice(None),) * k + (s,)] = 0
    return volume


def _flip_orbits(angles, flips):
    """Group rotations ``R`` with the ones ``G @ R`` (``G`` a turn in ``flips``) also present.

    Returns a list of orbits, each a list of ``(index into angles, axes of the turn)``,
    the first with ``axes == ()``: the rotation whose template is actually computed.
    """

    def key(R):
        return (np.round(R, 6) + 0.0).tobytes()

    where = {}
    for i, R in enumerate(angles):
        where.setdefault(key(R), i)
    done = np.zeros(len(angles), bool)
    orbits = []
    for i, R in enumerate(angles):
        if done[i]:
            continue
        done[i] = True
        orbit = [(i, ())]
        for G, axes in flips:
            j = where.get(key(G @ R))
            if j is not None and not done[j]:
                done[j] = True
                orbit.append((j, axes))
        orbits.append(orbit)
    return orbits


class _PaddedFFT:
    """``rfftn`` of a small box placed point-reflected in a big zero array, without the zeros.

    The box fills ``b`` of the ``n`` planes, rows and columns, so the real FFT
    along x runs over ``b * b`` rows instead of ``n * n``, the FFT along y over
    ``b`` planes instead of ``n``, and only the FFT along z over the whole
    half-spectrum: about 45 % of the work of the full transform. The zero parts
    of the work arrays are allocated once and never written.
    """

    def __init__(self, box_shape, shape):
        self.shape = tuple(shape)
        self.zi, self.yi, self.xi = (
            (b // 2 - np.arange(b)) % n for b, n in zip(box_shape, shape, strict=True)
        )
        half = shape[2] // 2 + 1
        self.rows = np.zeros((box_shape[0], box_shape[1], shape[2]), np.float32)
        self.planes = np.zeros((box_shape[0], shape[1], half), np.complex64)
        self.volume = np.zeros((shape[0], shape[1], half), np.complex64)

    def forward(self, box: np.ndarray) -> np.ndarray:
        self.rows[:, :, self.xi] = box
        self.planes[:, self.yi, :] = sfft.rfft(self.rows, axis=2, workers=WORKERS)
        self.volume[self.zi] = sfft.fft(self.planes, axis=1, workers=WORKERS)
        return sfft.fft(self.volume, axis=0, workers=WORKERS)

    def inverse(self, spectrum: np.ndarray) -> np.ndarray:
        """The real volume of a half spectrum of the big shape (``spectrum`` is overwritten).

        Complex transforms over z and y in place, then the real one over x: the
        same result as :func:`scipy.fft.irfftn`, with one temporary array fewer.
        """
        half = sfft.ifftn(spectrum, axes=(0, 1), workers=WORKERS, overwrite_x=True)
        return sfft.irfft(half, n=self.shape[2], axis=2, workers=WORKERS, overwrite_x=True)


def _keep_best(cc, scores, best, index, slab_bytes=1 << 18):
    """Running maximum of ``cc`` into ``scores`` and its rotation index into ``best``.

    Done a slab of planes at a time, so the three passes over each slab stay
    in the processor's cache.
    """
    step = max(1, slab_bytes // (cc[0].size * cc.itemsize))
    for z in range(0, len(cc), step):
        c, s = cc[z : z + step], scores[z : z + step]
        np.copyto(best[z : z + step], index, where=c > s)
        np.maximum(s, c, out=s)


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
