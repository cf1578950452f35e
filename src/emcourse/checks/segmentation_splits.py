"""Checks of the segmentation sheet on splits, domain shift and measurement (track 20).

Sheet 20-07 ("Split data, measure a domain shift and measure mitochondria"):
:func:`object_extent` and :func:`sphericity` (tasks), :func:`nearest_copy_prediction`
(predict, then run) and :func:`gap_choice` (interpretation).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from emcourse.checks._core import CheckResult, _all_passed, check_function, show
from emcourse.checks._questions import choice, prediction, unset

__all__ = ["gap_choice", "nearest_copy_prediction", "object_extent", "sphericity"]


def _extent_cases() -> dict[str, np.ndarray]:
    """Label images whose tallest object is known, each built to expose one mistake."""
    rods = np.zeros((30, 8, 8), np.int32)
    rods[3:15, 1, 1] = 1  # 12 slices: the tallest
    rods[20:27, 5, 5] = 2  # 7 slices
    rods[0:4, 6, 1:7] = 3  # 4 slices in z, 6 pixels in x
    apart = np.zeros((30, 8, 8), np.int32)
    apart[2:6, 1, 1] = 1  # two short objects far apart in z: the foreground spans 2-27
    apart[22:28, 4, 4] = 2
    wide = np.zeros((6, 40, 8), np.int32)
    wide[1:4, 2:38, 3] = 1  # 3 slices tall, 36 pixels along y
    return {"three rods": rods, "two objects far apart": apart, "a wide flat object": wide}


def _extent(labels: np.ndarray, axis: int = 0) -> int:
    from emcourse.segment.splits import longest_extent

    return int(longest_extent(labels, axis=axis))


def object_extent(fn: Callable) -> CheckResult:
    """Check ``fn(labels) -> the most z slices one labelled object spans``.

    Diagnosed: ``max - min`` of the slice indices (one short), the foreground's
    extent taken as one object, and the extent along y or x instead of z.
    """
    name = "longest object extent along z"
    hint = (
        "for each object, find the first and the last slice it appears in; the answer is "
        "the largest number of slices from first to last, counting both.",
        "`scipy.ndimage.find_objects(labels)` gives each object's bounding box as slices; "
        "`box[0].stop - box[0].start` is its extent along z.",
    )

    def run(case: str, labels: np.ndarray) -> CheckResult:
        expected = float(_extent(labels))
        fg = np.flatnonzero((labels > 0).any(axis=(1, 2)))
        known = [
            (
                expected - 1,
                "one slice short: an object spans its last slice minus its first "
                "plus one; count both ends.",
            ),
            (
                float(fg[-1] - fg[0] + 1),
                "that is the extent of all objects together; "
                "measure each object on its own and take the largest.",
            ),
            (
                float(_extent(labels, 1)),
                "that is the extent along y; the blocks are cut along z, the first axis.",
            ),
            (
                float(_extent(labels, 2)),
                "that is the extent along x; the blocks are cut along z, the first axis.",
            ),
        ]
        return check_function(
            fn,
            labels.copy(),
            name=f"{name} ({case})",
            expected=expected,
            atol=0.0,
            hint=hint,
            diagnoses=[(v, d) for v, d in known if v != expected],
            show_result=False,
        )

    return show(
        _all_passed(
            name,
            (run(k, v) for k, v in _extent_cases().items()),
            "right on rods of several lengths, two objects far apart and a wide flat object.",
        )
    )


def nearest_copy_prediction(guess: Any, labels: np.ndarray) -> CheckResult:
    """Predict the Dice of copying the nearest training slice's labels, random slice split."""
    name = "Dice of copying the nearest training slice, random split of the slices"
    if unset(guess):
        return prediction(name, guess, 0.0, explanation="")
    from emcourse.segment.metrics import dice

    labels = np.asarray(labels)
    n = labels.shape[0]
    train = np.sort(np.random.default_rng(1).permutation(n)[: n // 2])
    val = np.setdiff1d(np.arange(n), train)
    nearest = train[np.abs(val[:, None] - train[None]).argmin(axis=1)]
    actual = float(dice(labels[val] > 0, labels[nearest] > 0))
    return prediction(
        name,
        guess,
        actual,
        atol=0.05,
        rtol=0.0,
        explanation="neighbouring slices, 15 nm apart, cut the same mitochondria almost "
        "identically: a model that learned nothing but the training labels scores nearly as "
        "well as a perfect one. The validation score then measures how alike neighbouring "
        "slices are.",
        diagnoses=[
            (
                0.5,
                "half the slices are in each set, but a validation slice is not half right: "
                "its nearest training slice is usually one slice away and shows the same "
                "mitochondria.",
            ),
            (
                0.0,
                "copying labels is no model, but the labels copied come from a slice next "
                "door, and they overlap the right ones almost completely.",
            ),
        ],
    )


def gap_choice(answer: Any) -> CheckResult:
    """What is wrong with a gap shorter than the longest object."""
    return choice(
        "training slices 0-20, test slices 40-71, the tallest mitochondrion spans 60 slices",
        answer,
        options={
            "a": "nothing: the blocks do not overlap, and 19 slices lie between them",
            "b": "a mitochondrion can have voxels in both blocks, so the test block partly "
            "scores what the model was trained on: the score is optimistic",
            "c": "the test block is larger than the training block: the model is trained "
            "on too little",
            "d": "the gap should be measured in nanometres, not slices, for the split to be valid",
        },
        correct="b",
        explanation="an object 60 slices tall can start in the training block and end in the "
        "test block: the model saw part of it. The gap must be at least as long as the "
        "tallest object along the cut, and no object may have voxels on both sides.",
        why_not={
            "a": "blocks that do not share a slice can still share an object: what must not "
            "be in both is a mitochondrion, not a slice.",
            "c": "the sizes of the blocks change how precise the scores are, not whether "
            "they leak.",
            "d": "slices and nanometres say the same thing at a known voxel size; the "
            "problem is the length of the gap, in any unit.",
        },
    )


def sphericity(fn: Callable) -> CheckResult:
    """Check ``fn(volume, area) -> pi**(1/3) * (6 volume)**(2/3) / area`` on a ball and a rod.

    Diagnosed: the factor pi**(1/3) left out, the power 1/3 for 2/3, and the ratio upside down.
    """
    name = "sphericity"
    hint = (
        "compare the object's area with the area of a ball of the same volume: 1 for a "
        "ball, less for anything else.",
        "a ball of volume V has area pi**(1/3) * (6 V)**(2/3); divide that by the object's "
        "area (both in the same unit, e.g. µm³ and µm²).",
    )
    r, length = 0.2, 1.0  # a rod 0.4 µm across and 1 µm long between its caps (µm)
    cases = {
        "a ball": (4 / 3 * np.pi * 0.3**3, 4 * np.pi * 0.3**2),
        "a rod": (
            np.pi * r**2 * length + 4 / 3 * np.pi * r**3,
            2 * np.pi * r * length + 4 * np.pi * r**2,
        ),
    }

    def run(case: str, volume: float, area: float) -> CheckResult:
        ball_area = np.pi ** (1 / 3) * (6 * volume) ** (2 / 3)
        expected = float(ball_area / area)
        known = [
            (expected / np.pi ** (1 / 3), "the factor pi**(1/3) is missing."),
            (
                float(np.pi ** (1 / 3) * (6 * volume) ** (1 / 3) / area),
                "the volume's power is 2/3: an area grows as a length squared.",
            ),
            (
                1 / expected,
                "the ratio is upside down: the ball's area over the object's, so "
                "that no shape scores above 1.",
            ),
        ]
        return check_function(
            fn,
            float(volume),
            float(area),
            name=f"{name} ({case})",
            expected=expected,
            rtol=1e-6,
            hint=hint,
            diagnoses=[(v, d) for v, d in known if not np.isclose(v, expected)],
            show_result=False,
        )

    return show(
        _all_passed(
            name,
            (run(k, *v) for k, v in cases.items()),
            "1 for a ball, and the right value for a capped rod.",
        )
    )
