"""Virus-like particles in a tomogram: find the shells, fit spheres, pick on them.

The lesson "Pick particles on a real tomogram" runs these on the real TS_01
tomogram of EMPIAR-10164 (immature HIV-1 Gag virus-like particles, about 40 A
voxels): spherical shells found by template matching
(:func:`match_shells`), a least-squares sphere fitted to each
(:func:`fit_sphere`, beside :func:`fit_sphere_geometric` from
:func:`scipy.optimize.least_squares`), points spread over each sphere with
their outward normals as orientation priors (:func:`sphere_picks`), and the
picks scored against the lattice the RELION tutorial refined
(:func:`match_points`, :func:`angular_error`). Half-sets are split by
particle group (:func:`split_by_group`) and the random split's shared boxes
counted (:func:`shared_box_pairs`). Positions are ``(z, y, x)`` in voxels.
"""

from __future__ import annotations

import numpy as np
import scipy.fft as sfft
from scipy import optimize
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from emcourse.sta.matching import find_peaks, template_match

__all__ = [
    "angular_error",
    "find_shells",
    "fit_sphere",
    "fit_sphere_geometric",
    "group_points",
    "lattice_spacing",
    "match_points",
    "match_shells",
    "shared_box_pairs",
    "shell_template",
    "shell_voxels",
    "sphere_picks",
    "split_by_group",
    "touching_groups",
    "wedge_profile",
]


def shell_template(radius: float, *, box: int, thickness: float = 1.5) -> np.ndarray:
    """A spherical shell of ``radius`` voxels centred in a cubic box (Gaussian wall).

    Examples
    --------
    >>> t = shell_template(6, box=20)
    >>> float(t[10, 10, 16]) > 0.99, float(t[10, 10, 10]) < 0.01
    (True, True)
    """
    z, y, x = np.indices((box,) * 3) - box // 2
    r = np.sqrt(z * z + y * y + x * x)
    return np.exp(-0.5 * ((r - radius) / thickness) ** 2).astype(np.float32)


def match_shells(tomogram, radii, *, wedge=None, thickness: float = 1.5):
    """Template matching with spherical shells of several radii; best score per voxel.

    A shell looks the same in every orientation, so one rotation (the
    identity) suffices: the search is over position and radius. Each radius is
    one call of :func:`emcourse.sta.template_match` (local normalised
    cross-correlation, the missing wedge applied to the template).

    Returns
    -------
    scores : ndarray (z, y, x)
        Best correlation over the radii.
    radius : ndarray (z, y, x)
        The radius that gave it (voxels).

    Examples
    --------
    >>> tomo = np.zeros((40, 40, 40), np.float32)
    >>> tomo[4:36, 4:36, 4:36] = shell_template(10, box=32)
    >>> s, r = match_shells(tomo, [8, 10, 12])
    >>> np.unravel_index(np.argmax(s), s.shape), float(r[20, 20, 20])
    ((np.int64(20), np.int64(20), np.int64(20)), 10.0)
    """
    tomogram = np.asarray(tomogram, np.float32)
    best = np.full(tomogram.shape, -np.inf, np.float32)
    radius = np.zeros(tomogram.shape, np.float32)
    for r in radii:
        box = 2 * int(np.ceil(r + 3 * thickness)) + 2
        box = min(box, *(n - n % 2 for n in tomogram.shape))
        s, _ = template_match(
            tomogram,
            shell_template(r, box=box, thickness=thickness),
            angles=np.eye(3)[None],
            mask=_ball(box, r + 2.5 * thickness),
            wedge=wedge,
        )
        better = s > best
        best[better] = s[better]
        radius[better] = r
    return best, radius


def _ball(box, radius):
    z, y, x = np.indices((box,) * 3) - box // 2
    r = np.sqrt(z * z + y * y + x * x)
    return np.clip(radius + 1.0 - r, 0.0, 1.0).astype(np.float32)


def find_shells(scores, radius, *, n: int, min_distance: float):
    """The ``n`` strongest peaks of :func:`match_shells`: centres, radii and scores."""
    peaks = find_peaks(scores, min_distance=min_distance, n=n)
    idx = tuple(peaks.T)
    return peaks.astype(float), radius[idx].astype(float), scores[idx].astype(float)


def shell_voxels(tomogram, centre, radius: float, *, band: float = 3.0, top: float = 0.2):
    """The brightest voxels within ``band`` of a sphere: points to fit the shell with.

    Keeps the ``top`` fraction of voxels by value in the band
    ``|r - radius| <= band`` about ``centre`` (inside the volume).

    Returns
    -------
    points : ndarray (m, 3), weights : ndarray (m,)
    """
    tomogram = np.asarray(tomogram)
    c = np.asarray(centre, float)
    lo = np.maximum(np.floor(c - radius - band), 0).astype(int)
    hi = np.minimum(np.ceil(c + radius + band) + 1, tomogram.shape).astype(int)
    grid = np.stack(
        np.meshgrid(*[np.arange(a, b) for a, b in zip(lo, hi, strict=True)], indexing="ij"), -1
    )
    pts = grid.reshape(-1, 3).astype(float)
    r = np.linalg.norm(pts - c, axis=1)
    pts = pts[np.abs(r - radius) <= band]
    vals = tomogram[tuple(pts.astype(int).T)]
    keep = vals >= np.quantile(vals, 1.0 - top)
    return pts[keep], vals[keep] - vals[keep].min() + 1e-6


