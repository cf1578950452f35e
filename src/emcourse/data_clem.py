"""The CLEM track's datasets: registry records, opening, and stand-ins.

An interim module until the data package's dataset kinds land: it fetches
through the same tiers as :mod:`emcourse.data` (cache -> ``EMCOURSE_MIRROR`` ->
archive, checked by sha256), opens the files with :mod:`emcourse.io_clem`,
and falls back, announced once with the reason, to the seeded stand-ins of
:mod:`emcourse.clem.standin`. ``load(name)`` behaves as ``data.load(name)``.

Every real file is named by its raw GitHub URL at a fixed commit.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from emcourse import data as _data
from emcourse.volume import Source

__all__ = ["CLEM_DATASETS", "load"]

_COSEM = (
    "https://raw.githubusercontent.com/janelia-cellmap/cosem-lm-em-registration/"
    "c87dfb6b8b96a269eb31174408f55353ef485b25/"
)
_DEEPCLEM = (
    "https://raw.githubusercontent.com/Rickmic/Deep_CLEM/d4cb80fbad0f5c177c52542cfb7534bbfad1c708/"
)
_HEINRICH = (
    "Heinrich L. et al. (2021) Whole-cell organelle segmentation in volume electron "
    "microscopy. Nature 599, 141-146, doi:10.1038/s41586-021-03977-3; landmarks from "
    "github.com/janelia-cellmap/cosem-lm-em-registration (BSD-2-Clause)."
)
_SEIFERT = (
    "Seifert R. et al. (2020) DeepCLEM: automated registration for correlative light and "
    "electron microscopy using deep learning. F1000Research 9, 1275, "
    "doi:10.12688/f1000research.27158.1; images by S. M. Markert (University of Wuerzburg)."
)

CLEM_DATASETS: dict[str, dict] = {
    "cosem-clem-landmarks": {
        "accession": "COSEM jrc CLEM landmarks (Heinrich et al. 2021)",
        "kind": "landmarks-cosem",
        "url": _COSEM + "heinrich-2021a-data/clem-landmarks.csv",
        "sha256": "ab887e9e81090d60f56bc989f2bc36f0660e32f5015d56edd4e10aa1884a6d1d",
        "licence": "BSD-2-Clause",
        "citation": _HEINRICH,
        "subset": "31 light-microscopy landmarks placed in the FIB-SEM by two people (AW, JB) "
        "and by the automatic method (Auto); micrometres in the file, nanometres here.",
        "verified": "sha256 and content read from the shared fixture copy of this file "
        "(repository janelia-cellmap/cosem-lm-em-registration at the pinned commit).",
    },
    "cosem-bigwarp-tcell-roi2": {
        "accession": "COSEM BigWarp landmarks, tcell_roi2",
        "kind": "bigwarp-csv",
        "url": _COSEM + "scripts/tcell_roi2/bigwarpLandmarks.csv",
        "sha256": "558ac549a602d36c61140843067296f42f11d22407cf48c5f37ab59da20829cf",
        "licence": "BSD-2-Clause",
        "citation": _HEINRICH,
        "subset": "a real BigWarp landmark export (23 rows, 22 active, 3D, micrometres)",
    },
    "cosem-elastix-transforms": {
        "accession": "COSEM CLEM elastix transforms",
        "kind": "elastix-zip",
        "url": _COSEM + "heinrich-2021a-data/clem-transformations.zip",
        "sha256": "62b688930886970681bfd6e4c92ceb9a50144e63f5de2a075781fffd2dc44079",
        "licence": "BSD-2-Clause",
        "citation": _HEINRICH,
        "subset": "elastix affine and B-spline parameter files, cryo-SIM and PALM to FIB-SEM",
    },
    "deepclem-s6": {
        "accession": "DeepCLEM example pair s6 (C. elegans, array tomography)",
        "kind": "image-pair-png",
        "url": _DEEPCLEM + "data/EM_raw/s6_ds.png",
        "sha256": "e08385ea344def882f441036d52edcaefefacce67e8b6d97e0dbbcdb4d8be456",
        "url_lm": _DEEPCLEM + "data/FM_raw/s6_ds.png",
        "sha256_lm": "0fc771d5c479535b41e692aeda9b4ff24460676b8f52b4b18a63526d77955892",
        "licence": "MIT",
        "citation": _SEIFERT,
        "subset": "one registered pair: SEM image and chromatin fluorescence (Hoechst) on one "
        "1280 x 954 grid; pixel size not recorded (pixels here)",
        "verified": "Git blob hashes of the shared fixture copies equal data/EM_raw/s6_ds.png and "
        "data/FM_raw/s6_ds.png of Rickmic/Deep_CLEM at commit d4cb80f (checked with "
        "git hash-object against the repository snapshot); licence MIT (LICENSE file).",
        "unverified": "Pixel size; how the pair was registered by its authors.",
    },
}


def _source(entry: dict, *, real: bool, reason: str = "") -> Source:
    return _data._source(entry | {"standin": "emcourse.clem.standin"}, real=real, reason=reason)


def _fetch(name: str, entry: dict, url: str, sha: str) -> Path:
    return _data._fetch_file(
        url,
        label=f"{entry['accession']} ({name})",
        hint=f"emcourse.data_clem.load({name!r})",
        pinned=sha,
    )


def _open(name: str, entry: dict):
    kind = entry["kind"]
    path = _fetch(name, entry, entry["url"], entry["sha256"])
    src = _source(entry, real=True)
    from emcourse import io_clem

    if kind == "landmarks-cosem":
        return io_clem.read_cosem_landmarks(path, source=src)
    if kind == "bigwarp-csv":
        return io_clem.read_bigwarp_csv(path) | {"source": src}
    if kind == "elastix-zip":
        with zipfile.ZipFile(path) as zf:
            files = {n: zf.read(n).decode("utf-8") for n in zf.namelist() if n.endswith(".txt")}
        return {"files": files, "source": src}
    if kind == "image-pair-png":
        from PIL import Image

        from emcourse.clem.types import ImagePair

        lm_path = _fetch(name, entry, entry["url_lm"], entry["sha256_lm"])
        em = np.asarray(Image.open(path).convert("L"), dtype=np.float32)
        lm = np.asarray(Image.open(lm_path).convert("L"), dtype=np.float32)
        return ImagePair(
            em=em,
            lm=lm[None],
            em_pixel=1.0,
            lm_pixel=1.0,
            channels=("chromatin",),
            unit="px",
            source=src,
            truth={"matrix": np.eye(3), "registered": True},
        )
    raise ValueError(f"{name}: unknown CLEM dataset kind {kind!r}.")


def _standin(name: str, entry: dict, reason: str):
    from emcourse import clem

    src = _source(entry, real=False, reason=reason)
    kind = entry["kind"]
    if kind == "landmarks-cosem":
        lm = clem.standin_landmarks(
            31,
            seed=7,
            extent=(300.0, 7000.0, 12500.0),
            sigma_moving=(60.0, 40.0, 40.0),
            sigma_fixed=20.0,
        )
        rng = np.random.default_rng(8)
        raters = {
            "AW": lm.fixed,
            "JB": lm.fixed + rng.standard_normal(lm.fixed.shape) * 20.0,
            "Auto": lm.fixed + rng.standard_normal(lm.fixed.shape) * 60.0,
        }
        return clem.Landmarks(lm.moving, lm.fixed, raters=raters, source=src, truth=lm.truth)
    if kind == "image-pair-png":
        pair = clem.standin_registered_pair(seed=6)
        return clem.ImagePair(
            em=pair.em,
            lm=pair.lm,
            em_pixel=1.0,
            lm_pixel=1.0,
            channels=pair.channels,
            unit="px",
            source=src,
            truth=pair.truth,
        )
    if kind == "bigwarp-csv":
        lm = clem.standin_landmarks(23, seed=9, extent=(3000.0, 20000.0, 20000.0))
        active = np.ones(23, dtype=bool)
        active[-1] = False
        return {
            "names": [f"Pt-{i}" for i in range(23)],
            "active": active,
            "moving": lm.moving / 1000.0,
            "fixed": lm.fixed / 1000.0,
            "ndim": 3,
            "source": src,
        }
    if kind == "elastix-zip":
        m = clem.true_transform(3, seed=10)
        a, t = clem.matrix_xyz(m)[:3, :3], clem.matrix_xyz(m)[:3, 3] / 1000.0
        inv = np.linalg.inv(np.vstack([np.hstack([a, t[:, None]]), [0, 0, 0, 1]]))
        numbers = " ".join(f"{v:.6f}" for v in [*inv[:3, :3].ravel(), *inv[:3, 3]])
        text = (
            '(Transform "AffineTransform")\n(NumberOfParameters 12)\n'
            f"(TransformParameters {numbers})\n(CenterOfRotationPoint 0.0 0.0 0.0)\n"
        )
        return {"files": {"sim_affine_TransformParameters.txt": text}, "source": src}
    raise _data.DataUnavailableError(f"{name}: no stand-in for a {kind} file; {reason}")


def load(name: str, *, standin: bool = True):
    """Load a CLEM dataset: the real files when they can be had, else the stand-in.

    Returns
    -------
    Landmarks, ImagePair or dict
        ``cosem-clem-landmarks``: :class:`emcourse.clem.Landmarks` (nm, (z, y, x));
        ``deepclem-s6``: :class:`emcourse.clem.ImagePair` (pixels);
        ``cosem-bigwarp-tcell-roi2``: the dict of :func:`emcourse.io_clem.read_bigwarp_csv`;
        ``cosem-elastix-transforms``: ``{"files": {name: text}, "source": ...}``.
        Each carries its ``source`` (accession, licence, citation).
    """
    try:
        entry = CLEM_DATASETS[name]
    except KeyError:
        raise KeyError(
            f"unknown CLEM dataset {name!r}; known: {', '.join(CLEM_DATASETS)}"
        ) from None
    try:
        return _open(name, entry)
    except _data.DataUnavailableError as exc:
        if not standin:
            raise
        reason = _data._short(exc.reason or exc)
        reason = reason if reason.endswith(".") else reason + "."
        _data._announce_once(
            name,
            f"emcourse: {entry['accession']} ({name}): using the synthetic stand-in, because "
            f"{reason}",
        )
        return _standin(name, entry, reason)
