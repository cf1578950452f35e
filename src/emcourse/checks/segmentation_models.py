"""Checks of the segmentation sheets on networks and evaluation (track 20).

Sheet 20-04 ("Train a small neural network"): :func:`unet_parameters`, :func:`conv3x3`,
:func:`early_stopping`.
Sheet 20-05 ("Evaluate and measure a segmentation"): :func:`dice_score`,
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


def _unet_count(levels) -> int:
    widths = (1, *levels)
    encoders = sum(
        _conv(widths[i], widths[i + 1]) + _conv(widths[i + 1], widths[i + 1])
        for i in range(len(levels))
    )
    ups = sum(_conv(levels[i + 1], levels[i], 2) for i in range(len(levels) - 1))
    decoders = sum(_conv(2 * c, c) + _conv(c, c) for c in levels[:-1])
    return int(encoders + ups + decoders + _conv(levels[0], 1, 1))


def unet_parameters(fn: Callable) -> CheckResult:
    """Check ``fn(levels) -> number of parameters`` of the course's U-Net (any depth)."""
    name = "U-Net parameter count"
    hint = (
        "a k x k convolution from cin to cout channels has cin*cout*k*k weights and cout "
        "biases; list every layer of the lesson's network (decoders see 2x the channels)."
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
        "for every output channel o: b[o] + sum over c, dy, dx of "
        "w[o, c, dy, dx] * xpad[c, y + dy, x + dx], "
        "with xpad = np.pad(x, ((0, 0), (1, 1), (1, 1)))."
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
        ],
    )


def early_stopping(fn: Callable) -> CheckResult:
    """Check ``fn(steps, val_loss) -> the step with the lowest validation loss``."""
    name = "early stopping"
    hint = "np.argmin finds the position of the smallest validation loss."
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
        diagnoses=[(3.0, "that is the index; return the step."), (60.0, "that is the last step.")],
    )


# ------------------------------------------------------------------ sheet 20-05


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
        "both empty": (empty, empty.copy()),
        "empty prediction": (a, empty),
    }


def _on_known_cases(fn, *, name, hint, reference, masks=False, atol=1e-9, swapped=False):
    """Run ``fn(truth, pred)`` on the known cases; stop at the first wrong one."""

    def run(case, t, p):
        if masks:
            t, p = t > 0, p > 0
        expected = reference(t, p)
        diagnoses = [(tuple(expected)[::-1], "the two values are swapped.")] if swapped else []
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
            "right on identical, split, merged, disjoint and empty cases.",
        )
    )


def dice_score(fn: Callable) -> CheckResult:
    """Check ``fn(truth_mask, pred_mask) -> Dice`` on known cases (empty vs empty = 1)."""
    from emcourse.segment.metrics import dice

    hint = "2 |A ∩ B| / (|A| + |B|) on boolean masks; decide what two empty masks score (1.0)."
    return _on_known_cases(fn, name="Dice", hint=hint, reference=dice, masks=True)


def instance_scores(fn: Callable) -> CheckResult:
    """Check ``fn(truth, pred) -> (precision, recall, f1)`` at IoU 0.5, one-to-one matching."""
    from emcourse.segment.metrics import match_instances

    def reference(t, p):
        s = match_instances(t, p)
        return (s.precision, s.recall, s.f1)

    hint = (
        "compute the IoU of every (true, predicted) pair that overlaps; a pair with IoU at "
        "least 0.5 matches, each object at most once; empty against empty scores 1."
    )
    return _on_known_cases(
        fn, name="instance precision, recall, F1", hint=hint, reference=reference
    )


def vi_split_merge(fn: Callable) -> CheckResult:
    """Check ``fn(truth, pred) -> (split, merge)``: the parts of the variation of information."""
    from emcourse.segment.metrics import variation_of_information

    hint = (
        "split = H(pred | truth), merge = H(truth | pred), in bits, over all voxels "
        "(background included); the contingency table of label pairs gives both."
    )
    return _on_known_cases(
        fn,
        name="variation of information",
        hint=hint,
        reference=variation_of_information,
        atol=1e-6,
        swapped=True,
    )
