"""A tilt series and its metadata: order, dose, tilt axis, defocus; a simulated cryo series.

The metadata side works on the arrays that
:func:`emcourse.io.read_tilt_series_star` returns (one value per tilt image:
stage tilt, tilt-axis angle, pre-exposure, CTFFIND defocus and astigmatism,
alignment shifts) and on the tilt angles of a SerialEM mdoc. The simulation
side makes a cryo tilt series with those values and keeps the truth:
:func:`simulate_tilt_series`.

Angles in the image plane (the tilt axis, the astigmatism angle) are measured
in degrees from the x (column) axis towards the y (row) axis, as RELION and
CTFFIND measure them; ``90`` is the y axis. Doses are in e/A^2, lengths in
angstrom.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from emcourse.sta.ctf import ctf_2d
from emcourse.sta.tomography import project, tilt_scheme

__all__ = [
    "SimulatedTiltSeries",
    "acquisition_order",
    "axial_difference",
    "dose_per_tilt",
    "missing_tilts",
    "project_about_axis",
    "rotate_plane",
    "simulate_tilt_series",
    "standin_tilt_table",
    "tomogram_acquisition",
]


# ------------------------------------------------------------------ metadata

# key -> RELION 5 column (emcourse.io.read_tilt_series_star reads them into these keys)
_RELION_COLUMNS = {
    "tilt": "rlnTomoNominalStageTiltAngle",
    "tilt_axis": "rlnTomoNominalTiltAxisAngle",
    "pre_exposure": "rlnMicrographPreExposure",
    "defocus_u": "rlnDefocusU",
    "defocus_v": "rlnDefocusV",
    "defocus_angle": "rlnDefocusAngle",
    "x_shift": "rlnTomoXShiftAngst",
    "y_shift": "rlnTomoYShiftAngst",
    "z_rot": "rlnTomoZRot",
}


def acquisition_order(pre_exposure) -> np.ndarray:
    """The rank of each image in the acquisition, from its pre-exposure (0 = first).

    The dose received before an image grows with every image taken, so sorting
    by pre-exposure recovers the order in which the images were recorded.

    Examples
    --------
    >>> acquisition_order([6.0, 0.0, 3.0]).tolist()
    [2, 0, 1]
    """
    pre = np.asarray(pre_exposure, dtype=float)
    rank = np.empty(len(pre), dtype=np.int64)
    rank[np.argsort(pre, kind="stable")] = np.arange(len(pre))
    return rank


def dose_per_tilt(pre_exposure) -> np.ndarray:
    """The dose of each image (e/A^2): the step to the next image's pre-exposure.

    ``rlnMicrographPreExposure`` is the dose *accumulated before* an image.
    The dose of one image is the difference between the pre-exposure of the
    image taken after it and its own; the last image taken has no successor
    and gets the median step of the others.

    Examples
    --------
    >>> dose_per_tilt([6.0, 0.0, 3.0]).tolist()
    [3.0, 3.0, 3.0]
    """
    pre = np.asarray(pre_exposure, dtype=float)
    order = np.argsort(pre, kind="stable")
    steps = np.diff(pre[order])
    dose = np.empty(len(pre))
    dose[order[:-1]] = steps
    dose[order[-1]] = np.median(steps) if len(steps) else 0.0
    return dose


def tomogram_acquisition(meta: dict) -> dict:
    """A tilt table's tilts in acquisition order, with each image's defocus and exposure.

    What :func:`emcourse.sta.simulate_tomogram` takes to simulate a tomogram
    with a real series' metadata: ``tilt_angles`` (degrees, sorted by
    pre-exposure, i.e. in the order the images were taken), ``defocus_um``
    (the mean of CTFFIND's defocus U and V of each image, micrometres) and
    ``exposure`` (e/A^2: the pre-exposure plus half of one image's dose, the
    median of :func:`dose_per_tilt`, so the damage is taken in the middle of
    each exposure).

    Parameters
    ----------
    meta : dict
        What :func:`emcourse.io.read_tilt_series_star` or
        :func:`standin_tilt_table` returns.

    Examples
    --------
    >>> acq = tomogram_acquisition(standin_tilt_table())
    >>> np.round(acq["tilt_angles"][:3]).astype(int).tolist(), acq["exposure"][:2].tolist()
    ([0, 3, -3], [1.5, 4.5])
    >>> bool(3.8 < np.median(acq["defocus_um"]) < 4.0)
    True
    """
    pre = np.asarray(meta["pre_exposure"], dtype=float)
    order = np.argsort(pre, kind="stable")
    defocus = 0.5 * (np.asarray(meta["defocus_u"], float) + np.asarray(meta["defocus_v"], float))
    return {
        "tilt_angles": np.asarray(meta["tilt"], dtype=float)[order],
        "defocus_um": defocus[order] / 1e4,
        "exposure": pre[order] + 0.5 * float(np.median(dose_per_tilt(pre))),
    }


def missing_tilts(reference, present, *, tolerance: float = 0.5) -> np.ndarray:
    """The tilts of ``reference`` (e.g. the mdoc's) with no tilt of ``present`` near them.

    Examples
    --------
    >>> missing_tilts([-6.0, -3.0, 0.0, 3.0], [-2.99, 0.001, 3.0]).tolist()
    [-6.0]
    """
    ref = np.asarray(reference, dtype=float)
    have = np.asarray(present, dtype=float)
    if have.size == 0:
        return ref.copy()
    gap = np.abs(ref[:, None] - have[None, :]).min(axis=1)
    return ref[gap > tolerance]


def axial_difference(a, b) -> np.ndarray:
    """The difference between two axis angles in degrees, folded to 0..90.

    An astigmatism angle or a tilt axis is an axis, not a direction: 10 and
    190 degrees, or -80 and 100, are the same axis.

    Examples
    --------
    >>> axial_difference([10.0, -80.0, 44.5], [190.0, 100.0, -77.5]).tolist()
    [0.0, 0.0, 58.0]
    """
    d = np.mod(np.asarray(a, dtype=float) - np.asarray(b, dtype=float), 180.0)
    return np.minimum(d, 180.0 - d)


def standin_tilt_table(*, name: str = "TS_01", seed: int = 0) -> dict:
    """A deterministic stand-in for TS_01's RELION 5 tilt-series table.

    40 tilts, -57 to +60 degrees every 3 (the -60 degree image of the
    41-image dose-symmetric scheme left out, as in TS_01's table); pre-exposure
    3 e/A^2 per image in dose-symmetric order; nominal tilt axis 85 degrees
    and a refined one rising from 85.0 to 85.6 with the tilt; defocus about
    3.9 um with 0 to 1,000 A of astigmatism at random angles; shifts of tens
    to 150 A drifting with the tilt. Same keys as
    :func:`emcourse.io.read_tilt_series_star` returns, and a ``table`` with
    RELION's column names.

    Examples
    --------
    >>> t = standin_tilt_table()
    >>> len(t["tilt"]), round(t["tilt"].min()), t["pre_exposure"].max(), t["tilt_axis"][0]
    (40, -57, np.float64(120.0), np.float64(85.0))
    """
    import pandas as pd

    rng = np.random.default_rng(seed)
    scheme = tilt_scheme(min_angle=-60.0, max_angle=60.0, step=3.0)
    pre_all = 3.0 * np.arange(len(scheme))
    keep = scheme > -59.0
    order = np.argsort(scheme[keep])
    tilt = scheme[keep][order]
    n = len(tilt)
    astig = np.abs(rng.normal(0.0, 350.0, n)).clip(2.0, 1000.0)
    mean_defocus = 39100.0 - 8.0 * tilt + rng.normal(0.0, 300.0, n)
    values = {
        "tilt": tilt + rng.normal(0.0, 0.001, n),
        "tilt_axis": np.full(n, 85.0),
        "pre_exposure": pre_all[keep][order],
        "defocus_u": mean_defocus + astig / 2,
        "defocus_v": mean_defocus - astig / 2,
        # an axis near 40 deg, measured poorly: neighbours differ by tens of degrees
        "defocus_angle": np.mod(40.0 + rng.normal(0.0, 35.0, n) + 90.0, 180.0) - 90.0,
        "x_shift": -0.25 * tilt * np.abs(np.sin(np.deg2rad(tilt))) * 2 + rng.normal(0, 6, n),
        "y_shift": -2.6 * tilt + rng.normal(0.0, 12.0, n),
        "z_rot": 85.26 + 0.3 * (tilt / 60.0) ** 2 * np.sign(tilt + 60) + 0.0003 * tilt,
    }
    columns = {c: values[key] for key, c in _RELION_COLUMNS.items()}
    table = pd.DataFrame(columns)
    return {"name": name, "table": table, **values}


# ------------------------------------------------------------------ geometry


def rotate_plane(image, angle_deg: float, *, order: int = 1) -> np.ndarray:
    """Turn an image (or each plane of a volume) by ``angle_deg`` about its centre.

    Content at azimuth ``phi`` (degrees from the x axis towards the y axis,
    about the pixel ``n // 2``) moves to ``phi + angle_deg``. Outside the
    input, zero.

    Examples
    --------
    >>> img = np.zeros((9, 9)); img[4, 7] = 1.0   # on the x axis, 3 px from the centre
    >>> np.argwhere(rotate_plane(img, 90.0) > 0.5).tolist()  # now on the y axis
    [[7, 4]]
    """
    arr = np.asarray(image, dtype=np.float32)
    a = np.deg2rad(angle_deg)
    c, s = np.cos(a), np.sin(a)
    m2 = np.array([[c, -s], [s, c]])  # (y, x) out -> (y, x) in: the inverse rotation
    ny, nx = arr.shape[-2:]
    centre = np.array([ny // 2, nx // 2], dtype=float)
    offset2 = centre - m2 @ centre
    if arr.ndim == 2:
        return ndimage.affine_transform(arr, m2, offset=offset2, order=order, cval=0.0)
    m3 = np.eye(3)
    m3[1:, 1:] = m2
    return ndimage.affine_transform(arr, m3, offset=np.r_[0.0, offset2], order=order, cval=0.0)


def project_about_axis(volume, tilts, axis_angle: float) -> np.ndarray:
    """Projections of ``volume`` tilted about an in-plane axis at ``axis_angle`` degrees.

    The volume is turned so that the axis lies along y, projected with
    :func:`~emcourse.sta.tomography.project` (tilt about y), and each image is
    turned back: a point on the axis stays put at every tilt, a point off it
    moves across the axis.

    Examples
    --------
    >>> vol = np.zeros((9, 33, 33), np.float32); vol[4, 16, 16] = 1.0
    >>> p = project_about_axis(vol, [-30.0, 0.0, 30.0], 85.0)
    >>> [np.unravel_index(np.argmax(im), im.shape) for im in p] == [(16, 16)] * 3
    True
    """
    turn = 90.0 - float(axis_angle)
    upright = rotate_plane(volume, turn)
    images = project(upright, np.asarray(tilts, dtype=float))
    return np.stack([rotate_plane(im, -turn) for im in images])


# ------------------------------------------------------------------ simulation


def _turn_points(points_zyx, angle_deg: float) -> np.ndarray:
    """Points (z, y, x) from the centre, turned in the image plane as :func:`rotate_plane` does."""
    p = np.asarray(points_zyx, dtype=float).reshape(-1, 3)
    a = np.deg2rad(angle_deg)
    y = p[:, 2] * np.sin(a) + p[:, 1] * np.cos(a)
    x = p[:, 2] * np.cos(a) - p[:, 1] * np.sin(a)
    return np.stack([p[:, 0], y, x], axis=1)


@dataclass(frozen=True)
class SimulatedTiltSeries:
    """A simulated cryo tilt series and the truth it was made with.

    Images are sorted by tilt (as RELION's table and IMOD's stacks are);
    ``order`` gives each image's place in the acquisition. Shifts are the
    translations applied to each image, ``(y, x)`` in angstrom: align by
    shifting back by them.
    """

    images: np.ndarray  # (n, ny, nx) float32, electrons per pixel
    pixel_size: float  # angstrom
    tilts: np.ndarray  # (n,) degrees
    order: np.ndarray  # (n,) acquisition rank
    pre_exposure: np.ndarray  # (n,) e/A^2 before each image
    dose: np.ndarray  # (n,) e/A^2 in each image
    nominal_axis: float  # degrees, the metadata's tilt axis
    true_axis: float  # degrees, the axis the images were made with
    defocus_u: np.ndarray  # (n,) angstrom
    defocus_v: np.ndarray
    defocus_angle: np.ndarray  # (n,) degrees
    shifts: np.ndarray  # (n, 2) (y, x) angstrom
    beads: np.ndarray  # (m, 3) (z, y, x) angstrom from the volume centre
    particles: np.ndarray  # (k, 3) (z, y, x) angstrom from the volume centre
    voltage: float
    cs: float
    amplitude_contrast: float

    @property
    def axis_error(self) -> float:
        """True minus nominal tilt-axis angle, degrees."""
        return self.true_axis - self.nominal_axis


def _specimen(shape, pixel_size, n_particles, n_beads, bead_radius, rng):
    """A slab of weak amorphous density and copies of the phantom molecule; gold beads apart.

    Returns the phase volume, the beads' volume (1 inside a bead, for their
    amplitude contrast) and the particles' and beads' centres in angstrom.
    """
    from emcourse.sta.rotations import random_rotations
    from emcourse.sta.sampling import rotate_volume
    from emcourse.sta.simulate import phantom_map

    nz, ny, nx = shape
    # amorphous ice and matter: white at these frequencies, so that Thon rings show
    vol = rng.normal(0.0, 1.0, shape).astype(np.float32)
    box = 32
    mol = phantom_map(box=box, voxel_size=pixel_size, diameter=180.0)
    usable = min(ny, nx) // 2 - box  # inside the disc that every in-plane turn keeps

    def place(n, margin_z):
        r = usable * np.sqrt(rng.uniform(0.05, 1.0, n))
        phi = rng.uniform(0.0, 2 * np.pi, n)
        half = max(nz // 2 - margin_z, 0)
        z = rng.uniform(-half, half, n)
        return np.stack([z, r * np.sin(phi), r * np.cos(phi)], axis=1)

    particles = place(n_particles, box // 2)
    rots = random_rotations(n_particles, seed=rng)
    h = box // 2
    for pos, rot in zip(particles, rots, strict=True):
        cz, cy, cx = (np.round(pos).astype(int) + [nz // 2, ny // 2, nx // 2]).tolist()
        vol[cz - h : cz + h, cy - h : cy + h, cx - h : cx + h] += rotate_volume(mol, rot)
    beads = place(n_beads, int(np.ceil(bead_radius)) + 1)
    gold = np.zeros(shape, np.float32)
    w = int(np.ceil(bead_radius)) + 3  # a bead's window: its radius and the soft edge
    grid = np.indices((2 * w + 1,) * 3, dtype=np.float32) - w
    for b in beads:
        c = np.round(b).astype(int) + [nz // 2, ny // 2, nx // 2]
        d = np.sqrt((((grid.T - (b + [nz // 2, ny // 2, nx // 2] - c)).T) ** 2).sum(0))
        ball = 1.0 / (1.0 + np.exp((d - bead_radius) / 0.5))
        lo, hi = c - w, c + w + 1
        clo, chi = np.maximum(lo, 0), np.minimum(hi, shape)
        gold[clo[0] : chi[0], clo[1] : chi[1], clo[2] : chi[2]] += ball[
            clo[0] - lo[0] : (chi - lo)[0],
            clo[1] - lo[1] : (chi - lo)[1],
            clo[2] - lo[2] : (chi - lo)[2],
        ]
    return vol, gold, particles * pixel_size, beads * pixel_size


def simulate_tilt_series(
    meta: dict,
    *,
    pixel_size: float = 6.0,
    shape: tuple[int, int] = (256, 256),
    thickness: int = 48,
    n_particles: int = 8,
    n_beads: int = 10,
    axis_error: float = 1.0,
    phase_per_density: float = 0.02,
    gold_absorption: float = 0.05,
    voltage: float = 300.0,
    cs: float = 2.7,
    amplitude_contrast: float = 0.1,
    seed: int = 0,
) -> SimulatedTiltSeries:
    """A cryo tilt series made with a tilt series' metadata, and its truth.

    For each tilt of ``meta`` (sorted by tilt): the specimen (weak amorphous
    density, ``n_particles`` copies of the phantom molecule, ``n_beads`` gold
    beads of 50 A radius, in a slab ``thickness`` pixels thick) is projected
    about the true tilt axis (``meta``'s nominal axis + ``axis_error``); the
    projection becomes a phase (weak-phase approximation), the CTF at that
    tilt's defocus, astigmatism and angle is applied (one defocus per image:
    no defocus gradient across the tilted image); the image is shifted by
    ``meta``'s ``(y_shift, x_shift)`` and gets shot noise for the dose of
    one image (the median of :func:`dose_per_tilt`: where an image is missing
    from the table, the step to the next pre-exposure holds two doses). No radiation damage
    is simulated: the images differ only in their dose, not in the
    specimen's state.

    Parameters
    ----------
    meta : dict
        What :func:`emcourse.io.read_tilt_series_star` or
        :func:`standin_tilt_table` returns.
    pixel_size : float
        Angstrom per pixel of the images (and voxel of the specimen).
    shape : (ny, nx)
        Image size in pixels.
    thickness : int
        Slab thickness in pixels.
    n_particles, n_beads : int
    axis_error : float
        Degrees added to the nominal tilt axis to make the images.
    phase_per_density : float
        Radians of phase per unit of projected density.
    gold_absorption : float
        Fraction of electrons a gold bead removes per pixel of path (its
        amplitude contrast: beads are dark at any defocus).
    voltage, cs, amplitude_contrast : float
        kV, mm, fraction.
    seed : int

    Returns
    -------
    SimulatedTiltSeries

    Examples
    --------
    >>> ts = simulate_tilt_series(standin_tilt_table(), shape=(96, 96), thickness=40,
    ...                           n_particles=1, n_beads=2, seed=1)
    >>> ts.images.shape, round(ts.axis_error, 6), ts.images.dtype
    ((40, 96, 96), 1.0, dtype('float32'))
    """
    rng = np.random.default_rng(seed)
    sort = np.argsort(meta["tilt"])
    tilts = np.asarray(meta["tilt"], float)[sort]
    pre = np.asarray(meta["pre_exposure"], float)[sort]
    # every image gets the scheme's dose: a step of two doses in the table is an image left out
    dose = np.full(len(pre), float(np.median(dose_per_tilt(pre))))
    nominal = float(np.median(meta["tilt_axis"]))
    true_axis = nominal + float(axis_error)
    du, dv, da = (
        np.asarray(meta[k], float)[sort] for k in ("defocus_u", "defocus_v", "defocus_angle")
    )
    shifts = np.stack([np.asarray(meta["y_shift"], float), np.asarray(meta["x_shift"], float)], 1)
    shifts = shifts[sort]
    ny, nx = shape
    vol, gold, particles, beads = _specimen(
        (thickness, ny, nx), pixel_size, n_particles, n_beads, 50.0 / pixel_size, rng
    )
    # the specimen is made in the frame where the tilt axis is the y axis (a random specimen
    # needs no turning), projected, and each image turned onto the true axis (cubic)
    turn = 90.0 - true_axis
    phases = project(vol + 2.0 * gold, tilts)  # gold: a strong phase object and ...
    absorbed = project(gold, tilts)  # ... it scatters electrons out of the image
    for i in range(len(tilts)):
        phases[i] = phase_per_density * rotate_plane(phases[i], -turn, order=3)
        absorbed[i] = rotate_plane(absorbed[i], -turn, order=1)
    particles, beads = (_turn_points(p, -turn) for p in (particles, beads))
    images = np.empty((len(tilts), ny, nx), np.float32)
    for i in range(len(tilts)):
        ctf = ctf_2d(
            (ny, nx),
            pixel_size,
            defocus_u=du[i],
            defocus_v=dv[i],
            astig_angle=da[i],
            voltage=voltage,
            cs=cs,
            amplitude_contrast=amplitude_contrast,
            rfft=True,
        )
        wave = np.fft.irfft2(np.fft.rfft2(phases[i] - phases[i].mean()) * ctf, s=(ny, nx))
        transmitted = np.clip(1.0 + wave, 0.0, None) * np.exp(-gold_absorption * absorbed[i])
        moved = ndimage.shift(transmitted, shifts[i] / pixel_size, order=1, mode="grid-wrap")
        expected = dose[i] * pixel_size**2 * moved
        images[i] = rng.poisson(expected)
    return SimulatedTiltSeries(
        images=images,
        pixel_size=float(pixel_size),
        tilts=tilts,
        order=acquisition_order(pre),
        pre_exposure=pre,
        dose=dose,
        nominal_axis=nominal,
        true_axis=true_axis,
        defocus_u=du,
        defocus_v=dv,
        defocus_angle=da,
        shifts=shifts,
        beads=beads,
        particles=particles,
        voltage=float(voltage),
        cs=float(cs),
        amplitude_contrast=float(amplitude_contrast),
    )
