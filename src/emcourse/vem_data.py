"""The segmentation track's datasets: where they live, how they are read, their stand-ins.

Temporary home: these become ``Kind`` definitions and registry entries in
``emcourse.data`` once that package has them (issue 6). Until then this
module fetches through the data layer's tiers (cache -> ``EMCOURSE_MIRROR`` ->
archive, checked, announced) and reads the files; the science and the
stand-ins stay in :mod:`emcourse.segment`.

Voxel sizes here are in **nanometres**, taken from the registry facts below,
never from the files' calibration tags.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import zipfile
from pathlib import Path

import numpy as np

from emcourse.segment.types import VemVolume
from emcourse.volume import Source

__all__ = ["DATASETS", "load_vem"]

_EMPIAR = "https://ftp.ebi.ac.uk/empiar/world_availability/10982/data/mito_benchmarks"
_GALA = (
    "https://raw.githubusercontent.com/janelia-flyem/gala/"
    "db73a1c84d8a99975a2a8fb68660a83d8889ab1e/tests/example-data"
)
_NEUBIAS = (
    "https://raw.githubusercontent.com/NEUBIAS/training-resources/"
    "8bbaa51d4df0edb61b36bf6a437c695bae1fe3ef/image_data/xyz_8bit__em_volume_tiff_series.zip"
)
_MITONET = (
    "EMPIAR-10982: Conrad R., Narayan K. (2023) Instance segmentation of mitochondria in "
    "electron microscopy images with a generalist deep learning model trained on a diverse "
    "dataset. Cell Systems 14, 58-71. doi:10.1016/j.cels.2022.12.006"
)
_GALA_CITE = (
    "FlyEM FIB-25 medulla crop from gala's test data: Nunez-Iglesias J. et al. (2013) "
    "PLOS ONE 8, e71715; (2014) Front. Neuroinform. 8, 34."
)

#: name -> facts: files (role -> URL), accession, licence, citation, voxel size (nm), stand-in.
DATASETS: dict[str, dict] = {
    "empiar-10982-hela-cell": {
        "files": {
            "em": f"{_EMPIAR}/hela_cell/hela_cell_em.tif",
            "labels": f"{_EMPIAR}/hela_cell/hela_cell_mito.tif",
        },
        "accession": "EMPIAR-10982 hela_cell",
        "licence": "CC0-1.0",
        "citation": _MITONET,
        "voxel_size": 15.0,
        "shape": (256, 256, 256),
        "standin_shape": (128, 256, 256),  # half as deep: the lessons' time and memory budget
        "subset": "the hela_cell benchmark volume (256^3 FIB-SEM, 15 nm) and its mitochondria",
    },
    "empiar-10982-c-elegans-crop": {
        "files": {"zip": _NEUBIAS},
        "accession": "EMPIAR-10982 c_elegans (first 21 slices, NEUBIAS copy)",
        "licence": "CC-BY-4.0 (NEUBIAS training-resources); data EMPIAR CC0",
        "citation": _MITONET + " Copy: NEUBIAS training-resources (CC BY 4.0).",
        "voxel_size": 24.0,
        "shape": (21, 256, 256),
        "subset": "21 z slices of the c_elegans benchmark volume as single-page TIFFs, no labels",
    },
    "gala-fib25-train": {
        "files": {
            "labels": f"{_GALA}/train-gt.lzf.h5",
            **{f"im{i:02d}": f"{_GALA}/train-image-png/im{i:02d}.png" for i in range(50)},
        },
        "accession": "gala FIB-SEM example (train block)",
        "licence": "BSD-style Janelia Farm licence (gala LICENSE.txt)",
        "citation": _GALA_CITE,
        "voxel_size": 10.0,
        "shape": (50, 100, 200),
        "subset": "a 50 x 100 x 200 block of Drosophila medulla with dense neuron labels",
    },
    "gala-fib25-test": {
        "files": {"em": f"{_GALA}/test-image.h5", "labels": f"{_GALA}/test-gt.lzf.h5"},
        "accession": "gala FIB-SEM example (test block)",
        "licence": "BSD-style Janelia Farm licence (gala LICENSE.txt)",
        "citation": _GALA_CITE,
        "voxel_size": 10.0,
        "shape": (50, 100, 200),
        "subset": "a second 50 x 100 x 200 block of the same volume, with neuron labels",
    },
}


def _read_tiff(path: Path) -> tuple[np.ndarray, tuple | None]:
    import tifffile

    with tifffile.TiffFile(path) as tif:
        arr = tif.asarray()
        page = tif.pages[0]
        res = page.tags.get("XResolution")
        file_vs = None
        if res is not None:
            num, den = res.value
            file_vs = (None, den / num if num else None, den / num if num else None)
    return arr, file_vs


def read_tiff_zip(path: Path) -> tuple[np.ndarray, tuple | None]:
    """Stack the single-page TIFFs of a ZIP in name order; also return one page's calibration."""
    import tifffile

    with zipfile.ZipFile(path) as zf:
        names = sorted(n for n in zf.namelist() if n.lower().endswith((".tif", ".tiff")))
        if not names:
            raise ValueError(f"{path}: expected TIFF slices in the ZIP, found none.")
        slices, file_vs = [], None
        for n in names:
            with tifffile.TiffFile(io.BytesIO(zf.read(n))) as tif:
                slices.append(tif.asarray())
                res = tif.pages[0].tags.get("XResolution")
                if res is not None and file_vs is None:
                    num, den = res.value
                    file_vs = (None, den / num, den / num)
    return np.stack(slices), file_vs


