"""Classical segmentation of volume EM: thresholds, morphology, sizes in physical units, watershed.

Mitochondria in FIB-SEM (inverted contrast) are darker than the cytoplasm and
lighter than lipid droplets, so after smoothing they sit in an intensity
*band*. :func:`segment_mitochondria` chains the steps the lesson takes one by
one; every step is also a function of its own.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from skimage import filters, measure, morphology, segmentation

__all__ = [
    "ball_volume_voxels",
    "band_from_labels",
    "band_threshold",
    "clean_mask",
    "fill_holes_per_slice",
    "instances_from_mask",
    "watershed_from_boundaries",
    "remove_small",
    "segment_mitochondria",
    "split_touching",
]


def ball_volume_voxels(diameter_nm: float, voxel_size: float) -> float:
    """Number of voxels in a ball of the given diameter (both in nanometres).

    Examples
    --------
    >>> round(ball_volume_voxels(300.0, 15.0))
    4189
    """
    r = 0.5 * diameter_nm / voxel_size
    return 4.0 / 3.0 * np.pi * r**3


def band_threshold(image: np.ndarray, low: float, high: float) -> np.ndarray:
    """Boolean mask of voxels with ``low < value <= high``."""
    image = np.asarray(image)
    return (image > low) & (image <= high)


def fill_holes_per_slice(mask: np.ndarray) -> np.ndarray:
    """Fill holes in every z slice, and in 3D (a hole open in z is closed in its slices)."""
    out = ndi.binary_fill_holes(mask)
    for z in range(out.shape[0]):
        out[z] = ndi.binary_fill_holes(out[z])
    return out


def remove_small(mask_or_labels: np.ndarray, *, min_volume_nm3: float, voxel_size: float):
    """Remove objects smaller than a physical volume (nm^3, isotropic voxels of ``voxel_size`` nm).

    A boolean mask is labelled by 3D connectivity first; a label image keeps
    its labels. The result has the input's type.
    """
    arr = np.asarray(mask_or_labels)
    min_voxels = int(np.ceil(min_volume_nm3 / float(voxel_size) ** 3))
    if arr.dtype == bool:
        return morphology.remove_small_objects(arr, max_size=max(min_voxels - 1, 0))
    sizes = np.bincount(arr.ravel())
    small = sizes < min_voxels
    small[0] = False
    out = arr.copy()
    out[small[arr]] = 0
    return out


def split_touching(mask: np.ndarray, *, core_nm: float, voxel_size: float) -> np.ndarray:
    """Marker-controlled watershed on the distance transform: one label per object.

    The markers are the connected *cores* of the mask: voxels deeper than
    ``core_nm`` inside it. Two touching objects meet at a neck narrower than
    either, so their cores are separate; a long object keeps one core (local
    maxima of the distance would cut it at every bulge). The watershed of the
    negated distance floods from the cores, and the mask limits it.
    """
    mask = np.asarray(mask, bool)
    dist = ndi.distance_transform_edt(mask) * float(voxel_size)
    markers = measure.label(dist > core_nm)
    return segmentation.watershed(-dist, markers, mask=mask).astype(np.uint16)


def segment_mitochondria(
    image: np.ndarray,
    *,
    voxel_size: float,
    sigma_nm: float = 30.0,
    low: float | None = None,
    high: float | None = None,
    opening_nm: float = 75.0,
    min_diameter_nm: float = 200.0,
    core_nm: float = 75.0,
) -> np.ndarray:
    """The lesson's classical pipeline: smooth, band threshold, open, fill, size filter, watershed.

    Parameters
    ----------
    image : ndarray (z, y, x) or (y, x)
        FIB-SEM volume, membranes dark; or one 2D slice, where the ball becomes
        a disc and the smallest object a disc of ``min_diameter_nm``.
    voxel_size : float
        Nanometres per voxel (isotropic).
    sigma_nm : float
        Gaussian smoothing before thresholding.
    low, high : float, optional
        Intensity band of mitochondria after smoothing. By default ``high`` is
        Otsu's threshold of the smoothed image and ``low`` the Otsu threshold
        of the voxels below ``high`` (which separates lipid droplets).
    opening_nm : float
        Diameter of the ball of the morphological opening (removes thin dark
        membranes such as ER and the rims of droplets). A ball of radius ``r``
        voxels is ``2 r + 1`` voxels across: 75 nm is ``r = 2`` at 15 nm voxels.
    min_diameter_nm : float
        Objects smaller than a ball of this diameter are removed.
    core_nm : float
        Depth inside the mask of the watershed markers (:func:`split_touching`).

    Returns
    -------
    ndarray of uint16
        Instance labels.
    """
    smooth = ndi.gaussian_filter(np.asarray(image, np.float32), sigma_nm / voxel_size)
    if high is None:
        high = filters.threshold_otsu(smooth)
    if low is None:
        low = filters.threshold_otsu(smooth[smooth <= high])
    mask = band_threshold(smooth, low, high)
    r = max(1, int(round(0.5 * (opening_nm / voxel_size - 1))))
    mask = ndi.binary_opening(mask, morphology.ball(r) if mask.ndim == 3 else morphology.disk(r))
    return instances_from_mask(
        mask, voxel_size=voxel_size, core_nm=core_nm, min_diameter_nm=min_diameter_nm
    )


def band_from_labels(smooth: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """An intensity band for mitochondria from a labelled example.

    ``high`` is halfway between the median of the labelled (mitochondria)
    voxels and the median of the rest; ``low`` is as far below the
    mitochondria's median as ``high`` is above it (darker objects, such as lipid
    droplets, fall below it). A few labelled slices or scribbles are enough.
    """
    smooth = np.asarray(smooth, np.float32)
    fg = np.asarray(labels) > 0
    if not fg.any() or fg.all():
        raise ValueError("labels must mark some voxels as mitochondria and leave some unmarked")
    mito, rest = float(np.median(smooth[fg])), float(np.median(smooth[~fg]))
    half_width = 0.5 * (rest - mito)
    return mito - half_width, mito + half_width


def clean_mask(
    mask: np.ndarray, *, voxel_size: float, min_diameter_nm: float = 200.0
) -> np.ndarray:
    """``mask`` with its holes filled and the pieces under a ``min_diameter_nm`` ball removed.

    The mask :func:`instances_from_mask` cuts its instances from. In a 2D slice (y, x)
    the smallest piece is a disc of that diameter (a ball's voxel count, taken as an
    area, would remove every profile up to 3 times that diameter at 15 nm pixels).

    Examples
    --------
    >>> m = np.zeros((40, 40), bool); m[5:25, 5:25] = True; m[10, 10] = False
    >>> m[30:33, 30:33] = True  # a 45 nm square at 15 nm pixels: under a 200 nm disc
    >>> int(clean_mask(m, voxel_size=15.0).sum())  # the hole filled, the square removed
    400
    """
    mask = np.asarray(mask, bool)
    mask = ndi.binary_fill_holes(mask) if mask.ndim == 2 else fill_holes_per_slice(mask)
    min_vol = _smallest_nm3(mask.ndim, min_diameter_nm, voxel_size)
    return remove_small(mask, min_volume_nm3=min_vol, voxel_size=voxel_size)


def _smallest_nm3(ndim: int, diameter_nm: float, voxel_size: float) -> float:
    """The size (nm^3) of the smallest object kept: a ball, or in 2D a disc one voxel thick."""
    if ndim == 2:
        return np.pi / 4 * (diameter_nm / voxel_size) ** 2 * voxel_size**3
    return ball_volume_voxels(diameter_nm, voxel_size) * voxel_size**3


def instances_from_mask(
    mask: np.ndarray, *, voxel_size: float, core_nm: float = 75.0, min_diameter_nm: float = 200.0
) -> np.ndarray:
    """Instance labels from a semantic mask (a classifier's output): holes, size, watershed.

    ``mask`` is a volume (z, y, x), or one 2D slice (y, x): :func:`clean_mask` fills
    its holes and removes the pieces under ``min_diameter_nm``, a watershed splits
    touching objects, and pieces left under that size go too.

    Examples
    --------
    >>> m = np.zeros((40, 40), bool); m[5:25, 5:25] = True; m[30:33, 30:33] = True
    >>> lab = instances_from_mask(m, voxel_size=15.0)  # 300 nm square kept, 45 nm one removed
    >>> int(lab.max()), int((lab > 0).sum())
    (1, 400)
    """
    mask = clean_mask(mask, voxel_size=voxel_size, min_diameter_nm=min_diameter_nm)
    labels = split_touching(mask, core_nm=core_nm, voxel_size=voxel_size)
    min_vol = _smallest_nm3(mask.ndim, min_diameter_nm, voxel_size)
    return remove_small(labels, min_volume_nm3=min_vol, voxel_size=voxel_size)


def watershed_from_boundaries(
    image: np.ndarray, *, sigma: float = 1.0, seed_level: float = 0.6
) -> np.ndarray:
    """Dense segmentation of neuropil: dark membranes separate cells (as in the GALA blocks).

    The image is smoothed, scaled to 0-1 by its 1st and 99th percentiles; the
    seeds are connected regions brighter than ``seed_level`` (cell interiors),
    and a watershed on the inverted smoothed image floods the rest. A lower
    ``seed_level`` gives fewer, larger seeds (merges); a higher one more seeds
    (splits).
    """
    smooth = ndi.gaussian_filter(np.asarray(image, np.float32), sigma)
    lo, hi = np.percentile(smooth, [1, 99])
    smooth = (smooth - lo) / max(float(hi - lo), 1e-6)
    markers = measure.label(smooth > seed_level)
    return segmentation.watershed(-smooth, markers).astype(np.int32)
