"""Checks of the sheet "Register distorted sections with splines": thin-plate splines.

Each task runs the learner's function on a seeded distorted-section stand-in
(:func:`emcourse.clem.distorted_section`) and compares with the course's
spline. The typical slips have measured diagnoses: the spline fitted the wrong
way round (EM -> light, then applied to light points), ITK's 3D kernel ``r``
instead of BigWarp's ``r^2 log r``, no bending at all (the affine part only),
the error left in pixels, and the fiducial error (0 for a spline) taken for
the error. The two questions: predict the spline's leave-one-out error on the
real landmarks, and say what a spline that is no better than affine means.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from emcourse.checks._core import CheckResult, check_function
from emcourse.checks._questions import choice, prediction, unset

__all__ = [
    "clem_tps_loo",
    "clem_tps_loo_prediction",
    "clem_tps_map",
    "clem_tps_meaning_choice",
]


def _rms(e) -> float:
    return float(np.sqrt(np.mean(np.square(e))))


WRONG_WAY = (
    "your spline runs the wrong way: it was fitted from the EM points to the light points, "
    "then applied to light points. Fit it with the light landmarks as the source and the EM "
    "landmarks as the destination."
)
KERNEL_R = (
    "your kernel is r, the 3D choice of ITK and VTK; BigWarp (and this task) use r^2 log r, "
    "the thin-plate kernel, in 2D and 3D alike."
)
NO_BENDING = (
    "your map is the affine part alone: the spline's bending weights are missing (or zero). "
    "Solve for the kernel weights and the affine part together."
)
FRE_TRAP = (
    "that is the spline's error at its own landmarks, which it passes through exactly: 0 "
    "whatever the data. Leave each landmark out of the fit in turn and measure the miss there."
)
PIXELS = (
    "your error is in pixels: multiply the landmark positions (or the error) by the pixel "
    "size in nanometres."
)
AFFINE_LOO = (
    "that is the leave-one-out error of an affine fit: the task asks for the thin-plate spline's."
)


def clem_tps_map(fn: Callable) -> CheckResult:
    """Check ``fn(moving, fixed, points) -> (m, 2)``: a 2D thin-plate spline, light -> EM.

    Sample solution::

        def tps_map(moving, fixed, points):
            return clem.fit_tps(moving, fixed)(points)

    (or the linear system written out: kernel r^2 log r, affine part, side
    conditions).
    """
    from emcourse import clem

    sec = clem.distorted_section(20, seed=31)
    p, q = sec.moving, sec.fixed
    pts = sec.truth["targets"][:60]
    expected = clem.fit_tps(p, q)(pts)
    return check_function(
        fn,
        p.copy(),
        q.copy(),
        pts.copy(),
        name="thin-plate spline map",
        expected=expected,
        rtol=0.0,
        atol=0.5,
        units="nm",
        what="mapped points",
        diagnoses=[
            (clem.fit_tps(q, p)(pts), WRONG_WAY),
            (clem.fit_tps(p, q, kernel="r")(pts), KERNEL_R),
            (clem.apply(clem.fit(p, q, kind="affine"), pts), NO_BENDING),
        ],
        hint=(
            "a thin-plate spline is an affine map plus one radial term per landmark, "
            "U(r) = r^2 log r of the distance to it; the spline must hit every EM landmark.",
            "build the (n + 3) x (n + 3) system [[K, P], [P^T, 0]] with K_ij = U(|p_i - p_j|) "
            "and P = [p, 1], solve it for the weights and the affine part with the EM points "
            "(and three rows of zeros) on the right, then evaluate at the new points "
            "(clem.fit_tps does all this).",
        ),
    )


def clem_tps_loo(fn: Callable) -> CheckResult:
    """Check ``fn(moving_px, fixed_px, pixel_nm) -> float``: RMS leave-one-out error (nm).

    Sample solution::

        def tps_loo_rms(moving_px, fixed_px, pixel_nm):
            p, q = moving_px * pixel_nm, fixed_px * pixel_nm
            return np.sqrt(np.mean(clem.tps_leave_one_out(p, q) ** 2))
    """
    from emcourse import clem

    sec = clem.distorted_section(24, seed=32)
    pixel = 12.0
    p_px, q_px = sec.moving / pixel, sec.fixed / pixel
    expected = _rms(clem.tps_leave_one_out(sec.moving, sec.fixed))
    return check_function(
        fn,
        p_px.copy(),
        q_px.copy(),
        pixel,
        name="leave-one-out error of a thin-plate spline",
        expected=expected,
        rtol=0.01,
        units="nm",
        what="RMS leave-one-out error",
        diagnoses=[
            (0.0, FRE_TRAP),
            (expected / pixel, PIXELS),
            (_rms(clem.leave_one_out(sec.moving, sec.fixed, kind="affine")), AFFINE_LOO),
        ],
        hint=(
            "a spline fitted to all the landmarks passes through each of them: its error "
            "shows only at points it was not fitted to.",
            "for each landmark i: fit the spline to the others (in nm), map light landmark i, "
            "take the distance to EM landmark i; then the root of the mean square "
            "(clem.tps_leave_one_out gives the distances).",
        ),
    )


def clem_tps_loo_prediction(guess, landmarks) -> CheckResult:
    """Predict the thin-plate spline's FRE (nm) on ``landmarks``; the answer shows its LOO too."""
    from emcourse import clem

    name = "FRE of a thin-plate spline on the COSEM landmarks"
    if unset(guess):
        return prediction(name, guess, 0.0, explanation="")
    p, q = np.asarray(landmarks.moving, float), np.asarray(landmarks.fixed, float)
    spline = clem.fit_tps(p, q)
    fre = _rms(np.linalg.norm(spline(p) - q, axis=1))
    fre = fre if fre > 1e-6 else 0.0  # rounding noise of an exact fit
    fre_affine = clem.fre(clem.fit(p, q, kind="affine"), p, q)
    tps = _rms(clem.tps_leave_one_out(p, q))
    aff = _rms(clem.leave_one_out(p, q, kind="affine"))
    return prediction(
        name,
        guess,
        fre,
        rtol=0.0,
        atol=5.0,
        units="nm",
        explanation="a thin-plate spline passes through every landmark, clicking errors and "
        f"all: its FRE is 0, against {fre_affine:.0f} nm for the affine fit. Left-out "
        f"landmarks tell the truth: the spline misses them by {tps:.0f} nm RMS, the affine "
        f"fit by {aff:.0f} nm. FRE = 0 says nothing about a spline's accuracy.",
        diagnoses=[
            (
                fre_affine,
                "that is about the affine fit's FRE: a spline has one bending weight per "
                "landmark, enough to pass through each of them exactly.",
            ),
        ],
    )


