"""Score any lesson's mitochondria method on the real HeLa slices (``hela-mito2d``), one way.

The classical pipeline, the pixel classifier and the small network are each
scored on the same slices, against the same labels:

- the grey levels of each slice are mapped to 0-1 by the **whole slice's** 1st
  and 99th percentiles, and the window the method sees is rescaled to the
  lessons' 15 nm pixels (the real slices are 10 nm);
- a test slice's window is its whole **cell region** (bounding box plus
  :data:`MARGIN_NM`); a training slice's is the :data:`CROP_NM` (6 µm) square
  that holds the most of its cell region
  (:func:`emcourse.segment.finetune.cell_crop`), the part a person annotates;
- the method's answer (a mask, or instance labels) is put back on the slice's
  own grid (nearest neighbour) and scored **inside the cell region** with Dice
  against the first pass and the revised pass, and, when it returns instances,
  with instance F1 at IoU 0.5; the two passes' agreement on the same region is
  the ceiling for any method. (On 6 µm windows of the real test slices the
  two passes are identical, so only the whole cell shows where they differ.)

The test slices (z 116, 150) are the default and are only ever scored;
:func:`lesson_windows` gives the training slices (z 1, 30, 60) as the methods
see them, for whatever a lesson chooses or trains. Pure functions on a
:class:`~emcourse.segment.MitoSlices`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from emcourse.segment.hela2d import (
    HELA2D_TEST_Z,
    HELA2D_TRAIN_Z,
    region_dice,
    region_instance_f1,
)

__all__ = [
    "CROP_NM",
    "LESSON_PIXEL_NM",
    "forest_on_training_slices",
    "lesson_windows",
    "real_slices_table",
    "score_on_real_slices",
]

#: The pixel size of the lessons' volume (and of the shipped network).
LESSON_PIXEL_NM = 15.0
#: The side of a training window: 600 pixels of a real slice, the whole 512-pixel stand-in.
CROP_NM = 6000.0
#: Context kept around the cell region when a whole cell is scored.
MARGIN_NM = 300.0


def _window(slices, z: int, crop_nm: float | None) -> dict:
    from emcourse.segment.finetune import cell_box, cell_crop

    s = slices.at(z)
    if crop_nm is None:  # the whole cell region, with a margin of context for the filters
        box = cell_box(s["cell"], int(round(MARGIN_NM / slices.pixel_nm)))
    else:
        box = cell_crop(s["cell"], int(round(crop_nm / slices.pixel_nm)))
    lo, hi = np.percentile(s["image"], [1, 99])
    image = ((s["image"][box] - lo) / max(float(hi - lo), 1e-6)).astype(np.float32)
    return {k: s[k][box] for k in ("first", "revised", "cell")} | {"image": image}


def _rescale(a: np.ndarray, factor: float, *, order: int) -> np.ndarray:
    from skimage.transform import rescale

    if abs(factor - 1) < 1e-6:
        return a
    kw = {"anti_aliasing": order > 0 and factor < 1, "preserve_range": True}
    return rescale(a, factor, order=order, **kw).astype(a.dtype)


def lesson_windows(
    slices, zs=HELA2D_TRAIN_Z, *, pixel_nm: float = LESSON_PIXEL_NM, crop_nm: float = CROP_NM
) -> list[dict]:
    """Windows of slices ``zs`` as the methods see them, at ``pixel_nm``.

    Each is a dict: ``z``, ``image`` (float32, 0-1 by the whole slice's 1st and
    99th percentiles), ``first`` and ``revised`` (instance labels, nearest
    neighbour) and ``cell`` (bool), all on the same grid. The default ``zs``
    are the training slices; a lesson chooses or trains on these, never on the
    test slices.
    """
    factor = slices.pixel_nm / float(pixel_nm)
    out = []
    for z in zs:
        w = _window(slices, z, crop_nm)
        small = {k: _rescale(v, factor, order=0) for k, v in w.items() if k != "image"}
        out.append({"z": int(z), "image": _rescale(w["image"], factor, order=1)} | small)
    return out


def score_on_real_slices(
    method: Callable[[np.ndarray], np.ndarray],
    slices,
    *,
    zs=HELA2D_TEST_Z,
    pixel_nm: float = LESSON_PIXEL_NM,
    crop_nm: float | None = None,
) -> list[dict]:
    """Score ``method`` on the cells of slices ``zs`` (default: the test slices).

    The window the method sees is the cell region's bounding box plus
    :data:`MARGIN_NM` (or, with ``crop_nm``, the square of that side holding
    the most of the cell region), at ``pixel_nm``.

    Parameters
    ----------
    method : callable
        Takes one window at ``pixel_nm`` (float32, grey levels 0-1 by the whole
        slice's percentiles, membranes dark) and returns, on the same grid,
        a boolean mask (scored with Dice) or integer instance labels (scored
        with Dice and instance F1 at IoU 0.5).
    slices : MitoSlices
        ``data.load("hela-mito2d")``: the real slices or their stand-in.

    Returns
    -------
    list of dict
        One row per slice: ``z``; ``dice`` and ``dice_revised`` (against the
        first and the revised pass); ``f1`` and ``f1_revised`` (``None`` for a
        mask); ``dice_passes`` and ``f1_passes`` (the passes against each
        other: the ceiling); ``marked`` and ``labelled`` (the fractions of the
        cell the method marks and the first pass labels). All inside the cell
        region, on the slice's own grid.

    Examples
    --------
    >>> from emcourse.segment.hela2d import hela2d_standin
    >>> s = hela2d_standin(size=96, z=(116,))
    >>> [row] = score_on_real_slices(lambda im: np.zeros(im.shape, bool), s, zs=(116,))
    >>> row["z"], row["dice"], row["f1"], row["dice_passes"] > 0.5
    (116, 0.0, None, True)
    """
    factor = float(pixel_nm) / slices.pixel_nm
    rows = []
    for z in zs:
        w = _window(slices, z, crop_nm)
        small = _rescale(w["image"], 1 / factor, order=1)
        out = np.asarray(method(small))
        if out.shape != small.shape:
            raise ValueError(f"the method returned shape {out.shape} for a window {small.shape}.")
        instances = out.dtype != bool
        full = _back(out, w["image"].shape)
        cell, first, revised = w["cell"], w["first"], w["revised"]
        rows.append(
            {
                "z": int(z),
                "dice": region_dice(first, full, cell),
                "dice_revised": region_dice(revised, full, cell),
                "f1": region_instance_f1(first, full, cell) if instances else None,
                "f1_revised": region_instance_f1(revised, full, cell) if instances else None,
                "dice_passes": region_dice(first, revised, cell),
                "f1_passes": region_instance_f1(first, revised, cell),
                "marked": float((full[cell] > 0).mean()),
                "labelled": float((first[cell] > 0).mean()),
            }
        )
    return rows


def _back(out: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A mask or labels put on the window's own grid (nearest neighbour)."""
    if out.shape == shape:
        return out
    rows = np.minimum((np.arange(shape[0]) + 0.5) * out.shape[0] / shape[0], out.shape[0] - 1)
    cols = np.minimum((np.arange(shape[1]) + 0.5) * out.shape[1] / shape[1], out.shape[1] - 1)
    return out[rows.astype(int)[:, None], cols.astype(int)[None, :]]


def real_slices_table(results: dict[str, list[dict]]) -> str:
    """The scores of :func:`score_on_real_slices` for several methods, and the ceiling, as text.

    ``marked``: the fraction of the cell region a method marks (for the two
    passes: the first pass's).

    Examples
    --------
    >>> row = {"z": 116, "dice": 0.5, "dice_revised": 0.55, "f1": None, "f1_revised": None,
    ...        "dice_passes": 0.98, "f1_passes": 0.9, "marked": 0.2, "labelled": 0.15}
    >>> print(real_slices_table({"a mask": [row]}))
    method                         z     Dice first  revised  F1 first  revised  marked
    a mask                         116        0.500    0.550         -        -     20%
    the two passes (ceiling)       116        0.980        -     0.900        -     15%
    """
    head = ("method", "z", "Dice first", "revised", "F1 first", "revised", "marked")
    widths = (30, 4, 11, 8, 9, 8, 7)

    def line(cells):
        first = [f"{str(c)[:w]:{w}s}" for c, w in zip(cells[:2], widths[:2], strict=True)]
        rest = [f"{c:>{w}s}" for c, w in zip(cells[2:], widths[2:], strict=True)]
        return " ".join(first + rest).rstrip()

    def num(v):
        return "-" if v is None else f"{v:.3f}"

    lines = [line(head)]
    for name, rows in results.items():
        for r in rows:
            scores = (r["dice"], r["dice_revised"], r["f1"], r["f1_revised"])
            lines.append(line([name, r["z"], *map(num, scores), f"{r['marked']:.0%}"]))
    for r in next(iter(results.values())):
        scores = (r["dice_passes"], None, r["f1_passes"], None)
        lines.append(line(["the two passes (ceiling)", r["z"], *map(num, scores),
                           f"{r['labelled']:.0%}"]))  # fmt: skip
    return "\n".join(lines)


def forest_on_training_slices(
    windows: list[dict],
    *,
    strokes_per_object: int = 2,
    n_estimators: int = 30,
    seed: int = 0,
):
    """A random forest trained on strokes drawn on the training windows (:func:`lesson_windows`).

    Strokes as in the lesson "Train a pixel classifier"
    (:func:`~emcourse.segment.draw_strokes` from the first pass's labels),
    kept only inside the cell region (outside it mitochondria are unlabelled,
    not absent). Features (:func:`~emcourse.segment.feature_stack`, the windows
    are already 0-1) are kept only at the stroke pixels, one window at a time,
    so memory stays at one window's features. Returns ``(forest, n_strokes,
    n_pixels)``.
    """
    from emcourse.segment.features import feature_stack, train_forest
    from emcourse.segment.strokes import draw_strokes

    feats, classes, n_strokes = [], [], 0
    for i, w in enumerate(windows):
        sparse, n = draw_strokes(w["first"], strokes_per_object=strokes_per_object, seed=seed + i)
        sparse = np.where(w["cell"], sparse, 0)
        keep = sparse > 0
        feats.append(feature_stack(w["image"][None], limits=(0.0, 1.0))[0][keep])
        classes.append(sparse[keep])
        n_strokes += n
    x, y = np.concatenate(feats), np.concatenate(classes)
    forest = train_forest(x[None], y[None], n_estimators=n_estimators, seed=seed)
    return forest, n_strokes, int(y.size)
