"""Checks of the segmentation sheets (track 20).

Sheet 20-01 ("Read a volume-EM dataset"): :func:`physical_volume`,
:func:`percentile_normalise`, :func:`psnr`.
Sheet 20-02 ("Segment mitochondria with classical image processing"):
:func:`otsu_threshold`, :func:`remove_small_nm`, :func:`segmentation_quality`.
Sheet 20-03 ("Train a pixel classifier"): :func:`feature_memory`, :func:`mask_quality`
(its annotation question: :mod:`emcourse.checks.segmentation_strokes`).
Sheets 20-04 and 20-06 (networks, evaluation): :mod:`emcourse.checks.segmentation_models`;
sheet 20-07 (splits and measurement): :mod:`emcourse.checks.segmentation_splits`.

Every check answers wrong shapes, dtypes, label images passed as masks (and
the reverse) with a message in plain words, and never shows the expected value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from emcourse.checks._core import CheckResult, _all_passed, _call, check_function, show

__all__ = [
    "feature_memory",
    "mask_quality",
    "otsu_threshold",
    "percentile_normalise",
    "physical_volume",
    "psnr",
    "remove_small_nm",
    "segmentation_quality",
]


def _fail(name: str, message: str, hint: str | tuple = "", diagnosis: str = "") -> CheckResult:
    return CheckResult(
        False, name, hint=hint, status="failed", message=message, diagnosis=diagnosis
    )


LABELS_FOR_MASK = (
    "this is a label image (one number per object), but a mask (True/False) was expected: "
    "`labels > 0` turns labels into a mask."
)
MASK_FOR_LABELS = (
    "this is a mask (only 0 and 1), but a label image was expected, one number per object: "
    "`skimage.measure.label(mask)` numbers the connected objects."
)
PROBABILITY_FOR_MASK = (
    "this is a probability map or a smoothed image, not a mask: threshold it into "
    "True/False, e.g. `prob > 0.5`."
)
PROBABILITY_FOR_LABELS = (
    "this is a probability map or a smoothed image, not labels: threshold it, then number "
    "the objects with `measure.label`."
)
XYZ_ORDER = "your array is in (x, y, z) order; the course keeps arrays in (z, y, x) order."


def mask_problem(
    value: Any, shape: tuple, *, want: str, name: str, hint: str | tuple = ""
) -> CheckResult | None:
    """A plain-words result when ``value`` is not a ``want`` ("mask" or "labels") of ``shape``.

    A mask is boolean (or 0/1); a label image holds non-negative integers, one
    per object. Returns None when the value is usable. A label image given for a
    mask (or the reverse), a probability map given for a mask and an array in
    (x, y, z) order are diagnosed.
    """
    if value is None:
        return _fail(name, "your function returned None. Did you forget the `return` line?", hint)
    if not isinstance(value, np.ndarray):
        return _fail(name, f"expected a NumPy array, got a {type(value).__name__}.", hint)
    if value.shape != tuple(shape):
        note, diagnosis = "", ""
        if value.ndim == len(shape) - 1:
            note = " It looks like one slice: keep all z slices."
        elif value.ndim == len(shape) + 1:
            note = (
                " It has an extra axis: a stack of features or classes? "
                "Reduce it to one value per voxel."
            )
        elif len(set(shape)) == len(shape) and value.shape == tuple(shape)[::-1]:
            diagnosis = XYZ_ORDER
        return _fail(
            name,
            f"your array has shape {value.shape} but the image has shape {tuple(shape)}.{note}",
            hint,
            diagnosis,
        )
    kind = value.dtype.kind
    if kind == "f":
        vals = np.unique(value[: min(value.size, 100_000)] if value.ndim == 1 else value)
        if not np.all(np.isfinite(vals)):
            return _fail(name, "your array contains NaN or infinite values.", hint)
        if want == "mask" and np.all(np.isin(vals, (0.0, 1.0))):
            return None
        if want == "mask":
            if np.all(vals == np.round(vals)) and vals.min() >= 0:
                return _fail(
                    name,
                    f"your array holds whole numbers up to {vals.max():g}.",
                    hint,
                    LABELS_FOR_MASK,
                )
            return _fail(
                name,
                f"your mask is floating point with {len(vals)} different values.",
                hint,
                PROBABILITY_FOR_MASK,
            )
        if not np.all(vals == np.round(vals)):
            return _fail(
                name,
                "your label image has fractional values; labels must be whole numbers.",
                hint,
                PROBABILITY_FOR_LABELS,
            )
        return None
    if kind not in "biu":
        return _fail(name, f"expected numbers, got an array of dtype {value.dtype}.", hint)
    if kind == "i" and value.size and value.min() < 0:
        return _fail(
            name,
            "your label image has negative values; labels are 0 (background), 1, 2, ...",
            hint,
        )
    top = int(value.max()) if value.size else 0
    if want == "mask" and top > 1:
        return _fail(name, f"your array holds values up to {top}.", hint, LABELS_FOR_MASK)
    if want == "labels" and (kind == "b" or top == 1):
        n_parts = _n_components(value)
        if n_parts > 1:
            return _fail(
                name,
                f"your array holds only 0 and 1 but {n_parts} separate objects.",
                hint,
                MASK_FOR_LABELS,
            )
    return None


def _as_array(value: Any, name: str, hint) -> tuple[Any, CheckResult | None]:
    """``value`` as an array, or a friendly result for a ragged list or odd object."""
    if value is None or isinstance(value, np.ndarray):
        return value, None
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):
        return None, _fail(
            name,
            f"your answer is a {type(value).__name__} that is not an array of numbers "
            "(a ragged list, with rows of different lengths?): return one NumPy array.",
            hint,
        )
    if arr.dtype == object:
        return None, _fail(name, "your answer is an array of Python objects, not numbers.", hint)
    return arr, None


def _compact_labels(labels: np.ndarray) -> np.ndarray:
    """Labels renumbered 0 (kept as background), 1, 2, ... as int64: any integer ids work.

    Huge ids (int64 max, uint64 max) would overflow the metrics' pair counting or
    turn negative in a cast; only which voxels share an id matters.
    """
    ids, inverse = np.unique(labels, return_inverse=True)
    return (inverse.reshape(labels.shape) + (ids[0] != 0)).astype(np.int64)


def _n_components(mask: np.ndarray) -> int:
    from scipy import ndimage as ndi

    return int(ndi.label(np.asarray(mask, bool))[1])


# ------------------------------------------------------------------ sheet 20-01


def physical_volume(fn: Callable[[tuple, Any], Any]) -> CheckResult:
    """Check ``fn(shape, voxel_size_nm) -> volume in cubic micrometres``."""
    name = "physical volume"
    hint = (
        "a volume is a number of voxels times the volume of one voxel; "
        "work in nm³ first, then convert.",
        "one voxel's volume is the product of its three edges (`np.broadcast_to(v, (3,))` "
        "turns one edge into three); 1 µm is 1000 nm.",
    )
    cases = [((21, 256, 256), 24.0), ((50, 100, 200), 10.0), ((40, 512, 512), (30.0, 6.0, 6.0))]

    def run(shape, vs):
        expected = float(np.prod(shape) * np.prod(np.broadcast_to(vs, (3,))) / 1e9)
        return check_function(
            fn,
            shape,
            vs,
            name=name,
            expected=expected,
            rtol=1e-6,
            hint=hint,
            units="µm³",
            diagnoses=[
                (expected * 1e9, "that is in nm³; convert to µm³ (divide by 1e9)."),
                (
                    expected * 1e3,
                    "that is 1000 times too large: 1 µm is 1000 nm, so one µm³ is 1000³ nm³, "
                    "not 1000² nm³.",
                ),
                (
                    float(np.prod(shape)),
                    "that is the number of voxels: the voxel size is missing "
                    "(as if you believed a TIFF that says 1 unit per pixel).",
                ),
                (
                    float(np.prod(shape)) * float(np.max(vs)) ** 3 / 1e9,
                    "that uses the largest voxel edge for every axis; use each axis's own size.",
                ),
                (
                    float(np.prod(shape)) * float(np.max(vs)) / 1e9,
                    "the voxel size counts once, but a voxel has three edges: its volume is "
                    "the product of all three.",
                ),
            ],
            show_result=False,
        )

    return show(
        _all_passed(name, (run(*c) for c in cases), "right for isotropic and anisotropic voxels.")
    )


def percentile_normalise(fn: Callable) -> CheckResult:
    """Check ``fn(image, low, high) -> float image``: percentiles ``low``, ``high`` map to 0, 1."""
    from emcourse.segment.preprocess import normalise_percentile
    from emcourse.segment.standin import hela_standin

    name = "percentile normalisation"
    hint = (
        "find the two grey levels that should become 0 and 1, then map linearly between them.",
        "np.percentile(image, [low, high]) gives those two grey levels; subtract the first "
        "and divide by their difference.",
    )
    img = hela_standin((4, 64, 64), seed=11).em
    img[0, 0, :5] = 255  # a few saturated voxels: min-max scaling is fooled by them
    expected = normalise_percentile(img, 2.0, 98.0)
    f = img.astype(float)
    minmax = (f - f.min()) / (f.max() - f.min())
    return check_function(
        fn,
        img.copy(),
        2.0,
        98.0,
        name=name,
        expected=expected,
        atol=1e-4,
        hint=hint,
        diagnoses=[
            (
                minmax,
                "that is min-max scaling; use the percentiles, which a few "
                "saturated voxels cannot move.",
            ),
            (
                np.clip(expected, 0, 1),
                "do not clip: values beyond the percentiles stay below 0 or above 1.",
            ),
            (
                1.0 - expected,
                "the contrast is inverted: the low percentile must map to 0 and the high one to 1.",
            ),
        ],
    )


def psnr(fn: Callable) -> CheckResult:
    """Check ``fn(clean, image, data_range) -> PSNR in dB``."""
    from skimage.metrics import peak_signal_noise_ratio

    name = "PSNR"
    hint = (
        "two steps: first one number for how different the images are, then the task's "
        "formula in decibels.",
        "the MSE is the mean of the squared difference of the images (as floats); "
        "`np.log10` is the base-10 logarithm.",
    )
    rng = np.random.default_rng(5)
    clean = rng.uniform(0, 255, (32, 32))
    noisy = clean + rng.normal(0, 12.0, clean.shape)
    expected = float(peak_signal_noise_ratio(clean, noisy, data_range=255.0))
    mse = float(np.mean((clean - noisy) ** 2))
    return check_function(
        fn,
        clean.copy(),
        noisy.copy(),
        255.0,
        name=name,
        expected=expected,
        atol=0.01,
        hint=hint,
        units="dB",
        diagnoses=[
            (
                20 * np.log10(255.0**2 / mse),
                "use 10 log10 of the ratio of *squares* "
                "(or 20 log10 of the ratio of amplitudes), not 20 log10 of squares.",
            ),
            (10 * np.log(255.0**2 / mse), "use log10, not the natural log."),
            (10 * np.log10(255.0 / mse), "square the data range."),
            (
                10 * np.log10(255.0**2 / np.sqrt(mse)),
                "that divides by the root of the MSE (the RMS error); divide the squared range "
                "by the MSE itself.",
            ),
            (
                10 * np.log10(255.0**2 / float(np.mean(np.abs(clean - noisy)))),
                "that uses the mean absolute difference; square the differences before averaging.",
            ),
        ],
    )


# ------------------------------------------------------------------ sheet 20-02


def otsu_threshold(fn: Callable) -> CheckResult:
    """Check ``fn(image) -> threshold`` against Otsu's method (within one grey level)."""
    from skimage.filters import threshold_otsu

    name = "Otsu threshold"
    hint = (
        "try every grey level t as the threshold and keep the one whose two classes are "
        "furthest apart, in the task's sense.",
        "a normalised histogram (`np.bincount(image.ravel(), minlength=256) / image.size`) "
        "and its running sums (`np.cumsum`) give w0 and w0 * mu0 for every t at once.",
    )
    rng = np.random.default_rng(2)
    img = np.concatenate([rng.normal(70, 12, 3000), rng.normal(160, 20, 7000)])
    img = np.clip(np.rint(img), 0, 255).astype(np.uint8).reshape(100, 100)
    expected = float(threshold_otsu(img))
    return check_function(
        fn,
        img.copy(),
        name=name,
        expected=expected,
        atol=1.0,
        hint=hint,
        units="grey levels",
        diagnoses=[
            (float(img.mean()), "that is the mean grey level, not the best split."),
            (float(np.median(img)), "that is the median grey level, not the best split."),
        ],
    )


