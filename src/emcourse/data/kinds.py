"""Dataset kinds: everything the data layer knows about a kind of data, in one definition.

A :class:`Kind` says how a downloaded file is validated, how the local file(s)
are opened into what the lesson receives, and which synthetic stand-in
replaces them (with the same return type) when no real copy can be had. The
fetching code (:mod:`~emcourse.data.tiers`, :mod:`~emcourse.data.core`,
:mod:`~emcourse.data.maintenance`) asks the entry's kind and never tests a
kind's name, so adding a kind is adding a definition to :data:`KINDS` (plus
its registry entries and tests).

Stand-in generators live in the track packages and are imported inside the
stand-in functions, so importing the data layer imports no science.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from emcourse.data import kinds_hela2d, kinds_micrograph, kinds_tiltstack, kinds_wheel
from emcourse.data.kinds_relion5 import RELION5_KINDS
from emcourse.data.messages import short, unavailable
from emcourse.data.partial import (
    fetch_zarr_level,
    read_zarr_level,
    zarr_level_checks,
    zarr_level_files,
    zarr_scale,
)
from emcourse.data.registry import MAIN, file_urls, label, registry, source
from emcourse.volume import Source, Volume, convert_voxel_coordinates

__all__ = ["KINDS", "Kind", "check_by_extension", "kind_of"]

SIZE_FACTOR = 4  # a checked file size may differ this much from the registry's (re-processing)


@dataclass(frozen=True)
class Kind:
    """One kind of dataset (a map, a tilt-series mdoc, a label volume, ...).

    Parameters
    ----------
    name : str
        The registry's ``kind = "..."``.
    returns : str
        What :func:`~emcourse.data.load` returns for it, in words (for docs).
    open : callable ``(paths, entry) -> object``
        Opens the checked local files; ``paths`` maps each role to its file
        (``{"main": path}`` for an entry with one ``url``, the roles of its
        ``[name.files]`` table otherwise). May raise ValueError.
    standin : callable ``(entry, source) -> object``
        The deterministic synthetic stand-in, of the same type as ``open``
        returns; ``source`` is the stand-in's provenance (it says why).
    validate : callable ``(path, entry, role) -> None``, optional
        Checks one downloaded file before it is moved into the cache; raises
        ValueError naming the file, what was expected and what was found.
        Default: no check beyond a pinned sha256.
    fetch : callable ``(entry) -> dict of str to Path``, optional
        A custom fetch for data that are not one file per role (an OME-Zarr
        level: metadata plus chunks), built on
        :func:`~emcourse.data.tiers.fetch_file`. Datasets with a custom fetch
        are checked by format, not pinned.
    files : callable ``(entry, dirs) -> list of str or None``, optional
        With ``fetch``: the cache paths of every file, for ``is_cached`` and
        ``mirror_missing`` (None while unknown). Default: one per role.
    checks : callable ``(entry, dirs) -> dict of str to callable``, optional
        With ``fetch``: the format check of each cached file by its cache
        path, for ``emcourse data verify`` (an OME-Zarr chunk decodes to a
        whole chunk). Default: ``validate`` for each role's file.
    """

    name: str
    returns: str
    open: Callable[[dict[str, Path], dict], Any]
    standin: Callable[[dict, Source], Any]
    validate: Callable[[Path, dict, str], None] | None = None
    fetch: Callable[[dict], dict[str, Path]] | None = None
    files: Callable[[dict, list[Path]], list[str] | None] | None = None
    checks: Callable[[dict, list[Path]], dict[str, Callable[[Path], None]]] | None = None


def _simulate():
    """The STA track's generators, imported lazily (the data layer does not need them)."""
    from emcourse.sta import simulate

    return simulate


def _tilt_scheme(**kwargs):
    from emcourse.sta import tilt_scheme

    return tilt_scheme(**kwargs)


# --------------------------------------------------------------------------- map


def _check_size(path: Path, entry: dict) -> None:
    """The file's size is within :data:`SIZE_FACTOR` of the registry's checked size."""
    expected = entry.get("size")
    if not expected or entry.get("size_estimated") or "files" in entry:
        return
    size = path.stat().st_size
    if not expected / SIZE_FACTOR <= size <= expected * SIZE_FACTOR:
        raise ValueError(
            f"{path}: expected about {expected:,} bytes for {entry['accession']} (the registry's "
            f"checked size), found {size:,}: not the file the course was written for"
        )


