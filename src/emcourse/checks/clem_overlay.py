"""Checks of the CLEM sheets 30-03 (robust and automatic) and 30-04 (overlay and export).

Transforms are scored by TRE on hidden targets (see :mod:`emcourse.checks.clem`);
file rows against the formats' definitions.
"""

from __future__ import annotations

import csv
from collections.abc import Callable

import numpy as np

from emcourse.checks._core import (
    CheckResult,
    _all_passed,
    _call,
    _validate,
    check_function,
    show,
)
from emcourse.checks.clem import _tre, transform_feedback

__all__ = [
    "clem_bigwarp_row",
    "clem_ellipse_axes",
    "clem_matrix_for_xyz_tool",
    "clem_mutual_information",
    "clem_ransac",
    "clem_ransac_trials",
]


def clem_ellipse_axes(fn: Callable) -> CheckResult:
    """Check ``fn(cov, confidence) -> (major, minor)``: semi-axes of a 2D confidence ellipse."""
    from emcourse import clem

    rot = clem.rotation_2d(35.0)
    cases = [(rot @ np.diag([900.0, 100.0]) @ rot.T, 0.95), (np.diag([400.0, 2500.0]), 0.5)]
    expected = tuple(float(v) for c, p in cases for v in clem.ellipse(c, confidence=p)["semi_axes"])
    sd = tuple(float(v) for c, _ in cases for v in np.sqrt(np.linalg.eigvalsh(c))[::-1])
    var = tuple(float(v) for c, _ in cases for v in np.linalg.eigvalsh(c)[::-1])
    diagnoses = [
        (
            sd,
            "those are one standard deviation along each axis: a 2D confidence region of "
            "probability p has radius sqrt(-2 ln(1 - p)) standard deviations (chi-square, 2 dof).",
        ),
        (var, "those are variances: take square roots of the eigenvalues."),
        (
            tuple(1.96 * v for v in sd),
            "1.96 is the 95 % point of ONE Gaussian variable; in 2D "
            "the radius is sqrt(-2 ln(1 - p)) = 2.45 for 95 %.",
        ),
        (
            tuple(v for i in (0, 2) for v in expected[i : i + 2][::-1]),
            "your axes come minor first: return the major (longer) semi-axis first.",
        ),
        (
            tuple(
                -2 * np.log(1 - p) * v
                for c, p in cases
                for v in np.sqrt(np.linalg.eigvalsh(c))[::-1]
            ),
            "you scaled by the squared radius: the chi-square quantile is the radius squared, in "
            "units of variance; the semi-axes need its square root.",
        ),
    ]

    def call_all(_):
        out = []
        for c, p in cases:
            out.extend(float(v) for v in fn(c.copy(), p))
        return tuple(out)

    return check_function(
        call_all,
        None,
        name="ellipse semi-axes",
        expected=expected,
        rtol=1e-3,
        units="nm",
        what="semi-axes",
        diagnoses=diagnoses,
        hint=(
            "the covariance's eigenvectors point along the ellipse's axes, and its eigenvalues "
            "are the variances along them.",
            "standard deviations along the axes are the square roots of the eigenvalues; scale "
            "both by the radius, in standard deviations, that encloses probability "
            "`confidence` of a 2D Gaussian (chi-square with 2 degrees of freedom); major first.",
        ),
    )