CHOICES: dict[str, dict] = {
    "clem_tps_meaning_choice": {
        "name": "what a spline no better than affine means",
        "options": {
            "a": "The spline passes through every landmark, so it is the better registration "
            "anyway.",
            "b": "At the landmarks' spacing the section shows no distortion that the clicks "
            "can reveal: the affine residuals are mostly clicking error, so keep the affine "
            "fit (fewer parameters) unless held-out points say otherwise.",
            "c": "The spline must be wrong: a non-linear model always has a smaller error "
            "than a linear one.",
            "d": "Regularise the spline until its FRE equals the affine fit's, then use it.",
        },
        "correct": "b",
        "explanation": "leave-one-out error measures what a model predicts where it was not "
        "fitted. Equal errors mean the extra freedom bought nothing; the simpler model is "
        "then the safer one (it cannot bend to a wrong click).",
        "why_not": {
            "a": "passing through every landmark is FRE = 0, which a spline has whatever the "
            "data: it says nothing about the points between them.",
            "c": "more parameters lower the error at the fitted points only; at left-out "
            "points they can raise it by following clicking errors.",
            "d": "matching the FRE says nothing about error between landmarks; choose the "
            "regularisation by leave-one-out or held-out error, if at all.",
        },
    },
}


def _choice(task: str) -> Callable:
    def ask(answer) -> CheckResult:
        return choice(answer=answer, **CHOICES[task])

    ask.__name__ = ask.__qualname__ = task
    ask.__doc__ = f"Interpretation question: {CHOICES[task]['name']} (options in CHOICES)."
    return ask


clem_tps_meaning_choice = _choice("clem_tps_meaning_choice")