def _validate_map(path: Path, entry: dict, role: str) -> None:
    from emcourse.io import read_mrc

    vol = read_mrc(path)
    _check_size(path, entry)
    lo, hi = float(np.min(vol.data)), float(np.max(vol.data))
    if lo == hi:
        raise ValueError(
            f"{path}: expected a density map for {entry['accession']}, found every voxel "
            f"equal to {lo:g}."
        )
    if not entry.get("shape_verified"):
        return
    shape = entry.get("shape")
    if shape and tuple(vol.shape) != tuple(shape):
        raise ValueError(
            f"{path}: expected a {tuple(shape)} map for {entry['accession']}, found {vol.shape}."
        )
    vs = entry.get("voxel_size")
    if vs and not np.allclose(vol.voxel_size_zyx, vs, rtol=1e-3):
        raise ValueError(
            f"{path}: expected voxel size {vs} A for {entry['accession']}, "
            f"found {vol.voxel_size_zyx}."
        )


def _open_map(paths: dict[str, Path], entry: dict) -> Volume:
    from emcourse.io import read_mrc

    vol = read_mrc(paths[MAIN])
    return Volume(
        data=vol.data, voxel_size=vol.voxel_size, source=source(entry, real=True), origin=vol.origin
    )


def _standin_map(entry: dict, src: Source) -> Volume:
    shape = entry.get("shape") or [48, 48, 48]
    vs = float(entry.get("voxel_size") or 4.0)
    box = int(max(shape))
    data = _simulate().standin_map(
        box=box,
        voxel_size=vs,
        value_range=tuple(entry.get("value_range", (0.0, 1.0))),
        diameter=float(entry.get("standin_diameter", 0.6 * box * vs)),
        form=entry.get("standin_form", "molecule"),
        symmetry=int(entry.get("standin_symmetry", 1)),
    )
    return Volume(data=data, voxel_size=vs, source=src)


# -------------------------------------------------------------------------- mdoc


def _validate_mdoc(path: Path, entry: dict, role: str) -> None:
    from emcourse.io import read_mdoc

    sections = read_mdoc(path)
    n = entry.get("n_sections")
    if n and len(sections) != n:
        raise ValueError(f"{path}: expected {n} mdoc sections, found {len(sections)}.")
    _check_size(path, entry)


def _open_mdoc(paths: dict[str, Path], entry: dict) -> list[dict]:
    from emcourse.io import read_mdoc

    return read_mdoc(paths[MAIN])


def standin_mdoc(entry: dict, src: Source | None = None) -> list[dict]:
    """SerialEM sections of a dose-symmetric tilt series, -60..+60 degrees in 3 degree steps."""
    pixel = float(entry.get("pixel_size", 5.4))
    angles = _tilt_scheme(min_angle=-60.0, max_angle=60.0, step=3.0)
    return [
        {
            "PixelSpacing": pixel,
            "Titles": ["emcourse synthetic stand-in: dose-symmetric tilt series"],
            "ZValue": i,
            "TiltAngle": float(angle),
            "ExposureDose": 3.0,
            "Defocus": -3.0,
            "DateTime": f"01-Jan-00  00:{i // 60:02d}:{i % 60:02d}",
        }
        for i, angle in enumerate(angles)
    ]


# ---------------------------------------------------------------- tomogram-zarr


def tomogram_voxel_size(entry: dict) -> float:
    """Angstrom per voxel of the OME-Zarr level an entry takes (registry values)."""
    return float(entry.get("voxel_size", 1.0)) * 2 ** int(entry.get("level", 0))


def _fetch_zarr(entry: dict) -> dict[str, Path]:
    root = fetch_zarr_level(entry)
    try:
        read_zarr_level(root, entry.get("level", 0))
    except ValueError as exc:
        raise unavailable(
            label(entry),
            str(exc),
            "Run `emcourse data verify`, delete the bad files and "
            f"`emcourse data fetch {entry['name']}` again.",
            kind="corrupt",
            summary=short(exc)[:240],
        ) from exc
    return {MAIN: root}


