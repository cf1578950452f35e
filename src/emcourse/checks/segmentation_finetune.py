"""Checks of the sheet "Fine-tune a network on real mitochondria": scoring and thresholds.

Tasks: :func:`finetune_score_crop` (the shipped network's Dice on a crop, inside the cell,
at the network's pixel size), :func:`finetune_pick_threshold` (a threshold chosen on the
training slices only); questions: :func:`finetune_ceiling_prediction` (predict, then run) and
:func:`finetune_threshold_choice` (interpretation).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from emcourse.checks._core import CheckResult, check_function
from emcourse.checks._questions import choice, prediction

__all__ = [
    "finetune_ceiling_prediction",
    "finetune_pick_threshold",
    "finetune_score_crop",
    "finetune_threshold_choice",
]

TRAIN_Z, TEST_Z = (1, 30, 60), (116, 150)


def _crop_data():
    """A 10 nm stand-in crop: image, instance labels, cell region, grey-level limits."""
    from emcourse.segment.hela2d import hela2d_standin

    s = hela2d_standin(size=192, z=(116,), seed=3)
    limits = np.percentile(s.images[0], [1, 99])
    return s.images[0], s.first[0], s.cell[0], s.pixel_nm, limits


def _dice(a, b) -> float:
    a, b = np.asarray(a, bool), np.asarray(b, bool)
    return float(2 * (a & b).sum() / max(a.sum() + b.sum(), 1))


def finetune_score_crop(fn: Callable[..., Any]) -> CheckResult:
    """Check ``fn(image, pixel_nm, labels, cell, limits) -> Dice`` of the shipped network."""
    from emcourse.mito import predict_mito

    name = "the shipped network's Dice on a crop, inside the cell"
    hint = (
        "predict with the image's own pixel size (the network works at 15 nm), threshold at "
        "0.5, and compare masks only where the labels are valid.",
        "`prob = predict_mito(image, pixel_nm, limits=limits)`; `pred = prob > 0.5`; "
        "`truth = labels > 0`; Dice = 2|pred ∧ truth| / (|pred| + |truth|) over the pixels "
        "where `cell` is True.",
    )
    image, labels, cell, px, limits = _crop_data()
    prob = predict_mito(image, px, limits=limits)
    pred, truth = prob > 0.5, labels > 0
    expected = _dice(pred[cell], truth[cell])
    unscaled = predict_mito(image, 15.0, limits=limits) > 0.5  # the 10 nm pixels taken as 15
    inter = (pred & truth)[cell].sum()
    lab = labels.astype(float)
    return check_function(
        fn,
        image.copy(),
        px,
        labels.copy(),
        cell.copy(),
        limits,
        name=name,
        expected=expected,
        atol=1e-3,
        hint=hint,
        diagnoses=[
            (
                _dice(pred, truth),
                "that is scored on the whole crop: outside the cell the mitochondria are "
                "unlabelled, not absent, so count only the pixels where `cell` is True.",
            ),
            (
                _dice(unscaled[cell], truth[cell]),
                "the image was not rescaled to the network's 15 nm: pass the crop's own pixel "
                "size (10 nm) and `predict_mito` rescales it.",
            ),
            (
                float(2 * (lab * pred)[cell].sum() / (lab[cell].sum() + pred[cell].sum())),
                "that computes with the instance labels (1, 2, 3, ...) as numbers: turn them "
                "into a mask first (`labels > 0`).",
            ),
            (
                float(inter / max((pred | truth)[cell].sum(), 1)),
                "that is the IoU (intersection over union); Dice is 2|A∩B| / (|A| + |B|).",
            ),
        ],
    )


def _threshold_data():
    """Probability maps of five slices; the test slices' probabilities run lower."""
    rng = np.random.default_rng(11)
    probs, truths, cells = {}, {}, {}
    yy, xx = np.mgrid[:96, :96]
    for z in TRAIN_Z + TEST_Z:
        truth = np.zeros((96, 96), bool)
        for cy, cx in rng.uniform(15, 81, (6, 2)):
            truth |= (yy - cy) ** 2 + (xx - cx) ** 2 <= rng.uniform(36, 81)
        cell = (yy - 48) ** 2 + (xx - 48) ** 2 <= 40**2
        truth &= cell
        unlabelled = np.zeros_like(truth)  # mitochondria of the other cells, not drawn
        for cy, cx in ((6, 6), (6, 89), (89, 6), (89, 89)):
            unlabelled |= (yy - cy) ** 2 + (xx - cx) ** 2 <= 36
        shift = -0.25 if z in TEST_Z else 0.0
        noise = rng.normal(0, 0.12, truth.shape)
        smooth = truth * 0.6 + unlabelled * 0.45 + 0.25 + shift + noise
        probs[z] = np.clip(smooth, 0, 1).astype(np.float32)
        truths[z] = truth
        cells[z] = cell
    return probs, truths, cells


