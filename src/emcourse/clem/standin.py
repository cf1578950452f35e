"""Synthetic stand-ins for the CLEM lessons, seeded and with known truth.

- :func:`standin_landmarks`: 3D bead landmarks clicked in a light volume and
  in a FIB-SEM volume, with anisotropic localisation errors (light z about 3x
  worse than xy), a known affine transform, hidden targets and optional
  outliers. Mimics the COSEM landmark table: tens of points over a cell a few
  tens of micrometres wide, nanometres.
- :func:`standin_pair`: a 2D EM image of a cell region (mitochondria,
  lysosomes, a nucleus edge) at 20 nm pixels, and a two-channel fluorescence
  image of the same region (mitochondria and lysosome-like puncta) rendered
  through a Gaussian PSF at 100 nm pixels under a known similarity-plus-shear
  transform, with Poisson noise.

Both return the types of :mod:`emcourse.clem.types` with ``truth`` filled in.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from emcourse.clem.transforms import apply, invert, make_transform, rotation_2d, rotation_3d
from emcourse.clem.types import ImagePair, Landmarks
from emcourse.clem.warp import warp
from emcourse.volume import Source

__all__ = [
    "standin_bigwarp",
    "standin_cosem_landmarks",
    "standin_elastix_files",
    "standin_landmarks",
    "standin_pair",
    "standin_registered_pair",
    "true_transform",
]

_NOTE = "synthetic stand-in made by emcourse.clem.standin (seeded; known transform)"


def true_transform(k: int = 3, *, seed: int = 0, shear: float = 0.03) -> np.ndarray:
    """A plausible light -> EM transform: rotation, scale near 1, small shear, shift (nm)."""
    rng = np.random.default_rng(seed)
    if k == 3:
        rot = rotation_3d((1.0, 0.2, 0.1), rng.uniform(10, 30))
        scale = np.diag([1.04, 0.98, 0.98])  # (z, y, x): z scale differs (refractive index)
    else:
        rot = rotation_2d(rng.uniform(10, 30))
        scale = np.diag([0.98, 0.98])
    sh = np.eye(k)
    sh[-2, -1] = shear
    lin = rot @ scale @ sh
    return make_transform(linear=lin, translation=rng.uniform(-3000, 3000, k))


def standin_landmarks(
    n: int = 20,
    *,
    seed: int = 0,
    extent=(6000.0, 30000.0, 30000.0),
    sigma_moving=(150.0, 50.0, 50.0),
    sigma_fixed=20.0,
    outlier_fraction: float = 0.0,
    n_targets: int = 200,
) -> Landmarks:
    """Bead landmarks in 3D with anisotropic localisation errors and known truth.

    Parameters
    ----------
    n : int
        Number of landmarks.
    seed : int
        Random seed.
    extent : (z, y, x) nm
        Size of the region the landmarks are spread over (light space).
    sigma_moving : float or (z, y, x) nm
        Per-axis localisation error of the light clicks (z about 3x xy).
    sigma_fixed : float or (z, y, x) nm
        Per-axis localisation error of the EM clicks.
    outlier_fraction : float
        Fraction of landmarks whose EM partner is a wrong bead (mis-paired),
        typically microns away.
    n_targets : int
        Hidden targets spread over the same region, for measuring TRE.

    Returns
    -------
    Landmarks
        ``truth`` holds ``matrix``, ``sigma_moving``, ``sigma_fixed``,
        ``outlier``, ``targets``, ``moving_true``.
    """
    rng = np.random.default_rng(seed)
    ext = np.asarray(extent, dtype=np.float64)
    k = len(ext)
    m = true_transform(k, seed=seed + 1)
    p_true = rng.uniform(0, 1, (n, k)) * ext
    targets = rng.uniform(0.1, 0.9, (n_targets, k)) * ext
    sm = np.broadcast_to(np.asarray(sigma_moving, dtype=np.float64), (k,))
    sf = np.broadcast_to(np.asarray(sigma_fixed, dtype=np.float64), (k,))
    moving = p_true + rng.standard_normal((n, k)) * sm
    fixed = apply(m, p_true) + rng.standard_normal((n, k)) * sf
    outlier = np.zeros(n, dtype=bool)
    n_out = int(round(outlier_fraction * n))
    if n_out:
        idx = rng.choice(n, n_out, replace=False)
        outlier[idx] = True
        # a wrong partner: a bead somewhere else in the field (2-10 um away)
        shift = rng.standard_normal((n_out, k))
        shift /= np.linalg.norm(shift, axis=1, keepdims=True)
        fixed[idx] += shift * rng.uniform(2000, 10000, (n_out, 1))
    truth = {
        "matrix": m,
        "sigma_moving": sm.copy(),
        "sigma_fixed": sf.copy(),
        "outlier": outlier,
        "targets": targets,
        "moving_true": p_true,
    }
    src = Source("emcourse-clem-landmarks", licence="CC0-1.0", real=False, note=_NOTE)
    return Landmarks(moving, fixed, unit="nm", source=src, truth=truth)


def _ellipse(shape, centre, axes, angle):
    yy, xx = np.ogrid[: shape[0], : shape[1]]
    c, s = np.cos(angle), np.sin(angle)
    dy, dx = yy - centre[0], xx - centre[1]
    u = (c * dx + s * dy) / axes[1]
    v = (-s * dx + c * dy) / axes[0]
    return u**2 + v**2


def _local(shape, centre, axes, angle):
    """``(slices, r2)``: the ellipse's squared radius on the bounding box only (r2 < 1 inside)."""
    half = max(axes) + 2
    y0, x0 = (max(int(np.floor(centre[i] - half)), 0) for i in range(2))
    y1, x1 = (min(int(np.ceil(centre[i] + half)) + 1, shape[i]) for i in range(2))
    yy, xx = np.ogrid[y0:y1, x0:x1]
    c, s = np.cos(angle), np.sin(angle)
    dy, dx = yy - centre[0], xx - centre[1]
    u = (c * dx + s * dy) / axes[1]
    v = (-s * dx + c * dy) / axes[0]
    return (slice(y0, y1), slice(x0, x1)), u**2 + v**2


