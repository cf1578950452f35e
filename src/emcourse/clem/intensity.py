"""Registration from intensities: phase correlation and mutual information (2D).

Phase correlation finds a translation between images that look alike;
mutual information (MI) scores how well one image's grey values predict the
other's, whatever the contrast, so it can compare a fluorescence image with an
EM image. Both work on images on the same grid: resample first
(:func:`emcourse.clem.warp`).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage, optimize

from emcourse.clem.transforms import make_transform, matrix_xyz, rotation_2d
from emcourse.clem.warp import warp

__all__ = [
    "SITK_SPARSE",
    "SITK_TUTORIAL",
    "execute_on_one_thread",
    "mutual_information",
    "phase_correlation",
    "register_mi",
    "register_mi_pyramid",
    "register_sitk",
]

# SimpleITK's registration tutorial (SimpleITK-Notebooks, 60_Registration_Introduction): Mattes MI
# with 50 bins on a random 1 % of the pixels, gradient descent, a 4/2/1 pyramid smoothed by 2/1/0.
SITK_TUTORIAL = {
    "bins": 50,
    "sampling": 0.01,
    "optimizer": "gradient",
    "shrink": (4, 2, 1),
    "smooth": (2.0, 1.0, 0.0),
}
# For a sparse fluorescence image (most pixels dark): every pixel scored, 16 bins, an 8/4 pyramid
# smoothed by a whole coarse pixel, and Powell's line searches instead of the gradient.
SITK_SPARSE = {
    "bins": 16,
    "sampling": None,
    "optimizer": "powell",
    "shrink": (8, 4),
    "smooth": (8.0, 4.0),
}


def phase_correlation(fixed, moving, *, upsample: int = 10) -> np.ndarray:
    """The (dy, dx) shift, in pixels, that moves ``moving`` onto ``fixed``.

    Wraps :func:`skimage.registration.phase_cross_correlation` with its sign
    convention stated: ``fixed(y) ≈ moving(y - shift)``.
    """
    from skimage.registration import phase_cross_correlation

    shift, _, _ = phase_cross_correlation(
        np.asarray(fixed, dtype=np.float64),
        np.asarray(moving, dtype=np.float64),
        upsample_factor=upsample,
    )
    return np.asarray(shift, dtype=np.float64)


def mutual_information(a, b, *, bins: int = 32, mask=None) -> float:
    """Mutual information (nats) of two images' grey values, from their joint histogram.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(64, 64))
    >>> mutual_information(x, -x) > mutual_information(x, rng.normal(size=(64, 64)))
    True
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if mask is not None:
        a, b = a[mask], b[mask]
    joint, _, _ = np.histogram2d(a.ravel(), b.ravel(), bins=bins)
    pxy = joint / max(joint.sum(), 1)
    px, py = pxy.sum(1), pxy.sum(0)
    nz = pxy > 0
    return float(np.sum(pxy[nz] * np.log(pxy[nz] / (px[:, None] * py[None])[nz])))


def _params_to_matrix(x, kind, centre):
    """Parameters (angle deg, log scale, ty, tx[, shear, aspect]) about ``centre``."""
    lin = np.exp(x[1]) * rotation_2d(x[0])
    if kind == "affine":
        lin = lin @ np.array([[np.exp(x[5]), x[4]], [0.0, 1.0]])
    m = make_transform(linear=lin)
    m[:2, 2] = centre - lin @ centre + x[2:4]
    return m