def _open_zarr(paths: dict[str, Path], entry: dict) -> Volume:
    from emcourse.io import as_float

    root, level = paths[MAIN], entry.get("level", 0)
    data = as_float(read_zarr_level(root, level))
    voxel = zarr_scale(root, level)
    if voxel is None:
        voxel = tomogram_voxel_size(entry)
        print(
            f"emcourse: {root}: no scale for level {level} in .zattrs; using the registry's "
            f"voxel size, {voxel:g} A."
        )
    return Volume(data=data, voxel_size=voxel, source=source(entry, real=True))


@functools.lru_cache(maxsize=4)
def _simulated_tomogram(name: str):
    simulate = _simulate()
    entry = registry()[name]
    vs = tomogram_voxel_size(entry)
    reference = simulate.phantom_map(box=16, voxel_size=vs, diameter=260.0)
    return simulate.simulate_tomogram(
        reference,
        voxel_size=vs,
        shape=tuple(entry.get("standin_shape", (48, 128, 128))),
        n_particles=int(entry.get("standin_particles", 12)),
        tilt_range=tuple(entry.get("tilt_range", (-60.0, 60.0))),
        seed=0,
    )


def _standin_zarr(entry: dict, src: Source) -> Volume:
    sim = _simulated_tomogram(entry["name"])
    return Volume(
        data=np.asarray(sim.tomogram, dtype=np.float32),
        voxel_size=tomogram_voxel_size(entry),
        source=src,
    )


# ------------------------------------------------------------------------- picks


def _validate_picks(path: Path, entry: dict, role: str) -> None:
    from emcourse.io import read_ndjson_points

    read_ndjson_points(path)


def _open_picks(paths: dict[str, Path], entry: dict) -> dict:
    from emcourse.io import read_ndjson_points

    points = read_ndjson_points(paths[MAIN])
    tomo = registry().get(entry.get("tomogram", ""), {})
    target = tomogram_voxel_size(tomo) if tomo else float(entry["voxel_size"])
    zyx = np.array([p["_zyx"] for p in points], dtype=float).reshape(-1, 3)
    rot = None
    if points and all("xyz_rotation_matrix" in p for p in points):
        rot = np.array([p["xyz_rotation_matrix"] for p in points], dtype=float)
    return {
        "positions": convert_voxel_coordinates(
            zyx, from_voxel_size=float(entry["voxel_size"]), to_voxel_size=target
        ),
        "voxel_size": target,
        "rotations": rot,
        "source": source(entry, real=True),
    }


def _standin_picks(entry: dict, src: Source) -> dict:
    tomo = registry()[entry["tomogram"]]
    sim = _simulated_tomogram(tomo["name"])
    return {
        "positions": np.asarray(sim.positions, dtype=float),
        "voxel_size": tomogram_voxel_size(tomo),
        "rotations": np.asarray(sim.rotations) if sim.rotations is not None else None,
        "source": src,
    }


# ------------------------------------------------------------ volume EM (segmentation)


def _vem_source_claim(entry: dict, claim) -> tuple | None:
    return None if claim is None else (None, claim, claim)


def _validate_vem(path: Path, entry: dict, role: str) -> None:
    from emcourse.io import read_h5_stack, read_png_stack, read_tiff_volume, read_tiff_zip

    name = str(path).lower()
    url = file_urls(entry)[role].lower()
    if url.endswith(".zip"):
        read_tiff_zip(path)
    elif url.endswith((".tif", ".tiff")):
        arr, _ = read_tiff_volume(path)
        shape = entry.get("shape")
        if shape and entry.get("shape_verified") and arr.shape != tuple(shape):
            raise ValueError(f"{path}: expected shape {tuple(shape)}, found {arr.shape}.")
    elif url.endswith(".h5"):
        read_h5_stack(path)
    elif url.endswith(".png"):
        read_png_stack([path])
    else:  # pragma: no cover - registry entries name one of the above
        raise ValueError(f"{name}: no reader for this file type")