def _place(rng, shape, occupied, size_px, tries=200):
    for _ in range(tries):
        c = rng.uniform(size_px, np.array(shape) - size_px)
        y0, x0 = (int(c[0] - size_px), int(c[1] - size_px))
        y1, x1 = (int(c[0] + size_px), int(c[1] + size_px))
        if not occupied[max(y0, 0) : y1, max(x0, 0) : x1].any():
            occupied[max(y0, 0) : y1, max(x0, 0) : x1] = True
            return c
    return None


def standin_pair(
    *,
    seed: int = 0,
    em_shape=(512, 512),
    em_pixel: float = 20.0,
    lm_shape=(144, 144),
    lm_pixel: float = 100.0,
    psf_sigma: float = 100.0,
    n_mito: int = 30,
    n_lyso: int = 14,
    photons: float = 300.0,
    n_beads: int = 10,
    label_offset: float = 40.0,
) -> ImagePair:
    """A 2D EM image and a two-channel fluorescence image of one region, with truth.

    Light physical coordinates ``u`` (nm, (y, x), pixel ``(i, j)`` centred at
    ``(i, j) * lm_pixel``) map to EM physical coordinates by
    ``truth["matrix"]``. Channel 0 labels mitochondria, channel 1 lysosomes.
    Each object's fluorescence is displaced from its EM outline by a random
    offset (``label_offset`` nm per axis, standard deviation), as a stain
    that does not fill its organelle evenly would be.

    ``truth`` holds ``matrix``, ``labels`` (EM mitochondria instance labels),
    ``mito_centres`` and ``lyso_centres`` (EM nm), ``landmarks`` (a
    :class:`Landmarks` of up to ``n_beads`` fiducial beads, dark in the EM and
    bright in both light channels, clicked with 60 nm light and 15 nm EM
    error per axis; ``truth["beads_em"]`` their true EM positions) and
    ``targets`` (hidden points inside the EM field, in light coordinates).
    """
    rng = np.random.default_rng(seed)
    h, w = em_shape
    occupied = np.zeros(em_shape, dtype=bool)
    # texture: smooth cytoplasm with fine grain
    em = 0.62 + 0.05 * ndimage.gaussian_filter(rng.standard_normal(em_shape), 3)
    # a nucleus edge in one corner
    nucleus = _ellipse(em_shape, (h * 1.05, -w * 0.05), (h * 0.38, w * 0.5), 0.3) < 1
    em[nucleus] = 0.5 + 0.04 * ndimage.gaussian_filter(rng.standard_normal(em_shape), 1.5)[nucleus]
    occupied |= ndimage.binary_dilation(nucleus, iterations=8)
    labels = np.zeros(em_shape, dtype=np.int32)
    fluor = np.zeros((2, *em_shape))
    mito_centres, lyso_centres = [], []
    for i in range(n_mito):
        length = rng.uniform(400, 1200) / em_pixel
        width = rng.uniform(220, 340) / em_pixel
        c = _place(rng, em_shape, occupied, length / 2 + 3)
        if c is None:
            continue
        angle = rng.uniform(0, np.pi)
        sl, r2 = _local(em_shape, c, (width / 2, length / 2), angle)
        inside = r2 < 1
        labels[sl][inside] = i + 1
        jitter = rng.standard_normal(2) * label_offset / em_pixel
        sl_f, r2_f = _local(em_shape, c + jitter, (width / 2, length / 2), angle)
        fluor[0][sl_f][r2_f < 1] = 1.0
        ring = inside & (r2 > (1 - 2.5 / (width / 2)) ** 2)
        yy, xx = np.nonzero(inside)
        yy, xx = yy + sl[0].start, xx + sl[1].start
        cristae = 0.5 + 0.5 * np.cos(
            2 * np.pi * ((xx - c[1]) * np.cos(angle) + (yy - c[0]) * np.sin(angle)) / 5.0
        )
        em[yy, xx] = 0.40 - 0.12 * cristae
        em[sl][ring] = 0.22
        mito_centres.append(c * em_pixel)
    for _ in range(n_lyso):
        rad = rng.uniform(120, 220) / em_pixel
        c = _place(rng, em_shape, occupied, rad + 3)
        if c is None:
            continue
        sl, r2 = _local(em_shape, c, (rad, rad), 0.0)
        disk = r2 < 1
        em[sl][disk] = 0.18 + 0.05 * rng.standard_normal(int(disk.sum()))
        jitter = rng.standard_normal(2) * label_offset / em_pixel
        sl_f, r2_f = _local(em_shape, c + jitter, (rad, rad), 0.0)
        fluor[1][sl_f][r2_f < 1] = 1.0
        lyso_centres.append(c * em_pixel)
    # fiducial beads (100 nm radius): electron-dense in the EM, fluorescent in every channel
    beads_em = []
    for _ in range(n_beads):
        c = _place(rng, em_shape, occupied, 100.0 / em_pixel + 4)
        if c is not None:
            beads_em.append(c * em_pixel)
            sl, r2 = _local(em_shape, c, (100.0 / em_pixel,) * 2, 0.0)
            em[sl][r2 < 1] = 0.05
            fluor[(slice(None), *sl)][:, r2 < 1] = 1.5
    beads_em = np.array(beads_em).reshape(-1, 2)
    em = em + 0.06 * rng.standard_normal(em_shape)
    em = np.clip(em, 0, 1).astype(np.float32)

    # fluorescence: blur the labels by the PSF in EM space, sample on the light grid
    m = true_transform(2, seed=seed + 1, shear=0.04)
    # place the light field so that it covers the EM field: centre on centre
    lm_centre = (np.array(lm_shape) - 1) / 2 * lm_pixel
    em_centre = (np.array(em_shape) - 1) / 2 * em_pixel
    m[:2, 2] += em_centre - apply(m, lm_centre[None])[0]
    sig = psf_sigma / em_pixel
    planes = [ndimage.gaussian_filter(f, sig) for f in fluor]
    jj, ii = np.meshgrid(np.arange(lm_shape[1]), np.arange(lm_shape[0]))
    u = np.stack([ii.ravel(), jj.ravel()], axis=1) * lm_pixel
    pos = apply(m, u) / em_pixel
    lm = np.empty((2, *lm_shape), dtype=np.float32)
    for ch, plane in enumerate(planes):
        val = ndimage.map_coordinates(plane, pos.T, order=1, mode="constant", cval=0.0)
        lam = 10.0 + photons * val.reshape(lm_shape)
        lm[ch] = rng.poisson(lam).astype(np.float32)

    beads_lm = apply(invert(m), beads_em)
    landmarks = Landmarks(
        beads_lm + rng.standard_normal(beads_lm.shape) * 60.0,
        beads_em + rng.standard_normal(beads_em.shape) * 15.0,
        unit="nm",
        source=Source("emcourse-clem-pair", licence="CC0-1.0", real=False, note=_NOTE),
        truth={"matrix": m, "sigma_moving": np.full(2, 60.0), "sigma_fixed": np.full(2, 15.0)},
    )
    targets_em = rng.uniform(0.1, 0.9, (200, 2)) * np.array(em_shape) * em_pixel
    truth = {
        "matrix": m,
        "labels": labels,
        "mito_centres": np.array(mito_centres),
        "lyso_centres": np.array(lyso_centres),
        "landmarks": landmarks,
        "beads_em": beads_em,
        "targets": apply(invert(m), targets_em),
        "psf_sigma": psf_sigma,
    }
    src = Source("emcourse-clem-pair", licence="CC0-1.0", real=False, note=_NOTE)
    return ImagePair(
        em=em,
        lm=lm,
        em_pixel=em_pixel,
        lm_pixel=lm_pixel,
        channels=("mitochondria", "lysosomes"),
        unit="nm",
        source=src,
        truth=truth,
    )


