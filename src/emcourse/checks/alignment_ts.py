"""Checks of the subtomogram-averaging sheet "Align a tilt series and reconstruct it".

Tasks: :func:`shift_between_images` (the sign of a shift; (y, x) against
(x, y); a peak past half the image not wrapped to a negative shift) and
:func:`bead_position` (the tilt axis at its angle, not the y axis; degrees
against radians; height with the sine of the tilt). Questions:
:func:`axis_as_y_prediction` (predict, then run) and
:func:`bead_gauge_choice` (interpretation).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import ndimage

from emcourse.checks._core import CheckResult, _run_cases, check_function
from emcourse.checks._questions import choice, prediction, unset

__all__ = [
    "axis_as_y_prediction",
    "bead_gauge_choice",
    "bead_position",
    "shift_between_images",
]


def _pair(shift, seed):
    rng = np.random.default_rng(seed)
    ref = ndimage.gaussian_filter(rng.normal(size=(64, 64)), 2.0)
    return ref, ndimage.shift(ref, shift, order=3, mode="grid-wrap")


def shift_between_images(fn: Callable[..., Any]) -> CheckResult:
    """Check ``fn(reference, moving) -> (dy, dx)``: the shift taking ``moving`` onto ``reference``.

    In :func:`scipy.ndimage.shift`'s sense, whole pixels are enough: if
    ``moving`` is ``reference`` moved by ``(3, -5)``, the answer is ``(-3, 5)``.
    Tested on three pairs of smooth random images, one moved by more than a
    quarter of the image.

    Sample solution::

        def shift_between_images(reference, moving):
            cc = np.fft.ifft2(np.fft.fft2(reference) * np.conj(np.fft.fft2(moving))).real
            peak = np.array(np.unravel_index(np.argmax(cc), cc.shape))
            size = np.array(cc.shape)
            return tuple(np.where(peak > size // 2, peak - size, peak))
    """
    name = "shift between two images"
    hint = (
        "the peak of the cross-correlation of the two images is where one lies on the other; "
        "its position, read from the FFT, is a shift (and shifts past half the image are "
        "negative).",
        "multiply the FFT of the reference by the complex conjugate of the FFT of the moving "
        "image, take the inverse FFT (real part), find the argmax with np.unravel_index, and "
        "subtract the image size from coordinates above half of it.",
    )

    def case(shift, seed):
        def run():
            ref, moved = _pair(shift, seed)
            right = tuple(-np.asarray(shift, float))
            wrapped = tuple(np.mod(np.asarray(right), 64))
            wrong = [
                (tuple(np.asarray(shift, float)), "that is where the moving image's content "
                    "went; the answer is the shift that brings it back onto the reference: "
                    "the opposite sign."),
                ((right[1], right[0]), "the shift is (y, x): rows first, as the arrays are "
                    "indexed."),
                (wrapped, "a peak past half the image is a negative shift: the correlation "
                    "wraps around, so subtract the image size."),
            ]  # fmt: skip
            return check_function(
                fn,
                ref.copy(),
                moved.copy(),
                name=name,
                expected=right,
                rtol=0,
                atol=0.51,
                units="px",
                what="(dy, dx)",
                diagnoses=[w for w in wrong if not np.allclose(w[0], right)],
                hint=hint,
                show_result=False,
            )

        return run

    return _run_cases(
        name,
        [case((3.0, -5.0), 1), case((-7.0, 2.0), 2), case((20.0, 9.0), 3)],
        "your shifts bring each moved image back onto its reference.",
    )


def _position(u, x, z, tilt_deg, axis_deg):
    t, a = np.deg2rad(tilt_deg), np.deg2rad(axis_deg)
    across = x * np.cos(t) + z * np.sin(t)
    return (u * np.sin(a) + across * np.cos(a), u * np.cos(a) - across * np.sin(a))


def bead_position(fn: Callable[..., Any]) -> CheckResult:
    """Check ``fn(u, x, z, tilt_deg, axis_deg) -> (y, x)``: where a bead appears at a tilt.

    The bead sits ``u`` pixels along the tilt axis, ``x`` across it and ``z``
    above the plane, all from the rotation centre; the axis lies at
    ``axis_deg`` from the image's x axis towards y. Tilted by ``tilt_deg``, it
    appears at ``u`` along the axis and ``x cos t + z sin t`` across it. The
    answer is that point's ``(y, x)`` from the centre, the across-axis
    direction being ``(cos a, -sin a)`` in ``(y, x)`` (the axis's direction
    turned by -90 degrees).

    Sample solution::

        def bead_position(u, x, z, tilt_deg, axis_deg):
            t, a = np.deg2rad(tilt_deg), np.deg2rad(axis_deg)
            across = x * np.cos(t) + z * np.sin(t)
            return u * np.sin(a) + across * np.cos(a), u * np.cos(a) - across * np.sin(a)
    """
    name = "bead position at a tilt"
    hint = (
        "split the answer in two: the part along the tilt axis (it does not change with the "
        "tilt) and the part across it (the bead's x and height, turned by the tilt).",
        "across = x cos t + z sin t (t in radians); then (y, x) = u (sin a, cos a) + "
        "across (cos a, -sin a), with a the axis angle in radians.",
    )

    def case(u, x, z, tilt, axis):
        def run():
            right = _position(u, x, z, tilt, axis)
            wrong = [
                (_position(u, x, z, tilt, 90.0), "the tilt axis is not the y axis: it lies "
                    "at the angle given (about 85 degrees for TS_01), so along and across "
                    "must be turned by it."),
                ((u * np.sin(axis) + (x * np.cos(tilt) + z * np.sin(tilt)) * np.cos(axis),
                  u * np.cos(axis) - (x * np.cos(tilt) + z * np.sin(tilt)) * np.sin(axis)),
                 "np.sin and np.cos take radians; the angles are in degrees (np.deg2rad)."),
                (_position(u, z, x, tilt, axis), "the height is projected with the sine of "
                    "the tilt and x with its cosine: at 0 degrees the height does not show."),
            ]  # fmt: skip
            return check_function(
                fn,
                u,
                x,
                z,
                tilt,
                axis,
                name=name,
                expected=tuple(float(v) for v in right),
                rtol=0,
                atol=0.05,
                units="px",
                what="(y, x) from the centre",
                diagnoses=wrong,
                hint=hint,
                show_result=False,
            )

        return run

    return _run_cases(
        name,
        [
            case(40.0, 10.0, 25.0, 30.0, 85.0),
            case(-60.0, -20.0, 15.0, -57.0, 86.3),
            case(5.0, 30.0, -40.0, 12.0, 10.0),
        ],
        "your bead lands where the model puts it, for three tilts and axes.",
    )


# ------------------------------------------------------------------ questions


def axis_as_y_prediction(guess: Any, tracks, tilts, *, centre, fitted_axis: float) -> CheckResult:
    """Predict, then run: the bead-fit residual (pixels) with the axis taken as the y axis.

    Computed with :func:`emcourse.sta.axis_scan` on the sheet's own bead
    tracks at 90 degrees; the explanation gives the residual at the fitted axis.
    """
    from emcourse.sta.tsalign import axis_scan

    name = "residual with the axis taken as y"
    if unset(guess):
        return prediction(name, guess, 0.0, explanation="")
    at_y, best = axis_scan(tracks, tilts, [90.0, fitted_axis], centre=centre)
    return prediction(
        name,
        guess,
        float(at_y),
        rtol=0.0,
        atol=max(0.3, 0.3 * float(at_y)),
        units="px",
        explanation=f"at the fitted axis ({fitted_axis:.1f} deg) the residual is {best:.2f} px, "
        "the beads' localisation noise. Taking the axis as y turns the model by a few "
        "degrees: beads far from the centre along the axis are misplaced across it by their "
        "distance times the sine of the error, and the per-image shifts can absorb only part "
        "of it.",
        diagnoses=[
            (
                float(best),
                "that is the residual at the fitted axis; at 90 degrees the model is "
                "turned away from where the beads move.",
            ),
        ],  # fmt: skip
    )


_GAUGE_OPTIONS = {
    "a": "The tilt-axis angle.",
    "b": "Where the tomogram's centre sits: a common shift along the axis, and a rotation "
    "centre moved across the axis or in height, change every image's shift without changing "
    "the reconstruction, except for where it lies.",
    "c": "The shift of each image against its neighbour.",
    "d": "The heights of the beads relative to one another.",
}


def bead_gauge_choice(answer: Any) -> CheckResult:
    """Interpretation: what a bead fit cannot determine, so a truth must be compared up to it."""
    return choice(
        "what beads cannot fix",
        answer,
        options=_GAUGE_OPTIONS,
        correct="b",
        explanation="moving every bead by k along the axis and every image by -k leaves every "
        "bead image where it was; so does moving the rotation centre by X across the axis and "
        "Z in height while adding X cos t + Z sin t to each image's shift across it. The data "
        "cannot tell these apart: the fit fixes them by a choice (here, the beads' mean at the "
        "centre), and a comparison with a truth must remove them (sta.gauge_free_error).",
        why_not={
            "a": "the axis is what the fit does determine: a wrong axis leaves a residual (the "
            "scan of the residual against the angle has one clear minimum).",
            "c": "differences between images' shifts are fixed up to the three numbers of (b); "
            "that is what aligns the series.",
            "d": "relative heights show in how differently beads move with the tilt (the sin t "
            "term); only their common height is free.",
        },
    )


bead_gauge_choice.options = _GAUGE_OPTIONS
