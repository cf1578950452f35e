"""Mitochondrion probability of a 2D image of any pixel size, with the course's U-Net (NumPy).

Pure functions; :func:`emcourse.mito.predict_mito` reads the weights (shipped or a
``.npz``) and calls :func:`predict_probability`.

The network (:mod:`emcourse.segment.unet`) was trained at 15 nm pixels; an image
of another pixel size is rescaled to 15 nm, run, and the probability rescaled
back to the image's grid. Grey levels are mapped so that the 1st and 99th
percentiles of the image (or given ``limits``) become 0 and 1, as in training.
"""

from __future__ import annotations

import numpy as np

__all__ = ["NETWORK_PIXEL_NM", "predict_probability", "score_mito", "to_network_grid"]

#: The pixel size (nm) the shipped network and its fine-tuned versions work at.
NETWORK_PIXEL_NM = 15.0


def to_network_grid(image, pixel_nm: float, *, limits=None) -> np.ndarray:
    """The image as the network sees it: grey levels to 0-1 by ``limits``, rescaled to 15 nm."""
    from skimage.transform import rescale

    image = np.asarray(image, np.float32)
    lo, hi = np.percentile(image, [1, 99]) if limits is None else limits
    norm = (image - lo) / max(float(hi - lo), 1e-6)
    factor = float(pixel_nm) / NETWORK_PIXEL_NM
    if abs(factor - 1) > 1e-6:
        norm = rescale(norm, factor, order=1, anti_aliasing=factor < 1, preserve_range=True)
    return norm.astype(np.float32)


def predict_probability(image, pixel_nm: float, params: dict, *, limits=None) -> np.ndarray:
    """Mitochondrion probability (float32, the image's shape) of one 2D image.

    A network with C > 1 outputs gives (C, H, W), one probability map per output.

    Parameters
    ----------
    image : array (H, W)
        Grey levels, membranes dark (FIB-SEM or backscatter SBF-SEM).
    pixel_nm : float
        The image's pixel size; it is rescaled to :data:`NETWORK_PIXEL_NM` for the network.
    params : dict
        The network's weights (``emcourse.io.read_shipped_unet()``, or
        ``emcourse.io.read_unet_weights(path)``); :func:`emcourse.mito.predict_mito`
        reads them for you.
    limits : (low, high), optional
        Grey levels mapped to 0 and 1; default the image's 1st and 99th
        percentiles. Give the whole slice's when ``image`` is a crop of it.

    Examples
    --------
    >>> p = predict_probability(np.full((40, 40), 128, np.uint8), 15.0, _tiny_params())
    >>> p.shape, p.dtype, bool(0 <= p.min() <= p.max() <= 1)
    ((40, 40), dtype('float32'), True)
    """
    from skimage.transform import resize

    from emcourse.segment.unet import unet_predict

    image = np.asarray(image, np.float32)
    if image.ndim != 2:
        raise ValueError(f"expected one 2D image, found shape {image.shape}.")
    norm = to_network_grid(image, pixel_nm, limits=limits)
    prob = unet_predict(norm[None], params, limits=(0.0, 1.0))[0]
    if prob.shape[-2:] != image.shape:  # (C, H, W) for a network with C > 1 outputs
        prob = resize(prob, prob.shape[:-2] + image.shape, order=1, preserve_range=True)
    return prob.astype(np.float32)


def score_mito(prob, slices, z: int, *, threshold: float = 0.5, clean: bool = False) -> dict:
    """Scores of one probability map of slice ``z`` of a :class:`~emcourse.segment.MitoSlices`.

    Inside the cell region: foreground Dice and instance F1 at IoU 0.5 (instances:
    threshold, holes filled, pieces smaller than a 200 nm disc removed, touching ones
    split by a watershed: :func:`~emcourse.segment.instances_from_mask` on the 2D
    slice) against the first pass (``dice``, ``f1``) and the revised pass (``dice_revised``,
    ``f1_revised``); and the agreement of the two passes (``dice_passes``,
    ``f1_passes``: the ceiling for any method). ``clean``: Dice of the mask the
    instances are cut from (:func:`~emcourse.segment.clean_mask`: holes filled, pieces
    under a 200 nm disc removed) rather than of the thresholded one; the F1 is the same.
    """
    from emcourse.segment.classical import clean_mask, instances_from_mask
    from emcourse.segment.hela2d import region_dice, region_instance_f1

    s = slices.at(z)
    cell = s["cell"]
    mask = (np.asarray(prob) > threshold) & cell
    if clean:
        mask = clean_mask(mask, voxel_size=slices.pixel_nm) & cell
    inst = instances_from_mask(mask, voxel_size=slices.pixel_nm)
    return {
        "dice": region_dice(s["first"], mask, cell),
        "dice_revised": region_dice(s["revised"], mask, cell),
        "f1": region_instance_f1(s["first"], inst, cell),
        "f1_revised": region_instance_f1(s["revised"], inst, cell),
        "dice_passes": region_dice(s["first"], s["revised"], cell),
        "f1_passes": region_instance_f1(s["first"], s["revised"], cell),
        "marked": float(mask[cell].mean()),
    }


def _tiny_params() -> dict:
    """Zero weights of a depth-1 U-Net (for the examples)."""
    z = np.zeros
    return {
        "enc1.0.weight": z((2, 1, 3, 3)), "enc1.0.bias": z(2), "enc1.2.weight": z((2, 2, 3, 3)),
        "enc1.2.bias": z(2), "bottom.0.weight": z((4, 2, 3, 3)), "bottom.0.bias": z(4),
        "bottom.2.weight": z((4, 4, 3, 3)), "bottom.2.bias": z(4), "up1.weight": z((4, 2, 2, 2)),
        "up1.bias": z(2), "dec1.0.weight": z((2, 4, 3, 3)), "dec1.0.bias": z(2),
        "dec1.2.weight": z((2, 2, 3, 3)), "dec1.2.bias": z(2), "out.weight": z((1, 2, 1, 1)),
        "out.bias": z(1),
    }  # fmt: skip
