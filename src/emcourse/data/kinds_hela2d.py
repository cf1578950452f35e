"""The ``mito-slices`` kind: 2D EM slices with two passes of mitochondria labels (MATLAB files).

The one dataset of this kind, ``hela-mito2d``, is five SBF-SEM slices of a HeLa
cell (EMPIAR-10094) with mitochondria drawn twice, from the repository
``reyesaldasoro/MitoEM``. Its registry entry names each file by a role:
``im_zNNNN`` (the TIFF of slice NNNN), ``first_zNNNN`` (the first pass, ``GT_``)
and ``revised_zNNNN`` (the revised pass, ``GT2_``). The roles give the TRUE
slice: the ``GT2_`` file names are wrong (``..._z0002`` labels z 30, and so on;
see the book's data page for the evidence).

A label file holds ``groundTruthM``, (2000, 2000, K) uint8 with one channel per
mitochondrion (up to 40: 160 MB once loaded). :func:`open_mito_slices` reads one
file at a time and reduces it to an instance image at once, so the peak memory
stays near one file's.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from emcourse.data.registry import source

__all__ = ["MAT5_MAGIC", "open_mito_slices", "standin_mito_slices", "validate_mito_slices"]

MAT5_MAGIC = b"MATLAB 5.0 MAT-file"


def _roles(paths, prefix: str) -> dict[int, Path]:
    return {int(r.rsplit("_z", 1)[1]): p for r, p in paths.items() if r.startswith(prefix + "_z")}


def validate_mito_slices(path: Path, entry: dict, role: str) -> None:
    """A slice is a readable 2D TIFF; a label file starts as a MATLAB v5 file does."""
    if role.startswith("im_"):
        import tifffile

        try:
            with tifffile.TiffFile(path) as tif:
                shape = tif.series[0].shape
        except Exception as exc:  # tifffile raises many types for bad files
            raise ValueError(f"{path}: expected a TIFF image ({role}), found: {exc}") from exc
        if len(shape) != 2:
            raise ValueError(f"{path}: expected one 2D slice ({role}), found shape {shape}.")
        return
    with open(path, "rb") as f:
        head = f.read(128)
    if not head.startswith(MAT5_MAGIC) or head[126:128] not in (b"IM", b"MI"):
        raise ValueError(
            f"{path}: expected a MATLAB v5 file ({role}, header {MAT5_MAGIC.decode()!r}), "
            f"found {head[:20]!r}."
        )


def _read_labels(path: Path, variable: str) -> np.ndarray:
    import scipy.io

    from emcourse.segment.hela2d import instances_from_channels

    mat = scipy.io.loadmat(path, variable_names=[variable])
    if variable not in mat:
        raise ValueError(f"{path}: expected a variable {variable!r}, found none.")
    stack = mat.pop(variable)
    if stack.ndim == 2:
        stack = stack[:, :, None]
    labels = instances_from_channels(stack)
    del stack, mat  # one label file in memory at a time
    return labels


def open_mito_slices(paths: dict[str, Path], entry: dict):
    """The slices, both passes paired by the true slice, and the cell region (a MitoSlices)."""
    import tifffile

    from emcourse.segment.hela2d import MitoSlices, cell_region

    images, first, revised = _roles(paths, "im"), _roles(paths, "first"), _roles(paths, "revised")
    zs = sorted(images)
    if sorted(first) != zs or sorted(revised) != zs:
        raise ValueError(
            f"{entry['name']}: slices {zs}, first pass {sorted(first)}, revised {sorted(revised)}:"
            " every slice needs both passes."
        )
    variable = entry.get("label_variable", "groundTruthM")
    ims, firsts, revs = [], [], []
    for z in zs:
        ims.append(np.asarray(tifffile.imread(images[z])))
        for store, table in ((firsts, first), (revs, revised)):
            lab = _read_labels(table[z], variable)
            if lab.shape != ims[-1].shape:
                raise ValueError(
                    f"{table[z]}: labels {lab.shape} differ from slice z {z}'s {ims[-1].shape}."
                )
            store.append(lab)
    first_arr = np.stack(firsts)
    pixel = float(entry["pixel_size"])
    return MitoSlices(
        images=np.stack(ims),
        first=first_arr,
        revised=np.stack(revs),
        z=tuple(zs),
        pixel_nm=pixel,
        cell=cell_region(first_arr, pixel),
        source=source(entry, real=True),
    )


def standin_mito_slices(entry: dict, src):
    """The stand-in: :func:`emcourse.segment.hela2d.hela2d_standin` (same z, pixel size)."""
    from emcourse.segment.hela2d import hela2d_standin

    zs = tuple(sorted(int(r.rsplit("_z", 1)[1]) for r in entry["files"] if r.startswith("im_z")))
    return hela2d_standin(
        size=int(entry.get("standin_size", 512)),
        z=zs,
        seed=int(entry.get("standin_seed", 0)),
        source=src,
    )


KIND = {
    "returns": "segment.MitoSlices: 2D slices, two passes of instance labels, cell region",
    "open": open_mito_slices,
    "standin": standin_mito_slices,
    "validate": validate_mito_slices,
}
