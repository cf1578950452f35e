"""Segment a volume larger than memory: block by block with halos, scheduled by dask.

A voxel-wise result (a *semantic* mask: mitochondrion or not) of a local
pipeline depends only on the voxels within the pipeline's *reach*. Cut the
volume into blocks, give every block a margin (a *halo*) at least that reach
from its neighbours, process each block alone and trim the halo again: the
result is the same, voxel for voxel, as on the whole volume in memory, and
memory holds a few blocks at a time instead of the volume.
:func:`dask.array.map_overlap` does the cutting, the halos, the scheduling and
the trimming; this module only says what runs on a block and how wide its halo
is. Pure arrays (NumPy, dask): reading and writing OME-Zarr is
:mod:`emcourse.io.omezarr`.

Steps that are not local (labelling connected components, filling holes,
Otsu's threshold of the whole volume) are not blockwise by a halo: thresholds
are chosen once, beforehand, and passed in.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage as ndi

__all__ = [
    "block_bytes",
    "blockwise_mito_mask",
    "mito_mask",
    "pipeline_reach",
    "seam_distance",
    "synthetic_blocks",
]


def pipeline_reach(sigma: float, opening_radius: int, *, truncate: float = 4.0) -> int:
    """How far (voxels) a voxel of :func:`mito_mask`'s output sees into its input.

    The Gaussian's kernel reaches ``ceil(truncate * sigma)`` voxels (SciPy cuts
    it at ``truncate`` standard deviations); an opening is an erosion followed
    by a dilation, each reaching the ball's radius, so ``2 * opening_radius``.
    The two add up. Both in voxels.

    Examples
    --------
    >>> pipeline_reach(2.0, 2)
    12
    """
    if sigma < 0 or opening_radius < 0:
        raise ValueError(f"sigma and opening_radius must be >= 0, got {sigma}, {opening_radius}")
    return int(math.ceil(truncate * sigma)) + 2 * int(opening_radius)


def _ball(radius: int) -> np.ndarray:
    r = int(radius)
    zz, yy, xx = np.mgrid[-r : r + 1, -r : r + 1, -r : r + 1]
    return (zz**2 + yy**2 + xx**2) <= r * r  # as skimage.morphology.ball


def mito_mask(
    image: np.ndarray,
    *,
    sigma: float,
    low: float,
    high: float,
    opening_radius: int,
    truncate: float = 4.0,
) -> np.ndarray:
    """The local part of the classical mitochondria pipeline: smooth, band threshold, open.

    Parameters
    ----------
    image : ndarray (z, y, x)
        FIB-SEM volume or block, membranes dark.
    sigma : float
        Gaussian smoothing, in voxels.
    low, high : float
        Intensity band of mitochondria after smoothing (chosen beforehand on the
        whole volume or on labels: a per-block threshold would differ per block).
    opening_radius : int
        Radius (voxels) of the ball of the morphological opening.

    Returns
    -------
    ndarray of bool
        True where a voxel is mitochondrion.

    Examples
    --------
    >>> img = np.full((20, 20, 20), 200, np.uint8)
    >>> img[5:15, 5:15, 5:15] = 100
    >>> int(mito_mask(img, sigma=1.0, low=50, high=150, opening_radius=1).sum()) > 0
    True
    """
    smooth = ndi.gaussian_filter(np.asarray(image, np.float32), sigma, truncate=truncate)
    band = (smooth > low) & (smooth <= high)
    if opening_radius > 0:
        band = ndi.binary_opening(band, _ball(opening_radius))
    return band


def blockwise_mito_mask(
    volume,
    *,
    sigma: float,
    low: float,
    high: float,
    opening_radius: int,
    halo: int | None = None,
    truncate: float = 4.0,
):
    """:func:`mito_mask` block by block with halos, as a lazy dask array.

    Parameters
    ----------
    volume : dask.array.Array (z, y, x)
        The volume, chunked into the blocks to process (e.g. read lazily
        from OME-Zarr with :func:`emcourse.io.read_ome_zarr`).
    sigma, low, high, opening_radius, truncate
        As :func:`mito_mask`.
    halo : int, optional
        Margin in voxels added to every block from its neighbours; by default
        :func:`pipeline_reach`, the smallest that gives the in-memory result.
        A smaller one is allowed, to show what it breaks.

    Returns
    -------
    dask.array.Array of bool
        Same shape and chunks as ``volume``; nothing is computed until asked
        (``.compute()``, ``dask.array.store``, ``.to_zarr``).

    Examples
    --------
    >>> import dask.array as da
    >>> img = np.random.default_rng(0).integers(0, 255, (32, 32, 32), dtype=np.uint8)
    >>> kw = dict(sigma=1.0, low=100, high=140, opening_radius=1)
    >>> lazy = blockwise_mito_mask(da.from_array(img, chunks=16), **kw)
    >>> bool((lazy.compute() == mito_mask(img, **kw)).all())
    True
    """
    import dask.array as da

    reach = pipeline_reach(sigma, opening_radius, truncate=truncate)
    depth = reach if halo is None else int(halo)
    if depth < 0:
        raise ValueError(f"halo must be >= 0 voxels, got {halo}")
    if depth > min(min(c) for c in volume.chunks):
        raise ValueError(
            f"a halo of {depth} voxels is wider than the smallest block "
            f"{tuple(min(c) for c in volume.chunks)}: use bigger chunks (rechunk)"
        )
    # boundary="none": at the volume's edges a block gets no padding, so the
    # filters there see exactly what they see on the whole volume in memory.
    return da.map_overlap(
        mito_mask,
        volume,
        depth=depth,
        boundary="none",
        dtype=bool,
        sigma=sigma,
        low=low,
        high=high,
        opening_radius=opening_radius,
        truncate=truncate,
    )


def block_bytes(
    block_shape: tuple[int, ...], *, halo: int = 0, itemsize: int = 1, copies: float = 1.0
) -> int:
    """Bytes that one block with its halo takes in memory.

    ``itemsize`` is the bytes per voxel of the dtype (1 for uint8, 4 for
    float32), ``copies`` how many arrays of that size a task holds at once
    (the input, the smoothed copy, the masks).

    Examples
    --------
    >>> block_bytes((128, 128, 128), halo=12, itemsize=4) / 2**20
    13.396...
    """
    voxels = math.prod(int(n) + 2 * int(halo) for n in block_shape)
    return int(voxels * int(itemsize) * copies)


def seam_distance(chunks) -> np.ndarray:
    """Distance (voxels) of every voxel to the nearest seam between two blocks.

    ``chunks`` are a dask array's chunks, a tuple per axis of block lengths. A
    seam lies between the last voxel of a block and the first of the next;
    the voxels on either side are at distance 0. The volume's outer faces are
    not seams. Without any seam the distance is the volume's largest side.

    Examples
    --------
    >>> seam_distance(((2, 2),)).tolist()
    [1, 0, 0, 1]
    """
    shape = tuple(int(sum(c)) for c in chunks)
    out = np.full(shape, max(shape), dtype=np.int32)
    for axis, lengths in enumerate(chunks):
        edges = np.cumsum(lengths)[:-1]  # first voxel of every block but the first
        if edges.size == 0:
            continue
        pos = np.arange(shape[axis])
        gap = np.minimum(np.abs(pos[:, None] - edges), np.abs(pos[:, None] - (edges - 1)))
        dist = gap.min(axis=1)
        view = [None] * len(shape)
        view[axis] = slice(None)
        out = np.minimum(out, dist[tuple(view)].astype(np.int32))
    return out


def _texture_block(block_info=None, *, seed: int = 0, period: float = 24.0):
    info = block_info[None]
    (z0, z1), (y0, y1), (x0, x1) = info["array-location"]
    k = 2 * np.pi / period
    cz = np.cos(k * np.arange(z0, z1, dtype=np.float32))[:, None, None]
    cy = np.cos(k * np.arange(y0, y1, dtype=np.float32))[None, :, None]
    cx = np.cos(k * np.arange(x0, x1, dtype=np.float32))[None, None, :]
    # a seed per block: the same block always gets the same noise, whatever the order
    rng = np.random.default_rng([seed, *info["chunk-location"]])
    out = rng.integers(0, 41, (z1 - z0, y1 - y0, x1 - x0), dtype=np.uint8)  # noise, 0..40
    out += (130.0 - 60.0 * (cz * cy * cx)).astype(np.uint8)  # 70..190: no overflow
    return out


def synthetic_blocks(shape: tuple[int, int, int], *, chunks, seed: int = 0):
    """A deterministic synthetic FIB-SEM-like texture, made block by block (lazy dask, uint8).

    A lattice of dark blobs (period 24 voxels) under uniform noise (grey levels 70-230), with a
    seed per block: any size can be written to disk block by block without
    the whole volume ever being in memory, and the same block is the same
    whatever the order it is computed in.

    Examples
    --------
    >>> v = synthetic_blocks((64, 64, 64), chunks=32, seed=1)
    >>> v.dtype, v.chunks[0]
    (dtype('uint8'), (32, 32))
    >>> bool((v.compute() == synthetic_blocks((64, 64, 64), chunks=32, seed=1).compute()).all())
    True
    """
    import dask.array as da

    return da.map_blocks(
        _texture_block, chunks=da.core.normalize_chunks(chunks, shape), dtype=np.uint8, seed=seed
    )
