"""Touching mitochondria apart: a U-Net that predicts foreground and boundaries, then a watershed.

A network that only says "mitochondrion or not" leaves two touching
mitochondria as one blob; a threshold and connected components then count
them as one. This module's network (the course's U-Net, :mod:`emcourse.segment.unet`,
with two outputs) also predicts each object's **boundary**: the pixels of an
object next to the background or another object. Its interior minus the
boundary gives one seed per object, and a watershed grows the seeds back over
the foreground (:func:`seeded_watershed`). :func:`compare_methods` scores it
beside a threshold with connected components and a threshold with the classical
distance-transform watershed (:func:`emcourse.segment.classical.split_touching`).

Pure functions; the weights (``weights/unet-mito-boundary.npz``) are read and made
by :mod:`emcourse.mito_instances` (``python -m emcourse.mito_instances --train``), from
random weights, on a stand-in volume drawn with another seed (:data:`TRAIN_SEED`: another
cell, every slice of it), so nothing of the lessons' volume, held-out block or not,
is seen in training. Starting from the shipped one-output U-Net would leak: it saw
slices 0-47 of the lessons' volume, closer to the held-out block (slices 96-127)
than the tallest mitochondrion spans (75 slices).
Training needs torch; everything else here is NumPy, SciPy and scikit-image.
"""

from __future__ import annotations

import numpy as np
from skimage import measure, segmentation

from emcourse.segment.classical import split_touching
from emcourse.segment.metrics import match_instances

__all__ = [
    "BOUNDARY_CHANNELS",
    "boundary_targets",
    "compare_methods",
    "instance_methods",
    "predict_boundaries",
    "score_methods_on_real_slices",
    "seeded_watershed",
    "he_init",
    "standin_split",
    "train_boundary_unet",
]

#: Widths of the boundary network: half the shipped U-Net's, four times cheaper to run.
BOUNDARY_CHANNELS = (4, 8, 16, 32)
#: The stand-in the weights were trained on: the lessons' ``empiar-10982-hela-cell`` offline.
STANDIN_SHAPE, STANDIN_SEED, VOXEL_NM = (128, 256, 256), 0, 15.0
#: The stand-in the weights are trained on: the same generator, another seed (another cell).
TRAIN_SEED = 1
#: Seeds smaller than this (pixels of one slice, voxels of a volume) are noise, not objects.
MIN_SEED = 12


def boundary_targets(labels) -> np.ndarray:
    """Training targets from instance labels, slice by slice: 0 background, 1 inside, 2 boundary.

    The boundary is every object pixel with a 4-neighbour (in its z slice) outside
    that object: background or another object. Two touching objects therefore get
    a wall two pixels thick between them. Pixels on the image's edge are not
    boundary there (the object goes on beyond the view).

    Examples
    --------
    >>> lab = np.zeros((1, 4, 6), int); lab[0, :, :3] = 1; lab[0, :, 3:] = 2
    >>> boundary_targets(lab)[0]
    array([[1, 1, 2, 2, 1, 1],
           [1, 1, 2, 2, 1, 1],
           [1, 1, 2, 2, 1, 1],
           [1, 1, 2, 2, 1, 1]], dtype=uint8)
    """
    labels = np.asarray(labels)
    flat = labels.ndim == 2
    labels = labels[None] if flat else labels
    out = np.zeros(labels.shape, np.uint8)
    for z, lab in enumerate(labels):
        edge = segmentation.find_boundaries(lab, connectivity=1, mode="inner")
        out[z][lab > 0] = 1
        out[z][edge & (lab > 0)] = 2
    return out[0] if flat else out


