"""Volume-EM formats: TIFF volumes, stacks of TIFF or PNG slices, HDF5 blocks, network weights.

As the archives and repositories ship them: EMPIAR-10982's multi-page TIFFs
(whose resolution tags are unreliable: the voxel size comes from the
registry), single-page TIFF slices in a ZIP, the GALA example data (HDF5
dataset ``stack``, training image as PNG slices), and the ``.npz`` weights of
the course's shipped U-Net. Arrays are ``(z, y, x)``.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from importlib import resources
from pathlib import Path

import numpy as np

__all__ = [
    "read_h5_stack",
    "read_png_stack",
    "read_shipped_unet",
    "read_unet_weights",
    "read_tiff_volume",
    "read_tiff_zip",
]


def _xy_claim(tif) -> float | None:
    res = tif.pages[0].tags.get("XResolution")
    if res is None:
        return None
    num, den = res.value
    return den / num if num else None


def read_tiff_volume(path: str | Path) -> tuple[np.ndarray, float | None]:
    """A multi-page TIFF as a ``(z, y, x)`` array, and the pixel size its tags claim (no unit)."""
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
            arr = tif.asarray()
            claim = _xy_claim(tif)
    except Exception as exc:  # tifffile raises many types for broken files
        raise ValueError(f"{path}: expected a readable TIFF, found: {exc}") from exc
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3:
        raise ValueError(f"{path}: expected a 3D (z, y, x) TIFF, found shape {arr.shape}.")
    return arr, claim


def read_tiff_zip(path: str | Path) -> tuple[np.ndarray, float | None]:
    """Stack the single-page TIFFs of a ZIP in name order; also the pixel size one page claims."""
    import tifffile

    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise ValueError(f"{path}: expected a ZIP of TIFF slices, found: {exc}") from exc
    with zf:
        names = sorted(n for n in zf.namelist() if n.lower().endswith((".tif", ".tiff")))
        if not names:
            raise ValueError(f"{path}: expected TIFF slices in the ZIP, found none.")
        slices, claim = [], None
        for n in names:
            try:
                with tifffile.TiffFile(io.BytesIO(zf.read(n))) as tif:
                    slices.append(tif.asarray())
                    claim = claim if claim is not None else _xy_claim(tif)
            except Exception as exc:  # zipfile, zlib and tifffile raise many types
                raise ValueError(
                    f"{path}: slice {n}: expected a readable TIFF in the ZIP, found: {exc}"
                ) from exc
    shapes = {s.shape for s in slices}
    if len(shapes) != 1:
        raise ValueError(f"{path}: expected slices of one shape, found {sorted(shapes)}.")
    return np.stack(slices), claim


def read_h5_stack(path: str | Path, dataset: str = "stack") -> np.ndarray:
    """The HDF5 dataset ``dataset`` (GALA's layout: ``stack``) as an array."""
    import h5py

    try:
        with h5py.File(path, "r") as f:
            if dataset not in f:
                raise ValueError(f"{path}: expected an HDF5 dataset {dataset!r}, found {list(f)}.")
            return f[dataset][()]
    except OSError as exc:
        raise ValueError(f"{path}: expected a readable HDF5 file, found: {exc}") from exc


def read_png_stack(paths: list[str | Path]) -> np.ndarray:
    """Grey PNG slices, in the given order, as a ``(z, y, x)`` uint8 array."""
    from PIL import Image

    slices = []
    for p in paths:
        try:
            img = np.asarray(Image.open(p))
        except Exception as exc:  # PIL raises several types for broken files
            raise ValueError(f"{p}: expected a readable PNG, found: {exc}") from exc
        img = img[..., 0] if img.ndim == 3 else img
        if slices and img.shape != slices[0].shape:
            raise ValueError(
                f"{p}: expected a slice of shape {slices[0].shape} like {paths[0]}, "
                f"found {img.shape}."
            )
        slices.append(img)
    return np.stack(slices).astype(np.uint8)


def read_unet_weights(path) -> dict[str, np.ndarray]:
    """U-Net weights from a ``.npz`` in the shipped format (``enc1.0.weight`` ... ``out.bias``)."""
    from pathlib import Path

    path = Path(path)
    with np.load(path) as f:
        params = {k: f[k] for k in f.files}
    if "out.weight" not in params or not any(k.startswith("enc1.") for k in params):
        raise ValueError(
            f"{path}: expected U-Net weights (keys enc1.0.weight ... out.weight, as "
            f"emcourse.segment.training.state_to_numpy writes), found keys {sorted(params)[:4]}."
        )
    return params


def read_shipped_unet(name: str = "unet-mito.npz", sha256: str | None = None) -> dict:
    """The weights of one of the course's shipped U-Nets, checked against their pinned sha256.

    The files are in ``emcourse/segment/weights/`` (model cards beside them):
    ``unet-mito.npz`` (pinned by ``segment.unet.SHIPPED_SHA256``) by default, or
    ``name`` with its own ``sha256`` (the boundary network's, for example).
    """
    if sha256 is None:
        from emcourse.segment.unet import SHIPPED_SHA256 as sha256

    ref = resources.files("emcourse.segment").joinpath("weights", name)
    raw = ref.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != sha256:
        raise ValueError(
            f"{ref}: expected sha256 {sha256}, found {digest}. The weights file was "
            "changed; rebuild it with the command its model card names."
        )
    with np.load(io.BytesIO(raw)) as f:
        return {k: f[k] for k in f.files}
