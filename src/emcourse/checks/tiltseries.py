"""Checks of the subtomogram-averaging sheet "Read a tilt series and its metadata".

Tasks: :func:`pre_exposure_from_doses` (dose per image against accumulated
dose), :func:`bead_displacement` (the tilt axis at its angle, not the y axis;
degrees against radians; angstrom against nanometre). Questions:
:func:`astigmatism_angle_prediction` (predict, then run) and
:func:`exposure_dose_choice` (interpretation).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from emcourse.checks._core import CheckResult, _run_cases, check_function
from emcourse.checks._questions import choice, prediction, unset

__all__ = [
    "astigmatism_angle_prediction",
    "bead_displacement",
    "exposure_dose_choice",
    "pre_exposure_from_doses",
]


def pre_exposure_from_doses(fn: Callable[[np.ndarray], Any]) -> CheckResult:
    """Check ``fn(doses) -> pre_exposure``: the dose received *before* each image.

    ``doses`` are the doses of the images in the order they were taken
    (e/A^2); the answer is RELION's ``rlnMicrographPreExposure`` for each, in
    the same order: 0 for the first image. Tested on a constant and an
    uneven scheme.

    Sample solution::

        def pre_exposure_from_doses(doses):
            return np.cumsum(doses) - doses
    """
    name = "pre-exposure from doses"
    hint = (
        "the first image was taken on a fresh specimen: what is its pre-exposure? And the "
        "second image's?",
        "add up the doses of all the images taken before each one: a cumulative sum, "
        "shifted by one image (np.cumsum, then subtract each image's own dose).",
    )

    def case(doses):
        def run():
            d = np.asarray(doses, dtype=float)
            ref = np.cumsum(d) - d
            wrong = [
                (d, "those are the doses of the images themselves; the pre-exposure is the "
                    "dose accumulated before each image."),
                (np.cumsum(d), "that includes each image's own dose: the pre-exposure is what "
                    "the specimen had received before the image was taken."),
                (np.cumsum(d[::-1])[::-1] - d[::-1][::-1], "that adds the doses of the images "
                    "taken after each one; accumulate from the first image taken."),
            ]  # fmt: skip
            return check_function(
                fn,
                d.copy(),
                name=name,
                expected=ref,
                rtol=0,
                atol=1e-6,
                units="e/Å²",
                what="pre-exposures",
                diagnoses=wrong,
                hint=hint,
                show_result=False,
            )

        return run

    return _run_cases(
        name,
        [case(np.full(41, 3.0)), case([2.0, 3.5, 3.5, 1.0, 4.0])],
        "your pre-exposures add up the doses received before each image.",
    )


def _displacement(height_nm, tilt_deg, axis_deg, pixel_size):
    distance = height_nm * 10.0 * np.sin(np.deg2rad(tilt_deg)) / pixel_size
    return distance, (axis_deg + 90.0) % 180.0


def bead_displacement(fn: Callable[..., Any]) -> CheckResult:
    """Check ``fn(height_nm, tilt_deg, axis_deg, pixel_size) -> (distance_px, direction_deg)``.

    A bead ``height_nm`` nanometres above the plane that contains the tilt
    axis moves, when the stage tilts from 0 to ``tilt_deg``, by
    ``height sin(tilt)`` across the axis. The answer: that distance in pixels
    of ``pixel_size`` angstrom (positive for a positive tilt), and the
    direction of the movement in degrees from the x axis, between 0 and 180.
    The axis lies at ``axis_deg`` from the x axis (about 85 for TS_01).

    Sample solution::

        def bead_displacement(height_nm, tilt_deg, axis_deg, pixel_size):
            distance = height_nm * 10 * np.sin(np.deg2rad(tilt_deg)) / pixel_size
            return distance, (axis_deg + 90) % 180
    """
    name = "bead displacement"
    hint = (
        "a tilt turns the specimen about the tilt axis: points move perpendicular to the axis, "
        "by their height times the sine of the tilt.",
        "distance: convert the height to angstrom (x 10), multiply by sin of the tilt in "
        "radians (np.deg2rad), divide by the pixel size; direction: the axis angle plus 90, "
        "modulo 180.",
    )

    def case(height, tilt, axis, pixel):
        def run():
            d, direction = _displacement(height, tilt, axis, pixel)
            wrong = [
                ((d, 0.0), "the beads move across the tilt axis, and this axis is not the y "
                    "axis: it lies at the angle given (about 85 degrees for TS_01), so the "
                    "movement is at that angle plus 90."),
                ((height * 10 * np.sin(tilt) / pixel, direction), "np.sin takes radians; the "
                    "tilt is in degrees (np.deg2rad)."),
                ((d / 10.0, direction), "the height is in nanometres and the pixel size in "
                    "angstrom: 1 nm = 10 Å."),
                ((d, axis % 180.0), "that is the direction of the axis itself; points on "
                    "the axis do not move, the others move across it."),
                ((height * 10 * np.cos(np.deg2rad(tilt)) / pixel, direction), "the height "
                    "is projected with the sine of the tilt: at 0 degrees nothing moves."),
            ]  # fmt: skip
            return check_function(
                fn,
                height,
                tilt,
                axis,
                pixel,
                name=name,
                expected=(d, direction),
                rtol=0,
                atol=0.05,
                what="(distance in pixels, direction in degrees)",
                diagnoses=wrong,
                hint=hint,
                show_result=False,
            )

        return run

    return _run_cases(
        name,
        [case(50.0, 30.0, 85.0, 6.0), case(80.0, -57.0, 85.3, 5.4), case(20.0, 12.0, 10.0, 2.7)],
        "your displacement has the right size and direction for three tilts and axes.",
    )


# ------------------------------------------------------------------ questions


def astigmatism_angle_prediction(guess: Any, table: dict) -> CheckResult:
    """Predict, then run: the median jump of CTFFIND's astigmatism angle between neighbours.

    The result is computed from the tilt table the sheet loaded: the median,
    over neighbouring tilts (sorted by tilt), of the difference of their
    ``rlnDefocusAngle`` folded to 0..90 degrees (an astigmatism angle is an axis).
    """
    from emcourse.sta.tiltseries import axial_difference

    name = "astigmatism angle between neighbouring tilts"
    if unset(guess):
        return prediction(name, guess, 0.0, explanation="")
    order = np.argsort(table["tilt"])
    jumps = axial_difference(table["defocus_angle"][order][1:], table["defocus_angle"][order][:-1])
    astig = np.abs(table["defocus_u"] - table["defocus_v"])
    return prediction(
        name,
        guess,
        float(np.median(jumps)),
        rtol=0.0,
        atol=15.0,
        units="°",
        explanation=f"the astigmatism here is small (median {np.median(astig):.0f} Å against "
        f"a defocus of about {np.median(table['defocus_u']) / 1e4:.1f} µm), so the angle of "
        "the ellipse is barely defined and CTFFIND's estimate wanders from tilt to tilt. "
        "Angles that were random would differ by 45 degrees on median; the microscope's "
        "astigmatism did not change between neighbouring images, so a large jump says the "
        "angle is not measured, not that the optics changed.",
        diagnoses=[
            (
                0.0,
                "the microscope's astigmatism did not change, but CTFFIND's estimate of its "
                "angle is only as good as the astigmatism is large: here it is small.",
            ),
        ],  # fmt: skip
    )


_DOSE_OPTIONS = {
    "a": "The dose was not recorded in the mdoc; the accumulated dose comes from the "
    "dose per image given when the tilt series is imported, and RELION writes it as "
    "each image's pre-exposure.",
    "b": "The specimen received no electrons, so no dose weighting is needed.",
    "c": "The images are empty and must be excluded.",
    "d": "The dose is in another unit, e/pixel, and 0 means less than one electron.",
}


def exposure_dose_choice(answer: Any) -> CheckResult:
    """Interpretation: what an mdoc whose ``ExposureDose`` is 0 in every section means."""
    return choice(
        "an ExposureDose of 0",
        answer,
        options=_DOSE_OPTIONS,
        correct="a",
        explanation="a 0 in every section means the dose was not recorded in the mdoc (SerialEM "
        "computes it from a dose calibration of the camera). The dose per image is then given "
        "by the person who imports the tilt series (RELION 5's import takes a dose per tilt "
        "image), and RELION's tilt-series "
        "table records the result as rlnMicrographPreExposure: 3 e/Å² per image for TS_01. "
        "A pipeline that took the 0 at face value would weight every tilt as undamaged.",
        why_not={
            "b": "the images show the specimen: electrons reached the detector. A 0 here "
            "means not recorded, and dose weighting still matters.",
            "c": "the images hold the specimen (RELION aligned and reconstructed them): only "
            "the dose field is empty.",
            "d": "ExposureDose is in e/Å² in SerialEM; and a whole tilt series with less than "
            "one electron per pixel would show nothing.",
        },
    )


exposure_dose_choice.options = _DOSE_OPTIONS