def register_mi(
    fixed,
    moving,
    *,
    fixed_pixel: float,
    moving_pixel: float,
    init,
    kind: str = "similarity",
    bins: int = 32,
    smooth: float = 1.0,
    max_iter: int = 3000,
    outside: float | None = None,
) -> tuple[np.ndarray, float]:
    """Refine a moving -> fixed transform by maximising mutual information.

    The moving image is warped onto the fixed grid for each trial transform
    (``init`` composed with a small correction about the fixed image's centre)
    and MI is computed over the pixels it covers. Powell's method searches the
    correction: rotation (deg), log scale, translation (ty, tx in physical
    units) and for ``kind="affine"`` shear and aspect ratio. ``outside``:
    the value a moving pixel outside its image takes (e.g. 0 for a sparse
    fluorescence image whose background is dark); by default only the
    overlap of the two images is scored, which lets the search shrink the
    overlap to raise MI, so give ``outside`` when the background is known.
    Like every
    intensity method it only finds the nearest optimum: ``init`` must be close
    (for example from a coarse landmark or point-cloud fit).

    Returns
    -------
    matrix : (3, 3) ndarray
        Moving -> fixed.
    mi : float
        The mutual information reached.
    """
    f = np.asarray(fixed, dtype=np.float64)
    if smooth:
        f = ndimage.gaussian_filter(f, smooth)
    init = np.asarray(init, dtype=np.float64)
    centre = (np.array(f.shape) - 1) / 2 * fixed_pixel
    cover = warp(
        np.ones(np.shape(moving)[-2:]),
        init,
        moving_pixel=moving_pixel,
        out_shape=f.shape,
        out_pixel=fixed_pixel,
    )
    n0 = 6 if kind == "affine" else 4
    # parameter scales: 1 deg, 1 %, one fixed pixel; shear/aspect 1 %
    scales = np.array([1.0, 0.01, fixed_pixel, fixed_pixel, 0.01, 0.01])[:n0]

    def cost(z):
        m = _params_to_matrix(z * scales, kind, centre) @ init
        cval = np.nan if outside is None else outside
        w = warp(
            moving,
            m,
            moving_pixel=moving_pixel,
            out_shape=f.shape,
            out_pixel=fixed_pixel,
            cval=cval,
        )
        ok = np.isfinite(w) & ((cover > 0.5) | (outside is not None))
        if ok.sum() < 0.25 * ok.size:
            return 0.0
        return -mutual_information(f, w, bins=bins, mask=ok)

    res = optimize.minimize(
        cost, np.zeros(n0), method="Powell", options={"maxfev": max_iter, "xtol": 1e-3}
    )
    return _params_to_matrix(res.x * scales, kind, centre) @ init, float(-res.fun)


def register_mi_pyramid(
    fixed,
    moving,
    *,
    pixel: float = 1.0,
    init=None,
    levels=(8, 4),
    kind: str = "similarity",
    bins: int = 16,
    smooth: float = 1.0,
    outside: float | None = 0.0,
) -> tuple[np.ndarray, list]:
    """Mutual-information registration coarse to fine, for two images on one grid.

    At each level both images are binned by the factor (``clem.bin_image``),
    smoothed by ``smooth`` binned pixels, and :func:`register_mi` refines the
    transform found at the previous, coarser level. Coarse levels widen the
    capture range (a shift of 30 pixels is 4 pixels at level 8); fine levels
    sharpen the result.

    Returns
    -------
    matrix : (3, 3) ndarray
        Moving -> fixed, physical units (``pixel`` per pixel of the inputs).
    history : list of (level, matrix, mi)
    """
    from emcourse.clem.warp import bin_image

    m = np.eye(3) if init is None else np.asarray(init, dtype=np.float64)
    history = []
    for level in levels:
        f = bin_image(fixed, level)
        mv = (
            ndimage.gaussian_filter(bin_image(moving, level), smooth)
            if smooth
            else bin_image(moving, level)
        )
        m, mi = register_mi(
            f,
            mv,
            fixed_pixel=level * pixel,
            moving_pixel=level * pixel,
            init=m,
            kind=kind,
            bins=bins,
            smooth=smooth,
            outside=outside,
        )
        history.append((level, m, mi))
    return m, history


def execute_on_one_thread(reg, fixed, moving):
    """``reg.Execute(fixed, moving)`` with ITK on one thread, so the result is the same every run.

    ITK splits a metric's sums over threads as they come free, so with more
    threads the result changes from run to run: SimpleITK's tutorial set-up
    (:data:`SITK_TUTORIAL`) on ``tests/test_clem_sitk.py``'s stand-in ended
    52-57 px off on seed 0 and 12-21 px on seed 2, against 52.1 and 18.6 px every
    time with one. The registration method's own ``SetNumberOfThreads`` does not
    reach the metric; ITK's global default does, and is put back afterwards.
    """
    import SimpleITK as sitk

    threads = sitk.ProcessObject.GetGlobalDefaultNumberOfThreads()
    sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(1)
    try:
        return reg.Execute(fixed, moving)
    finally:
        sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(threads)