def _open_vem(paths: dict[str, Path], entry: dict):
    """TIFF volume + TIFF labels, a ZIP of TIFF slices, or GALA's HDF5 blocks (PNG image)."""
    from emcourse.io import read_h5_stack, read_png_stack, read_tiff_volume, read_tiff_zip
    from emcourse.segment.types import VemVolume

    vs, src = float(entry["voxel_size"]), source(entry, real=True)
    claim, labels = None, None
    if str(paths.get(MAIN, "")).lower().endswith(".zip"):
        em, claim = read_tiff_zip(paths[MAIN])
    elif str(paths["em" if "em" in paths else "im00"]).lower().endswith((".tif", ".tiff")):
        em, claim = read_tiff_volume(paths["em"])
    elif "em" in paths:
        em = read_h5_stack(paths["em"])
    else:
        em = read_png_stack([paths[r] for r in sorted(r for r in paths if r.startswith("im"))])
    if "labels" in paths:
        lab = paths["labels"]
        labels = read_h5_stack(lab) if str(lab).endswith(".h5") else read_tiff_volume(lab)[0]
        if labels.shape != em.shape:
            raise ValueError(
                f"{entry['name']}: EM {em.shape} and labels {labels.shape} differ in shape."
            )
    return VemVolume(em, labels, vs, src, file_voxel_size=_vem_source_claim(entry, claim))


@functools.cache
def _vem_standin_arrays(generator: str, shape: tuple, voxel_size: float, seed: int):
    from emcourse import segment

    if generator == "neuron":
        return segment.neuron_standin(shape, seed=seed)
    return segment.hela_standin(shape, voxel_size=voxel_size, seed=seed)


def _standin_vem(entry: dict, src: Source):
    from emcourse.segment.types import VemVolume

    shape = tuple(entry.get("standin_shape", entry["shape"]))
    s = _vem_standin_arrays(
        entry.get("standin_generator", "hela"),
        shape,
        float(entry["voxel_size"]),
        int(entry.get("standin_seed", 0)),
    )
    labels = s.labels if entry.get("labelled", True) else None
    return VemVolume(s.em, labels, float(entry["voxel_size"]), src, clean=s.clean)


# ------------------------------------------------------------------ CLEM (landmarks, pairs)


def _validate_cosem(path: Path, entry: dict, role: str) -> None:
    from emcourse.io import read_cosem_landmarks

    read_cosem_landmarks(path)


def _open_cosem(paths: dict[str, Path], entry: dict):
    from emcourse.io import read_cosem_landmarks

    return read_cosem_landmarks(paths[MAIN], source=source(entry, real=True))


def _standin_cosem(entry: dict, src: Source):
    from emcourse.clem import standin

    return standin.standin_cosem_landmarks(source=src)


def _validate_bigwarp(path: Path, entry: dict, role: str) -> None:
    from emcourse.io import read_bigwarp_csv

    read_bigwarp_csv(path)


def _open_bigwarp(paths: dict[str, Path], entry: dict) -> dict:
    from emcourse.io import read_bigwarp_csv

    return read_bigwarp_csv(paths[MAIN]) | {"source": source(entry, real=True)}


def _standin_bigwarp(entry: dict, src: Source) -> dict:
    from emcourse.clem import standin

    return standin.standin_bigwarp(source=src)


def _validate_elastix_zip(path: Path, entry: dict, role: str) -> None:
    import zipfile

    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path}: expected a zip of elastix parameter files, found no zip.")
    with zipfile.ZipFile(path) as zf:
        names = [n for n in zf.namelist() if n.endswith("TransformParameters.txt")]
    if not names:
        raise ValueError(f"{path}: expected *TransformParameters.txt files in the zip, found none.")


def _open_elastix_zip(paths: dict[str, Path], entry: dict) -> dict:
    import zipfile

    with zipfile.ZipFile(paths[MAIN]) as zf:
        files = {n: zf.read(n).decode("utf-8") for n in zf.namelist() if n.endswith(".txt")}
    return {"files": files, "source": source(entry, real=True)}


def _standin_elastix_zip(entry: dict, src: Source) -> dict:
    from emcourse.clem import standin

    return standin.standin_elastix_files(source=src)


def _validate_png(path: Path, entry: dict, role: str) -> None:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            img.verify()
    except (UnidentifiedImageError, OSError) as exc:
        raise ValueError(f"{path}: expected a PNG image ({role}), found: {exc}") from exc


def _open_image_pair(paths: dict[str, Path], entry: dict):
    from PIL import Image

    from emcourse.clem.types import ImagePair

    em = np.asarray(Image.open(paths["em"]).convert("L"), dtype=np.float32)
    lm = np.asarray(Image.open(paths["lm"]).convert("L"), dtype=np.float32)
    pixel = float(entry.get("pixel_size", 1.0))
    return ImagePair(
        em=em,
        lm=lm[None],
        em_pixel=pixel,
        lm_pixel=pixel,
        channels=tuple(entry.get("channels", ("fluorescence",))),
        unit=entry.get("unit", "px"),
        source=source(entry, real=True),
        truth={"matrix": np.eye(3), "registered": True},
    )


