"""Checks of the CLEM sheets: a learner's transform is measured by TRE on hidden targets.

A transform check never compares matrices entry by entry (many matrices are
equally good): it maps hidden targets of a seeded stand-in and reports the
RMS distance from where they truly belong, against the reference fit's. When
the learner's matrix is wrong in a way that a known slip explains (the matrix
transposed, the direction swapped, pixels instead of nanometres, the x and y
axes swapped, a homogeneous row missing), a diagnosis names the slip instead of
a hint. Hints are ladders (a nudge, then the method), never the answer.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from emcourse.checks._core import (
    CheckResult,
    _all_passed,
    _call,
    check_function,
    show,
)
from emcourse.checks.clem_feedback import (  # noqa: F401 - re-exported for clem_overlay
    SAME_PIXEL,
    SHAPE_SLIPS,
    SLIPS,
    _rms,
    _tre,
    _variants,
    transform_feedback,
)

__all__ = [
    "clem_binned_centre",
    "clem_fle_from_fre",
    "clem_fwhm",
    "clem_landmark_fit",
    "clem_loo_on_landmarks",
    "clem_pixel_transform",
    "clem_resample",
    "clem_tre_affine",
]


def clem_landmark_fit(fn: Callable) -> CheckResult:
    """Check ``fn(moving, fixed) -> (4, 4) matrix``: a 3D affine least-squares fit.

    Two seeded stand-in landmark sets (nm, (z, y, x)); the learner's matrix is
    scored by TRE on 200 hidden targets against the true transform.

    Sample solution::

        def fit_affine(moving, fixed):
            a = np.hstack([moving, np.ones((len(moving), 1))])
            x, *_ = np.linalg.lstsq(a, fixed, rcond=None)
            return np.vstack([x.T, [0, 0, 0, 1]])
    """
    from emcourse import clem

    name = "affine landmark fit"
    hint = (
        "an affine map is linear in homogeneous coordinates: give every moving point a 1 as an "
        "extra coordinate, and the fit becomes ordinary linear least squares.",
        "np.linalg.lstsq solves `a @ x = fixed` for `a` = the moving points with a column of "
        "ones; compare the shape and layout of its solution with the matrix that "
        "`fixed ≈ moving @ M[:3, :3].T + M[:3, 3]` asks for, and give it the bottom row that "
        "every homogeneous matrix has.",
    )

    def runs():
        for seed in (21, 22):
            lm = clem.standin_landmarks(12, seed=seed)
            truth, t = lm.truth["matrix"], lm.truth["targets"]
            ref = _tre(clem.fit(lm.moving, lm.fixed, kind="affine"), truth, t)
            value, problem = _call(fn, (lm.moving.copy(), lm.fixed.copy()), name=name, hint=hint)
            if problem is not None:
                yield problem
                return
            yield transform_feedback(
                name, value, truth, t, reference_tre=ref, hint=hint, show_result=False
            )

    return show(
        _all_passed(
            name, runs(), "your affine fit is as good as least squares on two hidden landmark sets."
        )
    )


def clem_pixel_transform(fn: Callable) -> CheckResult:
    """Check ``fn(lm_px, em_px, lm_pixel, em_pixel) -> (3, 3)``: a 2D affine in nanometres.

    The landmarks arrive as pixel indices (row, column) of a light image and
    an EM image with different pixel sizes; the matrix must map light
    nanometres to EM nanometres.
    """
    from emcourse import clem

    name = "light-to-EM transform in nanometres"
    hint = (
        "the matrix must map nanometres onto nanometres, but the clicks are pixel indices of two "
        "images with different pixels.",
        "convert each point set with its own pixel size (pixel (i, j) is centred at "
        "(i, j) * pixel), then fit in 2D as in task 1.",
    )

    def runs():
        for seed in (31, 32):
            pair = clem.standin_pair(
                seed=seed, em_shape=(128, 128), lm_shape=(48, 48), n_mito=4, n_lyso=2
            )
            lmk = pair.truth["landmarks"]
            truth, t = pair.truth["matrix"], pair.truth["targets"]
            ref = _tre(clem.fit(lmk.moving, lmk.fixed, kind="affine"), truth, t)
            lm_px, em_px = lmk.moving / pair.lm_pixel, lmk.fixed / pair.em_pixel
            s_lm = np.diag([pair.lm_pixel, pair.lm_pixel, 1.0])
            s_em = np.diag([pair.em_pixel, pair.em_pixel, 1.0])

            def pixel_fix(m, s_lm=s_lm, s_em=s_em):
                return s_em @ m @ np.linalg.inv(s_lm)

            # one pixel size for both sets (either one), or the two swapped
            r = np.diag([pair.em_pixel / pair.lm_pixel] * 2 + [1.0])
            one_size = [
                (lambda m, r=r: r @ m, SAME_PIXEL),
                (lambda m, r=r: m @ r, SAME_PIXEL),
                (lambda m, r=r: r @ m @ r, SAME_PIXEL),
            ]

            value, problem = _call(
                fn, (lm_px, em_px, pair.lm_pixel, pair.em_pixel), name=name, hint=hint
            )
            if problem is not None:
                yield problem
                return
            yield transform_feedback(
                name,
                value,
                truth,
                t,
                reference_tre=ref,
                hint=hint,
                pixel_fix=pixel_fix,
                fixes=one_size,
                show_result=False,
            )

    return show(
        _all_passed(
            name, runs(), "your transform maps light nm onto EM nm as well as a least-squares fit."
        )
    )


def clem_tre_affine(fn: Callable) -> CheckResult:
    """Check ``fn(fiducials, targets, fle) -> (m,)``: the regression-form TRE prediction."""
    from emcourse import clem

    rng = np.random.default_rng(41)
    fid = rng.uniform(0, 10000, (9, 3)) * np.array([0.3, 1, 1])
    targets = rng.uniform(-2000, 12000, (7, 3))
    fle = 55.0
    expected = clem.tre_affine(fid, targets, fle)
    c = fid.mean(0)
    cov = (fid - c).T @ (fid - c) / len(fid)
    lever = np.einsum("ij,jk,ik->i", targets - c, np.linalg.inv(cov), targets - c)
    diagnoses = [
        (
            np.sqrt(fle**2 * (1 / len(fid) + lever)),
            "use the scatter matrix S = sum (p - c)(p - c)^T, not the covariance (S / N).",
        ),
        (expected**2, "the function returns TRE, not TRE squared: take the square root."),
        (
            clem.tre_rigid(fid, targets, fle),
            "that is Fitzpatrick's rigid formula; an affine fit needs the regression form.",
        ),
        (
            fle * np.sqrt(lever / len(fid)),
            "the 1/N term is missing: even at the centroid a fit to N points is off by about "
            "FLE / sqrt(N).",
        ),
    ]
    return check_function(
        fn,
        fid,
        targets,
        fle,
        name="affine TRE prediction",
        expected=expected,
        rtol=1e-3,
        units="nm",
        what="predicted TRE",
        diagnoses=diagnoses,
        hint=(
            "two parts add up: the error of the fitted centre (the 1/N term), and a lever that "
            "grows with the distance of the target from the fiducials' centroid, measured "
            "against how the fiducials spread in that direction.",
            "c is the fiducials' mean; S is a 3 x 3 sum of outer products of the centred "
            "fiducials (not divided by N); one quadratic form per target, in a loop or with "
            "np.einsum over rows.",
        ),
    )


def clem_fle_from_fre(fn: Callable) -> CheckResult:
    """Check ``fn(fre, n, kind) -> fle`` for 3D rigid, similarity and affine fits."""
    from emcourse import clem

    cases = [(40.0, 8, "rigid"), (40.0, 8, "similarity"), (40.0, 8, "affine"), (61.0, 31, "affine")]
    expected = tuple(clem.fle_from_fre(f, n, 3, k) for f, n, k in cases)
    diagnoses = [
        (
            tuple(f for f, _, _ in cases),
            "FRE underestimates FLE: the fit absorbs part of the "
            "error. Divide by sqrt(1 - D / (K N)).",
        ),
        (
            tuple(f / np.sqrt(1 - 6 / (3 * n)) for f, n, _ in cases),
            "each kind has its own number of parameters D: rigid 6, similarity 7, affine 12 in 3D.",
        ),
        (
            tuple(f * np.sqrt(1 - clem.dof(k, 3) / (3 * n)) for f, n, k in cases),
            "you multiplied by the factor; FLE is larger than FRE, so divide.",
        ),
    ]

    def call_all(_):
        return tuple(float(fn(f, n, k)) for f, n, k in cases)

    return check_function(
        call_all,
        None,
        name="FLE from FRE",
        expected=expected,
        rtol=1e-3,
        units="nm",
        what="FLE values",
        diagnoses=diagnoses,
        hint=(
            "FRE is measured on the points the fit was made to, so the fit has already bent "
            "towards their errors: FLE is the larger of the two.",
            "solve the expectation in the task for FLE; D counts what each kind of 3D fit may "
            "choose: a rotation and a translation, then a scale as well, then a whole linear "
            "map and a translation.",
        ),
    )


def clem_loo_on_landmarks(fit_fn: Callable, tre_fn: Callable, fle_fn: Callable, landmarks):
    """Your three functions on a real landmark table: predicted against measured leave-one-out.

    Fits with ``fit_fn`` without each landmark in turn (the measured
    leave-one-out RMS), estimates FLE from the full fit's FRE with ``fle_fn``,
    and predicts each left-out miss as ``sqrt(tre_fn(others, [point], fle)^2 +
    fle^2)``. Passes when your predicted and measured RMS agree within 25 %
    (two standard errors of an RMS over about 30 points) and both are within
    1 % of the course's own computation.
    """
    from emcourse import clem

    name = "leave-one-out on the landmarks"
    p, q = landmarks.moving, landmarks.fixed
    n = len(p)
    hint = "finish the three functions above first; each has its own check."
    m, problem = _call(fit_fn, (p.copy(), q.copy()), name=name, hint=hint)
    if problem is not None:
        return show(problem)
    try:
        fre = clem.fre(np.asarray(m, dtype=float), p, q)
        fle, problem = _call(fle_fn, (fre, n, "affine"), name=name, hint=hint)
        if problem is not None:
            return show(problem)
        measured, predicted = [], []
        for i in range(n):
            keep = np.arange(n) != i
            mi, problem = _call(fit_fn, (p[keep].copy(), q[keep].copy()), name=name, hint=hint)
            if problem is not None:
                return show(problem)
            measured.append(
                np.linalg.norm(clem.apply(np.asarray(mi, float), p[i : i + 1])[0] - q[i])
            )
            t, problem = _call(tre_fn, (p[keep], p[i : i + 1], float(fle)), name=name, hint=hint)
            if problem is not None:
                return show(problem)
            predicted.append(np.sqrt(float(np.ravel(t)[0]) ** 2 + float(fle) ** 2))
    except (ValueError, TypeError, IndexError) as exc:
        return show(
            CheckResult(
                False,
                name,
                hint=hint,
                status="error",
                message=f"your functions could not be combined: {exc}",
            )
        )
    meas, pred = _rms(measured), _rms(predicted)
    ref_meas = _rms(clem.leave_one_out(p, q, kind="affine"))
    ref_fle = clem.fle_from_fre(clem.fre(clem.fit(p, q), p, q), n, 3, "affine")
    ref_pred = _rms(clem.loo_predicted(p, ref_fle, kind="affine"))
    ok_ref = abs(meas / ref_meas - 1) < 0.01 and abs(pred / ref_pred - 1) < 0.01
    ok = ok_ref and abs(meas / pred - 1) < 0.25
    msg = (
        f"measured leave-one-out RMS {meas:.1f} nm, predicted {pred:.1f} nm "
        f"(ratio {meas / pred:.2f}; tolerance 25 %)."
    )
    if not ok_ref:
        msg += " Your numbers differ from the course's by more than 1 %: check each function."
    return show(CheckResult(ok, name, value=meas / pred, tolerance=0.25, hint=hint, message=msg))


# ------------------------------------------------------------------ sheet 30-01


def clem_binned_centre(fn: Callable) -> CheckResult:
    """Check ``fn(index, factor, pixel) -> position``: the centre of binned pixel ``index``.

    ``pixel`` is the size of the original (fine) pixels; pixel ``i`` of the
    fine image is centred at ``i * pixel``. Binned pixel ``j`` averages fine
    pixels ``factor * j`` to ``factor * j + factor - 1``.
    """
    cases = [(0, 5, 20.0), (3, 5, 20.0), (7, 2, 35.0), (10, 4, 8.0)]
    expected = tuple((f * i + (f - 1) / 2) * p for i, f, p in cases)
    diagnoses = [
        (
            tuple(f * i * p for i, f, p in cases),
            "that is the binned pixel's first fine pixel (its "
            "corner), not its centre: the centre is (factor - 1) / 2 fine pixels further.",
        ),
        (
            tuple(f * i + (f - 1) / 2 for i, f, p in cases),
            "your positions are in fine pixels, not nanometres: multiply by the pixel size.",
        ),
        (
            tuple((f * i + f / 2) * p for i, f, p in cases),
            "half a binned pixel past the first fine "
            "pixel's centre overshoots by half a fine pixel: the block spans fine centres "
            "factor * j ... factor * j + factor - 1.",
        ),
    ]

    def call_all(_):
        return tuple(float(fn(i, f, p)) for i, f, p in cases)

    return check_function(
        call_all,
        None,
        name="binned pixel centre",
        expected=expected,
        rtol=1e-6,
        units="nm",
        what="positions",
        diagnoses=diagnoses,
        hint=(
            "a binned pixel sits where the fine pixels it averages sit, on average.",
            "list the fine pixels of binned pixel `index` (the first is factor * index, there "
            "are `factor` of them), put each at its centre (fine index * pixel), and take the "
            "middle of the first and the last.",
        ),
    )


def clem_resample(fn: Callable) -> CheckResult:
    """Check ``fn(lm, lm_pixel, matrix, em_shape, em_pixel) -> image``: light onto the EM grid.

    Compared with :func:`emcourse.clem.warp` (linear interpolation) on a stand-in
    pair: passes when the RMS difference is below 2 % of the image's range.
    """
    from emcourse import clem

    name = "light image resampled onto the EM grid"
    hint = (
        "pull, do not push: for every EM pixel, ask where its centre comes from in the light "
        "image, and read the light value there.",
        "EM pixel centres in nm are their indices times em_pixel; `matrix` maps light nm to EM "
        "nm, so its inverse takes them back to light nm; divide by lm_pixel for fractional "
        "light indices and interpolate there (scipy.ndimage.map_coordinates, order=1, cval=0).",
    )
    pair = clem.standin_pair(seed=51, em_shape=(96, 112), lm_shape=(32, 36), n_mito=5, n_lyso=2)
    m = pair.truth["matrix"]
    lm = pair.lm[0]
    args = (lm.copy(), pair.lm_pixel, m.copy(), pair.em.shape, pair.em_pixel)
    expected = clem.warp(
        lm, m, moving_pixel=pair.lm_pixel, out_shape=pair.em.shape, out_pixel=pair.em_pixel
    )
    span = float(lm.max() - lm.min())
    kw = {"moving_pixel": pair.lm_pixel, "out_shape": pair.em.shape, "out_pixel": pair.em_pixel}
    diagnoses = [
        (
            clem.warp(lm, np.linalg.inv(m), **kw),
            SLIPS["inverse"] + " To pull values onto the EM "
            "grid you need the inverse: EM position -> light position.",
        ),
        (
            clem.warp(
                lm, m, moving_pixel=pair.em_pixel, out_shape=pair.em.shape, out_pixel=pair.em_pixel
            ),
            "the light pixel size is missing: divide the light "
            "position in nm by lm_pixel to get its pixel index.",
        ),
        (
            clem.warp(lm, clem.matrix_xyz(m), **kw),
            SLIPS["axes"],
        ),
        (
            clem.warp(lm, m, moving_pixel=pair.lm_pixel, out_shape=pair.em.shape, out_pixel=1.0),
            "the EM pixel size is missing: an EM pixel's centre in nm is its index times em_pixel.",
        ),
    ]
    return check_function(
        fn,
        *args,
        name=name,
        expected=expected,
        atol=0.02 * span,
        rtol=0,
        what="resampled image",
        diagnoses=diagnoses,
        hint=hint,
    )


def _width_at(profile, level: float, pixel: float) -> float:
    """Width of a single peak where it crosses ``level`` (no background subtracted)."""
    p = np.asarray(profile, dtype=np.float64)
    k = int(np.argmax(p))
    i = np.nonzero(p[:k] < level)[0][-1]
    j = k + np.nonzero(p[k:] < level)[0][0]
    left = np.interp(level, [p[i], p[i + 1]], [i, i + 1])
    right = np.interp(level, [p[j], p[j - 1]], [j, j - 1])
    return float((right - left) * pixel)


def clem_fwhm(fn: Callable) -> CheckResult:
    """Check ``fn(profile, pixel) -> fwhm``: full width at half maximum of a 1D peak, in nm."""
    rng = np.random.default_rng(61)
    cases, expected = [], []
    for sigma, pixel, base in ((100.0, 20.0, 5.0), (130.0, 35.0, 0.0), (250.0, 50.0, 20.0)):
        x = np.arange(64) * pixel
        prof = base + 100 * np.exp(-((x - 31.3 * pixel) ** 2) / (2 * sigma**2))
        prof = prof + rng.normal(0, 0.3, prof.shape)
        cases.append((prof, pixel))
        expected.append(2 * np.sqrt(2 * np.log(2)) * sigma)
    diagnoses = [
        (
            tuple(e / 2.3548 for e in expected),
            "that is the standard deviation; FWHM = 2.355 sigma.",
        ),
        (
            tuple(e / p for e, (_, p) in zip(expected, cases, strict=True)),
            "your width is in pixels: multiply by the pixel size.",
        ),
        (
            tuple(e / 2 for e in expected),
            "that is half the width (from the peak to one crossing): measure between the "
            "crossings on both sides.",
        ),
        (
            tuple(_width_at(p, p.max() / 2, px) for p, px in cases),
            "the background is still in: half of the raw maximum lies below the bead's half "
            "maximum when the profile sits on a background. Subtract the background first.",
        ),
    ]

    def call_all(_):
        return tuple(float(fn(p.copy(), px)) for p, px in cases)

    return check_function(
        call_all,
        None,
        name="FWHM of a blurred bead",
        expected=tuple(expected),
        rtol=0.08,
        units="nm",
        what="widths",
        diagnoses=diagnoses,
        hint=(
            "the width is measured at half the bead's own height, above the background, on "
            "both sides of the peak.",
            "subtract the minimum; from np.argmax walk left and right to the first samples "
            "below half the peak, place each crossing between that sample and its neighbour "
            "with np.interp, and convert the distance to nm at the end.",
        ),
    )