def register_sitk(
    fixed,
    moving,
    *,
    pixel: float = 1.0,
    bins: int = 50,
    sampling: float | None = 0.01,
    optimizer: str = "gradient",
    shrink=(4, 2, 1),
    smooth=(2.0, 1.0, 0.0),
    seed: int = 1,
) -> np.ndarray:
    """Similarity moving -> fixed (3x3, (y, x), physical) by SimpleITK's Mattes mutual information.

    Two images on one grid (``pixel`` per pixel), the start the identity about
    the fixed image's centre (``CenteredTransformInitializer``, GEOMETRY).
    ``sampling``: the fraction of fixed pixels drawn at random (None: all);
    ``optimizer``: ``"gradient"`` (gradient descent, scales from physical
    shifts, as SimpleITK's tutorial) or ``"powell"`` (line searches, steps of
    1 %, 1 degree and one coarsest pixel); ``shrink`` and ``smooth`` (physical
    units): the pyramid. The defaults are SimpleITK's tutorial
    (:data:`SITK_TUTORIAL`); :data:`SITK_SPARSE` is a set-up for a sparse
    fluorescence image. SimpleITK works in (x, y) and returns the fixed ->
    moving map: it is converted to the course's convention here.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import ndimage
    >>> img = ndimage.gaussian_filter(np.random.default_rng(0).random((64, 64)), 3)
    >>> shifted = ndimage.shift(img, (2.0, -1.0))
    >>> m = register_sitk(img, shifted, sampling=None, shrink=(1,), smooth=(0.0,))
    >>> np.round(m[:2, 2], 0) + 0.0  # moving -> fixed undoes the shift
    array([-2.,  1.])
    """
    import SimpleITK as sitk

    def image(a):
        im = sitk.GetImageFromArray(np.asarray(a, dtype=np.float32))
        im.SetSpacing((float(pixel), float(pixel)))
        return im

    f, m = image(fixed), image(moving)
    start = sitk.CenteredTransformInitializer(
        f, m, sitk.Similarity2DTransform(), sitk.CenteredTransformInitializerFilter.GEOMETRY
    )
    reg = sitk.ImageRegistrationMethod()
    reg.SetMetricAsMattesMutualInformation(numberOfHistogramBins=int(bins))
    if sampling is None:
        reg.SetMetricSamplingStrategy(reg.NONE)
    else:
        reg.SetMetricSamplingStrategy(reg.RANDOM)
        reg.SetMetricSamplingPercentage(float(sampling), int(seed))
    reg.SetInterpolator(sitk.sitkLinear)
    if optimizer == "gradient":
        reg.SetOptimizerAsGradientDescent(
            learningRate=1.0,
            numberOfIterations=100,
            convergenceMinimumValue=1e-6,
            convergenceWindowSize=10,
        )
        reg.SetOptimizerScalesFromPhysicalShift()
    elif optimizer == "powell":
        reg.SetOptimizerAsPowell(
            numberOfIterations=100, maximumLineIterations=100, stepLength=1.0, stepTolerance=1e-3
        )
        # a unit step: 1 % scale, 1 degree, one pixel of the coarsest level (parameters: scale,
        # angle in radians, tx, ty)
        step = 1.0 / (shrink[0] * pixel)
        reg.SetOptimizerScales([100.0, 180.0 / np.pi, step, step])
    else:
        raise ValueError(f"optimizer must be 'gradient' or 'powell', not {optimizer!r}")
    reg.SetShrinkFactorsPerLevel([int(v) for v in shrink])
    reg.SetSmoothingSigmasPerLevel([float(v) for v in smooth])
    reg.SmoothingSigmasAreSpecifiedInPhysicalUnitsOn()
    reg.SetInitialTransform(start, inPlace=False)
    out = execute_on_one_thread(reg, f, m)
    # fixed -> moving in (x, y), read off three points (any linear transform)
    pts = np.array([[0.0, 0.0], [1000.0, 0.0], [0.0, 1000.0]])
    img_pts = np.array([out.TransformPoint(tuple(p)) for p in pts])
    sol = np.linalg.solve(np.c_[pts, np.ones(3)], img_pts)
    fixed_to_moving = make_transform(linear=sol[:2].T, translation=sol[2])
    return matrix_xyz(np.linalg.inv(fixed_to_moving))