def seeded_watershed(fg, bd, *, threshold: float = 0.5, min_seed: int = MIN_SEED) -> np.ndarray:
    """Instances from foreground and boundary probabilities (2D or 3D): seeds, then a watershed.

    Seeds are the connected regions where the foreground is above ``threshold``
    and the boundary below it (``min_seed`` pixels or more); the watershed of the
    boundary probability floods from them over the foreground mask, so each
    foreground pixel joins the seed it reaches without crossing a boundary.

    Examples
    --------
    >>> fg = np.zeros((5, 9)); fg[1:4, 1:8] = 1
    >>> bd = np.zeros((5, 9)); bd[:, 4] = 1  # a wall through the middle of one blob
    >>> seeded_watershed(fg, bd, min_seed=1)[2]
    array([0, 1, 1, 1, 2, 2, 2, 2, 0], dtype=int32)
    """
    fg, bd = np.asarray(fg, np.float32), np.asarray(bd, np.float32)
    mask = fg > threshold
    seeds = measure.label(mask & (bd < threshold))
    sizes = np.bincount(seeds.ravel())
    seeds[(sizes < min_seed)[seeds]] = 0
    return segmentation.watershed(bd, seeds, mask=mask).astype(np.int32)


def instance_methods(fg, bd, *, voxel_size: float, threshold: float = 0.5) -> dict:
    """Instance labels of the three methods from the network's foreground and boundary maps.

    ``threshold + components``: foreground above ``threshold``, connected components;
    ``threshold + distance watershed``: the same mask split by the classical
    distance-transform watershed (cores deeper than 75 nm,
    :func:`~emcourse.segment.classical.split_touching`); ``boundary network +
    watershed``: :func:`seeded_watershed`. Objects smaller than a seed are dropped
    from all three alike.
    """
    mask = np.asarray(fg) > threshold
    out = {
        "threshold + components": measure.label(mask).astype(np.int32),
        "threshold + distance watershed": split_touching(
            mask, core_nm=75.0, voxel_size=voxel_size
        ).astype(np.int32),
        "boundary network + watershed": seeded_watershed(fg, bd, threshold=threshold),
    }
    for lab in out.values():
        sizes = np.bincount(lab.ravel())
        lab[(sizes < MIN_SEED)[lab]] = 0
    return out


def compare_methods(truth, fg, bd, *, voxel_size: float, region=None, threshold: float = 0.5):
    """Instance scores (IoU 0.5) of the three :func:`instance_methods` against ``truth``.

    With ``region``, predictions are cut to it (the truth lies inside), as for the
    real slices' cell. Returns ``{method: InstanceScores}``.
    """
    labels = instance_methods(fg, bd, voxel_size=voxel_size, threshold=threshold)
    if region is not None:
        region = np.asarray(region, bool)
        labels = {k: np.where(region, v, 0) for k, v in labels.items()}
    return {k: match_instances(truth, v, threshold=0.5) for k, v in labels.items()}


def predict_boundaries(volume, params, *, limits=None) -> tuple[np.ndarray, np.ndarray]:
    """Foreground and boundary probabilities (each the volume's shape) of every z slice (NumPy).

    ``params``: the two-output network's weights
    (:func:`emcourse.mito_instances.read_boundary_unet`).
    """
    from emcourse.segment.unet import unet_predict

    with np.errstate(over="ignore"):  # exp of a large logit: probability 0, as it should be
        prob = unet_predict(volume, params, limits=limits)
    return prob[:, 0], prob[:, 1]