def standin_registered_pair(*, seed: int = 0, shape=(954, 1280), source=None) -> ImagePair:
    """An EM image and one fluorescence channel already on the same grid (pixels).

    Mimics the DeepCLEM example pair: 1280 x 954 pixels, no calibration, grey
    values 0-255, the fluorescence sparse and dark elsewhere. Made from
    :func:`standin_pair` (mitochondria channel warped onto the EM grid).
    ``truth["matrix"]`` is the identity: the pair is registered.
    """
    pair = standin_pair(seed=seed, em_shape=shape, lm_shape=(300, 380), n_mito=70, n_lyso=30)
    fm = warp(
        pair.lm[0],
        pair.truth["matrix"],
        moving_pixel=pair.lm_pixel,
        out_shape=shape,
        out_pixel=pair.em_pixel,
    )
    fm = np.clip(fm - np.percentile(fm, 50), 0, None)
    fm = (255 * fm / max(float(fm.max()), 1e-6)).astype(np.float32)
    em = (255 * pair.em).astype(np.float32)
    return ImagePair(
        em=em,
        lm=fm[None],
        em_pixel=1.0,
        lm_pixel=1.0,
        channels=("mitochondria",),
        unit="px",
        source=source or pair.source,
        truth={"matrix": np.eye(3), "registered": True},
    )


