"""Measure resolution: Fourier shell correlation and where it crosses a threshold."""

from __future__ import annotations

import numpy as np
import scipy.fft as sfft

from emcourse.sta.sampling import WORKERS, _hermitian_weights, _radial_frequency


def fsc(a, b, *, voxel_size: float, mask=None):
    """Fourier shell correlation between two volumes (ring correlation between two images).

    Parameters
    ----------
    a, b : ndarray (b, b, b) or (b, b)
        Two volumes, or two 2D images (then the Fourier *ring* correlation).
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
    if a.shape != b.shape or a.ndim not in (2, 3):
        raise ValueError(
            "fsc needs two 3D volumes (or two 2D images) of the same shape; "
            f"got {a.shape} and {b.shape}."
        )
    if mask is not None:
        a, b = a * mask, b * mask
    shape = a.shape
    Fa = sfft.rfftn(a, workers=WORKERS)
    Fb = sfft.rfftn(b, workers=WORKERS)
    herm = _hermitian_weights((1,) * (3 - a.ndim) + shape)
    n = min(shape)
    if a.ndim == 3:
        k = _radial_frequency(shape, rfft=True)
    else:
        k = np.hypot(sfft.fftfreq(shape[0])[:, None], sfft.rfftfreq(shape[1])[None, :])
    shell = np.rint(k * n).astype(int)
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


def cross_half_neighbours(positions, halves, distance: float) -> dict:
    """How often a gold-standard split puts close neighbours into different halves.

    Two particles closer than ``distance`` (a box size, in the positions'
    units) share voxels; when they are in different halves, the same density
    and noise enter both half maps, and the FSC between them is no longer
    between independent data.

    Parameters
    ----------
    positions : ndarray, shape (n, 3)
        Particle centres (any units, the same as ``distance``).
    halves : ndarray, shape (n,)
        The half each particle is in (1 or 2, or any two labels).
    distance : float
        Pairs closer than this count as sharing a box.

    Returns
    -------
    dict
        ``nearest`` median distance to the nearest neighbour; ``pairs`` pairs
        closer than ``distance``; ``cross`` those in different halves;
        ``particles`` the fraction of particles with such a neighbour in the
        other half; ``nearest_other_half`` the fraction whose nearest
        neighbour is in the other half.

    Examples
    --------
    >>> pos = np.array([[0.0, 0, 0], [0, 0, 10], [0, 0, 100]])
    >>> d = cross_half_neighbours(pos, np.array([1, 2, 2]), 50.0)
    >>> d["pairs"], d["cross"], round(d["particles"], 2)
    (1, 1, 0.67)
    """
    from scipy.spatial import cKDTree

    pos = np.asarray(positions, dtype=float).reshape(-1, 3)
    h = np.asarray(halves).reshape(-1)
    if len(h) != len(pos) or len(pos) < 2:
        raise ValueError(f"{len(pos)} positions and {len(h)} half labels: need 2 or more, equal.")
    tree = cKDTree(pos)
    dist, nearest = tree.query(pos, k=2)
    pairs = tree.query_pairs(float(distance), output_type="ndarray")
    cross = pairs[h[pairs[:, 0]] != h[pairs[:, 1]]] if len(pairs) else pairs
    touched = np.zeros(len(pos), dtype=bool)
    touched[cross.ravel()] = True
    return {
        "nearest": float(np.median(dist[:, 1])),
        "pairs": int(len(pairs)),
        "cross": int(len(cross)),
        "particles": float(touched.mean()),
        "nearest_other_half": float(np.mean(h[nearest[:, 1]] != h)),
    }
