"""Checks of the segmentation sheets on networks and evaluation (track 20).

Sheet 20-04 ("Train a small neural network"): :func:`unet_parameters`, :func:`conv3x3`,
:func:`early_stopping`.
Sheet 20-06 ("Evaluate a segmentation"): :func:`dice_score`,
:func:`instance_scores`, :func:`vi_split_merge`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from emcourse.checks._core import CheckResult, _all_passed, check_function, show

__all__ = [
    "conv3x3",
    "dice_score",
    "early_stopping",
    "instance_scores",
    "unet_parameters",
    "vi_split_merge",
]


# ------------------------------------------------------------------ sheet 20-04


def _conv(cin, cout, k=3):
    return cin * cout * k * k + cout


def _unet_count(levels, *, skip: int = 2, up_kernel: int = 2) -> int:
    """Parameters of the course's U-Net; ``skip=1`` and ``up_kernel=3`` give typical mistakes."""
    widths = (1, *levels)
    encoders = sum(
        _conv(widths[i], widths[i + 1]) + _conv(widths[i + 1], widths[i + 1])
        for i in range(len(levels))
    )
    ups = sum(_conv(levels[i + 1], levels[i], up_kernel) for i in range(len(levels) - 1))
    decoders = sum(_conv(skip * c, c) + _conv(c, c) for c in levels[:-1])
    return int(encoders + ups + decoders + _conv(levels[0], 1, 1))


def unet_parameters(fn: Callable) -> CheckResult:
    """Check ``fn(levels) -> number of parameters`` of the course's U-Net (any depth)."""
    name = "U-Net parameter count"
    hint = (
        "write a small helper for the parameters of one convolution (its weights and its "
        "biases), then add up the layers the task lists.",
        "a k x k convolution has one weight per input channel, output channel and kernel "
        "position, and one bias per output channel; loop over the levels for the encoders, "
        "then over pairs of neighbouring levels for the up-convolutions and decoders.",
    )

    def run(levels):
        expected = float(_unet_count(levels))
        n_bias = 2 * sum(levels) + 3 * sum(levels[:-1]) + 1  # one per output channel
        bottomless = _unet_count(levels[:-1]) if len(levels) > 2 else -1.0
        return check_function(
            fn,
            levels,
            name=f"{name} {levels}",
            expected=expected,
            atol=0.5,
            hint=hint,
            diagnoses=[
                (expected - n_bias, "the biases are missing."),
                (float(bottomless), "one level is missing: count the bottom level too."),
                (
                    float(_unet_count(levels, skip=1)),
                    "the skip connections are missing: a decoder's first convolution sees the "
                    "up-sampled channels and the encoder's, twice the width.",
                ),
                (
                    float(_unet_count(levels, up_kernel=3)),
                    "the up-convolutions are counted as 3x3; they are 2x2.",
                ),
            ],
            show_result=False,
        )

    cases = [(8, 16, 32, 64), (4, 8, 16), (16, 32, 64, 128, 256)]
    return show(_all_passed(name, (run(c) for c in cases), "right for three networks."))


def conv3x3(fn: Callable) -> CheckResult:
    """Check ``fn(x, w, b) -> (O, H, W)``: a 3x3 convolution with zero padding, as PyTorch's."""
    from emcourse.segment.unet import _conv3x3

    name = "3x3 convolution"
    hint = (
        "pad the input with a border of zeros, then each output pixel is a weighted sum of "
        "the 3x3 neighbourhood around it in every input channel, plus a bias.",
        "`np.pad(x, ((0, 0), (1, 1), (1, 1)))` pads; loop over the 9 kernel positions (dy, dx), "
        "take the shifted window of the padded input and combine its channels with "
        "`w[:, :, dy, dx]` (`np.einsum` or `np.tensordot`).",
    )
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 9, 11)).astype(np.float32)
    w = rng.standard_normal((5, 3, 3, 3)).astype(np.float32)
    b = rng.standard_normal(5).astype(np.float32)
    flipped = _conv3x3(x, w[:, :, ::-1, ::-1].copy(), b)
    return check_function(
        fn,
        x.copy(),
        w.copy(),
        b.copy(),
        name=name,
        expected=_conv3x3(x, w, b),
        atol=1e-4,
        hint=hint,
        diagnoses=[
            (
                flipped,
                "that is a true convolution (kernel flipped); "
                "PyTorch's Conv2d computes a correlation: do not flip.",
            ),
            (_conv3x3(x, w, 0 * b), "the bias is missing."),
            (
                _conv3x3(x, w, b)[:, 1:-1, 1:-1],
                "that is a 'valid' convolution, two pixels smaller: pad the input with one "
                "pixel of zeros on each side.",
            ),
            (
                _conv3x3(x, w, b).transpose(1, 2, 0),
                "the output is in (H, W, O) order; put the output channel first: (O, H, W).",
            ),
        ],
    )