def clem_matrix_for_xyz_tool(fn: Callable) -> CheckResult:
    """Check ``fn(matrix_zyx_nm) -> matrix``: the same map for a tool using x, y, z in µm."""
    from emcourse import clem

    name = "matrix for an x, y, z tool in micrometres"
    hint = (
        "two things change: the order of the axes, which moves entries of the whole matrix, and "
        "the unit, which concerns only the part of the matrix that is a length.",
        "reverse the order of the rows and of the columns of the 3 x 3 block and of the "
        "translation; the linear part has no unit, the translation is in nm and becomes µm.",
    )
    lm = clem.standin_landmarks(12, seed=71)
    m = clem.fit(lm.moving, lm.fixed)
    truth = lm.truth["matrix"]
    ref = _tre(m, truth, lm.truth["targets"])
    value, problem = _call(fn, (m.copy(),), name=name, hint=hint)
    if problem is not None:
        return show(problem)
    # measure in the course's frame: convert the learner's matrix back
    problem = _validate(value, np.eye(4), name=name, hint=hint, subject="your matrix")
    if problem is not None:
        return show(problem)
    back = clem.matrix_xyz(np.asarray(value, dtype=float))
    back[:3, 3] *= 1000.0

    def unit_fix(x):
        y = x.copy()
        y[:3, 3] /= 1000.0
        return y

    def reorder(x):
        return clem.matrix_xyz(x)

    def all_scaled(x):
        y = x.copy()
        y[:3, :3] *= 1000.0
        return y

    def times_1000(x):
        y = x.copy()
        y[:3, 3] /= 1000.0 * 1000.0
        return y

    order = [2, 1, 0, 3]
    half = (
        "only the rows or only the columns were reversed: the matrix takes a point in and "
        "gives a point out, so the axis order changes on both sides."
    )

    fixes = [
        (unit_fix, "the translation is still in nm: divide it by 1000 for micrometres."),
        (
            all_scaled,
            "the whole 3 x 3 block was scaled too: a linear map from µm to µm is the same as "
            "from nm to nm; only the translation is a length.",
        ),
        (
            times_1000,
            "the translation was multiplied by 1000: a micrometre is 1000 nm, so the same "
            "length is a smaller number in µm.",
        ),
        (lambda x: x[:, order], half),
        (lambda x: x[order], half),
        (
            reorder,
            "the axes are still in (z, y, x) order: reverse rows and columns of the "
            "3 x 3 part and the translation, so x comes first.",
        ),
    ]
    return transform_feedback(
        name, back, truth, lm.truth["targets"], reference_tre=ref, hint=hint, fixes=fixes
    )


def clem_bigwarp_row(fn: Callable) -> CheckResult:
    """Check ``fn(name, moving_nm, fixed_nm) -> str``: one BigWarp CSV row.

    The definition: every field double-quoted; name, ``"true"``, moving x, y,
    z, fixed x, y, z, in micrometres. Points arrive as (z, y, x) nm.
    """
    name = "BigWarp landmark row"
    hint = (
        "read the format's definition field by field: what comes after the name, which point "
        "comes first, which axis first, and in which unit.",
        "reverse each (z, y, x) point so that x comes first, convert nm to µm, write the name, "
        '"true", the moving point, then the fixed point, each field in double quotes, joined by '
        "commas.",
    )
    mov = np.array([1200.0, 5250.5, 10300.25])
    fix = np.array([1500.0, 6000.0, 9800.0])
    value, problem = _call(fn, ("Pt-3", mov.copy(), fix.copy()), name=name, hint=hint)
    if problem is not None:
        return show(problem)

    def verdict(ok, message, diagnosis=""):
        return show(CheckResult(ok, name, hint=hint, message=message, diagnosis=diagnosis))

    if not isinstance(value, str):
        return verdict(False, f"your row is a {type(value).__name__}; return one line of text.")
    line = value.strip("\n")
    fields = next(csv.reader([line]))
    if len(fields) != 8:
        return verdict(False, f"your row has {len(fields)} fields; a 3D BigWarp row has 8.")
    if not all(f.startswith('"') and f.endswith('"') for f in line.split(",")):
        return verdict(
            False,
            "some fields are not in double quotes.",
            "BigWarp writes every field in double quotes, numbers included.",
        )
    if fields[:2] != ["Pt-3", "true"]:
        return verdict(
            False, f'the first two fields are {fields[:2]}; expected the name and "true" (active).'
        )
    try:
        nums = np.array([float(f) for f in fields[2:]])
    except ValueError:
        return verdict(False, "the last six fields must be numbers.")
    want = np.concatenate([mov[::-1], fix[::-1]]) / 1000
    if np.allclose(nums, want, rtol=1e-9):
        return verdict(True, "your row matches the BigWarp format: quoted, x first, µm.")
    wrong = "the coordinates do not match the points given."
    slips = [
        (
            want * 1000,
            "your coordinates are in nm; BigWarp uses the images' calibrated unit, µm here.",
        ),
        (
            np.concatenate([mov, fix]) / 1000,
            "your coordinates are in (z, y, x) order; BigWarp wants x first.",
        ),
        (
            np.concatenate([fix[::-1], mov[::-1]]) / 1000,
            "moving and fixed are swapped: moving (light) comes first.",
        ),
        (
            np.concatenate([mov, fix]),
            "your coordinates are in nm and in (z, y, x) order; BigWarp wants µm, x first.",
        ),
    ]
    for alt, diagnosis in slips:
        if np.allclose(nums, alt):
            return verdict(False, wrong, diagnosis)
    return verdict(False, wrong)


