"""Checks of the CLEM sheets 30-03 (robust and automatic) and 30-04 (overlay and export).

Transforms are scored by TRE on hidden targets (see :mod:`emcourse.checks.clem`);
file rows against the formats' definitions.
"""

from __future__ import annotations

import csv
from collections.abc import Callable

import numpy as np

from emcourse.checks._core import CheckResult, _all_passed, _call, check_function, show
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
        hint="eigenvalues of the covariance are the variances along the "
        "ellipse's axes; scale their square roots by the chi-square radius.",
    )


def clem_matrix_for_xyz_tool(fn: Callable) -> CheckResult:
    """Check ``fn(matrix_zyx_nm) -> matrix``: the same map for a tool using x, y, z in µm."""
    from emcourse import clem

    name = "matrix for an x, y, z tool in micrometres"
    hint = (
        "reverse the order of the axes (rows and columns of the 3 x 3 part, and the "
        "translation), then divide the translation by 1000."
    )
    lm = clem.standin_landmarks(12, seed=71)
    m = clem.fit(lm.moving, lm.fixed)
    truth = lm.truth["matrix"]
    ref = _tre(m, truth, lm.truth["targets"])
    value, problem = _call(fn, (m.copy(),), name=name, hint=hint)
    if problem is not None:
        return show(problem)
    # measure in the course's frame: convert the learner's matrix back
    try:
        back = clem.matrix_xyz(np.asarray(value, dtype=float))
        back[:3, 3] *= 1000.0
    except (ValueError, IndexError) as exc:
        return show(
            CheckResult(False, name, hint=hint, message=f"your matrix cannot be used: {exc}")
        )

    def unit_fix(x):
        y = x.copy()
        y[:3, 3] /= 1000.0
        return y

    def reorder(x):
        return clem.matrix_xyz(x)

    fixes = [
        (unit_fix, "the translation is still in nm: divide it by 1000 for micrometres."),
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
        'quote every field: \'"Pt-0","true","x","y","z","x","y","z"\', coordinates in µm, '
        "x first (reverse the (z, y, x) order), moving before fixed."
    )
    mov = np.array([1200.0, 5250.5, 10300.25])
    fix = np.array([1500.0, 6000.0, 9800.0])
    value, problem = _call(fn, ("Pt-3", mov.copy(), fix.copy()), name=name, hint=hint)
    if problem is not None:
        return show(problem)

    def verdict(ok, message):
        return show(CheckResult(ok, name, hint=hint, message=message))

    if not isinstance(value, str):
        return verdict(False, f"your row is a {type(value).__name__}; return one line of text.")
    line = value.strip("\n")
    fields = next(csv.reader([line]))
    if len(fields) != 8:
        return verdict(False, f"your row has {len(fields)} fields; a 3D BigWarp row has 8.")
    if not all(f.startswith('"') and f.endswith('"') for f in line.split(",")):
        return verdict(False, "BigWarp writes every field in double quotes, numbers included.")
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
    if np.allclose(nums, want * 1000):
        return verdict(
            False, "your coordinates are in nm; BigWarp uses the images' calibrated unit, µm here."
        )
    if np.allclose(nums, np.concatenate([mov, fix]) / 1000):
        return verdict(False, "your coordinates are in (z, y, x) order; BigWarp wants x first.")
    if np.allclose(nums, np.concatenate([fix[::-1], mov[::-1]]) / 1000):
        return verdict(False, "moving and fixed are swapped: moving (light) comes first.")
    return verdict(False, "the coordinates do not match the points given.")


def clem_ransac(fn: Callable) -> CheckResult:
    """Check ``fn(moving, fixed, threshold) -> (matrix, inliers)``: RANSAC for an affine fit.

    Stand-in landmarks with 20 % wrong pairs; passes when the TRE on hidden
    targets is within 1.5x that of a least-squares fit to the true pairs and
    the inliers are the true pairs.
    """
    from emcourse import clem

    name = "RANSAC affine fit"
    hint = (
        "repeat: draw 4 pairs at random, fit them exactly, count the pairs within "
        "`threshold`; keep the best, then refit by least squares on its inliers."
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
            yield transform_feedback(
                name, matrix, truth, t, reference_tre=ref, rel=1.5, hint=hint, show_result=False
            )
            inl = np.asarray(inliers, dtype=bool).ravel()
            same = inl.shape == good.shape and np.array_equal(inl, good)
            yield CheckResult(
                same,
                name,
                hint=hint,
                message="your inliers are the true pairs."
                if same
                else "your inliers are not exactly the true pairs "
                f"({int(inl.sum())} kept, {int(good.sum())} true).",
            )

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
        hint="all-inlier sample: w = (1 - e)^s; all n trials fail: (1 - w)^n; "
        "solve (1 - w)^n <= failure for n.",
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
    diagnoses = [
        (
            tuple(v / np.log(2) for v in expected),
            "your values are in bits (log2); use the natural logarithm (nats), as the course does.",
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
        hint="np.histogram2d gives counts; divide by their sum for p(a, b); "
        "sum p log(p / (p(a) p(b))) over non-empty bins.",
    )
