"""Checks of the segmentation sheets (track 20).

Sheet 20-01 ("Read a volume-EM dataset"): :func:`physical_volume`,
:func:`percentile_normalise`, :func:`psnr`.
Sheet 20-02 ("Segment mitochondria with classical image processing"):
:func:`otsu_threshold`, :func:`remove_small_nm`, :func:`segmentation_quality`.
Sheet 20-03 ("Train a pixel classifier"): :func:`feature_memory`, :func:`mask_quality`.
Sheets 20-04 and 20-05 (networks, evaluation): :mod:`emcourse.checks.segmentation_models`.

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


def _fail(name: str, message: str, hint: str = "") -> CheckResult:
    return CheckResult(False, name, hint=hint, status="failed", message=message)


def mask_problem(value: Any, shape: tuple, *, want: str, name: str) -> CheckResult | None:
    """A plain-words result when ``value`` is not a ``want`` ("mask" or "labels") of ``shape``.

    A mask is boolean (or 0/1); a label image holds non-negative integers, one
    per object. Returns None when the value is usable.
    """
    if value is None:
        return _fail(name, "your function returned None. Did you forget the `return` line?")
    if not isinstance(value, np.ndarray):
        return _fail(name, f"expected a NumPy array, got a {type(value).__name__}.")
    if value.shape != tuple(shape):
        hint = ""
        if value.ndim == len(shape) - 1:
            hint = " It looks like one slice: keep all z slices."
        elif value.ndim == len(shape) + 1:
            hint = (
                " It has an extra axis: a stack of features or classes? "
                "Reduce it to one value per voxel."
            )
        return _fail(
            name,
            f"your array has shape {value.shape} but the image has shape {tuple(shape)}.{hint}",
        )
    kind = value.dtype.kind
    if kind == "f":
        vals = np.unique(value[: min(value.size, 100_000)] if value.ndim == 1 else value)
        if not np.all(np.isfinite(vals)):
            return _fail(name, "your array contains NaN or infinite values.")
        if want == "mask" and np.all(np.isin(vals, (0.0, 1.0))):
            return None
        if want == "mask":
            return _fail(
                name,
                f"your mask is floating point with {len(vals)} different values: a probability "
                "or a smoothed image? Threshold it into True/False, e.g. `prob > 0.5`.",
            )
        if not np.all(vals == np.round(vals)):
            return _fail(
                name,
                "your label image has fractional values; labels must be whole numbers. "
                "Did you pass an image or a probability map instead of `measure.label(...)`?",
            )
        return None
    if kind not in "biu":
        return _fail(name, f"expected numbers, got an array of dtype {value.dtype}.")
    if kind == "i" and value.size and value.min() < 0:
        return _fail(
            name, "your label image has negative values; labels are 0 (background), 1, 2, ..."
        )
    top = int(value.max()) if value.size else 0
    if want == "mask" and top > 1:
        return _fail(
            name,
            f"this looks like a label image (values up to {top}), but a mask (True/False) was "
            "expected. Use `labels > 0` to turn labels into a mask.",
        )
    if want == "labels" and (kind == "b" or top == 1):
        n_parts = _n_components(value)
        if n_parts > 1:
            return _fail(
                name,
                f"this is a mask (only 0 and 1) with {n_parts} separate objects, but a label "
                "image was expected: one number per object. `skimage.measure.label(mask)` "
                "numbers the connected objects.",
            )
    return None


def _n_components(mask: np.ndarray) -> int:
    from scipy import ndimage as ndi

    return int(ndi.label(np.asarray(mask, bool))[1])


# ------------------------------------------------------------------ sheet 20-01


def physical_volume(fn: Callable[[tuple, Any], Any]) -> CheckResult:
    """Check ``fn(shape, voxel_size_nm) -> volume in cubic micrometres``."""
    name = "physical volume"
    hint = "voxel count times the volume of one voxel; 1 µm = 1000 nm, so 1 µm³ = 1e9 nm³."
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
                    float(np.prod(shape)),
                    "that is the number of voxels: the voxel size is missing "
                    "(as if you believed a TIFF that says 1 unit per pixel).",
                ),
                (
                    float(np.prod(shape)) * float(np.max(vs)) ** 3 / 1e9,
                    "that uses the largest voxel edge for every axis; use each axis's own size.",
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
    hint = "np.percentile(image, [low, high]) gives the two grey levels that map to 0 and 1."
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
        ],
    )


def psnr(fn: Callable) -> CheckResult:
    """Check ``fn(clean, image, data_range) -> PSNR in dB``."""
    from skimage.metrics import peak_signal_noise_ratio

    name = "PSNR"
    hint = "PSNR = 10 log10(data_range² / MSE), MSE the mean squared difference."
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
        ],
    )


# ------------------------------------------------------------------ sheet 20-02


def otsu_threshold(fn: Callable) -> CheckResult:
    """Check ``fn(image) -> threshold`` against Otsu's method (within one grey level)."""
    from skimage.filters import threshold_otsu

    name = "Otsu threshold"
    hint = (
        "for every candidate t, weight each side's fraction by its mean: maximise "
        "w0 w1 (mu0 - mu1)^2 over t (np.cumsum over the histogram does it for all t)."
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
        diagnoses=[(float(img.mean()), "that is the mean grey level.")],
    )


