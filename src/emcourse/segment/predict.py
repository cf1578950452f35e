"""Mitochondrion probability of a 2D image of any pixel size, with the course's U-Net (NumPy).

The network (:mod:`emcourse.segment.unet`) was trained at 15 nm pixels; an image
of another pixel size is rescaled to 15 nm, run, and the probability rescaled
back to the image's grid. Grey levels are mapped so that the 1st and 99th
percentiles of the image (or given ``limits``) become 0 and 1, as in training.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["NETWORK_PIXEL_NM", "load_weights", "predict_mito", "score_mito"]

#: The pixel size (nm) the shipped network and its fine-tuned versions work at.
NETWORK_PIXEL_NM = 15.0


def load_weights(weights=None) -> dict[str, np.ndarray]:
    """The shipped weights (``None``), a ``.npz`` path of the same format, or a dict as is."""
    if weights is None:
        from emcourse.io import read_shipped_unet

        return read_shipped_unet()
    if isinstance(weights, dict):
        return weights
    path = Path(weights)
    with np.load(path) as f:
        params = {k: f[k] for k in f.files}
    if "out.weight" not in params or not any(k.startswith("enc1.") for k in params):
        raise ValueError(
            f"{path}: expected U-Net weights (keys enc1.0.weight ... out.weight, as "
            f"emcourse.segment.training.state_to_numpy writes), found keys {sorted(params)[:4]}."
        )
    return params


def predict_mito(image, pixel_nm: float, *, weights=None, limits=None) -> np.ndarray:
    """Mitochondrion probability (float32, the image's shape) of one 2D image.

    Parameters
    ----------
    image : array (H, W)
        Grey levels, membranes dark (FIB-SEM or backscatter SBF-SEM).
    pixel_nm : float
        The image's pixel size; it is rescaled to :data:`NETWORK_PIXEL_NM` for the network.
    weights : None, path or dict
        ``None``: the shipped network (``weights/unet-mito.npz``); otherwise a
        ``.npz`` in the same format (e.g. from ``python -m emcourse.segment.finetune``).
    limits : (low, high), optional
        Grey levels mapped to 0 and 1; default the image's 1st and 99th
        percentiles. Give the whole slice's when ``image`` is a crop of it.

    Examples
    --------
    >>> p = predict_mito(np.full((40, 40), 128, np.uint8), 15.0)
    >>> p.shape, p.dtype, bool(0 <= p.min() <= p.max() <= 1)
    ((40, 40), dtype('float32'), True)
    """
    from skimage.transform import rescale, resize

    from emcourse.segment.unet import unet_predict

    image = np.asarray(image, np.float32)
    if image.ndim != 2:
        raise ValueError(f"expected one 2D image, found shape {image.shape}.")
    lo, hi = np.percentile(image, [1, 99]) if limits is None else limits
    norm = (image - lo) / max(float(hi - lo), 1e-6)
    factor = float(pixel_nm) / NETWORK_PIXEL_NM
    if abs(factor - 1) > 1e-6:
        norm = rescale(norm, factor, order=1, anti_aliasing=factor < 1, preserve_range=True)
    prob = unet_predict(norm[None], load_weights(weights), limits=(0.0, 1.0))[0]
    if prob.shape != image.shape:
        prob = resize(prob, image.shape, order=1, preserve_range=True)
    return prob.astype(np.float32)


def score_mito(prob, slices, z: int, *, threshold: float = 0.5) -> dict:
    """Scores of one probability map of slice ``z`` of a :class:`~emcourse.segment.MitoSlices`.

    Inside the cell region: foreground Dice and instance F1 at IoU 0.5 (instances:
    threshold, holes filled, small pieces removed, touching ones split by a
    watershed, :func:`~emcourse.segment.instances_from_mask`) against the first
    pass (``dice``, ``f1``) and the revised pass (``dice_revised``,
    ``f1_revised``); and the agreement of the two passes (``dice_passes``,
    ``f1_passes``: the ceiling for any method).
    """
    from emcourse.segment.classical import instances_from_mask
    from emcourse.segment.hela2d import region_dice, region_instance_f1

    s = slices.at(z)
    cell = s["cell"]
    mask = (np.asarray(prob) > threshold) & cell
    inst = instances_from_mask(mask[None], voxel_size=slices.pixel_nm)[0]
    return {
        "dice": region_dice(s["first"], mask, cell),
        "dice_revised": region_dice(s["revised"], mask, cell),
        "f1": region_instance_f1(s["first"], inst, cell),
        "f1_revised": region_instance_f1(s["revised"], inst, cell),
        "dice_passes": region_dice(s["first"], s["revised"], cell),
        "f1_passes": region_instance_f1(s["first"], s["revised"], cell),
        "marked": float(mask[cell].mean()),
    }
