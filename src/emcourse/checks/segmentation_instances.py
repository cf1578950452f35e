"""Checks of the sheet "Separate touching mitochondria with a boundary network".

Tasks: :func:`instances_boundary_targets` (a boundary network's training targets from
instance labels) and :func:`instances_seeded_watershed` (instances from foreground and
boundary maps); questions: :func:`instances_passes_prediction` (predict, then run) and
:func:`instances_contact_choice` (interpretation).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from emcourse.checks._core import CheckResult, check_function
from emcourse.checks._questions import choice, prediction

__all__ = [
    "instances_boundary_targets",
    "instances_contact_choice",
    "instances_passes_prediction",
    "instances_seeded_watershed",
]


def _touching_discs(size: int = 96, seed: int = 5) -> np.ndarray:
    """Instance labels of one slice: five pairs of touching discs and three lone ones.

    The last lone disc is cut by the image's right edge."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    labels = np.zeros((size, size), np.int32)
    n = 0
    centres = [(16 + 32 * (i // 3), 16 + 32 * (i % 3)) for i in range(8)]
    for k, (cy, cx) in enumerate(centres):
        if k < 5:  # a pair: two discs side by side, touching along a straight contact
            r = rng.uniform(6.5, 9.0)
            for side in (-1, 1):
                n += 1
                disc = (yy - cy) ** 2 + (xx - cx - side * (r - 1)) ** 2 <= r**2
                half = (xx - cx) * side >= (0 if side > 0 else 1)
                labels[disc & half & (labels == 0)] = n
        else:
            cx = 92 if k == 7 else cx
            n += 1
            labels[(yy - cy) ** 2 + (xx - cx) ** 2 <= rng.uniform(5.0, 9.0) ** 2] = n
    return labels


def instances_boundary_targets(fn: Callable[..., Any]) -> CheckResult:
    """Check ``fn(labels) -> targets``: 0 background, 1 inside, 2 boundary, as uint8."""
    from skimage.segmentation import find_boundaries

    from emcourse.segment.instances_deep import boundary_targets

    name = "a boundary network's targets from instance labels"
    hint = (
        "a boundary pixel belongs to an object and has a neighbour that is not the same "
        "object: the background, or the object it touches.",
        "`skimage.segmentation.find_boundaries(labels, connectivity=1, mode='inner')` marks "
        "them on the instance labels (not on `labels > 0`); targets: 1 where `labels > 0`, "
        "then 2 where the object pixels are on a boundary.",
    )
    labels = _touching_discs()

    def with_edges(edge):
        out = (labels > 0).astype(np.uint8)
        out[edge & (labels > 0)] = 2
        return out

    outer = (labels > 0).astype(np.uint8)
    outer[find_boundaries(labels, connectivity=1, mode="outer")] = 2
    framed = np.pad(labels, 1)
    return check_function(
        fn,
        labels.copy(),
        name=name,
        expected=boundary_targets(labels),
        atol=0.0,
        hint=hint,
        diagnoses=[
            (
                with_edges(find_boundaries(labels > 0, connectivity=1, mode="inner")),
                "those boundaries come from the foreground mask: two touching mitochondria "
                "are one blob there and get no wall between them, the one thing the network "
                "must learn. Find the boundaries on the instance labels.",
            ),
            (
                with_edges(find_boundaries(labels, connectivity=2, mode="inner")),
                "that counts diagonal neighbours too: the walls come out thicker than the "
                "course's, which look at the four side neighbours only.",
            ),
            (
                outer,
                "those boundary pixels lie outside the objects (mode 'outer'): the targets "
                "mark each object's own edge pixels ('inner').",
            ),
            (
                with_edges(find_boundaries(framed, connectivity=1, mode="inner")[1:-1, 1:-1]),
                "the image's own edge is marked as boundary: an object cut by the edge goes "
                "on beyond the view, so its pixels there are inside, not boundary.",
            ),
        ],
    )


def _watershed_data():
    """Smooth foreground and boundary probabilities of the touching discs, and their truth."""
    from scipy import ndimage as ndi

    from emcourse.segment.instances_deep import boundary_targets

    truth = _touching_discs()
    t = boundary_targets(truth)
    fg = np.clip(ndi.gaussian_filter((t >= 1).astype(np.float32), 0.7) * 1.3, 0, 1)
    bd = np.clip(ndi.gaussian_filter((t == 2).astype(np.float32), 0.7) * 1.8, 0, 1)
    return truth, fg.astype(np.float32), bd.astype(np.float32)


def instances_seeded_watershed(fn: Callable[..., Any]) -> CheckResult:
    """Check ``fn(fg, bd) -> labels`` by instance F1 (IoU 0.5) and mean IoU of the matches."""
    from skimage import measure, segmentation

    from emcourse.segment.instances_deep import seeded_watershed
    from emcourse.segment.metrics import match_instances

    name = "instances from foreground and boundary maps (F1 at IoU 0.5, mean matched IoU)"
    hint = (
        "one seed per object: where the network is sure it is inside a mitochondrion and "
        "not on its boundary; then let each seed grow back over the foreground.",
        "`seeds = skimage.measure.label((fg > 0.5) & (bd < 0.5))`; "
        "`skimage.segmentation.watershed(bd, seeds, mask=fg > 0.5)`.",
    )
    truth, fg, bd = _watershed_data()
    mask = fg > 0.5

    def f1(labels):
        s = match_instances(truth, np.asarray(labels).astype(np.int64))
        return np.array([s.f1, s.matched_iou.mean() if s.tp else 0.0])

    return check_function(
        fn,
        fg.copy(),
        bd.copy(),
        name=name,
        expected=seeded_watershed(fg, bd),
        measure=f1,
        target=f1(seeded_watershed(fg, bd)),
        atol=0.02,
        hint=hint,
        diagnoses=[
            (
                f1(measure.label(mask)),
                "every touching pair came out as one object: seeds from the foreground alone "
                "join across the contact. Take the boundary away from the seeds.",
            ),
            (
                f1(segmentation.watershed(bd, measure.label(mask & (bd < 0.5)))),
                "the objects grew over the background: give the watershed the foreground as "
                "its `mask`, so that it floods only the foreground.",
            ),
            (
                f1(measure.label(mask & (bd < 0.5))),
                "those are the seeds themselves (their matches overlap the objects less): "
                "they are smaller than the objects by the boundary; grow them back with a "
                "watershed over the foreground.",
            ),
        ],
    )


def instances_passes_prediction(guess: Any, slices, z: int = 150) -> CheckResult:
    """Predict the instance F1 (IoU 0.5) of the revised pass against the first, on slice ``z``."""
    from emcourse.segment.hela2d import region_dice, region_instance_f1

    s = slices.at(z)
    dice = region_dice(s["first"], s["revised"], s["cell"])
    where = "real slices" if getattr(slices.source, "real", False) else "offline stand-in"
    return prediction(
        f"instance F1 at IoU 0.5 of the two labelling passes inside the cell, z {z} ({where})",
        guess,
        lambda: region_instance_f1(s["first"], s["revised"], s["cell"]),
        atol=0.08,
        rtol=0.0,
        explanation=f"their Dice on the same slice is {dice:.3f}. Instance F1 counts objects, "
        "not pixels: every mitochondrion the first pass missed or drew as one with its "
        "neighbour costs a whole object, however few pixels it holds. That agreement is the "
        "ceiling for any instance method scored against one pass.",
        diagnoses=[
            (
                1.0,
                "even one lab redrawing its own labels adds the objects it missed and splits "
                "or joins a few: the passes do not match object for object.",
            ),
            (
                0.5,
                "most mitochondria are drawn the same twice, so most pairs overlap far above "
                "IoU 0.5: the agreement is much higher than that.",
            ),
        ],
    )


def instances_contact_choice(answer: Any) -> CheckResult:
    """Why the boundary network separates a pair the distance watershed keeps as one."""
    return choice(
        "why a boundary output separates mitochondria that touch along a wide contact",
        answer,
        options={
            "a": "the network saw more mitochondria in training than the distance watershed",
            "b": "the distance transform knows only the mask's shape: along a wide contact "
            "there is no neck, so the cores join; the boundary output reads the membranes "
            "between them in the image",
            "c": "the boundary network's watershed runs in 3D and the distance one in 2D",
            "d": "the boundary network uses a lower threshold on the foreground",
        },
        correct="b",
        explanation="a distance-transform watershed finds separate objects only where the mask "
        "narrows between them; two mitochondria pressed together along their length make a "
        "mask without a neck. The image still shows the two membranes where they meet, and a "
        "network trained to mark boundaries turns that into a wall the seeds cannot cross.",
        why_not={
            "a": "the distance watershed learns nothing from examples: its failure is not "
            "a shortage of data but what it looks at (the mask's shape only).",
            "c": "both run on the same data in the same dimension in the lesson; the "
            "difference is where the seeds come from.",
            "d": "all methods in the lesson threshold the same foreground at 0.5: the "
            "masks are the same, the seeds are not.",
        },
    )