def _read_h5(path: Path) -> np.ndarray:
    import h5py

    with h5py.File(path, "r") as f:
        if "stack" not in f:
            raise ValueError(f"{path}: expected an HDF5 dataset 'stack', found {list(f)}.")
        return f["stack"][()]


def _check(url: str):
    def check(path: Path) -> None:
        low = url.lower()
        try:
            if low.endswith(".h5"):
                _read_h5(path)
            elif low.endswith(".zip"):
                read_tiff_zip(path)
            elif low.endswith((".tif", ".tiff")):
                _read_tiff(path)
            elif low.endswith(".png"):
                from PIL import Image

                Image.open(path).verify()
        except ValueError:
            raise
        except Exception as exc:  # the readers raise many types for broken files
            raise ValueError(f"{path}: expected a readable {Path(url).suffix} file: {exc}") from exc

    return check


def _fetch_all(name: str, facts: dict) -> dict[str, Path]:
    from emcourse import data

    return {
        role: data._fetch_file(
            url,
            label=f"{facts['accession']} ({name}, {role})",
            hint=f"emcourse.vem_data.load_vem({name!r})",
            check=_check(url),
        )
        for role, url in facts["files"].items()
    }


def _open(name: str, paths: dict[str, Path], source: Source, vs: float) -> VemVolume:
    if name == "empiar-10982-hela-cell":
        em, file_vs = _read_tiff(paths["em"])
        labels, _ = _read_tiff(paths["labels"])
        if em.shape != labels.shape:
            raise ValueError(f"hela_cell: EM {em.shape} and labels {labels.shape} differ in shape.")
        return VemVolume(em, labels.astype(np.uint16), vs, source, file_voxel_size=file_vs)
    if name == "empiar-10982-c-elegans-crop":
        em, file_vs = read_tiff_zip(paths["zip"])
        return VemVolume(em, None, vs, source, file_voxel_size=file_vs)
    if name == "gala-fib25-train":
        from PIL import Image

        em = np.stack([np.asarray(Image.open(paths[f"im{i:02d}"])) for i in range(50)])
        if em.ndim == 4:
            em = em[..., 0]
        return VemVolume(em.astype(np.uint8), _read_h5(paths["labels"]), vs, source)
    return VemVolume(_read_h5(paths["em"]), _read_h5(paths["labels"]), vs, source)


@functools.cache
def _standin(name: str) -> VemVolume:
    from emcourse import segment

    facts = DATASETS[name]
    seeds = {
        "empiar-10982-hela-cell": 0,
        "empiar-10982-c-elegans-crop": 5,
        "gala-fib25-train": 1,
        "gala-fib25-test": 2,
    }
    shape = facts.get("standin_shape", facts["shape"])
    if name.startswith("gala"):
        s = segment.neuron_standin(shape, seed=seeds[name])
    else:
        s = segment.hela_standin(shape, voxel_size=facts["voxel_size"], seed=seeds[name])
    labels = None if name == "empiar-10982-c-elegans-crop" else s.labels
    return VemVolume(
        s.em,
        labels,
        facts["voxel_size"],
        _source(name, real=False),
        clean=s.clean,
        file_voxel_size=(None, 1.0, 1.0),
    )


def _source(name: str, *, real: bool, reason: str = "") -> Source:
    f = DATASETS[name]
    url = next(iter(f["files"].values()))
    if real:
        return Source(f["accession"], f["licence"], f["citation"], url, True, f["subset"])
    return Source(
        f["accession"],
        "CC0-1.0 (synthetic stand-in made by emcourse)",
        f"synthetic stand-in (emcourse.segment); the real data: {f['citation']}",
        url,
        False,
        f"synthetic stand-in, because {reason}",
    )


def load_vem(name: str, *, standin: bool = True) -> VemVolume:
    """Load a segmentation dataset: the real files when they can be had, else the stand-in.

    Parameters
    ----------
    name : str
        One of :data:`DATASETS`.
    standin : bool
        When no real copy can be had, return the seeded stand-in (announced
        once, with the reason); when False, raise.

    Returns
    -------
    VemVolume
    """
    from emcourse import data

    if name not in DATASETS:
        raise KeyError(f"unknown segmentation dataset {name!r}; known: {', '.join(DATASETS)}")
    facts = DATASETS[name]
    try:
        paths = _fetch_all(name, facts)
    except data.DataUnavailableError as exc:
        if not standin:
            raise
        reason = data._short(exc.reason or exc).rstrip(".") + "."
        data._announce_once(
            name,
            f"emcourse: {facts['accession']} ({name}): using the synthetic stand-in, "
            f"because {reason}",
        )
        return dataclasses.replace(_standin(name), source=_source(name, real=False, reason=reason))
    return _open(name, paths, _source(name, real=True), facts["voxel_size"])
