"""Questions of the segmentation sheets (track 20): predict, then run; and interpret.

Each sheet asks one of each. A prediction's result is computed from the data
the sheet loaded (passed in by the sheet) only once a guess is committed; a
choice explains the right option and diagnoses each wrong one.

Sheet 20-01: :func:`outside_range_prediction`, :func:`calibration_choice`.
Sheet 20-02: :func:`one_voxel_dice_prediction`, :func:`merged_objects_choice`.
Sheet 20-03: :func:`scribble_accuracy_prediction`, :func:`feature_memory_choice` (and
:func:`emcourse.checks.segmentation_strokes.next_strokes_choice`).
Sheet 20-04: :func:`wider_unet_prediction`, :func:`stopping_block_choice`.
Sheet 20-06: :func:`shifted_truth_prediction`, :func:`few_seeds_choice`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from emcourse.checks._core import CheckResult
from emcourse.checks._questions import choice, prediction, unset

__all__ = [
    "calibration_choice",
    "feature_memory_choice",
    "few_seeds_choice",
    "merged_objects_choice",
    "one_voxel_dice_prediction",
    "outside_range_prediction",
    "scribble_accuracy_prediction",
    "shifted_truth_prediction",
    "stopping_block_choice",
    "wider_unet_prediction",
]


# ------------------------------------------------------------------ sheet 20-01


def outside_range_prediction(guess: Any, image: np.ndarray) -> CheckResult:
    """Predict the percentage of ``image``'s voxels outside [0, 1] after normalising at
    percentiles 2 and 98."""
    from emcourse.segment.preprocess import normalise_percentile

    def actual() -> float:
        n = normalise_percentile(image, 2.0, 98.0)
        return float(np.mean((n < 0) | (n > 1)) * 100)

    return prediction(
        "voxels outside [0, 1] after normalising at percentiles 2 and 98",
        guess,
        actual,
        atol=0.75,
        rtol=0.0,
        units="%",
        explanation="the 2nd percentile is the grey level with 2 % of the voxels below it, "
        "and the 98th has 2 % above it: about 4 % fall outside, below 0 or above 1. "
        "Percentile normalisation sets a scale; it does not clip. On 8-bit data many voxels "
        "share the grey level of a percentile, so the share can differ a little from 4 %.",
        diagnoses=[
            (
                0.0,
                "normalising at percentiles does not clip: the voxels beyond them stay below 0 "
                "or above 1.",
            ),
            (
                2.0,
                "2 % is one tail only: the 2nd percentile leaves 2 % below 0, and the 98th "
                "another 2 % above 1.",
            ),
            (96.0, "that is the share inside [0, 1]; the question asks for the share outside."),
        ],
    )


def calibration_choice(answer: Any) -> CheckResult:
    """Which of the three volumes of the crop to report."""
    return choice(
        "which volume of the crop to report",
        answer,
        options={
            "a": "the first line: the file's own calibration, read in nm",
            "b": "the second line: the file's own calibration, read in µm",
            "c": "the third line: the benchmark's documented 24 nm voxels",
            "d": "none: without a calibrated file the volume cannot be known",
        },
        correct="c",
        explanation="the TIFF says 1 *unit* per pixel with no unit: an empty tag, not a "
        "measurement. The benchmark's documentation gives 24 nm, and the course's registry "
        "records it with its source. Take voxel sizes from the archive entry, and check them "
        "against a structure of known size where you can.",
        why_not={
            "a": "nm is only your reader's default for a tag without a unit; nothing in the "
            "file says nanometres.",
            "b": "µm is as much a guess as nm: the tag gives no unit at all.",
            "d": "the benchmark's documentation gives the voxel size: an archive entry is the "
            "place to take it from when the file's tags are empty.",
        },
    )


# ------------------------------------------------------------------ sheet 20-02


def one_voxel_dice_prediction(guess: Any, truth: np.ndarray) -> CheckResult:
    """Predict the Dice of the expert's mask against the same mask one voxel thicker."""

    def actual() -> float:
        from scipy import ndimage as ndi

        from emcourse.segment.metrics import dice

        mask = np.asarray(truth) > 0
        return float(dice(mask, ndi.binary_dilation(mask)))

    return prediction(
        "Dice of the expert's mitochondria against the same mask one voxel thicker",
        guess,
        actual,
        atol=0.03,
        rtol=0.0,
        explanation="Dice counts voxels, and a one-voxel shell around a small object holds a "
        "large share of its voxels: a mitochondrion is only tens of voxels across. One voxel "
        "of disagreement at every boundary (about what two experts differ by) costs several "
        "points of Dice; that is why the sheet's aims are 0.85, not 0.99.",
        diagnoses=[
            (
                1.0,
                "one voxel sounds like nothing, but Dice counts voxels, and a thin shell around "
                "a small object holds a large share of them.",
            )
        ],
    )


