"""Training, validation and test blocks of a volume, separated by gaps no object crosses.

A mitochondrion spans many slices (13-33 in the HeLa stand-in at 15 nm). Cut a
volume into touching blocks and the same object lies on both sides of the cut:
a model tuned on one block has already seen part of what it is scored on. The
cure is a gap of unused slices between blocks at least as long as the longest
object's extent along the cut axis; :func:`longest_extent` measures that length
from labels and :func:`block_split` lays out the blocks with the gap.
:func:`objects_shared` counts the objects that still touch two blocks (zero
when the gap is long enough).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage as ndi

__all__ = ["HELD_OUT_SLICES", "block_split", "longest_extent", "objects_shared"]

#: Depth of the segmentation lessons' held-out block, the last slices of the HeLa volume: with
#: the stand-in's longest mitochondrion (75 of its 128 slices) as the gap, 21 slices stay to tune
#: on. 32 slices hold 13 mitochondria of the stand-in (26 slices hold 11, more of them cut short).
HELD_OUT_SLICES = 32


def longest_extent(labels, *, axis: int = 0) -> int:
    """The largest number of slices along ``axis`` that one labelled object spans.

    Parameters
    ----------
    labels : ndarray of int
        Instance labels, 0 = background (a boolean mask counts each connected
        component as one object).
    axis : int
        The axis the volume is cut along (0 = z).

    Returns
    -------
    int
        ``stop - start`` of the tallest object's bounding box along ``axis``; 0 when
        there is no object.

    Examples
    --------
    >>> lab = np.zeros((10, 4, 4), int)
    >>> lab[2:7, 0, 0] = 1
    >>> lab[5:8, 2, 2] = 2
    >>> longest_extent(lab)
    5
    """
    labels = np.asarray(labels)
    if labels.dtype == bool:
        labels = ndi.label(labels)[0]
    boxes = ndi.find_objects(labels.astype(np.int64, copy=False))
    return max((b[axis].stop - b[axis].start for b in boxes if b is not None), default=0)


def block_split(n_slices: int, *, sizes: Sequence[int | None], gap: int) -> tuple[slice, ...]:
    """Consecutive blocks of ``sizes`` slices from the start of an axis, ``gap`` slices apart.

    Parameters
    ----------
    n_slices : int
        Length of the axis (slices in the volume).
    sizes : sequence of int or None
        Slices per block, in order (for example training, validation, test). At
        most one may be ``None``: that block takes all the slices the others and
        the gaps leave.
    gap : int
        Unused slices between neighbouring blocks; set it to at least the longest
        object's extent (:func:`longest_extent`) so that no object touches two blocks.

    Returns
    -------
    tuple of slice
        One ``slice`` per block, to index the volume with (``volume[block]``).
        Slices left over after the last block are unused.

    Raises
    ------
    ValueError
        When the blocks and gaps do not fit in ``n_slices`` (with the room they
        need and have), or a size or the gap is negative.

    Examples
    --------
    >>> block_split(128, sizes=[48, 16, 24], gap=20)
    (slice(0, 48, None), slice(68, 84, None), slice(104, 128, None))
    >>> block_split(100, sizes=[None, 30], gap=10)
    (slice(0, 60, None), slice(70, 100, None))
    """
    n_slices, gap = int(n_slices), int(gap)
    sizes = list(sizes)
    if not sizes:
        raise ValueError("sizes is empty: give one size per block")
    if gap < 0:
        raise ValueError(f"gap must be >= 0 slices, got {gap}")
    if sum(s is None for s in sizes) > 1:
        raise ValueError("at most one block size may be None (the block that takes the rest)")
    fixed = [int(s) for s in sizes if s is not None]
    if any(s < 1 for s in fixed):
        raise ValueError(f"block sizes must be >= 1 slice, got {sizes}")
    need = sum(fixed) + gap * (len(sizes) - 1)
    if None in sizes:
        rest = n_slices - need
        if rest < 1:
            raise ValueError(
                f"no slice left for the open block: the others and the gaps need {need} "
                f"of {n_slices} slices"
            )
        sizes = [rest if s is None else int(s) for s in sizes]
        need = n_slices
    if need > n_slices:
        raise ValueError(
            f"blocks {sizes} with gaps of {gap} need {need} slices, the axis has {n_slices}: "
            "use fewer or smaller blocks, or a longer volume"
        )
    out, start = [], 0
    for size in sizes:
        out.append(slice(start, start + size))
        start += size + gap
    return tuple(out)


def objects_shared(labels, blocks: Sequence[slice], *, axis: int = 0) -> int:
    """How many labelled objects have voxels in more than one of ``blocks``.

    Examples
    --------
    >>> lab = np.zeros((10, 2, 2), int)
    >>> lab[3:7, 0, 0] = 1
    >>> objects_shared(lab, block_split(10, sizes=[5, 5], gap=0))
    1
    >>> objects_shared(lab, block_split(10, sizes=[3, 3], gap=4))
    0
    """
    labels = np.asarray(labels)
    seen: dict[int, int] = {}
    for block in blocks:
        index = [slice(None)] * labels.ndim
        index[axis] = block
        for value in np.unique(labels[tuple(index)]):
            if value:
                seen[int(value)] = seen.get(int(value), 0) + 1
    return sum(count > 1 for count in seen.values())