def remove_small_nm(fn: Callable) -> CheckResult:
    """Check ``fn(mask, min_volume_nm3, voxel_size_nm) -> mask`` without the small objects."""
    from skimage import measure

    name = "remove small objects (nm³)"
    hint = (
        "convert the volume to voxels (divide by voxel_size**3), label the mask, count each "
        "label's voxels with np.bincount, keep labels with at least that many."
    )
    mask = np.zeros((12, 20, 20), bool)
    mask[1:3, 1:3, 1:3] = True  # 8 voxels
    mask[5:8, 5:8, 5:8] = True  # 27 voxels
    mask[1:10, 12:18, 12:18] = True  # 324 voxels
    lab = measure.label(mask)
    vs, min_vol = 20.0, 27 * 20.0**3  # keep objects of at least 27 voxels
    sizes = np.bincount(lab.ravel())
    expected = (sizes >= 27)[lab] & mask
    value, problem = _call(fn, (mask.copy(), min_vol, vs), name=name, hint=hint)
    if problem is None:
        problem = mask_problem(
            np.asarray(value) if value is not None else None, mask.shape, want="mask", name=name
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
        elif np.array_equal(got, (sizes > 27)[lab] & mask):
            problem = _fail(
                name,
                "you also removed the object whose volume equals the limit; "
                "keep objects of *at least* the given volume.",
                hint,
            )
        elif got.sum() == mask.sum():
            problem = _fail(
                name,
                "nothing was removed. Is the volume converted from nm³ to "
                "voxels (divide by voxel_size**3)?",
                hint,
            )
        else:
            problem = _fail(
                name, f"{int((got != expected).sum())} voxels differ from the right mask.", hint
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

    The message says what went wrong where it can tell: too much or too little
    foreground (over- or under-segmentation), merged objects, split objects.
    """
    from emcourse.segment.metrics import dice, match_instances, variation_of_information

    name = "segmentation quality"
    truth = np.asarray(truth)
    if callable(labels):
        labels, problem = _call(
            labels, tuple(args), name=name, hint="return an instance label image"
        )
        if problem is not None:
            return show(problem)
    problem = mask_problem(
        labels if labels is None or isinstance(labels, np.ndarray) else np.asarray(labels),
        truth.shape,
        want="labels",
        name=name,
    )
    if problem is not None:
        return show(problem)
    labels = np.asarray(labels).astype(np.int64)
    d = dice(truth, labels)
    s = match_instances(truth, labels)
    split, merge = variation_of_information(truth, labels)
    fg_ratio = (labels > 0).sum() / max((truth > 0).sum(), 1)
    n_t, n_p = int(s.tp + s.fn), int(s.tp + s.fp)
    notes = []
    if fg_ratio > 1.15:
        notes.append(
            f"you mark {fg_ratio:.0%} of the true foreground: over-segmentation "
            "(a threshold too permissive, or distractors kept)"
        )
    elif fg_ratio < 0.85:
        notes.append(
            f"you mark only {fg_ratio:.0%} of the true foreground: under-segmentation "
            "(a threshold too strict, or too much erosion)"
        )
    if merge > 1.5 * split and n_p < n_t:
        notes.append(
            f"{n_p} objects for {n_t} true ones: some touching objects are merged "
            "(split them with a watershed from markers)"
        )
    elif split > 1.5 * merge and n_p > n_t:
        notes.append(
            f"{n_p} objects for {n_t} true ones: some objects are split in pieces "
            "(fewer markers, or remove small fragments)"
        )
    passed = d >= min_dice and s.f1 >= min_f1
    message = (
        f"Dice {d:.3f} (aim: at least {min_dice}), instance F1 at IoU 0.5 {s.f1:.3f} "
        f"(aim: at least {min_f1}); {n_p} objects found, {n_t} true."
    )
    if notes and not passed:
        message += " " + "; ".join(notes) + "."
    return show(
        CheckResult(
            passed,
            name,
            value=(round(d, 3), round(s.f1, 3)),
            tolerance=(min_dice, min_f1),
            message=message,
        )
    )


# ------------------------------------------------------------------ sheet 20-03


def feature_memory(fn: Callable) -> CheckResult:
    """Check ``fn(shape, n_features, itemsize) -> gigabytes`` (1 GB = 1e9 bytes)."""
    name = "feature memory"
    hint = "voxels times features times bytes per number; 1 GB is 1e9 bytes."
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
    truth = np.asarray(truth)
    if callable(mask):
        mask, problem = _call(mask, tuple(args), name=name, hint="return a boolean mask")
        if problem is not None:
            return show(problem)
    problem = mask_problem(
        mask if mask is None or isinstance(mask, np.ndarray) else np.asarray(mask),
        truth.shape,
        want="mask",
        name=name,
    )
    if problem is not None:
        return show(problem)
    mask = np.asarray(mask, bool)
    d = dice(truth, mask)
    ratio = mask.sum() / max((truth > 0).sum(), 1)
    message = (
        f"Dice {d:.3f} (aim: at least {min_dice}); you mark {ratio:.0%} of the true foreground."
    )
    if d < min_dice and ratio > 1.15:
        message += " Too much: raise the probability threshold, or add background scribbles."
    elif d < min_dice and ratio < 0.85:
        message += " Too little: lower the threshold, or add foreground scribbles."
    return show(
        CheckResult(d >= min_dice, name, value=round(d, 3), tolerance=min_dice, message=message)
    )
