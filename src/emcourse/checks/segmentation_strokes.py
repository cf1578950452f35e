"""Questions of sheet 20-03 ("Train a pixel classifier") about annotation: where to label next.

:func:`next_strokes_choice` asks for judgement: given the first strokes and the
forest's mistakes (a figure in the sheet), where do the next strokes help
most? Once answered, it measures all three ways on the sheet's own data
(:func:`emcourse.segment.next_strokes_trial`) and shows the held-out Dice of each.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from emcourse.checks._core import CheckResult, show
from emcourse.checks._questions import choice, unset

__all__ = ["next_strokes_choice"]

OPTIONS = {
    "a": "more strokes like the first ones, along and across the boundaries of mitochondria",
    "b": "strokes through the largest regions the forest gets wrong (red and amber), each in "
    "the class the expert labels give",
    "c": "as many pixels again, as random voxels from the expert labels of the annotated slices",
    "d": "strokes on slices of the held-out block, where the score is measured",
}
WHY_NOT = {
    "a": "more of the same teaches the forest what it already knows: it classifies those "
    "pixels right already, so its decisions barely move.",
    "c": "most pixels are ones the forest already gets right, so random voxels mostly repeat "
    "what it knows; and drawing them needs expert labels everywhere, which nobody has.",
    "d": "labels on the held-out block turn its score into a training score: the number would "
    "rise, but it would no longer say how the forest does on data it has not seen.",
}
EXPLANATION = (
    "a forest learns most from the pixels it gets wrong: strokes on its mistakes (droplets "
    "and ER it calls mitochondrion, rims it misses) change its decisions where they were "
    "wrong. This is ilastik's loop: train, look at the prediction, paint where it is wrong."
)


def next_strokes_choice(
    answer: Any,
    features: np.ndarray,
    labels: np.ndarray,
    strokes: np.ndarray,
    eval_features: np.ndarray,
    eval_truth: np.ndarray,
    *,
    n_strokes: int = 8,
    n_estimators: int = 20,
) -> CheckResult:
    """Where should the next strokes go? One letter; then the three ways, measured.

    ``features`` and ``labels`` are those of the annotated training slices,
    ``strokes`` the first strokes on them, and ``eval_features`` /
    ``eval_truth`` a few held-out slices that only score the forests; the forests
    have ``n_estimators`` trees (seed 0), as the sheet's.
    """
    name = "where to add the next strokes"
    result = choice(
        name,
        answer,
        options=OPTIONS,
        correct="b",
        explanation=EXPLANATION,
        why_not=WHY_NOT,
        show_result=False,
    )
    letter = None if unset(answer) else str(answer).strip().strip("()").lower()
    if letter not in OPTIONS:
        return show(result)  # nothing chosen yet, or not one of the letters
    from emcourse.segment.strokes import next_strokes_trial

    trial = next_strokes_trial(
        features,
        labels,
        strokes,
        eval_features,
        eval_truth,
        n_strokes=n_strokes,
        n_estimators=n_estimators,
    )
    (_, start), parts = trial.pop("start"), []
    for key, way in (("mistakes", "b"), ("boundaries", "a"), ("random", "c")):
        added, d = trial[key]
        parts.append(f"({way}) {added} more pixels: {d:.3f}")
    result.message += (
        f" Measured on the held-out slices, Dice {start:.3f} with the first strokes; "
        + "; ".join(parts)
        + ". (d) cannot be measured honestly: it would score the forest on its own labels."
    )
    return show(result)