def _standin_image_pair(entry: dict, src: Source):
    from emcourse.clem import standin

    return standin.standin_registered_pair(seed=6, shape=tuple(entry["shape"]), source=src)


# ------------------------------------------------------------------ the kinds

KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind(
            "map",
            returns="Volume (angstrom voxels, origin from the header)",
            open=_open_map,
            standin=_standin_map,
            validate=_validate_map,
        ),
        Kind(
            "mdoc",
            returns="list of dict, one per tilt (see emcourse.io.read_mdoc)",
            open=_open_mdoc,
            standin=standin_mdoc,
            validate=_validate_mdoc,
        ),
        Kind(
            "tomogram-zarr",
            returns="Volume of one OME-Zarr level",
            open=_open_zarr,
            standin=_standin_zarr,
            checks=zarr_level_checks,
            fetch=_fetch_zarr,
            files=zarr_level_files,
        ),
        Kind(
            "picks",
            returns="dict: positions (n, 3) zyx voxels of the linked tomogram, voxel_size, "
            "rotations (n, 3, 3) or None, source",
            open=_open_picks,
            standin=_standin_picks,
            validate=_validate_picks,
        ),
        Kind(
            "vem",
            returns="VemVolume: em, labels (or None), voxel_size in nm, source, file_voxel_size",
            open=_open_vem,
            standin=_standin_vem,
            validate=_validate_vem,
        ),
        Kind(
            "landmarks-cosem",
            returns="clem.Landmarks: light (moving) and EM (fixed) points, nm, (z, y, x), "
            "with every rater's EM placements",
            open=_open_cosem,
            standin=_standin_cosem,
            validate=_validate_cosem,
        ),
        Kind(
            "landmarks-bigwarp",
            returns="dict: names, active, moving and fixed (n, K) in the file's unit, "
            "(z, y, x); ndim; source",
            open=_open_bigwarp,
            standin=_standin_bigwarp,
            validate=_validate_bigwarp,
        ),
        Kind(
            "elastix-transforms",
            returns="dict: files (name -> parameter-file text), source",
            open=_open_elastix_zip,
            standin=_standin_elastix_zip,
            validate=_validate_elastix_zip,
        ),
        Kind(
            "image-pair",
            returns="clem.ImagePair: an EM image and a light channel on one grid",
            open=_open_image_pair,
            standin=_standin_image_pair,
            validate=_validate_png,
        ),
        Kind("micrograph", **kinds_micrograph.KIND),
        *(Kind(*args) for args in RELION5_KINDS),  # data/kinds_relion5.py
        Kind("mito-slices", **kinds_hela2d.KIND),  # data/kinds_hela2d.py
        Kind("tilt-series-stack", **kinds_tiltstack.KIND),  # data/kinds_tiltstack.py
        Kind("sample-wheel-tomogram", **kinds_wheel.KIND),  # data/kinds_wheel.py
    )
}


def kind_of(entry: dict) -> Kind:
    """The :class:`Kind` of a registry entry; ValueError for a kind nobody defined."""
    try:
        return KINDS[entry["kind"]]
    except KeyError:
        raise ValueError(
            f"{entry['name']}: unknown kind {entry.get('kind')!r}; "
            f"known: {', '.join(sorted(KINDS))} (see emcourse/data/kinds.py)."
        ) from None


def check_by_extension(name: str) -> Callable[[Path], None]:
    """A format check for a file outside the registry, chosen by its name's ending."""
    low = name.lower()

    def check(path: Path) -> None:
        if low.endswith((".mrc", ".map", ".rec", ".st", ".ccp4", ".mrcs", ".map.gz", ".mrc.gz")):
            from emcourse.io import read_mrc_header

            read_mrc_header(path)
        elif low.endswith((".tif", ".tiff")):
            import tifffile

            try:
                with tifffile.TiffFile(path) as tif:
                    tif.series[0].shape  # noqa: B018
            except Exception as exc:  # tifffile raises many types for bad files
                raise ValueError(f"{path}: expected a readable TIFF, found: {exc}") from exc
        elif low.endswith(".mdoc"):
            from emcourse.io import read_mdoc

            read_mdoc(path)

    return check