def fit_sphere(points, weights=None):
    """Least-squares sphere through points, in closed form (the algebraic fit).

    ``|p|^2 = 2 c . p + (r^2 - |c|^2)`` is linear in ``c`` and ``d = r^2 - |c|^2``:
    one call of :func:`numpy.linalg.lstsq`.

    Returns
    -------
    centre : ndarray (3,), radius : float

    Examples
    --------
    >>> u = np.random.default_rng(0).normal(size=(50, 3))
    >>> p = 5 * u / np.linalg.norm(u, axis=1, keepdims=True) + [1, 2, 3]
    >>> c, r = fit_sphere(p)
    >>> np.round(c, 6).tolist(), round(r, 6)
    ([1.0, 2.0, 3.0], 5.0)
    """
    p = np.asarray(points, float)
    w = np.ones(len(p)) if weights is None else np.sqrt(np.asarray(weights, float))
    A = np.c_[2 * p, np.ones(len(p))] * w[:, None]
    b = (p * p).sum(1) * w
    s = np.linalg.lstsq(A, b, rcond=None)[0]
    c = s[:3]
    return c, float(np.sqrt(s[3] + c @ c))


def fit_sphere_geometric(points, start, weights=None):
    """The same sphere fitted by :func:`scipy.optimize.least_squares` on distances.

    Minimises ``sum w (|p - c| - r)^2`` from ``start = (centre, radius)``.
    """
    p = np.asarray(points, float)
    w = np.ones(len(p)) if weights is None else np.sqrt(np.asarray(weights, float))
    c0, r0 = start

    def resid(x):
        return w * (np.linalg.norm(p - x[:3], axis=1) - x[3])

    x = optimize.least_squares(resid, np.r_[np.asarray(c0, float), float(r0)]).x
    return x[:3], float(x[3])


def sphere_picks(centre, radius: float, *, spacing: float):
    """Points spread evenly over a sphere at about ``spacing`` apart, with outward normals.

    A Fibonacci (golden-angle) spiral with as many points as a hexagonal
    lattice of that spacing puts on the sphere: ``4 pi r^2 / (sqrt(3)/2 s^2)``.

    Returns
    -------
    positions : ndarray (n, 3), normals : ndarray (n, 3)
        ``(z, y, x)`` voxels and unit vectors pointing away from the centre.

    Examples
    --------
    >>> pos, nrm = sphere_picks([0, 0, 0], 10.0, spacing=2.0)
    >>> len(pos), bool(np.allclose(np.linalg.norm(pos, axis=1), 10))
    (363, True)
    """
    n = max(int(round(4 * np.pi * radius**2 / (np.sqrt(3) / 2 * spacing**2))), 1)
    i = np.arange(n) + 0.5
    z = 1 - 2 * i / n
    phi = np.pi * (3 - np.sqrt(5)) * i
    rho = np.sqrt(1 - z * z)
    normals = np.c_[z, rho * np.sin(phi), rho * np.cos(phi)]
    return np.asarray(centre, float) + radius * normals, normals


def lattice_spacing(points) -> float:
    """The median distance from each point to its nearest neighbour.

    Examples
    --------
    >>> lattice_spacing([[0, 0, 0], [0, 0, 2], [0, 0, 5]])
    2.0
    """
    p = np.asarray(points, float)
    return float(np.median(cKDTree(p).query(p, k=2)[0][:, 1]))


def group_points(points, *, link: float) -> np.ndarray:
    """Label connected groups: points closer than ``link`` belong to one group.

    Examples
    --------
    >>> group_points([[0, 0, 0], [0, 0, 1], [0, 0, 9]], link=2).tolist()
    [0, 0, 1]
    """
    p = np.asarray(points, float)
    pairs = cKDTree(p).query_pairs(link, output_type="ndarray")
    A = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(len(p), len(p)))
    return connected_components(A, directed=False)[1]


