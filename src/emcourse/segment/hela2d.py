"""Real mitochondria labels on five SBF-SEM slices of a HeLa cell, and their stand-in.

The data (registry ``hela-mito2d``): five 2000 x 2000 slices (z 1, 30, 60, 116, 150)
of EMPIAR-10094 at 10 nm pixels, with mitochondria drawn twice by one lab, a
first pass (``GT_`` files) and a revised pass (``GT2_`` files, whose file names
give the wrong slice). Only the central cell is labelled, so every score is
taken inside the **cell region**: the first pass's labels dilated by 600 nm,
holes filled (:func:`cell_region`). Slices z 1, 30, 60 are for training;
z 116 and 150 are the test set, never used for training, thresholds or any
choice.

Pure functions on NumPy arrays; reading the files is the data layer's
(:mod:`emcourse.data.kinds_hela2d`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage as ndi

from emcourse.segment.metrics import dice, match_instances

__all__ = [
    "HELA2D_PIXEL_NM",
    "HELA2D_TEST_Z",
    "HELA2D_TRAIN_Z",
    "HELA2D_Z",
    "MitoSlices",
    "cell_region",
    "hela2d_standin",
    "instances_from_channels",
    "region_dice",
    "region_instance_f1",
]

HELA2D_PIXEL_NM = 10.0
HELA2D_Z = (1, 30, 60, 116, 150)
HELA2D_TRAIN_Z = (1, 30, 60)
HELA2D_TEST_Z = (116, 150)
CELL_MARGIN_NM = 600.0


@dataclass(frozen=True)
class MitoSlices:
    """Slices of one cell with two passes of mitochondria instance labels.

    Attributes
    ----------
    images : ndarray of uint8, (n, H, W)
        The slices, membranes dark (backscatter contrast).
    first, revised : ndarray of uint16, (n, H, W)
        Instance labels (0 = background) of the first pass (``GT_``) and the
        revised pass (``GT2_``), paired by the slice they really label.
    z : tuple of int
        The slice index of each image in the original stack.
    pixel_nm : float
        Nanometres per pixel.
    cell : ndarray of bool, (n, H, W)
        The region where scores are taken (:func:`cell_region` of ``first``).
    source : emcourse.volume.Source
        Where the data came from (licence, citation, real or stand-in).
    """

    images: np.ndarray
    first: np.ndarray
    revised: np.ndarray
    z: tuple[int, ...]
    pixel_nm: float
    cell: np.ndarray
    source: object = field(default=None, compare=False)

    def index(self, z: int) -> int:
        """Position of original slice ``z`` in the arrays."""
        return self.z.index(int(z))

    def at(self, z: int) -> dict:
        """One slice: ``image``, ``first``, ``revised``, ``cell`` (views, not copies)."""
        i = self.index(z)
        return {
            "image": self.images[i],
            "first": self.first[i],
            "revised": self.revised[i],
            "cell": self.cell[i],
        }


def instances_from_channels(stack: np.ndarray) -> np.ndarray:
    """An instance image from a (H, W, K) stack of one mask per object: label k+1 where channel k.

    The labels of this dataset do not overlap; where channels did, the later one
    would win. Empty channels leave their number unused.

    Examples
    --------
    >>> s = np.zeros((2, 3, 2), np.uint8); s[0, 0, 0] = 1; s[1, 2, 1] = 1
    >>> instances_from_channels(s)
    array([[1, 0, 0],
           [0, 0, 2]], dtype=uint16)
    """
    stack = np.asarray(stack)
    if stack.ndim != 3:
        raise ValueError(f"expected a (H, W, K) stack of masks, found shape {stack.shape}.")
    labels = np.zeros(stack.shape[:2], np.uint16)
    for k in range(stack.shape[2]):
        labels[stack[:, :, k] > 0] = k + 1
    return labels


def cell_region(labels: np.ndarray, pixel_nm: float, *, margin_nm: float = CELL_MARGIN_NM):
    """Where a slice is scored: the labelled objects dilated by ``margin_nm``, holes filled.

    Works on one 2D label image or a stack (each slice on its own). The dilation
    is a Euclidean disc: every pixel within ``margin_nm`` of a labelled pixel.

    Examples
    --------
    >>> lab = np.zeros((9, 9), int); lab[4, 4] = 1
    >>> int(cell_region(lab, 10.0, margin_nm=20.0).sum())  # a disc of radius 2 pixels
    13
    """
    labels = np.asarray(labels)
    if labels.ndim == 3:
        return np.stack([cell_region(s, pixel_nm, margin_nm=margin_nm) for s in labels])
    if not (labels > 0).any():
        return np.zeros(labels.shape, bool)
    near = ndi.distance_transform_edt(labels == 0) <= margin_nm / float(pixel_nm)
    return ndi.binary_fill_holes(near)


def region_dice(truth, pred, region) -> float:
    """Foreground Dice of ``pred`` against ``truth``, counting only pixels inside ``region``."""
    region = np.asarray(region, bool)
    return dice(np.asarray(truth)[region] > 0, np.asarray(pred)[region] > 0)


def region_instance_f1(truth, pred, region, *, threshold: float = 0.5) -> float:
    """Instance F1 at IoU ``threshold``, predictions cut to ``region`` (the truth lies inside)."""
    pred = np.where(np.asarray(region, bool), np.asarray(pred), 0)
    return match_instances(np.asarray(truth), pred, threshold=threshold).f1


# ------------------------------------------------------------------ stand-in


def _revise(first: np.ndarray, missed: np.ndarray, rng) -> np.ndarray:
    """The second pass: every object redrawn (edges moved by up to 1 px) plus the missed ones."""
    revised = np.zeros_like(first)
    for lab, sl in enumerate(ndi.find_objects(first), start=1):
        if sl is None:
            continue
        pad = tuple(slice(max(s.start - 3, 0), s.stop + 3) for s in sl)
        obj = first[pad] == lab
        step = int(rng.integers(-1, 2))
        if step > 0:
            obj = ndi.binary_dilation(obj, iterations=step)
        elif step < 0:
            smaller = ndi.binary_erosion(obj, iterations=-step)
            obj = smaller if smaller.sum() > 20 else obj
        revised[pad][obj & (revised[pad] == 0)] = lab
    extra = (missed > 0) & (revised == 0)
    revised[extra] = missed[extra] + first.max()
    return revised


def hela2d_standin(
    *, size: int = 512, z: tuple[int, ...] = HELA2D_Z, seed: int = 0, source=None
) -> MitoSlices:
    """The offline stand-in of ``hela-mito2d``: the HeLa stand-in rendered as these data look.

    Each slice is the middle of a thin slab of :func:`~emcourse.segment.hela_standin`
    at 10 nm pixels (membranes dark, as backscatter SBF-SEM), ``size`` pixels
    square (the real slices are 2000; smaller keeps lessons in budget, and the
    pixel size, contrast and object sizes a lesson relies on are the same). Only
    one "cell" is labelled: a disc covering about half the slice, outside which
    mitochondria are present but unlabelled, as in the real data. The first
    pass misses about one labelled mitochondrion in eight; the revised pass adds
    them and moves boundaries by up to 1 pixel, so the passes agree at Dice
    0.86-0.98 as the real ones do. Deterministic for a given ``seed``.
    """
    from emcourse.segment.standin import hela_standin

    rng = np.random.default_rng(seed)
    images, firsts, revised = [], [], []
    yy, xx = np.mgrid[:size, :size]
    for i, _ in enumerate(z):
        n_mito = max(4, round(50 * (size / 768) ** 2))  # 10-20 % of the cell, as real
        s = hela_standin(
            (3, size, size), voxel_size=HELA2D_PIXEL_NM, n_mito=n_mito, seed=seed * 100 + i
        )
        em, lab = s.em[1], s.labels[1].astype(np.uint16)
        lab = _relabel(lab)
        c = rng.uniform(0.4, 0.6, 2) * size
        in_cell = (yy - c[0]) ** 2 + (xx - c[1]) ** 2 <= (0.3 * size) ** 2
        ids = np.unique(lab[in_cell & (lab > 0)])
        lab = np.where(np.isin(lab, ids), lab, 0).astype(np.uint16)
        missed_ids = rng.choice(ids, round(0.12 * ids.size), replace=False)
        missed = np.where(np.isin(lab, missed_ids), lab, 0)
        first = np.where(missed > 0, 0, lab).astype(np.uint16)
        images.append(em)
        firsts.append(first)
        revised.append(_revise(first, missed, rng))
    first = np.stack(firsts)
    return MitoSlices(
        images=np.stack(images),
        first=first,
        revised=np.stack(revised),
        z=tuple(int(v) for v in z),
        pixel_nm=HELA2D_PIXEL_NM,
        cell=cell_region(first, HELA2D_PIXEL_NM),
        source=source,
    )


def _relabel(labels: np.ndarray) -> np.ndarray:
    """Connected pieces numbered 1..n (a capsule cut by the slice may fall in two)."""
    pieces, _ = ndi.label(labels > 0)
    keys = pieces.astype(np.int64) * (int(labels.max()) + 1) + labels  # touching ids stay apart
    return _consecutive(keys, labels > 0)


def _consecutive(keys: np.ndarray, mask: np.ndarray) -> np.ndarray:
    out = np.zeros(keys.shape, np.uint16)
    _, inv = np.unique(keys[mask], return_inverse=True)
    out[mask] = inv + 1
    return out
