"""Checks of the subtomogram-averaging sheets on tomograms and particle picking.

Sheet 10-06 ("Simulate a tomogram and see the missing wedge"):
:func:`dose_symmetric_order`, :func:`wedge_fraction` (its elongation prediction is in
:mod:`.sta_questions`).
Sheet 10-07 ("Find particles by template matching"): :func:`crowther_step`,
:func:`picking_scores`, :func:`nms_peaks`, :func:`picks_on_tomogram`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from emcourse.checks._core import (
    CheckResult,
    _call,
    _run_cases,
    _validate,
    check_close,
    check_function,
    show,
)

__all__ = [
    "crowther_step",
    "dose_symmetric_order",
    "nms_peaks",
    "picking_scores",
    "picks_on_tomogram",
    "wedge_fraction",
]


# ------------------------------------------------------------------ sheet 10-06


def dose_symmetric_order(fn: Callable[[float, float], Any]) -> CheckResult:
    """Check ``fn(max_angle, step) -> angles``: the dose-symmetric acquisition order.

    Start at 0, one step to the positive side, then alternate sides in groups of
    two (Hagen et al. 2017), ending at +-max_angle. Tested on three schemes.

    Sample solution::

        def dose_symmetric_order(max_angle, step):
            n = int(round(max_angle / step))
            order = [0.0, step]
            k_pos, k_neg, side = 2, 1, -1
            while len(order) < 2 * n + 1:
                for _ in range(2):
                    if side < 0 and k_neg <= n:
                        order.append(-k_neg * step); k_neg += 1
                    elif side > 0 and k_pos <= n:
                        order.append(k_pos * step); k_pos += 1
                side = -side
            return np.array(order)
    """
    from emcourse.sta import tilt_scheme

    name = "dose-symmetric order"
    hint = (
        "look again at the order printed from the mdoc: after 0 and +step, how many tilts "
        "in a row go to the same side?",
        "keep one counter per side; after 0 and +step take the next two angles of the "
        "negative side, then the next two of the positive side, and so on outwards until "
        "both sides reach max_angle.",
    )

    def case(max_angle, step):
        def run():
            ref = tilt_scheme(min_angle=-max_angle, max_angle=max_angle, step=step)
            wrong = [
                (
                    np.sort(ref),
                    "those are the angles in sorted order; the order of acquisition "
                    "is what is asked.",
                ),
                (-ref, "the first step goes to the positive side (+step), then two negative."),
                (
                    tilt_scheme(min_angle=-max_angle, max_angle=max_angle, step=step, group=1),
                    "that alternates sides one tilt at a time; the dose-symmetric scheme "
                    "takes two tilts per side (fewer of the slow, wide swings of the stage).",
                ),
                (
                    _pairs_from_zero(max_angle, step),
                    "that takes two positive tilts straight after 0; only one, +step, comes "
                    "first, then the groups of two begin on the negative side.",
                ),
            ]
            return check_function(
                fn,
                max_angle,
                step,
                name=name,
                expected=ref.astype(float),
                rtol=0,
                atol=1e-6,
                units="°",
                what="tilt angles",
                diagnoses=wrong,
                hint=hint,
                show_result=False,
            )

        return run

    return _run_cases(
        name,
        [case(60.0, 3.0), case(50.0, 5.0), case(30.0, 2.0)],
        "your order matches the dose-symmetric scheme for three ranges and steps.",
    )


def _pairs_from_zero(max_angle: float, step: float) -> np.ndarray:
    """0, then groups of two from the positive side on: a common misreading of the scheme."""
    n = int(round(max_angle / step))
    pos = [k * step for k in range(1, n + 1)]
    neg = [-k * step for k in range(1, n + 1)]
    order = [0.0]
    for i in range(0, n, 2):
        order += pos[i : i + 2] + neg[i : i + 2]
    return np.array(order)


def wedge_fraction(fn: Callable[[tuple], Any]) -> CheckResult:
    """Check ``fn((min_tilt, max_tilt)) -> fraction``: the share of Fourier space not measured.

    The fraction of a sphere of frequencies that lies in the missing wedge of a
    tilt series from ``min_tilt`` to ``max_tilt`` degrees (tilt axis y). Tested
    on symmetric and asymmetric ranges; within 0.03, so a count on a small voxel grid
    (with :func:`emcourse.sta.wedge_mask`) passes as well as the formula.

    Sample solution::

        def wedge_fraction(tilt_range):
            lo, hi = tilt_range
            return (180 - (hi - lo)) / 180
    """
    name = "missing-wedge fraction"
    hint = (
        "the wedge is the same in every k_y plane, so think in the (k_x, k_z) plane: each "
        "tilt measures one line through its origin, at the tilt angle.",
        "a line through the origin can point in 180 degrees of directions; which of them "
        "do the tilts from min_tilt to max_tilt sweep, and which are left?",
    )

    def case(lo, hi):
        def run():
            ref = (180.0 - (hi - lo)) / 180.0
            wrong = [
                (1 - ref, "that is the fraction measured; the question is the fraction lost."),
                ((90.0 - (hi - lo) / 2) / 360.0, "the wedge is double: above and below."),
                (
                    (360.0 - (hi - lo)) / 360.0,
                    "a line through the origin covers two opposite directions at once: the "
                    "directions of lines add up to 180 degrees, not 360.",
                ),
                (
                    (90.0 - hi) / 90.0,
                    "that uses only max_tilt, as if the range were symmetric: the tilt range "
                    "may be asymmetric, so use both ends.",
                ),
            ]
            return check_function(
                fn,
                (lo, hi),
                name=name,
                expected=ref,
                rtol=0,
                atol=0.03,
                diagnoses=wrong,
                what="fraction",
                hint=hint,
                show_result=False,
            )

        return run

    return _run_cases(
        name,
        [case(-45.0, 45.0), case(-50.0, 65.0), case(-70.0, 30.0)],
        "your fraction is right for a symmetric and two asymmetric tilt ranges.",
    )


# ------------------------------------------------------------------ sheet 10-07


def crowther_step(fn: Callable[[float, float], Any]) -> CheckResult:
    """Check ``fn(diameter_A, resolution_A) -> step_deg``: the Crowther angular step.

    Rotating by ``delta`` radians moves a point on the rim (radius ``D / 2``) by
    ``delta * D / 2``; allowing half a resolution element, ``d / 2``, gives
    ``delta = d / D`` (as :func:`emcourse.sta.crowther_step`).

    Sample solution::

        def crowther_step(diameter_A, resolution_A):
            return np.rad2deg(resolution_A / diameter_A)
    """
    name = "Crowther step"
    hint = (
        "the rim moves most: how far does a point at D / 2 from the centre travel when "
        "the particle turns by a small angle?",
        "an arc of radius r swept by delta radians is r * delta long; the criterion lets "
        "the rim move by half a resolution element. Solve for delta, then convert.",
    )

    def case(d_a, res):
        def run():
            ref = float(np.rad2deg(res / d_a))
            wrong = [
                (res / d_a, "that is in radians; the step is asked in degrees."),
                (float(np.rad2deg(d_a / res)), "the step is resolution over diameter."),
                (
                    float(np.rad2deg(2 * res / d_a)),
                    "a rim point may move by half a resolution element (d / 2), not by d.",
                ),
                (
                    float(np.rad2deg(res / (2 * d_a))),
                    "the rim is at radius D / 2 from the centre, not at D.",
                ),
            ]
            return check_function(
                fn,
                d_a,
                res,
                name=name,
                expected=ref,
                rtol=1e-3,
                units="°",
                diagnoses=wrong,
                what="step",
                hint=hint,
                show_result=False,
            )

        return run

    return _run_cases(
        name,
        [case(250.0, 30.0), case(120.0, 24.0), case(400.0, 8.0)],
        "your angular step is right for three particle sizes and resolutions.",
    )


def _picks_case(seed: int):
    rng = np.random.default_rng(seed)
    truth = rng.uniform(10, 90, size=(15, 3))
    found = [truth[0] + 0.5, truth[0] - 0.8]  # a duplicate of particle 0
    found += list(truth[1:11] + rng.normal(scale=0.7, size=(10, 3)))
    found += [truth[11] + [3.5, 0, 0]]  # too far
    found += list(rng.uniform(10, 90, size=(4, 3)))
    found = np.asarray(found)[rng.permutation(len(found))]
    return found, truth


def picking_scores(fn: Callable[..., Any], *, tolerance: float = 2.0) -> CheckResult:
    """Check ``fn(found, truth, tolerance) -> (precision, recall)``.

    Each true particle may be matched by one pick only (a duplicate pick is a
    false positive); a pick within ``tolerance`` voxels of a true position
    matches. Tested on picks with a duplicate, a near miss and false positives.

    Sample solution::

        def picking_scores(found, truth, tolerance):
            return sta.precision_recall(found, truth, tolerance=tolerance)
    """
    from emcourse.sta import precision_recall

    name = "precision and recall"
    hint = (
        "start from every pick-to-truth distance, an (m, n) array; a pair closer than "
        "`tolerance` is a candidate match.",
        "visit the candidate pairs from the closest (`np.argsort` of their distances) and "
        "accept a pair only when neither its pick nor its true position is used yet.",
    )

    def case(seed):
        def run():
            found, truth = _picks_case(seed)
            ref = precision_recall(found, truth, tolerance=tolerance)
            d = np.linalg.norm(found[:, None] - truth[None], axis=-1)
            naive_p = float((d.min(axis=1) <= tolerance).mean())
            n_close = float((d <= tolerance).sum())
            wrong = [
                (
                    (naive_p, ref[1]),
                    "a duplicate pick of an already matched particle is a false positive.",
                ),
                ((ref[1], ref[0]), "return (precision, recall) in that order."),
                (
                    (n_close / len(found), n_close / len(truth)),
                    "you counted every pair within the tolerance; a pick and a true position "
                    "may each be matched once.",
                ),
            ]
            return check_function(
                fn,
                found.copy(),
                truth.copy(),
                tolerance,
                name=name,
                expected=tuple(float(v) for v in ref),
                rtol=0,
                atol=1e-6,
                diagnoses=wrong,
                what="(precision, recall)",
                hint=hint,
                show_result=False,
            )

        return run

    return _run_cases(
        name, [case(0), case(1)], "your precision and recall are right on two sets of picks."
    )


def _score_map(seed: int = 0):
    rng = np.random.default_rng(seed)
    shape = (24, 28, 32)
    zyx = np.indices(shape, dtype=np.float64)
    centres = [(6, 7, 8), (6, 7, 10.5), (16, 20, 24), (12, 6, 24), (18, 9, 9), (9, 21, 12)]
    centres.append((16, 20, 21.5))  # a weaker neighbour of the third peak
    heights = rng.uniform(1.2, 2.0, size=len(centres))
    heights[1] = heights[0] - 0.3
    heights[-1] = heights[2] - 0.3
    scores = np.zeros(shape)
    for c, h in zip(centres, heights, strict=True):
        d2 = sum((g - ci) ** 2 for g, ci in zip(zyx, c, strict=True))
        scores += h * np.exp(-d2 / 2.0)
    scores += 0.02 * rng.standard_normal(shape)
    scores[2, 25, 3] = 0.45  # a lone noise spike below the threshold
    return scores.astype(np.float32)


def _greedy_nms(scores, min_distance: float, threshold: float) -> np.ndarray:
    """Plain greedy non-maximum suppression: every voxel above threshold, strongest first."""
    cand = np.argwhere(scores > threshold)
    cand = cand[np.argsort(-scores[tuple(cand.T)], kind="stable")]
    kept = np.empty((0, 3), dtype=np.int64)
    for p in cand:
        if len(kept) == 0 or np.min(np.sum((kept - p) ** 2, axis=1)) >= min_distance**2:
            kept = np.vstack([kept, p])
    return kept


def _as_peaks(value, name: str, hint: str):
    """(peaks, None) for an (m, 3) array-like, else (None, a failed CheckResult)."""
    try:
        peaks = np.asarray(value, dtype=np.float64).reshape(-1, 3)
    except (TypeError, ValueError):
        peaks = None
    if peaks is None or (np.ndim(value) != 2 and len(peaks)):
        problem = _validate(value, np.zeros((1, 3)), name=name, hint=hint, subject="your peaks")
        if problem is None:
            problem = CheckResult(
                False,
                name,
                hint=hint,
                status="failed",
                message="your peaks should be an (m, 3) array of (z, y, x) voxel indices.",
            )
        return None, problem
    return peaks, None


def nms_peaks(fn: Callable[..., Any]) -> CheckResult:
    """Check ``fn(scores, min_distance, threshold) -> (m, 3) peaks``, strongest first.

    Greedy non-maximum suppression on a small synthetic score map with close
    pairs and a sub-threshold spike. The learner's peaks are compared with a
    plain greedy reference (every voxel above the threshold is a candidate; no
    local-maximum prefilter) as a set (precision and recall with tolerance
    0.5), then for the order (strongest first).

    Sample solution::

        def nms_peaks(scores, min_distance, threshold):
            cand = np.argwhere(scores > threshold)
            cand = cand[np.argsort(-scores[tuple(cand.T)], kind="stable")]
            kept = []
            for p in cand:
                if all(np.sum((p - q) ** 2) >= min_distance**2 for q in kept):
                    kept.append(p)
            return np.array(kept).reshape(-1, 3)
    """

    name = "non-maximum suppression"
    hint = (
        "the candidates are the voxels above the threshold, and the strongest of them is "
        "always a peak. What decides whether the next one is kept?",
        "visit the candidates from the highest score down (`np.argwhere` lists voxels, "
        "`np.argsort` orders scores) and keep one only when it is at least min_distance "
        "from every peak kept so far.",
    )
    scores = _score_map()
    min_distance, threshold = 4.0, 0.5
    ref = _greedy_nms(scores, min_distance, threshold)
    value, problem = _call(fn, (scores.copy(), min_distance, threshold), name=name, hint=hint)
    if problem is not None:
        return show(problem)
    peaks, problem = _as_peaks(value, name, hint)
    if problem is not None:
        return show(problem)
    result = _peaks_against(peaks, ref, name=name, hint=hint)
    if result.passed and len(peaks) == len(ref):
        order_ok = bool(np.all(np.diff(scores[tuple(np.rint(peaks).astype(int).T)]) <= 0))
        if not order_ok:
            result = CheckResult(
                False,
                name,
                hint=hint,
                status="failed",
                message="you found the right peaks.",
                diagnosis="they are not strongest first: order them by their score, highest first.",
            )
        else:
            result.message = "your peaks are the right ones, strongest first."
    return show(result)


def _peaks_against(peaks: np.ndarray, ref: np.ndarray, *, name: str, hint) -> CheckResult:
    """Compare peaks with the reference as a set, and name what a mismatch looks like."""
    from emcourse.sta import precision_recall

    precision, recall = precision_recall(peaks, ref, tolerance=0.5)
    result = check_close(
        name,
        (precision, recall),
        (1.0, 1.0),
        rtol=0,
        atol=1e-9,
        what="(precision, recall) of your peaks against the reference peaks",
        hint=hint,
        show_result=False,
    )
    if result.passed or not len(peaks):
        return result
    if precision_recall(peaks[:, ::-1], ref, tolerance=0.5) == (1.0, 1.0):
        result.diagnosis = (
            "your peaks are (x, y, z); return (z, y, x) voxel indices, as `np.argwhere` gives them."
        )
    elif recall == 1.0 and len(peaks) > len(ref):
        result.diagnosis = (
            "your peaks hold all the reference peaks and more: the suppression is missing "
            "or too weak. A candidate must be min_distance from every peak kept so far."
        )
    elif precision == 1.0 and len(peaks) < len(ref):
        result.diagnosis = (
            "your peaks are all right, but some are missing: a test drops peaks it should "
            "keep (compare the threshold with `>` and each distance only with peaks kept)."
        )
    return result


def picks_on_tomogram(
    fn: Callable[..., Any],
    scores,
    annotations,
    *,
    min_distance: float,
    threshold: float,
    tolerance: float,
) -> CheckResult:
    """Run ``fn(scores, min_distance, threshold)`` on a real score map and score the picks.

    Passes when the learner's peaks are those of a plain greedy non-maximum
    suppression of the same map (as a set, within half a voxel); the message
    reports the precision and recall of the learner's picks against the
    ``annotations`` (within ``tolerance`` voxels), which depend on the data,
    not on the function.

    Sample solution: the ``nms_peaks`` of :func:`nms_peaks`.
    """
    from emcourse.sta import precision_recall

    name = "picks on the tomogram"
    hint = (
        "run `checks.nms_peaks` on your function first: does it pass on the small map?",
        "a large map has many candidates: every voxel above the threshold is one, visited "
        "strongest first, and none may be skipped or kept twice.",
    )
    scores = np.asarray(scores)
    value, problem = _call(fn, (scores.copy(), min_distance, threshold), name=name, hint=hint)
    if problem is not None:
        return show(problem)
    peaks, problem = _as_peaks(value, name, hint)
    if problem is not None:
        return show(problem)
    ref = _greedy_nms(scores, min_distance, threshold)
    result = _peaks_against(peaks, ref, name=name, hint=hint)
    p, r = precision_recall(peaks, annotations, tolerance=tolerance)
    n_true = len(np.asarray(annotations).reshape(-1, 3))
    report = (
        f"{len(peaks)} picks; against the {n_true} annotations (within {tolerance:g} voxels): "
        f"precision {p:.2f}, recall {r:.2f}."
    )
    result.message = (
        f"your suppression gives the expected picks. {report}"
        if result.passed
        else f"{result.message} ({report})"
    )
    return show(result)