def clem_ransac(fn: Callable) -> CheckResult:
    """Check ``fn(moving, fixed, threshold) -> (matrix, inliers)``: RANSAC for an affine fit.

    Stand-in landmarks with 20 % wrong pairs; passes when the TRE on hidden
    targets is within 1.5x that of a least-squares fit to the true pairs and
    the inliers are the true pairs.
    """
    from emcourse import clem

    name = "RANSAC affine fit"
    hint = (
        "four pairs fix a 3D affine transform exactly; a sample of right pairs agrees with most "
        "of the other pairs, a sample holding a wrong pair with few.",
        "repeat many times: draw 4 different pairs at random, fit them, count the pairs whose "
        "residual under that fit is below `threshold`; keep the sample with most agreement, "
        "refit by least squares on its inliers, and mark the inliers under that refit.",
    )

    def runs():
        for seed in (81, 82):
            lm = clem.standin_landmarks(20, seed=seed, outlier_fraction=0.2)
            good = ~lm.truth["outlier"]
            truth, t = lm.truth["matrix"], lm.truth["targets"]
            ref = _tre(clem.fit(lm.moving[good], lm.fixed[good]), truth, t)
            value, problem = _call(
                fn, (lm.moving.copy(), lm.fixed.copy(), 600.0), name=name, hint=hint
            )
            if problem is not None:
                yield problem
                return
            try:
                matrix, inliers = value
            except (TypeError, ValueError):
                yield CheckResult(
                    False, name, hint=hint, message="return two things: `matrix, inliers`."
                )
                return
            try:
                inl = np.asarray(inliers, dtype=bool).ravel()
            except (TypeError, ValueError):
                yield CheckResult(
                    False,
                    name,
                    hint=hint,
                    message="your inliers are not one True/False per pair (a ragged list?): "
                    f"return an array of {len(good)} booleans.",
                )
                return
            same = inl.shape == good.shape and np.array_equal(inl, good)
            if not same:
                diagnosis = ""
                if inl.shape == good.shape and inl.all():
                    diagnosis = (
                        "every pair is marked an inlier: a fit to all pairs, wrong ones "
                        "included, is what RANSAC is there to avoid."
                    )
                elif inl.shape == good.shape and np.array_equal(inl, ~good):
                    diagnosis = (
                        "your inliers are exactly the wrong pairs: True must mark the pairs "
                        "that agree with the fit (residual below the threshold)."
                    )
                yield CheckResult(
                    False,
                    name,
                    hint=hint,
                    diagnosis=diagnosis,
                    message="your inliers are not exactly the true pairs "
                    f"({int(inl.sum())} kept, {int(good.sum())} true).",
                )
                return
            result = transform_feedback(
                name, matrix, truth, t, reference_tre=ref, rel=1.5, hint=hint, show_result=False
            )
            if not result.passed and not result.diagnosis and result.value is not None:
                fit_all = clem.fit(lm.moving, lm.fixed)
                with np.errstate(all="ignore"):
                    close_to_all = _tre(np.asarray(matrix, dtype=float), fit_all, t) <= 1.0
                if close_to_all:
                    result.diagnosis = (
                        "your inliers are right but the matrix is the least-squares fit to all "
                        "pairs: refit on the inliers only."
                    )
            yield result

    return show(
        _all_passed(
            name,
            runs(),
            "your RANSAC finds the true pairs and fits as well as "
            "least squares on them, on two hidden sets.",
        )
    )