def standin_cosem_landmarks(*, seed: int = 7, source=None) -> Landmarks:
    """Stands in for the COSEM landmark table: 31 landmarks in a thin slab, three raters.

    Like the real table: light landmarks spread over about 7 x 12.5 um and only
    a few hundred nm in z, nanometres, raters ``AW`` (``fixed``), ``JB`` (a
    second person, 20 nm per axis from AW) and ``Auto`` (60 nm).
    """
    lm = standin_landmarks(
        31,
        seed=seed,
        extent=(300.0, 7000.0, 12500.0),
        sigma_moving=(60.0, 40.0, 40.0),
        sigma_fixed=20.0,
    )
    rng = np.random.default_rng(seed + 1)
    raters = {
        "AW": lm.fixed,
        "JB": lm.fixed + rng.standard_normal(lm.fixed.shape) * 20.0,
        "Auto": lm.fixed + rng.standard_normal(lm.fixed.shape) * 60.0,
    }
    return Landmarks(lm.moving, lm.fixed, raters=raters, source=source or lm.source, truth=lm.truth)


def standin_bigwarp(*, seed: int = 9, source=None) -> dict:
    """Stands in for a BigWarp export: 23 rows, the last inactive, 3D, micrometres.

    The same dict as :func:`emcourse.io.read_bigwarp_csv` returns, plus ``source``.
    """
    lm = standin_landmarks(23, seed=seed, extent=(3000.0, 20000.0, 20000.0))
    active = np.ones(23, dtype=bool)
    active[-1] = False
    return {
        "names": [f"Pt-{i}" for i in range(23)],
        "active": active,
        "moving": lm.moving / 1000.0,
        "fixed": lm.fixed / 1000.0,
        "ndim": 3,
        "source": source or lm.source,
    }


