"""Questions of the subtomogram-averaging sheets: predict, then run; and interpret.

One prediction and one interpretation question per sheet (10-06 to 10-09).
A prediction's result is computed from the data the sheet passes in (the
tilt series it loaded, its score map, its reference), never typed in; each
question's options are listed in the sheet as well, and a test compares them
with ``<question>.options``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from emcourse.checks._core import CheckResult
from emcourse.checks._questions import choice, prediction, unset

__all__ = [
    "einstein_choice",
    "elongation_prediction",
    "gold_standard_choice",
    "half_map_prediction",
    "low_threshold_prediction",
    "missing_wedge_choice",
    "noise_prediction",
    "recall_choice",
]


def _radermacher(max_tilt_deg: float) -> float:
    a = np.deg2rad(max_tilt_deg)
    return float(np.sqrt((a + np.sin(a) * np.cos(a)) / (a - np.sin(a) * np.cos(a))))


# ------------------------------------------------------------------ sheet 10-06


def elongation_prediction(guess: Any, mdoc: list[dict]) -> CheckResult:
    """Predict, then run: how much the tilt range of ``mdoc`` stretches a particle along z.

    The result is Radermacher's elongation factor for the half-range of the
    tilt angles in the mdoc the sheet loaded (about 1.55 for +-60 degrees).
    """
    name = "elongation along z"
    if unset(guess):
        return prediction(name, guess, 0.0, explanation="")
    half = float(np.ptp([s["TiltAngle"] for s in mdoc]) / 2)
    e = _radermacher(half)
    return prediction(
        name,
        guess,
        e,
        rtol=0.15,
        explanation=f"tilts of +-{half:.0f} degrees leave a wedge of directions around the "
        "beam axis unmeasured, so detail along z is blurred: a sphere comes out longer "
        "along z than across. Radermacher's factor e = sqrt((a + sin a cos a) / "
        "(a - sin a cos a)) measures it; it grows quickly as the range shrinks "
        f"(about {_radermacher(70):.2f} "
        f"for +-70, {_radermacher(60):.2f} for +-60, {_radermacher(50):.2f} for +-50 degrees).",
        diagnoses=[
            (
                1.0,
                "no stretch at all would need tilts all the way to +-90 degrees, which the "
                "thickness of the tilted sample forbids.",
            ),
            (
                1 / e,
                "the particle is stretched along z, not squeezed: the factor is above 1.",
            ),
        ],
    )


_WEDGE_OPTIONS = {
    "a": "It looks longer along z, and its caps facing +z and -z fade.",
    "b": "It looks longer along y, the tilt axis.",
    "c": "It looks longer along x, the direction across which the stage tilts.",
    "d": "It looks round: a 3D reconstruction is the same in every direction.",
}


def missing_wedge_choice(answer: Any) -> CheckResult:
    """Interpretation: what a +-60 degree tilt series around y does to a round particle."""
    return choice(
        "a sphere in the tomogram",
        answer,
        options=_WEDGE_OPTIONS,
        correct="a",
        explanation="the unmeasured directions are those within 30 degrees of the beam (z), "
        "in the (x, z) plane. Detail that varies along z (surfaces facing +z and -z, such "
        "as the top and bottom of a vesicle or a membrane lying flat) is missing, and what "
        "is left is smeared along z. That is why single particles are averaged from many "
        "orientations, each filling in the others' wedge.",
        why_not={
            "b": "every tilt image contains the tilt axis (y) at full resolution: nothing "
            "along y is missing.",
            "c": "the tilts sample the x direction at every angle up to +-60 degrees; the "
            "directions never measured lie around the beam axis, z.",
            "d": "the missing wedge removes the frequencies near the beam axis, so the "
            "resolution along z is worse than across: a tomogram is not isotropic.",
        },
    )


missing_wedge_choice.options = _WEDGE_OPTIONS


# ------------------------------------------------------------------ sheet 10-07


def low_threshold_prediction(
    guess: Any, scores, annotations, *, min_distance: float, tolerance: float
) -> CheckResult:
    """Predict, then run: the precision of the picks at 3 instead of 10 robust SD.

    The sheet's own score map is picked at its median plus 3 robust standard
    deviations (``sta.find_peaks``, the sheet's minimum distance) and the picks
    scored against the annotations; the result is their precision.
    """
    from emcourse import sta

    def actual() -> float:
        s = np.asarray(scores)
        med = float(np.median(s))
        threshold = med + 3 * 1.4826 * float(np.median(np.abs(s - med)))
        picks = sta.find_peaks(s, min_distance=min_distance, threshold=threshold)
        return float(sta.precision_recall(picks, annotations, tolerance=tolerance)[0])

    return prediction(
        "precision at 3 robust standard deviations",
        guess,
        actual,
        rtol=0,
        atol=0.1,
        explanation="a score map has millions of voxels; were its scores Gaussian noise, "
        "about one voxel in 740 would pass 3 standard deviations by chance: thousands of "
        "candidates, many of them more than min_distance apart, so they survive the "
        "suppression as picks. The true "
        "particles were already above 10 SD; lowering the threshold adds mostly noise. "
        "A threshold is chosen for the size of the map, not for one particle.",
        diagnoses=[
            (
                1.0,
                "that assumes every new pick is a particle; but the particles were picked at "
                "10 standard deviations already, so what a lower threshold adds is noise.",
            ),
        ],
    )


_RECALL_OPTIONS = {
    "a": "Lower the threshold.",
    "b": "Raise the threshold.",
    "c": "Increase the minimum distance between picks.",
}


def recall_choice(answer: Any) -> CheckResult:
    """Interpretation: precision 0.95 and recall 0.5; what to change first."""
    return choice(
        "what to change for recall",
        answer,
        options=_RECALL_OPTIONS,
        correct="a",
        explanation="recall 0.5 means half the particles have no pick; precision 0.95 means "
        "nearly every pick is a particle. The missed particles scored below the threshold, "
        "so lower it, and watch precision: it falls once noise peaks get through (the "
        "prediction above). Where the two cross is a judgement about what the picks are "
        "for.",
        why_not={
            "b": "a higher threshold keeps fewer candidates: recall can only fall, and "
            "precision is already high.",
            "c": "a larger exclusion radius suppresses more peaks: fewer picks, so recall "
            "cannot rise (it falls where particles touch).",
        },
    )


recall_choice.options = _RECALL_OPTIONS


# ------------------------------------------------------------------ sheet 10-08


def noise_prediction(guess: Any, reference, *, n: int = 16, seed: int = 0) -> CheckResult:
    """Predict, then run: the noise left in an average of ``n`` noisy copies.

    ``n`` copies of ``reference`` (the map the sheet loaded), each with
    independent Gaussian noise as strong as the map's own standard deviation,
    are averaged; the result is the standard deviation of what is left of the
    noise, as a fraction of the noise in one copy.
    """

    def actual() -> float:
        ref = np.asarray(reference, dtype=np.float32)
        rng = np.random.default_rng(seed)
        sd = float(ref.std())
        total = np.zeros_like(ref)
        for _ in range(n):
            total += ref + sd * rng.standard_normal(ref.shape).astype(np.float32)
        return float((total / n - ref).std() / sd)

    return prediction(
        f"noise left in an average of {n}",
        guess,
        actual,
        rtol=0.15,
        explanation="independent noise adds in quadrature: the sum of n copies has n times "
        "the signal but only sqrt(n) times the noise, so the average keeps 1 / sqrt(n) of "
        "it. Halving the noise takes four times as many particles; that is why "
        "subtomogram averages need thousands of them.",
        diagnoses=[
            (
                1 / n,
                "that is 1 / n: the noise of an average falls more slowly than the number "
                "of copies grows.",
            ),
            (1.0, "independent noise does average down: the copies' noise partly cancels."),
        ],
    )


_EINSTEIN_OPTIONS = {
    "a": "A flat, featureless volume: noise averages to zero.",
    "b": "Something that looks like the reference.",
    "c": "A sphere: the average of many random orientations.",
    "d": "Noise as strong as in a single subtomogram.",
}


def einstein_choice(answer: Any) -> CheckResult:
    """Interpretation: align pure noise to a reference and average it (Einstein from noise)."""
    return choice(
        "aligned noise",
        answer,
        options=_EINSTEIN_OPTIONS,
        correct="b",
        explanation="alignment picks, for each noise volume, the pose where it happens to look "
        "most like the reference; the average of those best matches is the reference's "
        'shape ("Einstein from noise"). A reference imposes itself on the data aligned to '
        "it: that is why the halves of a gold-standard refinement are aligned independently, "
        "and why a map must be judged on data not used to align it.",
        why_not={
            "a": "noise alone would average out, but each volume is first moved to where it "
            "best matches the reference: the averaged noise is not random any more.",
            "c": "the poses are not random: each is chosen to match the reference, so the "
            "average keeps the reference's shape, not a sphere.",
            "d": "averaging independent volumes reduces their noise; and the aligned volumes "
            "share the reference's features, which add up.",
        },
    )


einstein_choice.options = _EINSTEIN_OPTIONS


# ------------------------------------------------------------------ sheet 10-09


def half_map_prediction(guess: Any, *, threshold: float = 0.143) -> CheckResult:
    """Predict, then run: how well the full map matches the truth where the halves give 0.143.

    The result is Rosenthal & Henderson's ``sqrt(2 F / (1 + F))`` at
    ``F = threshold``: 0.5 for the usual 0.143.
    """
    f = float(threshold)
    return prediction(
        f"full map against the truth where the halves give {f:g}",
        guess,
        lambda: float(np.sqrt(2 * f / (1 + f))),
        rtol=0.1,
        explanation="each half map is signal plus its own noise. Against the noise-free "
        "truth only one map's noise counts, and the full map averages both halves, so its "
        "noise is smaller still: C = sqrt(2 FSC / (1 + FSC)) (Rosenthal & Henderson 2003). "
        "At FSC = 0.143 that is 0.5, so half maps are read at 0.143 and a map against a "
        "known one (a model, an archive map) at 0.5: both mark the same quality.",
        diagnoses=[
            (
                f,
                "that is the half-map FSC itself; the full map against the truth is a "
                "different comparison, with less noise on both sides.",
            ),
            (
                float(np.sqrt(f)),
                "sqrt(FSC) is one half map against the truth; the full map averages twice "
                "as many particles, so it comes closer still.",
            ),
        ],
    )


_GOLD_OPTIONS = {
    "a": "The curve stays high beyond the true resolution: the map looks better than it is.",
    "b": "The curve falls earlier: the map looks worse than it is.",
    "c": "Nothing: the FSC measures only the signal, however the halves were refined.",
}


def gold_standard_choice(answer: Any) -> CheckResult:
    """Interpretation: half maps aligned against one common reference."""
    return choice(
        "halves aligned to one reference",
        answer,
        options=_GOLD_OPTIONS,
        correct="a",
        explanation="aligned to a common reference, both halves pick up the same noise "
        "(the reference's own, and Einstein-from-noise features), and the FSC counts "
        "whatever they share as signal: it stays high too far out and the resolution is "
        "overestimated. Gold-standard refinement aligns each half to its own reference, "
        "from a start low-passed well below the resolution, so that only true signal is "
        "shared.",
        why_not={
            "b": "noise the halves learn from a shared reference correlates between them, "
            "which raises the FSC; it cannot lower it.",
            "c": "the FSC measures whatever the two halves share; noise aligned to a common "
            "reference is shared too, and counts as signal.",
        },
    )


gold_standard_choice.options = _GOLD_OPTIONS