def score_methods_on_real_slices(
    params, slices, *, zs=None, windows: list | None = None
) -> dict[str, list[dict]]:
    """The three :func:`instance_methods` scored on real slices the one way of the lessons.

    Each test slice's cell window is seen at 15 nm and scored inside the cell
    region by :func:`emcourse.segment.realslices.score_on_real_slices` (Dice and
    instance F1 at IoU 0.5 against both passes, the passes' agreement as the
    ceiling); the network runs once per slice (NumPy) and all three methods use
    its maps. Returns ``{method: rows}``, ready for
    :func:`~emcourse.segment.realslices.real_slices_table`. A list given as
    ``windows`` receives, slice by slice, what the methods saw and made: a dict
    of ``image`` (the window at 15 nm), ``fg``, ``bd`` and the three labels.
    """
    from emcourse.segment.hela2d import HELA2D_TEST_Z
    from emcourse.segment.realslices import LESSON_PIXEL_NM, score_on_real_slices

    cache: dict = {}

    def labels(image, name):
        key = (image.shape, float(image.sum()))
        if key not in cache:  # windows arrive already at 15 nm, grey levels 0-1
            fg, bd = predict_boundaries(image[None], params, limits=(0.0, 1.0))
            prob = (fg[0], bd[0])
            cache[key] = instance_methods(prob[0], prob[1], voxel_size=LESSON_PIXEL_NM)
            if windows is not None:
                windows.append({"image": image, "fg": prob[0], "bd": prob[1]} | cache[key])
        return cache[key][name]

    zs = HELA2D_TEST_Z if zs is None else zs
    names = ("threshold + components", "threshold + distance watershed")
    names += ("boundary network + watershed",)
    return {
        name: score_on_real_slices(lambda im, n=name: labels(im, n), slices, zs=zs)
        for name in names
    }


def standin_split(vol_labels, n_slices: int):
    """The lessons' tuning and held-out blocks: 32 held-out slices, a gap of the tallest object."""
    from emcourse.segment.splits import HELD_OUT_SLICES, block_split, longest_extent

    gap = longest_extent(vol_labels)
    return block_split(n_slices, sizes=[None, HELD_OUT_SLICES], gap=gap)


def _loss(logits, target):
    """Cross-entropy of both outputs plus soft Dice of the foreground (torch tensors)."""
    import torch

    from emcourse.segment.training import dice_loss

    fg, bd = (target >= 1).float(), (target == 2).float()
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    # boundaries are few pixels: weight them up so the network does not ignore them
    weight = 1.0 + 4.0 * bd
    return (
        bce(logits[:, :1], fg)
        + bce(logits[:, 1:], bd, weight=weight)
        + dice_loss(logits[:, :1], fg)
        + dice_loss(logits[:, 1:], bd)
    )


def he_init(model) -> None:
    """He (Kaiming) normal weights and zero biases for every convolution, in place (torch).

    PyTorch's default (uniform, scaled for a gain of 1/sqrt(3)) shrinks the signal
    at every convolution of this U-Net, which has no normalisation layers. Measured
    on the stand-in with widths 4-32 and batches of 8 patches of 64^2: after 750
    steps from PyTorch's default the foreground output was still below 0.5 on
    every mitochondrion (instance F1 0 for all three methods); from He weights the
    foreground output is above 0.9 on mitochondria and near 0 elsewhere after 100 steps.
    """
    import torch

    for m in model.modules():
        if isinstance(m, torch.nn.Conv2d | torch.nn.ConvTranspose2d):
            torch.nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            torch.nn.init.zeros_(m.bias)


def train_boundary_unet(
    norm,
    targets,
    *,
    steps=2000,
    batch=8,
    size=64,
    lr=3e-3,
    seed=0,
    channels=BOUNDARY_CHANNELS,
):
    """Train the two-output U-Net with Adam on random flipped and rotated patches (CPU, torch).

    ``norm`` is the normalised (z, y, x) training volume, ``targets`` its
    :func:`boundary_targets`. The weights start from :func:`he_init` (seeded by
    ``seed``); the learning rate decays to 0 on a cosine. Returns ``(model, losses)``
    (the loss of every step).
    """
    import torch

    from emcourse.segment.training import make_unet, sample_patches

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = make_unet(tuple(channels), outputs=2)
    he_init(model)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    losses = []
    model.train()
    for _ in range(steps):
        x, y = sample_patches(norm, targets, n=batch, size=size, rng=rng)
        loss = _loss(model(torch.from_numpy(x)), torch.from_numpy(np.rint(y)))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        losses.append(float(loss.detach()))
    return model, losses
