"""Light microscopy in 3D: axial scaling from refractive-index mismatch, 3D registration.

Focusing through an interface from the immersion medium (index ``n1``: oil
1.518, water 1.33, air 1.0) into a sample of another index ``n2`` moves the
focus by a different distance than the stage or objective moved. In the
paraxial approximation the focus moves ``n2 / n1`` times the nominal step
(Diel, Lichtman and Richardson 2020, Nat. Protoc. 15, 2773-2784, who review
the better estimates). A ray leaving the lens at angle ``theta1`` (in ``n1``)
crosses the axis at ``tan(theta1) / tan(theta2)`` times its nominal depth,
``n1 sin theta1 = n2 sin theta2``: the paraxial factor for small angles, the
marginal-ray factor at the aperture's edge (the formula Diel et al. credit
to Visser et al. 1992). Real objectives lie between the two, and the factor
varies with depth (see Diel et al. for wave-optics estimates and their tool).

Points follow :mod:`emcourse.clem.transforms`: ``(z, y, x)`` columns, nm;
volumes are ``(Z, Y, X)`` arrays with a ``(dz, dy, dx)`` voxel size.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from emcourse.clem.transforms import apply, fit, make_transform

__all__ = [
    "axial_scale",
    "axial_scale_monte_carlo",
    "depth_scale",
    "focus_depth_ray",
    "register_sitk_3d",
    "scaled_landmarks",
    "volume_pair",
    "warp_volume",
]


def depth_scale(n_immersion: float, n_sample: float, *, na: float | None = None) -> float:
    """Actual focus depth per nominal (stage) depth.

    Paraxial: ``n_sample / n_immersion``. With ``na``: the marginal ray's
    ``tan(asin(NA/n1)) / tan(asin(NA/n2))``, the other bound (Visser et al.
    1992); when ``NA >= n2`` the marginal ray is totally reflected and ``nan``
    is returned.

    Examples
    --------
    >>> round(depth_scale(1.518, 1.33), 3)          # oil objective into water
    0.876
    >>> round(depth_scale(1.0, 1.31), 2)             # dry objective into vitreous ice
    1.31
    """
    if na is None:
        return float(n_sample / n_immersion)
    if na >= n_sample or na >= n_immersion:
        return float("nan")
    return float(np.tan(np.arcsin(na / n_immersion)) / np.tan(np.arcsin(na / n_sample)))


def focus_depth_ray(nominal, n_immersion: float, n_sample: float, angle_deg: float):
    """Where one ray aimed at nominal depth ``nominal`` crosses the axis, by ray tracing.

    The ray leaves the lens at ``angle_deg`` to the axis in the immersion
    medium, meets the flat interface (depth 0) at height ``h = nominal *
    tan(theta1)``, is refracted by Snell's law in vector form and followed to
    the axis. Independent of the closed forms in :func:`depth_scale`, which
    the tests compare with it.
    """
    t1 = np.deg2rad(angle_deg)
    h = np.asarray(nominal, dtype=np.float64) * np.tan(t1)
    d = np.array([np.cos(t1), -np.sin(t1)])  # (depth, height) direction, towards the axis
    normal = np.array([1.0, 0.0])
    mu = n_immersion / n_sample
    c = float(d @ normal)
    k = 1 - mu**2 * (1 - c**2)
    if k < 0:
        return np.full_like(h, np.nan)
    d2 = mu * d + (np.sqrt(k) - mu * c) * normal  # refracted unit direction
    return h / (-d2[1]) * d2[0]


def axial_scale(matrix) -> dict:
    """The scales along z, y and x of a 3D affine map, and z relative to x and y.

    The column ``k`` of the linear part is the image of a unit step along
    light axis ``k``: its length is that axis's scale, whatever the rotation.
    ``ratio`` = z scale / mean of the y and x scales.
    """
    a = np.asarray(matrix, dtype=np.float64)[:3, :3]
    cols = np.linalg.norm(a, axis=0)
    return {"zyx": cols, "ratio": float(cols[0] / cols[1:].mean())}


def scaled_landmarks(
    n: int = 20,
    *,
    factor: float = 0.876,
    extent=(6000.0, 20000.0, 20000.0),
    sigma_light=(150.0, 40.0, 40.0),
    sigma_em: float = 15.0,
    seed: int = 0,
) -> dict:
    """Beads seen in a light volume with a wrong z step, and in the EM (stand-in).

    True bead positions fill ``extent`` (nm, z y x). The light volume reports
    depth in nominal units (true depth / ``factor``); the EM is a rotated,
    shifted copy of the true positions. Both are clicked with Gaussian errors
    (``sigma_light`` per axis, ``sigma_em``). The true light -> EM map is
    ``R diag(factor, 1, 1)`` plus a shift.

    Returns
    -------
    dict
        ``moving`` (light, nominal z), ``fixed`` (EM), ``truth`` (4x4),
        ``moving_true``, ``sigma_light``, ``sigma_em``, ``factor``.
    """
    from emcourse.clem.transforms import rotation_3d

    rng = np.random.default_rng(seed)
    true = rng.uniform(0, 1, (n, 3)) * np.asarray(extent, dtype=np.float64)
    nominal = true / np.array([factor, 1.0, 1.0])
    rot = rotation_3d((0.2, 0.3, 1.0), 25.0)
    truth = make_transform(linear=rot @ np.diag([factor, 1.0, 1.0]), translation=(800, -500, 300))
    sl = np.asarray(sigma_light, dtype=np.float64)
    return {
        "moving": nominal + rng.standard_normal((n, 3)) * sl,
        "fixed": apply(truth, nominal) + rng.standard_normal((n, 3)) * sigma_em,
        "moving_true": nominal,
        "truth": truth,
        "sigma_light": sl,
        "sigma_em": float(sigma_em),
        "factor": float(factor),
    }


def axial_scale_monte_carlo(
    moving_true, truth, *, sigma_light, sigma_em, n_trials: int = 500, seed: int = 1
) -> np.ndarray:
    """z/xy scale ratios of affine fits to ``n_trials`` fresh sets of clicks."""
    p = np.asarray(moving_true, dtype=np.float64)
    q = apply(truth, p)
    sl = np.broadcast_to(np.asarray(sigma_light, dtype=np.float64), (3,))
    rng = np.random.default_rng(seed)
    out = np.empty(n_trials)
    for i in range(n_trials):
        pm = p + rng.standard_normal(p.shape) * sl
        qm = q + rng.standard_normal(q.shape) * sigma_em
        out[i] = axial_scale(fit(pm, qm, kind="affine"))["ratio"]
    return out


def warp_volume(moving, matrix, *, moving_spacing, out_shape, out_spacing, order=1, cval=0.0):
    """Resample a moving volume onto a fixed grid through a moving -> fixed 4x4 map.

    Voxel ``i`` of either grid has its centre at ``i * spacing`` (nm, z y x),
    as in :func:`emcourse.clem.warp` in 2D. Each output voxel is pulled from
    the moving volume at ``matrix^-1`` of its position.
    """
    inv = np.linalg.inv(np.asarray(matrix, dtype=np.float64))
    dm = np.asarray(moving_spacing, dtype=np.float64)
    do = np.asarray(out_spacing, dtype=np.float64)
    lin = inv[:3, :3] * do[None, :] / dm[:, None]
    off = inv[:3, 3] / dm
    return ndimage.affine_transform(
        np.asarray(moving, dtype=np.float32),
        lin,
        offset=off,
        output_shape=tuple(out_shape),
        order=order,
        cval=cval,
    )


def register_sitk_3d(fixed, moving, *, fixed_spacing, moving_spacing, bins: int = 16):
    """Rigid light -> EM map (4x4, z y x, nm) by SimpleITK's Mattes mutual information.

    A standard SimpleITK set-up: Euler 3D transform about the fixed volume's
    centre, Mattes MI with ``bins`` bins on every voxel, regular-step gradient
    descent with scales from physical shifts, linear interpolation, ITK on one
    thread (:func:`~emcourse.clem.intensity.execute_on_one_thread`). SimpleITK
    works in (x, y, z) and returns the fixed -> moving map; this function
    converts it to the course's moving -> fixed matrix in (z, y, x).
    """
    import SimpleITK as sitk

    from emcourse.clem.intensity import execute_on_one_thread
    from emcourse.clem.transforms import matrix_xyz

    def image(a, spacing):
        im = sitk.GetImageFromArray(np.asarray(a, dtype=np.float32))
        im.SetSpacing(tuple(float(v) for v in np.asarray(spacing)[::-1]))
        return im

    f = np.asarray(fixed)
    fs = np.asarray(fixed_spacing, dtype=np.float64)
    reg = sitk.ImageRegistrationMethod()
    reg.SetMetricAsMattesMutualInformation(bins)
    reg.SetMetricSamplingStrategy(reg.NONE)
    reg.SetInterpolator(sitk.sitkLinear)
    reg.SetOptimizerAsRegularStepGradientDescent(
        learningRate=50.0, minStep=0.01, numberOfIterations=300
    )
    reg.SetOptimizerScalesFromPhysicalShift()
    start = sitk.Euler3DTransform()
    start.SetCenter(tuple(float(v) for v in ((np.array(f.shape) - 1) / 2 * fs)[::-1]))
    reg.SetInitialTransform(start, inPlace=False)
    out = execute_on_one_thread(reg, image(f, fs), image(moving, moving_spacing))
    out = sitk.CompositeTransform(out).GetNthTransform(0)
    lin = np.array(out.GetMatrix()).reshape(3, 3)
    c, t = np.array(out.GetCenter()), np.array(out.GetTranslation())
    fixed_to_moving = make_transform(linear=lin, translation=c + t - lin @ c)
    return matrix_xyz(np.linalg.inv(fixed_to_moving))


def volume_pair(
    *,
    shape=(24, 48, 48),
    em_spacing=(100.0, 100.0, 100.0),
    light_spacing=(200.0, 100.0, 100.0),
    rotation_deg: float = 6.0,
    shift=(150.0, -250.0, 200.0),
    n_blobs: int = 14,
    seed: int = 0,
) -> dict:
    """A small EM volume and a light volume of the same blobs, with known truth (stand-in).

    The EM shows each blob as dark (stained membranes and lumen) on grey, with
    noise; the light volume shows them bright on black, blurred by an
    elongated point-spread function (3 times longer in z), on a coarser z grid,
    moved by a known rigid map. ``truth`` maps light -> EM (nm).
    """
    from emcourse.clem.transforms import rotation_3d

    rng = np.random.default_rng(seed)
    es = np.asarray(em_spacing, dtype=np.float64)
    extent = np.array(shape) * es
    centres = rng.uniform(0.15, 0.85, (n_blobs, 3)) * extent
    radii = rng.uniform(250, 500, n_blobs)
    rot = rotation_3d((0.0, 0.0, 1.0), rotation_deg) @ rotation_3d((0.0, 1.0, 0.0), 2.0)
    centre = (np.array(shape) - 1) / 2 * es
    truth = make_transform(linear=rot)
    truth[:3, 3] = centre - rot @ centre + np.asarray(shift, dtype=np.float64)

    def render(grid_shape, spacing, pts):
        idx = np.indices(grid_shape).reshape(3, -1).T * np.asarray(spacing)
        img = np.zeros(len(idx))
        for c, r in zip(pts, radii, strict=True):  # soft-edged balls: no voxel aliasing
            dist = np.sqrt(np.sum((idx - c) ** 2, axis=1))
            img = np.maximum(img, 1 / (1 + np.exp((dist - r) / 40.0)))
        return img.reshape(grid_shape)

    em = 0.6 - 0.4 * render(shape, es, centres) + rng.normal(0, 0.08, shape)
    ls = np.asarray(light_spacing, dtype=np.float64)
    lshape = tuple(int(v) for v in np.ceil(extent / ls))
    light_pts = apply(np.linalg.inv(truth), centres)
    light = render(lshape, ls, light_pts)
    psf_nm = np.array([450.0, 150.0, 150.0])
    light = ndimage.gaussian_filter(light, psf_nm / ls) + rng.normal(0, 0.005, lshape)
    return {
        "em": em.astype(np.float32),
        "light": light.astype(np.float32),
        "em_spacing": es,
        "light_spacing": ls,
        "truth": truth,
        "centres_em": centres,
        "centres_light": light_pts,
    }
