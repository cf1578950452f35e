"""Checks of the subtomogram-averaging sheet "Weight the tilts by their dose".

Tasks: :func:`critical_exposure_curve` (Grant and Grigorieff's fit, at 300
and 200 kV) and :func:`exposure_filter_weights` (the filter of each tilt:
dose per tilt against accumulated dose, frequencies at the wrong pixel size,
the filter applied twice). Questions: :func:`half_amplitude_prediction`
(predict, then run) and :func:`circular_gain_choice` (interpretation).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from emcourse.checks._core import CheckResult, _run_cases, check_function
from emcourse.checks._questions import choice, prediction, unset

__all__ = [
    "circular_gain_choice",
    "critical_exposure_curve",
    "exposure_filter_weights",
    "half_amplitude_prediction",
]


def critical_exposure_curve(fn: Callable[[np.ndarray, float], Any]) -> CheckResult:
    """Check ``fn(k, voltage) -> N_e``: the critical exposure in e/A^2 at frequencies ``k`` (1/A).

    ``N_e(k) = a k^b + c`` with a = 0.245, b = -1.665, c = 2.81 (Grant and
    Grigorieff 2015, 300 kV), times 0.8 at 200 kV. Tested at 300 and 200 kV
    on frequencies from 1/50 to 1/3 A; within 1 % (the paper's rounded
    constants and the programs' longer ones differ by 0.1 %).

    Sample solution::

        def critical_exposure(k, voltage):
            scale = 0.8 if voltage == 200 else 1.0
            return scale * (0.245 * k**-1.665 + 2.81)
    """
    from emcourse.sta.dose import critical_exposure

    name = "critical exposure"
    hint = (
        "Grant and Grigorieff fitted a power law of the frequency plus a constant floor; "
        "at 200 kV the damage per electron is higher, so the critical exposure is lower.",
        "a * k**b + c with a = 0.245, b = -1.665, c = 2.81, k in 1/Å as given; at 200 kV "
        "multiply the result by 0.8.",
    )
    k = np.array([1 / 50, 1 / 20, 1 / 10, 1 / 6, 1 / 3])

    def case(voltage):
        def run():
            ref = critical_exposure(k, voltage=voltage)
            other = 0.8 if voltage == 300 else 1.0
            wrong = [
                (critical_exposure(k) * other, "the voltage scaling is the wrong way round: "
                    "0.8 at 200 kV, nothing at 300 kV."),
                (critical_exposure(k) / 0.8, "at 200 kV the critical exposure is lower than "
                    "at 300 kV: multiply by 0.8, do not divide."),
                (ref - 2.81 * (0.8 if voltage == 200 else 1.0), "the constant floor c is "
                    "missing: even the finest detail survives a few e/Å²."),
                (critical_exposure(k * 10, voltage=voltage), "k is already in 1/Å; "
                    "a conversion to 1/nm makes every frequency ten times finer."),
            ]  # fmt: skip
            return check_function(
                fn,
                k.copy(),
                float(voltage),
                name=name,
                expected=ref,
                rtol=0.01,
                units="e/Å²",
                what="critical exposures",
                diagnoses=wrong,
                hint=hint,
                show_result=False,
            )

        return run

    return _run_cases(
        name,
        [case(300), case(200)],
        "your critical exposure follows Grant and Grigorieff's fit at 300 and 200 kV.",
    )


def _reference_filter(doses, shape, pixel_size):
    from emcourse.sta.dose import exposure_filter

    d = np.asarray(doses, dtype=float)
    return exposure_filter(np.cumsum(d) - d, shape, pixel_size)


def exposure_filter_weights(fn: Callable[..., Any]) -> CheckResult:
    """Check ``fn(doses, shape, pixel_size) -> filters``: the exposure filter of every image.

    ``doses`` are the doses of the images in the order they were taken
    (e/A^2, as given at import); ``shape`` the images' ``(ny, nx)`` and
    ``pixel_size`` their pixel in A. The answer, shape ``(n, ny, nx)`` on the
    grid of ``np.fft.fft2`` (zero frequency at ``[0, 0]``):
    ``exp(-N / (2 N_e(|k|)))`` with N each image's pre-exposure and
    ``N_e(k) = 0.245 k^-1.665 + 2.81`` (300 kV), 1 at ``k = 0``.

    Sample solution::

        def exposure_filter(doses, shape, pixel_size):
            pre = np.cumsum(doses) - doses
            ky = np.fft.fftfreq(shape[0], d=pixel_size)[:, None]
            kx = np.fft.fftfreq(shape[1], d=pixel_size)[None, :]
            k = np.hypot(ky, kx)
            k[0, 0] = 1.0  # any value: the filter is set to 1 there below
            ne = 0.245 * k**-1.665 + 2.81
            w = np.exp(-pre[:, None, None] / (2 * ne))
            w[:, 0, 0] = 1.0
            return w
    """
    name = "exposure filter"
    hint = (
        "each image is filtered by the dose it had received before it was taken, at the "
        "spatial frequency of each Fourier pixel in 1/Å.",
        "pre-exposure: np.cumsum(doses) - doses; |k| from np.fft.fftfreq(n, d=pixel_size) "
        "along both axes; then np.exp(-N / (2 * N_e(k))) per image, with 1 at k = 0.",
    )

    def case(doses, shape, pixel):
        def run():
            d = np.asarray(doses, dtype=float)
            ref = _reference_filter(d, shape, pixel)
            from emcourse.sta.dose import exposure_filter

            wrong = [
                (exposure_filter(d, shape, pixel), "that filters each image by its own dose; "
                    "the damage that matters is the dose accumulated before it."),
                (exposure_filter(np.cumsum(d), shape, pixel), "that counts each image's own "
                    "dose too: use the pre-exposure, the dose received before the image."),
                (_reference_filter(d, shape, pixel / 10), "your frequencies are ten times too "
                    "high: the pixel size is in Å, and k must be in 1/Å, not 1/nm."),
                (_reference_filter(d, shape, pixel * 10), "your frequencies are ten times too "
                    "low: the pixel size is in Å, and k must be in 1/Å."),
                (ref**2, "your filter is the square of the right one: the filter applied "
                    "twice, or the factor 2 in exp(-N / (2 N_e)) left out."),
                (np.sqrt(ref), "your filter is the square root of the right one: the "
                    "exponent is -N / (2 N_e), with the 2 in the denominator."),
                (np.fft.fftshift(ref, axes=(-2, -1)), "your filter is centred (as after "
                    "fftshift); it must be on np.fft.fft2's grid, zero frequency at [0, 0]."),
            ]  # fmt: skip
            return check_function(
                fn,
                d.copy(),
                tuple(shape),
                float(pixel),
                name=name,
                expected=ref,
                rtol=0.0,
                atol=0.01,
                what="filters",
                diagnoses=wrong,
                hint=hint,
                show_result=False,
            )

        return run

    return _run_cases(
        name,
        [case(np.full(9, 3.0), (16, 16), 2.7), case([2.0, 4.0, 3.0, 1.0], (12, 10), 5.4)],
        "your filters weight each image by its pre-exposure at the right frequencies.",
    )


# ------------------------------------------------------------------ questions


def _half_amplitude_count(pre_exposure, resolution: float = 10.0) -> int:
    from emcourse.sta.dose import critical_exposure

    w = np.exp(-np.asarray(pre_exposure, float) / (2 * critical_exposure(1 / resolution)))
    return int(np.sum(w >= 0.5))


def half_amplitude_prediction(guess: Any, table: dict) -> CheckResult:
    """Predict, then run: how many tilts keep at least half their amplitude at 10 A.

    Computed from the tilt table the sheet loaded: the tilts whose filter
    ``exp(-N / (2 N_e(1/10)))`` at their pre-exposure N is at least 0.5.
    """
    name = "tilts that keep half their amplitude at 10 Å"
    if unset(guess):
        return prediction(name, guess, 0.0, explanation="")
    n = len(table["pre_exposure"])
    count = _half_amplitude_count(table["pre_exposure"])
    return prediction(
        name,
        guess,
        float(count),
        rtol=0.0,
        atol=2.0,
        explanation=f"at 10 Å the critical exposure is about 14 e/Å², so the amplitude halves "
        f"after 2 ln 2 x 14, about 20 e/Å² of pre-exposure: only the first images taken "
        f"(the low tilts of the dose-symmetric scheme) keep half, {count} of {n}. The high "
        "tilts still add the coarse shape, which survives far longer.",
        diagnoses=[
            (
                float(n),
                "every tilt would keep half only if the damage did not accumulate: "
                "the pre-exposure grows to over 100 e/Å² by the last image.",
            ),
            (
                1.0,
                "more than the first image keeps half: at 10 Å the critical exposure is "
                "several times one image's dose.",
            ),
        ],  # fmt: skip
    )


_CIRCULAR_OPTIONS = {
    "a": "Nothing about real specimens: damage made with the filter's own formula is matched "
    "by the filter by construction, so the gain is circular.",
    "b": "That the filter is the best weighting for every specimen.",
    "c": "That Grant and Grigorieff's critical exposure is correct.",
    "d": "That dose weighting is not needed, since the simulation already knew the damage.",
}


def circular_gain_choice(answer: Any) -> CheckResult:
    """Interpretation: what a gain shown on damage simulated with the filter's own model means."""
    return choice(
        "a gain shown with the filter's own damage",
        answer,
        options=_CIRCULAR_OPTIONS,
        correct="a",
        explanation="the weighted sum is best when the weights follow the damage; if the "
        "damage was made with exp(-N / (2 N_e)), the filter follows it exactly, whatever real "
        "specimens do. To show a gain that means something, damage the images with another "
        "model (the lesson's B-factor) or use real data, and compare with the best weighting.",
        why_not={
            "b": "the simulation had one damage model, the filter's own; real specimens decay "
            "differently, and the filter is only an average measured on one specimen.",
            "c": "the formula was used to make the data, so the data cannot test it.",
            "d": "real data do not come with their damage: the filter is what replaces that "
            "knowledge, and the lesson's other damage model shows it still helps.",
        },
    )


circular_gain_choice.options = _CIRCULAR_OPTIONS
