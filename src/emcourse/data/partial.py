"""Subsets taken at the source: one level of an OME-Zarr store, a slab of an MRC file.

No lesson downloads more than it shows: :func:`fetch_zarr_level` fetches the
metadata and the chunks of one multiscale level only, and :func:`mrc_slab`
reads the header and then the bytes of a few sections with HTTP Range
requests. Every piece goes through the tiers (cache, mirror, archive) and is
cached like a whole file.
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

from emcourse.data import cache
from emcourse.data.messages import python_hint, unavailable
from emcourse.data.registry import empiar_url, fetch_hint, label
from emcourse.data.tiers import fetch_file
from emcourse.volume import Source, Volume

__all__ = [
    "chunk_check",
    "fetch_zarr_level",
    "mrc_slab",
    "read_zarr_level",
    "zarr_level_checks",
    "zarr_level_files",
]


# ------------------------------------------------------------------------ OME-Zarr


def chunk_keys(zarray: dict) -> list[str]:
    """Keys of every chunk of a zarr v2 array, from its ``.zarray`` metadata.

    Examples
    --------
    >>> chunk_keys({"shape": [4, 3], "chunks": [2, 2], "dimension_separator": "/"})
    ['0/0', '0/1', '1/0', '1/1']
    """
    sep = zarray.get("dimension_separator", ".") or "."
    grid = [range(math.ceil(s / c)) for s, c in zip(zarray["shape"], zarray["chunks"], strict=True)]
    return [sep.join(str(i) for i in idx) for idx in itertools.product(*grid)]


def _check_json(path: Path) -> None:
    try:
        json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: expected JSON metadata, found unreadable text ({exc}).") from exc


def chunk_check(zarray: dict):
    """A check that a chunk file decodes to one whole chunk of ``zarray`` (zarr v2).

    Zarr v2 stores edge chunks whole, so every chunk decodes to
    ``prod(chunks) * itemsize`` bytes; a truncated or flipped compressed chunk
    fails to decode or decodes short.
    """
    import numcodecs
    from numcodecs.compat import ensure_ndarray

    comp = zarray.get("compressor")
    codec = numcodecs.get_codec(dict(comp)) if comp else None
    filters = [numcodecs.get_codec(dict(f)) for f in zarray.get("filters") or []]
    dtype = np.dtype(zarray["dtype"]) if isinstance(zarray.get("dtype"), str) else None
    expected = math.prod(zarray["chunks"]) * dtype.itemsize if dtype is not None else None
    what = comp.get("id", "compressed") if comp else "uncompressed"

    def check_chunk(path: Path) -> None:
        raw = path.read_bytes()
        # Blosc decodes a truncated frame without a word, but its 16-byte header records
        # the frame's length and the decoded size: checked without decoding (fast).
        if what == "blosc" and not filters:
            said = int.from_bytes(raw[12:16], "little") if len(raw) >= 16 else -1
            n = int.from_bytes(raw[4:8], "little") if len(raw) >= 16 else -1
            if said != len(raw):
                raise ValueError(
                    f"{path}: a blosc zarr chunk of {len(raw):,} bytes whose header says "
                    f"{max(said, 0):,} (truncated or damaged)."
                )
            if expected is not None and n != expected:
                raise ValueError(
                    f"{path}: a zarr chunk decodes to {n:,} bytes, expected {expected:,}."
                )
            return
        try:
            buf = codec.decode(raw) if codec else raw
            for f in reversed(filters):
                buf = f.decode(buf)
            n = ensure_ndarray(buf).nbytes
        except Exception as exc:  # codecs raise many types for broken input
            raise ValueError(f"{path}: a {what} zarr chunk that does not decode: {exc}") from exc
        if expected is not None and n != expected:
            raise ValueError(
                f"{path}: a zarr chunk decodes to {n:,} bytes, expected {expected:,} "
                f"({'x'.join(map(str, zarray['chunks']))} {dtype})."
            )

    return check_chunk


def _meta_urls(store: str, level: str) -> list[str]:
    return [f"{store}/.zattrs", f"{store}/.zgroup", f"{store}/{level}/.zarray"]


def fetch_zarr_level(entry: dict) -> Path:
    """Fetch the metadata and every chunk of level ``entry["level"]``; return the store root."""
    store = entry["url"].rstrip("/")
    level = str(entry.get("level", 0))
    kw = {"label": label(entry), "hint": fetch_hint(entry)}
    meta = _meta_urls(store, level)
    files = [fetch_file(u, check=_check_json, **kw) for u in meta]
    zarray = json.loads(files[-1].read_text(encoding="utf-8"))
    if zarray.get("zarr_format") != 2:
        raise unavailable(
            label(entry),
            f"expected a zarr v2 array at {meta[-1]}, found zarr_format "
            f"{zarray.get('zarr_format')!r}.",
            "The registry's URL is wrong for this version; please tell the course maintainers.",
            kind="corrupt",
        )
    urls = meta + [f"{store}/{level}/{key}" for key in chunk_keys(zarray)]
    check = chunk_check(zarray)  # every chunk is checked before it enters the cache
    files += [fetch_file(u, check=check, **kw) for u in urls[len(meta) :]]
    # A store split between a read-only cache and the user cache is gathered in one place.
    dirs = {Path(str(f)[: -len(cache.relpath(u))]) for f, u in zip(files, urls, strict=True)}
    rel_store = cache.relpath(store)
    root = dirs.pop() / rel_store
    if dirs:
        write_dir = cache.write_dir()
        root = write_dir / rel_store
        for f, u in zip(files, urls, strict=True):
            target = write_dir / cache.relpath(u)
            if not target.exists():
                cache.install(f, target)
    return root


def zarr_level_files(entry: dict, dirs: list[Path]) -> list[str] | None:
    """Cache paths of every file of the level, or None while its chunk list is unknown."""
    store = entry["url"].rstrip("/")
    level = str(entry.get("level", 0))
    rels = [cache.relpath(u) for u in _meta_urls(store, level)]
    for d in dirs:
        za = d / rels[-1]
        if za.is_file() and cache.is_readable(za):
            try:
                keys = chunk_keys(json.loads(za.read_text(encoding="utf-8")))
            except (ValueError, KeyError, TypeError):
                return None
            return rels + [cache.relpath(f"{store}/{level}/{k}") for k in keys]
    return None


def zarr_level_checks(entry: dict, dirs: list[Path]) -> dict[str, object]:
    """The format check of each cached file of the level, by cache path (for verify)."""
    store = entry["url"].rstrip("/")
    level = str(entry.get("level", 0))
    rels = [cache.relpath(u) for u in _meta_urls(store, level)]
    out = dict.fromkeys(rels, _check_json)
    for d in dirs:
        za = d / rels[-1]
        if not (za.is_file() and cache.is_readable(za)):
            continue
        try:
            zarray = json.loads(za.read_text(encoding="utf-8"))
            check = chunk_check(zarray)
            keys = chunk_keys(zarray)
        except (ValueError, KeyError, TypeError):
            continue
        for k in keys:
            out.setdefault(cache.relpath(f"{store}/{level}/{k}"), check)
    return out


def read_zarr_level(root: Path, level: int | str) -> np.ndarray:
    """The array of one level of a local zarr v2 store; ValueError when it is unreadable."""
    import zarr

    try:
        arr = zarr.open_array(store=str(root / str(level)), mode="r", zarr_format=2)
        return np.asarray(arr[:])
    except Exception as exc:  # zarr/numcodecs raise many types for broken stores
        raise ValueError(f"{root}: level {level} is not a readable zarr array: {exc}") from exc


def zarr_scale(root: Path, level: int | str) -> float | tuple[float, float, float] | None:
    """Angstrom per voxel of one level from the store's OME ``.zattrs``; None if it has none."""
    try:
        attrs = json.loads((root / ".zattrs").read_text(encoding="utf-8"))
        ms = attrs["multiscales"][0]
        scale_to_a = 1.0
        units = {ax.get("unit") for ax in ms.get("axes", []) if isinstance(ax, dict)}
        if units & {"nanometer", "nm"}:
            scale_to_a = 10.0
        for ds in ms["datasets"]:
            if str(ds["path"]) == str(level):
                for t in ds.get("coordinateTransformations", []):
                    if t.get("type") == "scale":
                        zyx = tuple(float(v) * scale_to_a for v in t["scale"][-3:])
                        return zyx[0] if zyx[0] == zyx[1] == zyx[2] else zyx
    except (OSError, KeyError, IndexError, TypeError, ValueError):
        pass
    return None