def standin_elastix_files(*, seed: int = 10, source=None) -> dict:
    """Stands in for a zip of elastix transforms: an affine and a B-spline file (micrometres).

    ``{"files": {name: text}, "source": ...}``; the affine maps fixed to
    moving, as elastix's do.
    """
    m = true_transform(3, seed=seed)
    xyz = m[np.ix_([2, 1, 0, 3], [2, 1, 0, 3])]
    xyz[:3, 3] /= 1000.0
    inv = np.linalg.inv(xyz)
    numbers = " ".join(f"{v:.6f}" for v in [*inv[:3, :3].ravel(), *inv[:3, 3]])
    text = (
        '(Transform "AffineTransform")\n(NumberOfParameters 12)\n'
        f"(TransformParameters {numbers})\n(CenterOfRotationPoint 0.0 0.0 0.0)\n"
    )
    src = source or Source("emcourse-clem-elastix", licence="CC0-1.0", real=False, note=_NOTE)
    return {
        "files": {
            "sim_affine_TransformParameters.txt": text,
            "sim_def_TransformParameters.txt": _standin_bspline_text(seed, inv),
        },
        "source": src,
    }


def _standin_bspline_text(seed: int, affine_xyz: np.ndarray) -> str:
    """A synthetic elastix BSplineTransform composed after the stand-in affine (micrometres).

    A control-point grid at 8 x 8 x 2 um covering where the affine puts a
    60 x 75 x 6 um fixed image (26 x 26 x 52 nm voxels, as the COSEM SIM
    registration), with smooth coefficients of a few hundred nanometres.
    """
    rng = np.random.default_rng(seed)
    spacing = np.array([8.0, 8.0, 2.0])  # x, y, z
    corners = np.array(np.meshgrid([0, 60.0], [0, 75.0], [0, 6.0], indexing="ij")).reshape(3, -1)
    mapped = affine_xyz[:3, :3] @ corners + affine_xyz[:3, 3:]
    origin = np.floor(mapped.min(axis=1) / spacing) * spacing - spacing
    size = tuple(int(v) for v in np.ceil((mapped.max(axis=1) - origin) / spacing) + 3)
    coeffs = ndimage.gaussian_filter(rng.standard_normal((3, *size[::-1])), (0, 1, 2, 2))
    coeffs *= 0.3 / coeffs.std()
    fmt = " ".join

    def nums(values):
        return fmt(f"{v:.6f}" for v in values)

    return (
        '(Transform "BSplineTransform")\n'
        f"(NumberOfParameters {coeffs.size})\n"
        '(InitialTransformParametersFileName "sim_affine_TransformParameters.txt")\n'
        '(HowToCombineTransforms "Compose")\n'
        "(FixedImageDimension 3)\n(MovingImageDimension 3)\n"
        "(Size 2300 2900 115)\n(Index 0 0 0)\n(Spacing 0.026 0.026 0.052)\n"
        "(Origin 0.0 0.0 0.0)\n(Direction 1 0 0 0 1 0 0 0 1)\n"
        f"(GridSize {fmt(map(str, size))})\n(GridIndex 0 0 0)\n"
        f"(GridSpacing {nums(spacing)})\n(GridOrigin {nums(origin)})\n"
        "(GridDirection 1 0 0 0 1 0 0 0 1)\n(BSplineTransformSplineOrder 3)\n"
        f"(TransformParameters {nums(coeffs.ravel())})\n"
    )
