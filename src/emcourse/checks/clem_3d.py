"""Checks of the sheet "Register in 3D and target a lamella": depth, z scale, 3DCT.

Each task runs the learner's function on a seeded stand-in and compares with
the course's answer. The typical slips have measured diagnoses: the depth
factor inverted or applied twice, applied to x instead of z (axis order),
voxel indices taken for nanometres, the z/x columns swapped or rows read for
columns, and a 2D fit that ignores depth. The two questions: predict the z
scale of the affine fit on the real COSEM landmarks, and say what it means.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from emcourse.checks._core import CheckResult, check_function
from emcourse.checks._questions import choice, prediction, unset

__all__ = [
    "clem_3dct_target",
    "clem_depth_correct",
    "clem_z_scale",
    "clem_z_scale_meaning_choice",
    "clem_z_scale_prediction",
]

INVERTED = (
    "your factor is upside down: the focus moves n_sample / n_immersion times the stage step "
    "(paraxial), so multiply the nominal z by n_sample / n_immersion."
)
TWICE = "you applied the depth factor twice: scale z once, by n_sample / n_immersion."
AXIS_X = (
    "you scaled the last column: points are (z, y, x), so depth is column 0. Files in x, y, z "
    "order need reversing first."
)
PIXELS = (
    "your scales mix voxel indices with nanometres: multiply the light indices by the voxel "
    "size (z, y, x) before fitting."
)
SWAPPED = (
    "you compared x with z and y: column 0 of the linear part is z in (z, y, x) order, "
    "column 2 is x."
)
ROWS = (
    "you took row lengths: the image of a step along light z is a *column* of the linear part "
    "(rows mix the light axes once the map rotates)."
)
FLAT = (
    "your map ignores depth (a 2D fit to y and x): at a glancing ion beam the image's vertical "
    "axis is mostly depth. Fit the 3D-to-2D model (rotation, scale, 2D shift) to 3D beads."
)


def clem_depth_correct(fn: Callable) -> CheckResult:
    """Check ``fn(points, n_immersion, n_sample) -> points``: nominal z to true depth.

    Sample solution::

        def depth_correct(points, n_immersion, n_sample):
            return points * np.array([clem.depth_scale(n_immersion, n_sample), 1.0, 1.0])
    """
    from emcourse import clem

    rng = np.random.default_rng(71)
    pts = rng.uniform(0, 8000, (15, 3))
    f = clem.depth_scale(1.518, 1.33)
    expected = pts * [f, 1, 1]
    return check_function(
        fn,
        pts.copy(),
        1.518,
        1.33,
        name="depth correction",
        expected=expected,
        rtol=1e-6,
        atol=0.5,
        units="nm",
        what="corrected points",
        diagnoses=[
            (pts * [1 / f, 1, 1], INVERTED),
            (pts * [f * f, 1, 1], TWICE),
            (pts * [1, 1, f], AXIS_X),
        ],
        hint=(
            "only depth changes: x and y are untouched, and depth is column 0 of (z, y, x).",
            "multiply column 0 by n_sample / n_immersion (clem.depth_scale), once.",
        ),
    )


def _z_scale_case():
    from emcourse import clem

    d = clem.scaled_landmarks(n=16, factor=0.876, seed=72)
    voxel = np.array([200.0, 65.0, 65.0])
    return d["moving"] / voxel, voxel, d["fixed"]


def clem_z_scale(fn: Callable) -> CheckResult:
    """Check ``fn(light_voxels, voxel_nm, em_nm) -> float``: z scale / mean(y, x scale).

    Sample solution::

        def z_scale(light_voxels, voxel_nm, em_nm):
            fit = clem.fit(light_voxels * voxel_nm, em_nm, kind="affine")
            return clem.axial_scale(fit)["ratio"]
    """
    from emcourse import clem

    px, voxel, em = _z_scale_case()
    fit = clem.fit(px * voxel, em, kind="affine")
    expected = clem.axial_scale(fit)["ratio"]
    a_px = clem.fit(px, em, kind="affine")[:3, :3]
    cols_px = np.linalg.norm(a_px, axis=0)
    cols = np.linalg.norm(fit[:3, :3], axis=0)
    rows = np.linalg.norm(fit[:3, :3], axis=1)
    return check_function(
        fn,
        px.copy(),
        voxel.copy(),
        em.copy(),
        name="z scale of an affine fit",
        expected=expected,
        rtol=1e-3,
        what="z scale / xy scale",
        diagnoses=[
            (cols_px[0] / cols_px[1:].mean(), PIXELS),
            (cols[2] / cols[:2].mean(), SWAPPED),
            (rows[0] / rows[1:].mean(), ROWS),
        ],
        hint=(
            "a unit step along light z lands as column 0 of the affine map's linear part; its "
            "length is the z scale, the other columns' the y and x scales.",
            "convert voxels to nm (times voxel_nm), fit clem.fit(..., kind='affine'), take the "
            "column norms of the 3x3 part and divide z by the mean of y and x "
            "(clem.axial_scale does it).",
        ),
    )


def clem_3dct_target(fn: Callable) -> CheckResult:
    """Check ``fn(light_beads, image_beads, target) -> (2,)``: the target in the FIB image.

    Sample solution::

        def place_target(light_beads, image_beads, target):
            return clem.map_3dct(clem.fit_3dct(light_beads, image_beads), target)[0]
    """
    from emcourse import clem

    s = clem.fib_standin(seed=73)
    expected = clem.map_3dct(clem.fit_3dct(s["light"], s["image"]), s["target"])[0]
    flat = clem.apply(clem.fit(s["light"][:, 1:], s["image"], kind="affine"), s["target"][1:])[0]
    return check_function(
        fn,
        s["light"].copy(),
        s["image"].copy(),
        s["target"].copy(),
        name="3DCT targeting",
        expected=expected,
        rtol=0.0,
        atol=2.0,
        units="nm",
        what="target position (y, x)",
        diagnoses=[(flat, FLAT)],
        hint=(
            "the ion beam sees the grid from the side: the image mixes depth and y, so the "
            "model must use all three light coordinates.",
            "fit a 3D rotation, one scale and a 2D shift to the bead pairs (clem.fit_3dct), "
            "then project the target (clem.map_3dct).",
        ),
    )


def clem_z_scale_prediction(guess, landmarks) -> CheckResult:
    """Predict the SD of the affine fit's z / xy scale on ``landmarks`` (by simulation).

    The SD comes from re-clicking the EM landmarks with the clicking error that
    the fit's FRE implies and refitting, 200 times; a guess within 0.05 passes.
    """
    from emcourse import clem

    name = "uncertainty (SD) of the z / xy scale on the COSEM landmarks"
    if unset(guess):
        return prediction(name, guess, 0.0, explanation="")
    p, q = np.asarray(landmarks.moving, float), np.asarray(landmarks.fixed, float)
    fit = clem.fit(p, q, kind="affine")
    ratio = clem.axial_scale(fit)["ratio"]
    fle = clem.fle_from_fre(clem.fre(fit, p, q), len(p), 3, "affine")
    sd = clem.axial_scale_monte_carlo(
        p, fit, sigma_light=0.0, sigma_em=fle / np.sqrt(3), n_trials=200
    ).std()
    spread = np.ptp(p, axis=0)
    return prediction(
        name,
        guess,
        sd,
        rtol=0.0,
        atol=0.05,
        explanation=f"the fit gives z / xy = {ratio:.2f} +- {sd:.2f}: the landmarks span only "
        f"{spread[0]:.0f} nm in depth against {spread[1] / 1000:.0f} and "
        f"{spread[2] / 1000:.0f} um in y and x, so a {fle:.0f} nm clicking error tilts the "
        "fit's z column by a large fraction.",
        diagnoses=[
            (
                0.0,
                "the fit always returns a number, but the number moves with the clicks: "
                "re-click, refit, and the z scale changes by the SD asked for.",
            ),
        ],
    )


CHOICE: dict = {
    "name": "what the COSEM z scale says",
    "options": {
        "a": "The light z was stretched by about 15 %: multiply it by 0.87 before any fit.",
        "b": "The landmarks span only about a quarter of a micrometre in depth, so the z "
        "scale is uncertain by 12 to 15 %: it cannot tell a corrected z from an "
        "uncorrected one; landmarks spread in depth are needed to measure it.",
        "c": "The FIB-SEM's slice thickness is wrong by 15 %.",
        "d": "A z scale of 1 would prove the refractive indices match.",
    },
    "correct": "b",
    "explanation": "an estimate's uncertainty decides what it can show: the z column is "
    "fitted from a lever of 0.28 um, so its length is known to 0.12-0.15.",
    "why_not": {
        "a": "the measured ratio is within about one SD of 1; correcting by it would add "
        "noise, not remove a known error.",
        "c": "the EM's z scale enters the same column, but nothing here separates it from "
        "the light's: both are within the estimate's uncertainty.",
        "d": "even a ratio of exactly 1 from these landmarks would be uncertain by 15 %, "
        "and the light z may already have been corrected.",
    },
}


def clem_z_scale_meaning_choice(answer) -> CheckResult:
    """Interpretation question: what the COSEM z scale says (options in ``CHOICE``)."""
    return choice(answer=answer, **CHOICE)