def merged_objects_choice(answer: Any) -> CheckResult:
    """What to change first when the foreground is right but objects are merged."""
    return choice(
        "what to change first: Dice 0.91, instance F1 0.55, 30 objects for 44 true",
        answer,
        options={
            "a": "the band threshold: widen it, to mark more voxels",
            "b": "the watershed: more markers (a smaller core distance), one per mitochondrion",
            "c": "the opening: a bigger ball, to smooth the mask",
            "d": "the size filter: a larger minimum volume",
        },
        correct="b",
        explanation="Dice 0.91 says the foreground is about right; fewer objects than the "
        "truth with a low F1 says touching mitochondria share a label. More markers split "
        "them, without changing which voxels are foreground.",
        why_not={
            "a": "the foreground is already about right (Dice 0.91): a wider band adds "
            "distractors, and joins more mitochondria.",
            "c": "a bigger opening erases thin parts and small mitochondria: fewer objects "
            "still, and a lower Dice.",
            "d": "a larger minimum removes objects, but there are already fewer than in the truth.",
        },
    )


# ------------------------------------------------------------------ sheet 20-03


def scribble_accuracy_prediction(
    guess: Any, train_em: np.ndarray, train_truth: np.ndarray
) -> CheckResult:
    """Predict how many of its own scribbled voxels a forest classifies right (%)."""
    name = "a forest's accuracy on the scribbles it was trained on"
    if unset(guess):
        return prediction(name, guess, 0.0, explanation="")
    from emcourse.segment.features import feature_stack, scribbles, train_forest
    from emcourse.segment.metrics import dice

    slices = slice(None, None, max(1, len(train_em) // 4))
    feats = feature_stack(train_em[slices])
    truth = np.asarray(train_truth[slices]) > 0
    sparse = scribbles(train_truth[slices], n_per_class=2000, seed=3)
    forest = train_forest(feats, sparse, n_estimators=20)
    seen = sparse > 0
    prob = forest.predict_proba(feats.reshape(-1, feats.shape[-1]))[:, 1].reshape(truth.shape)
    accuracy = float(np.mean((prob[seen] > 0.5) == (sparse[seen] == 2)) * 100)
    unseen = float(dice(truth[~seen], prob[~seen] > 0.5))
    return prediction(
        name,
        guess,
        accuracy,
        atol=2.0,
        rtol=0.0,
        units="%",
        explanation="a random forest fits the voxels it was trained on almost "
        "perfectly, so a score on them measures memory, not skill. On the voxels of the same "
        f"slices that it never saw, its Dice is {unseen:.2f}: only voxels left out of "
        "training (better, a block left out) tell how well it works.",
    )


def feature_memory_choice(answer: Any) -> CheckResult:
    """Which way of fitting 3D features in memory leaves the prediction unchanged."""
    return choice(
        "which change fits the features in 1 GiB and leaves the prediction unchanged",
        answer,
        options={
            "a": "compute the features in float16 instead of float32",
            "b": "compute features and predictions a block of slices at a time, each block "
            "read with a margin of about 4 sigma_max slices that is cut off afterwards",
            "c": "downsample the volume by 2 along each axis",
            "d": "drop the largest scales (sigma_max 4 instead of 16)",
        },
        correct="b",
        explanation="a voxel's features depend only on its neighbourhood, out to about four "
        "times the largest sigma: with that margin, each block's features are the ones the "
        "whole volume would give, and memory grows with the block, not the volume.",
        why_not={
            "a": "float16 rounds every feature, so the forest's answers change; and it only "
            "halves the memory, to 0.84 GB.",
            "c": "a coarser image is a different image: thin structures vanish and the mask "
            "comes out at half the resolution.",
            "d": "fewer scales are different features: the forest loses the context that the "
            "large scales give, and its predictions change.",
        },
    )


# ------------------------------------------------------------------ sheet 20-04


def wider_unet_prediction(guess: Any) -> CheckResult:
    """Predict how many times more parameters the U-Net has with every width doubled."""
    from emcourse.checks.segmentation_models import _unet_count

    levels = (8, 16, 32, 64)
    return prediction(
        "parameters of the U-Net (16, 32, 64, 128) over those of (8, 16, 32, 64)",
        guess,
        lambda: _unet_count(tuple(2 * c for c in levels)) / _unet_count(levels),
        rtol=0.1,
        units="times",
        explanation="almost every parameter is a weight from an input channel to an output "
        "channel (cin × cout × k²); doubling the width doubles both, so four times as many. "
        "Only the biases (one per channel) and the first layer's single input channel grow "
        "more slowly. Width is paid for quadratically, depth only linearly.",
        diagnoses=[
            (
                2.0,
                "a weight connects an input channel to an output channel, and both counts "
                "double with the width.",
            ),
            (8.0, "the kernels stay 3x3 when the channels double: only the channel counts grow."),
        ],
    )


def stopping_block_choice(answer: Any) -> CheckResult:
    """What is wrong with choosing the stopping step on the test block."""
    return choice(
        "choosing the stopping step on the test block, then reporting its Dice there",
        answer,
        options={
            "a": "nothing: the test block is the one that matters, so choose on it",
            "b": "the reported Dice is optimistic: the test block chose the step, so it is no "
            "longer held out",
            "c": "the step should be chosen on the training block, where the loss is measured "
            "most precisely",
            "d": "the step should be chosen by the Dice on the test block, not by its loss",
        },
        correct="b",
        explanation="the step you keep is the best of many on that block, so its score there "
        "is higher than on new data. Choose on a validation block, and score the test block "
        "once, at the end.",
        why_not={
            "a": "choosing on the test block fits the choice to it: the best of many tries on "
            "the same data scores higher than it will on new data.",
            "c": "the training loss keeps falling while the network memorises: it would pick "
            "the last, overfitted step.",
            "d": "choosing by Dice on the test block leaks just the same: the block that "
            "chooses cannot also judge.",
        },
    )


# ------------------------------------------------------------------ sheet 20-06


def shifted_truth_prediction(guess: Any, labels: np.ndarray) -> CheckResult:
    """Predict the Dice of the true neurons' foreground moved by one voxel along x."""
    name = "Dice of the true neurons moved by one voxel along x"
    if unset(guess):
        return prediction(name, guess, 0.0, explanation="")
    from emcourse.segment.metrics import dice, match_instances

    labels = np.asarray(labels)
    moved = np.zeros_like(labels)
    moved[..., 1:] = labels[..., :-1]
    f1 = float(match_instances(labels, moved).f1)
    return prediction(
        name,
        guess,
        float(dice(labels > 0, moved > 0)),
        atol=0.04,
        rtol=0.0,
        explanation="Dice counts voxels, and most voxels of a neuron tens of voxels wide stay "
        "inside the foreground; only the thin membranes between neurons move. Instance F1 "
        f"counts objects instead: for the same shift it is {f1:.2f}, because a small fragment "
        "(a neurite cut by the block's faces) or a process a voxel or two thick counts as much "
        "as a whole neuron, and a shift of its own width takes its IoU below 0.5.",
        diagnoses=[
            (
                1.0,
                "the membranes between neurons move too: on one side of each, voxels change "
                "from neuron to membrane, and Dice counts every one of them.",
            )
        ],
    )


def few_seeds_choice(answer: Any) -> CheckResult:
    """Which scores a watershed from too few seeds gets."""
    return choice(
        "the scores of the watershed from few seeds (level 0.45)",
        answer,
        options={
            "a": "a high VI split part and a low precision",
            "b": "a high VI merge part and a low recall",
            "c": "a high VI merge part and a low precision",
            "d": "both VI parts low: fewer segments make fewer mistakes",
        },
        correct="b",
        explanation="with too few seeds, one segment floods several neurons: knowing the "
        "segment leaves you unsure which neuron it is (merge, H(truth | pred)), and it "
        "matches at most one of them, so the others go unmatched (recall).",
        why_not={
            "a": "that is the pattern of too many seeds: a neuron cut in pieces spreads over "
            "many segments (split), and most pieces match nothing (precision).",
            "c": "a merged segment is one predicted object that matches one of its neurons: "
            "the others are missed, so it is recall that falls.",
            "d": "fewer segments than neurons means segments covering several neurons: "
            "merges, which VI counts.",
        },
    )