# ---------------------------------------------------------------------- MRC slabs


def mrc_slab(
    url_or_empiar: str | int,
    path: str | None = None,
    *,
    z: tuple[int, int],
    accession: str = "",
) -> Volume:
    """Read sections ``z[0]:z[1]`` of a large remote MRC file with HTTP Range requests.

    Downloads the 1024-byte header first, then only the bytes of the slab
    (no full download); both pieces are cached, so a repeat is offline.

    Parameters
    ----------
    url_or_empiar : str or int
        An ``http(s)`` URL of an uncompressed MRC file, or an EMPIAR entry
        number (then ``path`` is the file inside the entry, as in
        :func:`~emcourse.data.empiar_file`).
    path : str, optional
        With an EMPIAR entry: the file's path.
    z : tuple of int
        ``(start, stop)`` section indices, ``0 <= start < stop <= nz``.
    accession : str
        Accession recorded in the result's source.

    Returns
    -------
    Volume
        ``(stop - start, ny, nx)``; the origin's z is shifted by ``start``
        sections.

    Raises
    ------
    ValueError
        A gzip file (not seekable), an axis order other than 1,2,3, or
        ``z`` outside the file.
    DataUnavailableError
        No copy could be had.
    """
    from emcourse.io import HEADER_BYTES, as_float, parse_mrc_header

    start, stop = (int(v) for v in z)
    if isinstance(url_or_empiar, int) or not str(url_or_empiar).startswith(("http:", "https:")):
        if path is None:
            raise ValueError("mrc_slab(EMPIAR_ENTRY, PATH, z=...) needs the file's path.")
        url, acc = empiar_url(url_or_empiar, path)
        args = f"{acc.removeprefix('EMPIAR-')}, {path!r}"
    else:
        url, acc = str(url_or_empiar), Path(urlsplit(str(url_or_empiar)).path).name
        args = repr(url)
    accession = accession or acc
    if url.endswith(".gz"):
        raise ValueError(f"{url}: a gzip file cannot be read by byte ranges; download it whole.")
    fetch_kw = {
        "label": f"{accession} (z {start}:{stop})",
        "hint": python_hint(f"mrc_slab({args}, z=({start}, {stop}))"),
        "standin": False,
    }

    def check_header(p: Path) -> None:
        raw = p.read_bytes()
        if len(raw) != HEADER_BYTES:
            raise ValueError(
                f"{p}: asked for the {HEADER_BYTES}-byte header, received {len(raw):,} bytes "
                "(the server may not honour HTTP Range requests)."
            )
        parse_mrc_header(raw, name=url)

    hpath = fetch_file(
        url,
        **fetch_kw,
        check=check_header,
        headers={"Range": f"bytes=0-{HEADER_BYTES - 1}"},
        suffix=".header1024",
    )
    h = parse_mrc_header(hpath.read_bytes(), name=url)
    if h["mapcrs"] != (1, 2, 3):
        raise ValueError(
            f"{url}: a slab read needs axis order MAPC/MAPR/MAPS = 1,2,3 (sections along z), "
            f"found {h['mapcrs']}; download the whole file instead."
        )
    if not 0 <= start < stop <= h["nz"]:
        raise ValueError(f"{url}: asked for sections {start}:{stop}, the file has 0:{h['nz']}.")
    section = h["nx"] * h["ny"] * h["dtype"].itemsize
    first = h["data_offset"] + start * section
    length = (stop - start) * section

    def check_slab(p: Path) -> None:
        size = p.stat().st_size
        if size != length:
            raise ValueError(
                f"{p}: expected {length:,} bytes for sections {start}:{stop}, received {size:,} "
                "(truncated, or the server ignored the Range request)."
            )

    spath = fetch_file(
        url,
        **fetch_kw,
        check=check_slab,
        headers={"Range": f"bytes={first}-{first + length - 1}"},
        suffix=f".z{start}-{stop}.bytes",
    )
    data = np.fromfile(spath, dtype=h["dtype"]).reshape(stop - start, h["ny"], h["nx"])
    data = as_float(data.astype(h["dtype"].newbyteorder("=")))
    vx, vy, vz = (round(v, 5) for v in h["voxel_size_xyz"])
    if any(h["origin_xyz"]):
        ox, oy, oz = h["origin_xyz"]
    else:
        ox, oy, oz = (s * v for s, v in zip(h["nstart"], (vx, vy, vz), strict=True))
    source = Source(
        accession=accession,
        licence="CC0-1.0" if "ebi.ac.uk" in url else "see the archive entry",
        url=url,
        real=True,
        note=f"sections {start}:{stop} of {h['nz']}, read with HTTP Range requests",
    )
    return Volume(
        data=data,
        voxel_size=vx if vx == vy == vz else (vz, vy, vx),
        source=source,
        origin=(oz + start * vz, oy, ox),
    )