def match_points(found, truth, *, tolerance: float):
    """One-to-one matching of picks to true positions within ``tolerance`` (closest first).

    The same rule as :func:`emcourse.sta.precision_recall`, with a
    :class:`scipy.spatial.cKDTree` so that thousands of points fit in memory.

    Returns
    -------
    precision, recall : float
    pairs : ndarray (k, 2) of int
        Index of each matched pick and of its true position.

    Examples
    --------
    >>> p, r, pairs = match_points([[0, 0, 0], [10, 10, 10]], [[0, 0, 1], [5, 5, 5]], tolerance=2)
    >>> p, r, pairs.tolist()
    (0.5, 0.5, [[0, 0]])
    """
    f = np.asarray(found, float).reshape(-1, 3)
    t = np.asarray(truth, float).reshape(-1, 3)
    if len(f) == 0 or len(t) == 0:
        return (0.0 if len(f) else 1.0), (0.0 if len(t) else 1.0), np.zeros((0, 2), int)
    sdm = cKDTree(f).sparse_distance_matrix(cKDTree(t), tolerance, output_type="ndarray")
    order = np.argsort(sdm["v"], kind="stable")
    used_f, used_t, pairs = set(), set(), []
    for i, j in zip(sdm["i"][order], sdm["j"][order], strict=True):
        if i not in used_f and j not in used_t:
            used_f.add(i)
            used_t.add(j)
            pairs.append((int(i), int(j)))
    pairs = np.asarray(pairs, int).reshape(-1, 2)
    return len(pairs) / len(f), len(pairs) / len(t), pairs


def angular_error(a, b) -> np.ndarray:
    """Angle in degrees between unit vectors ``a`` and ``b`` (row by row)."""
    a = np.asarray(a, float)
    b = np.asarray(b, float)
    cos = (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def split_by_group(labels) -> np.ndarray:
    """Half-set (1 or 2) per point, whole groups to one half, sizes balanced.

    Groups are dealt, largest first, to whichever half holds fewer points.

    Examples
    --------
    >>> split_by_group([0, 0, 0, 1, 1, 2, 2]).tolist()
    [1, 1, 1, 2, 2, 2, 2]
    """
    labels = np.asarray(labels)
    ids, counts = np.unique(labels, return_counts=True)
    half = {}
    sizes = [0, 0]
    for k in np.argsort(-counts, kind="stable"):
        h = int(np.argmin(sizes))
        half[ids[k]] = h + 1
        sizes[h] += counts[k]
    return np.array([half[g] for g in labels])


def shared_box_pairs(points, halves, *, box: float) -> int:
    """Pairs of points in different half-sets whose cubic boxes of edge ``box`` overlap.

    Two boxes overlap when the points are closer than ``box`` along every axis.

    Examples
    --------
    >>> shared_box_pairs([[0, 0, 0], [0, 0, 3], [0, 0, 30]], [1, 2, 2], box=4)
    1
    """
    p = np.asarray(points, float)
    h = np.asarray(halves)
    pairs = cKDTree(p).query_pairs(box * (1 - 1e-9), p=np.inf, output_type="ndarray")
    return int(np.sum(h[pairs[:, 0]] != h[pairs[:, 1]]))


def touching_groups(points, labels, *, box: float) -> np.ndarray:
    """Merge groups whose members' boxes overlap: the label of each point's merged group.

    Examples
    --------
    >>> touching_groups([[0, 0, 0], [0, 0, 3], [0, 0, 30]], [0, 1, 2], box=4).tolist()
    [0, 0, 1]
    """
    p = np.asarray(points, float)
    labels = np.asarray(labels)
    pairs = cKDTree(p).query_pairs(box * (1 - 1e-9), p=np.inf, output_type="ndarray")
    a, b = labels[pairs[:, 0]], labels[pairs[:, 1]]
    cross = a != b
    n = int(labels.max()) + 1
    A = coo_matrix((np.ones(int(cross.sum())), (a[cross], b[cross])), shape=(n, n))
    return connected_components(A, directed=False)[1][labels]


def wedge_profile(tomogram, *, band=(0.15, 0.45), n_angles: int = 19):
    """Mean power against the angle from the ``k_x`` axis in the ``(k_z, k_x)`` planes.

    With tilts about y, a tilt series samples the angles up to its highest
    tilt and misses the rest (the missing wedge, around ``k_z``). Power is
    averaged over all ``k_y`` and over frequencies in ``band`` (cycles per
    voxel), in angle bins from 0 (``k_x``) to 90 degrees (``k_z``).

    Returns
    -------
    angles : ndarray (n_angles - 1,), power : ndarray (n_angles - 1,)
        Bin centres in degrees and the mean power in each, relative to the
        first bin.
    """
    v = np.asarray(tomogram, float)
    P = np.abs(sfft.rfftn(v - v.mean())) ** 2
    kz = np.fft.fftfreq(v.shape[0])[:, None, None]
    ky = np.fft.fftfreq(v.shape[1])[None, :, None]
    kx = np.fft.rfftfreq(v.shape[2])[None, None, :]
    k = np.sqrt(kz**2 + kx**2 + 0 * ky)
    ang = np.degrees(np.arctan2(np.abs(kz), kx)) + 0 * ky
    sel = (k >= band[0]) & (k <= band[1])
    edges = np.linspace(0, 90, n_angles)
    which = np.minimum(np.digitize(ang[sel], edges) - 1, n_angles - 2)  # 90 deg: last bin
    power = np.bincount(which, P[sel], minlength=n_angles)[: n_angles - 1]
    power /= np.bincount(which, minlength=n_angles)[: n_angles - 1]
    return 0.5 * (edges[1:] + edges[:-1]), power / power[0]