def remove_small_nm(fn: Callable) -> CheckResult:
    """Check ``fn(mask, min_volume_nm3, voxel_size_nm) -> mask`` without the small objects.

    Diagnosed: every object removed (voxel counts compared with nm³), nothing
    removed, the object on the limit removed (``>`` for ``>=``), and objects
    touching at an edge counted as one (full connectivity for faces only).
    """
    from skimage import measure

    name = "remove small objects (nm³)"
    hint = (
        "number the objects, measure each one's size, and keep the large ones; "
        "compare sizes in one unit.",
        "`measure.label(mask, connectivity=1)` numbers the objects; `np.bincount` of the "
        "labels counts each one's voxels; a voxel holds voxel_size**3 nm³.",
    )
    mask = np.zeros((14, 20, 20), bool)
    mask[1:3, 1:3, 1:3] = True  # 8 voxels
    mask[5:8, 5:8, 5:8] = True  # 27 voxels
    mask[1:10, 12:18, 12:18] = True  # 324 voxels
    mask[9:11, 1:3, 1:6] = True  # 20 voxels, touching the next one along an edge only
    mask[11:13, 3:5, 1:6] = True  # 20 voxels
    vs, min_vol = 20.0, 27 * 20.0**3  # keep objects of at least 27 voxels

    def kept(connectivity: int, keep: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        lab = measure.label(mask, connectivity=connectivity)
        return keep(np.bincount(lab.ravel()))[lab] & mask

    expected = kept(1, lambda n: n >= 27)
    known = [
        (
            np.zeros_like(mask),
            "every object was removed: voxel counts compared with a volume in nm³? "
            "Convert one into the other's unit with the volume of one voxel.",
        ),
        (
            mask,
            "nothing was removed: is the limit converted between nm³ and voxels once, "
            "and only once?",
        ),
        (
            kept(1, lambda n: n > 27),
            "you also removed the object whose volume equals the limit; keep objects of "
            "*at least* the given volume.",
        ),
        (
            kept(3, lambda n: n >= 27),
            "two objects that touch only along an edge were counted as one: objects are "
            "connected by their faces (`connectivity=1`).",
        ),
    ]
    value, problem = _call(fn, (mask.copy(), min_vol, vs), name=name, hint=hint)
    if problem is None:
        problem = mask_problem(
            np.asarray(value) if value is not None else None,
            mask.shape,
            want="mask",
            name=name,
            hint=hint,
        )
    if problem is None:
        got = np.asarray(value, bool)
        if np.array_equal(got, expected):
            problem = CheckResult(
                True,
                name,
                message="kept exactly the objects of at least "
                "27 voxels (the 27-voxel object sits on the limit).",
            )
        else:
            diagnosis = next((d for alt, d in known if np.array_equal(got, alt)), "")
            problem = _fail(
                name,
                f"{int((got != expected).sum())} voxels differ from the right mask.",
                hint,
                diagnosis,
            )
    return show(problem)


def segmentation_quality(
    labels: Any,
    truth: np.ndarray,
    *,
    args: tuple = (),
    min_dice: float = 0.85,
    min_f1: float = 0.75,
) -> CheckResult:
    """Measure a learner's instance segmentation against the truth: Dice and instance F1.

    ``labels`` is a label image, or the learner's function, called with ``args``.

    The diagnosis says what went wrong where it can tell: too much or too little
    foreground (over- or under-segmentation), merged objects, split objects.
    """
    from emcourse.segment.metrics import dice, match_instances, variation_of_information

    name = "segmentation quality"
    hint = (
        "chain the lesson's steps: smooth, threshold a band of grey levels chosen on the "
        "tuning block, clean the mask, then give each object its own number.",
        "`segment.band_from_labels` on the smoothed tuning block gives the band; "
        "`ndi.binary_opening`, `segment.fill_holes_per_slice` and your `remove_small_nm` clean "
        "the mask; a watershed from distance-transform markers (`segment.split_touching`) "
        "numbers the objects.",
    )
    truth = np.asarray(truth)
    if callable(labels):
        labels, problem = _call(labels, tuple(args), name=name, hint=hint)
        if problem is not None:
            return show(problem)
    labels, problem = _as_array(labels, name, hint)
    if problem is None:
        problem = mask_problem(labels, truth.shape, want="labels", name=name, hint=hint)
    if problem is not None:
        return show(problem)
    labels = _compact_labels(labels)
    d = dice(truth, labels)
    s = match_instances(truth, labels)
    split, merge = variation_of_information(truth, labels)
    fg_ratio = (labels > 0).sum() / max((truth > 0).sum(), 1)
    n_t, n_p = int(s.tp + s.fn), int(s.tp + s.fp)
    notes = []
    if fg_ratio > 1.15:
        notes.append(
            "over-segmentation: too much foreground (a threshold too permissive, "
            "or distractors kept)"
        )
    elif fg_ratio < 0.85:
        notes.append(
            "under-segmentation: too little foreground (a threshold too strict, "
            "or too much erosion)"
        )
    if merge > 1.5 * split and n_p < n_t:
        notes.append("some touching objects are merged (split them with a watershed from markers)")
    elif split > 1.5 * merge and n_p > n_t:
        notes.append("some objects are split in pieces (fewer markers, or remove small fragments)")
    passed = d >= min_dice and s.f1 >= min_f1
    message = (
        f"Dice {d:.3f} (aim: at least {min_dice}), instance F1 at IoU 0.5 {s.f1:.3f} "
        f"(aim: at least {min_f1}); {n_p} objects found, {n_t} true; you mark "
        f"{fg_ratio:.0%} of the true foreground."
    )
    return show(
        CheckResult(
            passed,
            name,
            value=(round(d, 3), round(s.f1, 3)),
            tolerance=(min_dice, min_f1),
            hint=hint,
            message=message,
            diagnosis="" if passed else "; ".join(notes) + ("." if notes else ""),
        )
    )


# ------------------------------------------------------------------ sheet 20-03


def feature_memory(fn: Callable) -> CheckResult:
    """Check ``fn(shape, n_features, itemsize) -> gigabytes`` (1 GB = 1e9 bytes)."""
    name = "feature memory"
    hint = (
        "every voxel stores n_features numbers: count the numbers, then their bytes.",
        "`np.prod(shape)` is the number of voxels; each number takes itemsize bytes; "
        "1 GB is 1e9 bytes.",
    )
    cases = [((256, 256, 256), 25, 4), ((32, 256, 256), 16, 4), ((64, 512, 512), 16, 8)]

    def run(shape, n, size):
        expected = float(np.prod(shape)) * n * size / 1e9
        return check_function(
            fn,
            shape,
            n,
            size,
            name=name,
            expected=expected,
            rtol=1e-6,
            hint=hint,
            units="GB",
            diagnoses=[
                (expected * 1e9, "that is in bytes; divide by 1e9 for GB."),
                (expected / size, "the bytes per number (itemsize) are missing."),
                (expected * 1e9 / 2**30, "that is GiB (2**30 bytes); use GB (1e9)."),
                (expected / n, "the number of features is missing: each voxel has n_features."),
            ],
            show_result=False,
        )

    return show(_all_passed(name, (run(*c) for c in cases), "right for all three volumes."))


def mask_quality(
    mask: Any, truth: np.ndarray, *, args: tuple = (), min_dice: float = 0.9
) -> CheckResult:
    """Measure a learner's semantic mask (or the function making it, called with ``args``)."""
    from emcourse.segment.metrics import dice

    name = "mask quality"
    hint = (
        "the lesson's steps: features of a few training slices, strokes from their labels, "
        "a forest trained on them, then a probability for every voxel of the test block.",
        "`segment.feature_stack` -> `segment.draw_strokes` (and `segment.correction_strokes`) "
        "-> `segment.train_forest` -> `segment.predict_volume`, and a threshold on the "
        "probability gives the mask.",
    )
    truth = np.asarray(truth)
    if callable(mask):
        mask, problem = _call(mask, tuple(args), name=name, hint=hint)
        if problem is not None:
            return show(problem)
    mask, problem = _as_array(mask, name, hint)
    if problem is None:
        problem = mask_problem(mask, truth.shape, want="mask", name=name, hint=hint)
    if problem is not None:
        return show(problem)
    mask = np.asarray(mask, bool)
    d = dice(truth, mask)
    ratio = mask.sum() / max((truth > 0).sum(), 1)
    message = (
        f"Dice {d:.3f} (aim: at least {min_dice}); you mark {ratio:.0%} of the true foreground."
    )
    diagnosis = ""
    if d < min_dice and ratio > 1.15:
        diagnosis = (
            "too much foreground: raise the probability threshold, or add background scribbles."
        )
    elif d < min_dice and ratio < 0.85:
        diagnosis = "too little foreground: lower the threshold, or add foreground scribbles."
    return show(
        CheckResult(
            d >= min_dice,
            name,
            value=round(d, 3),
            tolerance=min_dice,
            hint=hint,
            message=message,
            diagnosis=diagnosis,
        )
    )