def _best(probs, truths, cells, zs, thresholds) -> float:
    scores = []
    for t in thresholds:
        inter = sum(((probs[z] > t) & truths[z] & cells[z]).sum() for z in zs)
        total = sum(((probs[z] > t) & cells[z]).sum() + (truths[z] & cells[z]).sum() for z in zs)
        scores.append(2 * inter / total)
    return float(thresholds[int(np.argmax(scores))])


def finetune_pick_threshold(fn: Callable[..., Any]) -> CheckResult:
    """Check ``fn(probs, truths, cells, thresholds) -> threshold`` chosen on the training z."""
    name = "a threshold chosen without the test slices"
    hint = (
        "the dictionaries hold every slice, test slices included; only the training slices "
        f"z {TRAIN_Z} may choose anything.",
        "for each threshold, Dice inside the cell pooled over the training slices (sum the "
        "intersections and the sizes over them); return the threshold with the highest.",
    )
    probs, truths, cells = _threshold_data()
    thresholds = np.round(np.arange(0.2, 0.85, 0.05), 2)
    expected = _best(probs, truths, cells, TRAIN_Z, thresholds)
    on_test = _best(probs, truths, cells, TEST_Z, thresholds)
    on_all = _best(probs, truths, cells, TRAIN_Z + TEST_Z, thresholds)
    whole = {z: np.ones_like(c) for z, c in cells.items()}
    return check_function(
        fn,
        probs,
        truths,
        cells,
        thresholds,
        name=name,
        expected=expected,
        atol=1e-6,
        hint=hint,
        diagnoses=[
            (
                on_test,
                f"that threshold is the best on the test slices z {TEST_Z}: a test set that "
                "chooses is no longer a test; choose on the training slices only.",
            ),
            (
                on_all,
                "that threshold was chosen on all five slices, the test slices among them: "
                f"choose on the training slices z {TRAIN_Z} only.",
            ),
            (
                _best(probs, truths, whole, TRAIN_Z, thresholds),
                "that scores the whole slices: count only the pixels inside `cells[z]`.",
            ),
        ],
    )


def finetune_ceiling_prediction(guess: Any, slices, z: int = 116) -> CheckResult:
    """Predict the Dice of the revised pass against the first, inside the cell, on slice ``z``."""
    from emcourse.segment.hela2d import region_dice, region_instance_f1

    s = slices.at(z)
    f1 = region_instance_f1(s["first"], s["revised"], s["cell"])
    where = "real slices" if getattr(slices.source, "real", False) else "offline stand-in"
    return prediction(
        f"Dice of the two labelling passes inside the cell on test slice z {z} ({where})",
        guess,
        lambda: region_dice(s["first"], s["revised"], s["cell"]),
        atol=0.06,
        rtol=0.0,
        explanation="Dice counts pixels, and most pixels of a mitochondrion are drawn the same "
        "twice: the passes differ in boundaries a pixel or two wide and in the objects the "
        f"first pass missed. Instance F1 at IoU 0.5 between them is {f1:.2f}. That agreement is "
        "the ceiling: a method above it against one pass fits that pass, not the mitochondria.",
        diagnoses=[
            (
                0.7,
                "two passes of one lab agree far better than that on pixels: most of each "
                "mitochondrion is drawn the same twice.",
            ),
            (
                1.0,
                "even one lab redrawing its own labels moves boundaries and adds objects it "
                "missed: the agreement is high, not perfect.",
            ),
        ],
    )


def finetune_threshold_choice(answer: Any) -> CheckResult:
    """Which slices may choose the fine-tuned network's threshold."""
    return choice(
        "which slices may choose the threshold",
        answer,
        options={
            "a": "the test slices z 116 and 150, because the score is reported on them",
            "b": "a validation band of the training slices z 1, 30 and 60, kept apart from "
            "the rows trained on",
            "c": "all five slices pooled, because more pixels give a steadier choice",
            "d": "none: 0.5 is always right for a network trained with cross-entropy",
        },
        correct="b",
        explanation="every choice (weights, threshold, when to stop) is part of the method and "
        "must be made without the test slices, on data apart from the training rows; only then "
        "does the test score estimate what the method does on slices it has never seen.",
        why_not={
            "a": "a threshold tuned on the test slices fits them: the reported score is then "
            "optimistic, by an amount nobody can measure.",
            "c": "pooling puts the test slices back into the choice: the same leak as (a), "
            "diluted.",
            "d": "a fine-tuned network's probabilities are not calibrated on new data: the best "
            "threshold moves (the lesson chose it on the validation band).",
        },
    )