def early_stopping(fn: Callable) -> CheckResult:
    """Check ``fn(steps, val_loss) -> the step with the lowest validation loss``."""
    name = "early stopping"
    hint = (
        "find where the validation curve is lowest, and answer with the step measured there.",
        "`np.argmin` gives the position of the smallest value; look the step up at that position.",
    )
    steps = [10, 20, 30, 40, 50, 60]
    val = [0.9, 0.5, 0.31, 0.29, 0.33, 0.4]
    return check_function(
        fn,
        list(steps),
        list(val),
        name=name,
        expected=40.0,
        atol=0.0,
        hint=hint,
        diagnoses=[
            (3.0, "that is the index; return the step."),
            (60.0, "that is the last step; keep the network where validation was best."),
            (10.0, "that is the step with the *highest* validation loss."),
        ],
    )


# ------------------------------------------------------------------ sheet 20-06


def _cases():
    a = np.zeros((6, 10, 10), np.int64)
    a[1:4, 1:5, 1:5] = 1
    a[2:5, 5:9, 5:9] = 2
    split = a.copy()
    split[(a == 1) & (np.indices(a.shape)[2] >= 3)] = 3
    merged = (a > 0).astype(np.int64)
    shifted = np.roll(a, 5, axis=2)
    shifted[:, :, :5] = 0
    empty = np.zeros_like(a)
    return {
        "identical": (a, a.copy()),
        "one split": (a, split),
        "one merge": (a, merged),
        "disjoint": (a, np.where(a > 0, 0, np.roll(a, 1, axis=0))),
        "shifted": (a, shifted),
        "moved by one voxel": (a, np.roll(a, 1, axis=2)),
        "both empty": (empty, empty.copy()),
        "empty prediction": (a, empty),
    }


def _on_known_cases(fn, *, name, hint, reference, masks=False, atol=1e-9, mistakes=None):
    """Run ``fn(truth, pred)`` on the known cases; stop at the first wrong one.

    ``mistakes(truth, pred, expected)`` lists the (value, diagnosis) of typical
    mistakes on one case.
    """

    def run(case, t, p):
        if masks:
            t, p = t > 0, p > 0
        expected = reference(t, p)
        diagnoses = mistakes(t, p, expected) if mistakes else []
        return check_function(
            fn,
            t.copy(),
            p.copy(),
            name=f"{name} ({case})",
            expected=expected,
            atol=atol,
            hint=hint,
            diagnoses=diagnoses,
            show_result=False,
        )

    return show(
        _all_passed(
            name,
            (run(k, *v) for k, v in _cases().items()),
            "right on identical, split, merged, moved, disjoint and empty cases.",
        )
    )


def dice_score(fn: Callable) -> CheckResult:
    """Check ``fn(truth_mask, pred_mask) -> Dice`` on known cases (empty vs empty = 1)."""
    from emcourse.segment.metrics import dice

    hint = (
        "Dice compares the overlap with the sizes of the two masks; "
        "and decide what to return when there is nothing to divide by.",
        "`(truth & pred).sum()` counts the overlap and `.sum()` of each mask its size; "
        "test for two empty masks before dividing.",
    )

    def mistakes(t, p, expected):
        inter, union = float((t & p).sum()), float((t | p).sum())
        found = [(0.0, "two empty masks agree perfectly: their Dice is 1.")] if not union else []
        if union and inter:
            found.append((inter / union, "that is the IoU (Jaccard index), not Dice."))
            found.append((inter / (t.sum() + p.sum()), "the overlap counts twice in Dice."))
        return found

    return _on_known_cases(
        fn, name="Dice", hint=hint, reference=dice, masks=True, mistakes=mistakes
    )


def instance_scores(fn: Callable) -> CheckResult:
    """Check ``fn(truth, pred) -> (precision, recall, f1)`` at IoU 0.5, one-to-one matching."""
    from emcourse.segment.metrics import match_instances

    def reference(t, p):
        s = match_instances(t, p)
        return (s.precision, s.recall, s.f1)

    hint = (
        "first decide which predicted object matches which true one (IoU of the pairs that "
        "overlap); the three scores then only count matches and objects.",
        "for each true id and each predicted id found inside it, IoU = overlap / (size of "
        "one + size of the other - overlap); take the pairs from the best IoU down, each id "
        "at most once.",
    )

    def mistakes(t, p, expected):
        prec, rec, f1 = expected
        return [
            ((rec, prec, f1), "precision and recall are swapped."),
            ((prec, rec, (prec + rec) / 2), "F1 is the harmonic mean, not the arithmetic mean."),
        ]

    return _on_known_cases(
        fn,
        name="instance precision, recall, F1",
        hint=hint,
        reference=reference,
        mistakes=mistakes,
    )


def vi_split_merge(fn: Callable) -> CheckResult:
    """Check ``fn(truth, pred) -> (split, merge)``: the parts of the variation of information."""
    from emcourse.segment.metrics import variation_of_information

    hint = (
        "count how many voxels carry each (true, predicted) label pair: that table gives "
        "p(t, p), and summing it per true or per predicted label gives p(t) and p(p).",
        "`np.unique(truth * (pred.max() + 1) + pred, return_counts=True)` counts the pairs; "
        "`np.bincount` with `weights=` sums them per label.",
    )

    def mistakes(t, p, expected):
        split, merge = expected
        return [
            ((merge, split), "the two values are swapped."),
            ((split * np.log(2), merge * np.log(2)), "that is in nats: use log2 for bits."),
        ]

    return _on_known_cases(
        fn,
        name="variation of information",
        hint=hint,
        reference=variation_of_information,
        atol=1e-6,
        mistakes=mistakes,
    )