def clem_ransac_trials(fn: Callable) -> CheckResult:
    """Check ``fn(outlier_fraction, sample_size, failure) -> int``: RANSAC trials needed."""
    from emcourse import clem

    cases = [(0.2, 4, 1e-6), (0.5, 3, 1e-3), (0.3, 2, 1e-9)]
    expected = tuple(float(clem.ransac_trials(o, s, failure=f)) for o, s, f in cases)
    diagnoses = [
        (
            tuple(np.log(f) / np.log(1 - (1 - o) ** s) for o, s, f in cases),
            "round up: a fraction of a trial cannot be run (np.ceil).",
        ),
        (
            tuple(float(np.ceil(np.log(f) / np.log(1 - (1 - o)))) for o, s, f in cases),
            "every point of a sample must be an inlier: the chance is "
            "(1 - outliers) ** sample_size.",
        ),
        (
            tuple(float(np.ceil(np.log(f) / np.log(1 - o**s))) for o, s, f in cases),
            "a pair is right with probability 1 - outlier_fraction; you used the outlier "
            "fraction itself as the chance of a right pair.",
        ),
    ]

    def call_all(_):
        return tuple(float(fn(o, s, f)) for o, s, f in cases)

    return check_function(
        call_all,
        None,
        name="RANSAC trials",
        expected=expected,
        rtol=0,
        atol=0.5,
        what="numbers of trials",
        diagnoses=diagnoses,
        hint=(
            "think of one trial first: how likely is it that every pair it draws is right? Then "
            "how likely is it that all n trials fail?",
            "set the chance that all n trials fail equal to `failure`, solve for n with "
            "logarithms, and make n a whole number of trials that is enough.",
        ),
    )


def clem_mutual_information(fn: Callable) -> CheckResult:
    """Check ``fn(a, b, bins) -> float``: mutual information (nats) from a joint histogram."""
    from emcourse import clem

    rng = np.random.default_rng(91)
    a = rng.normal(size=(60, 70))
    cases = [
        (a, -a + 0.3 * rng.normal(size=a.shape), 32),
        (a, rng.normal(size=a.shape), 16),
        (a, np.abs(a), 24),
    ]
    expected = tuple(clem.mutual_information(x, y, bins=b) for x, y, b in cases)
    n_px = a.size
    diagnoses = [
        (
            tuple(v / np.log(2) for v in expected),
            "your values are in bits (log2); use the natural logarithm (nats), as the course does.",
        ),
        (
            tuple(n_px * (v - np.log(n_px)) for v in expected),
            "those come from raw counts: divide the joint histogram by its sum, so that p(a, b) "
            "is a probability, before taking the marginals and the logarithm.",
        ),
    ]

    def call_all(_):
        return tuple(float(fn(x.copy(), y.copy(), b)) for x, y, b in cases)

    return check_function(
        call_all,
        None,
        name="mutual information",
        expected=expected,
        rtol=1e-6,
        atol=1e-9,
        what="values",
        diagnoses=diagnoses,
        hint=(
            "MI compares the joint distribution of the two images' grey values with the product "
            "of their separate distributions, which is what the joint would be if the images "
            "were independent.",
            "np.histogram2d of the flattened images gives joint counts: make them probabilities, "
            "sum over each axis for the marginals, and add up the formula's terms over the "
            "non-empty bins only.",
        ),
    )
