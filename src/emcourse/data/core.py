"""The calls lessons make: a registry name (or an archive accession) in, data out.

:func:`load` walks the tiers for every file of a dataset (cache, mirror,
archive) and, when no checked copy can be had, returns the dataset kind's
deterministic stand-in, announced once with the reason and the command that
gets the real data. :func:`fetch` never returns a stand-in.
"""

from __future__ import annotations

from pathlib import Path

from emcourse.data import cache
from emcourse.data.kinds import check_by_extension, kind_of
from emcourse.data.messages import DataUnavailableError, announce_once, python_hint, short
from emcourse.data.provenance import record as record_provenance
from emcourse.data.registry import (
    EMDB_MAP_URL,
    MAIN,
    empiar_url,
    fetch_hint,
    file_urls,
    label,
    pinned_hash,
    registry,
    source,
)
from emcourse.data.registry import entry as _entry
from emcourse.data.tiers import fetch_file, watch_tiers
from emcourse.volume import Volume

__all__ = ["cache_state", "emdb_map", "empiar_file", "fetch", "is_cached", "load"]


def fetch_entry(entry: dict, *, progressbar: bool = False) -> dict[str, Path]:
    """``{role: local path}`` of every file of a registry entry, each checked by its kind."""
    kind = kind_of(entry)
    if kind.fetch is not None:
        return kind.fetch(entry)
    paths = {}
    for role, url in file_urls(entry).items():
        check = None
        if kind.validate is not None:

            def check(path: Path, role: str = role) -> None:
                kind.validate(path, entry, role)

        paths[role] = fetch_file(
            url,
            label=label(entry),
            hint=fetch_hint(entry),
            pinned=pinned_hash(entry, role),
            check=check,
            progressbar=progressbar,
            size=int(entry.get("size", 0)),
        )
    return paths


def fetch(name: str, *, progressbar: bool = False) -> Path | dict[str, Path]:
    """Get a registry dataset into the cache and return its local path.

    Tries the cache, then ``EMCOURSE_MIRROR``, then the archive. Never returns
    a stand-in: use :func:`load` for that.

    Parameters
    ----------
    name : str
        Registry name, e.g. ``"emd-3197"``.
    progressbar : bool
        Show a tqdm progress bar while downloading.

    Returns
    -------
    Path or dict of str to Path
        The file, or for OME-Zarr datasets the local ``.zarr`` store folder;
        for a dataset of several files (a ``[name.files]`` table), a
        dictionary role -> path.

    Raises
    ------
    DataUnavailableError
        No good copy could be had (offline, network down, corrupt download);
        the message says why and what to do.
    KeyError
        Unknown name.
    """
    paths = fetch_entry(_entry(name), progressbar=progressbar)
    return paths[MAIN] if set(paths) == {MAIN} else paths


def entry_files(entry: dict, dirs: list[Path]) -> list[str] | None:
    """Cache paths of every file of ``entry``, or None when they are not known yet."""
    kind = kind_of(entry)
    if kind.files is not None:
        return kind.files(entry, dirs)
    return [cache.relpath(url) for url in file_urls(entry).values()]


def has_all(entry: dict, dirs: list[Path]) -> bool:
    """True when every file of ``entry`` is in one of ``dirs``, readable."""
    rels = entry_files(entry, dirs)
    if rels is None:
        return False
    return all(any((d / r).is_file() and cache.is_readable(d / r) for d in dirs) for r in rels)


def is_cached(name: str) -> bool:
    """True when every file of dataset ``name`` is in a cache folder, readable (no network)."""
    return has_all(_entry(name), cache.read_dirs())


def cache_state(name: str) -> str:
    """``"yes"``, ``"unverified"`` (a file has no pinned or recorded sha256) or ``"no"``.

    An unverified file is still checked by format on every read, but a flipped
    byte in its data would go unseen.
    """
    entry, dirs = _entry(name), cache.read_dirs()
    if not has_all(entry, dirs):
        return "no"
    pins = {cache.relpath(u): pinned_hash(entry, r) for r, u in file_urls(entry).items()}
    for rel in entry_files(entry, dirs) or []:
        path = next((d / rel for d in dirs if (d / rel).is_file()), None)
        if path is not None and cache.unverified(path, pins.get(rel, "")):
            return "unverified"
    return "yes"


def load_entry(entry: dict, *, standin: bool = True):
    """Open a registry entry through its kind, or its announced stand-in (see :func:`load`).

    Either way, what was returned is recorded for the page's banner
    (:mod:`emcourse.data.provenance`).
    """
    kind = kind_of(entry)
    try:
        with watch_tiers() as tiers:
            paths = fetch_entry(entry)
    except DataUnavailableError as exc:
        if not standin:
            raise
        reason = short(exc.reason or exc)
        if not reason.endswith("."):
            reason += "."
        announce_once(
            entry["name"],
            f"emcourse: {label(entry)}: using the synthetic stand-in, "
            f"because {reason} Get the real data with `{fetch_hint(entry)}`.",
        )
        standin_data = kind.standin(entry, source(entry, real=False))
        record_provenance(entry, real=False, kind=exc.kind)
        return standin_data
    opened = kind.open(paths, entry)
    record_provenance(entry, real=True, tiers=[tier for tier, _ in tiers])
    return opened


def load(name: str, *, standin: bool = True):
    """Load a registry dataset: the real data when they can be had, else the stand-in.

    Parameters
    ----------
    name : str
        Registry name, e.g. ``"emd-3197"`` (see :func:`registry`).
    standin : bool
        When no real copy can be had, return the deterministic synthetic
        stand-in (announced once per dataset with the reason); when False,
        raise instead.

    Returns
    -------
    Volume or list of dict or dict
        What the dataset's kind opens (see :mod:`emcourse.data.kinds`).
        ``map`` and ``tomogram-zarr`` datasets: a :class:`~emcourse.volume.Volume`
        (``source.real`` says whether it is archive data). ``mdoc``: one dict
        per tilt (see :func:`emcourse.io.read_mdoc`). ``picks``: a dict with
        ``positions`` (n, 3) float, ``(z, y, x)`` in voxels of the linked
        tomogram as :func:`load` returns it, ``voxel_size`` (angstrom of those
        voxels), ``rotations`` (n, 3, 3) or None, and ``source``.

    Raises
    ------
    DataUnavailableError
        Only with ``standin=False``.

    Examples
    --------
    >>> import os, tempfile
    >>> os.environ["EMCOURSE_OFFLINE"] = "1"  # no network: the stand-in
    >>> os.environ["EMCOURSE_DATA_DIR"] = tempfile.mkdtemp()  # an empty cache
    >>> vol = load("emd-3197")  # doctest: +ELLIPSIS
    emcourse: EMD-3197 (emd-3197): using the synthetic stand-in, because ...
    >>> vol.shape, vol.source.real
    ((20, 20, 20), False)
    >>> del os.environ["EMCOURSE_OFFLINE"], os.environ["EMCOURSE_DATA_DIR"]
    """
    return load_entry(_entry(name), standin=standin)


def emdb_map(entry_number: int | str, *, standin: bool = True) -> Volume:
    """The primary map of any EMDB entry, as a :class:`~emcourse.volume.Volume`.

    Entries in the registry use their registry record (expected shape, citation,
    stand-in size); any other entry is fetched from
    ``structures/EMD-{id}/map/emd_{id}.map.gz`` through the same tiers.
    Mind the size: large maps are downloaded whole.

    Parameters
    ----------
    entry_number : int or str
        ``3197``, ``"3197"`` or ``"EMD-3197"``.
    standin : bool
        As in :func:`load`.

    Returns
    -------
    Volume
    """
    number = str(entry_number).upper().removeprefix("EMD-").removeprefix("EMD_").strip()
    if not number.isdigit():
        raise ValueError(f"expected an EMDB entry number such as 3197, found {entry_number!r}.")
    name = f"emd-{number}"
    entries = registry()
    if name in entries:
        return load_entry(entries[name], standin=standin)
    record = {
        "name": name,
        "archive": "EMDB",
        "accession": f"EMD-{number}",
        "page": f"https://www.ebi.ac.uk/emdb/EMD-{number}",
        "url": EMDB_MAP_URL.format(id=number),
        "sha256": "",
        "licence": "CC0-1.0",
        "citation": f"EMDB entry EMD-{number}; cite the primary publication listed on "
        f"https://www.ebi.ac.uk/emdb/EMD-{number}",
        "subset": "the whole primary map",
        "kind": "map",
        "standin": "sta.simulate.standin_map",
        "fetch_hint": python_hint(f"emdb_map({number})"),
    }
    return load_entry(record, standin=standin)


def empiar_file(entry: int | str, path: str, *, progressbar: bool = False) -> Path:
    """Download one file of an EMPIAR entry (cache, mirror, archive) and return its path.

    Parameters
    ----------
    entry : int or str
        ``10164`` or ``"EMPIAR-10164"``.
    path : str
        Path inside the entry's folder, e.g. ``"data/mdoc-files/TS_01.mrc.mdoc"``
        (``https://ftp.ebi.ac.uk/empiar/world_availability/{entry}/{path}``).
    progressbar : bool
        Show a progress bar.

    Returns
    -------
    Path

    Raises
    ------
    DataUnavailableError
        There is no stand-in for an arbitrary file; the message says why.
    """
    url, acc = empiar_url(entry, path)
    return fetch_file(
        url,
        label=f"{acc} {path}",
        hint=python_hint(f"empiar_file({acc.removeprefix('EMPIAR-')}, {path!r})"),
        standin=False,
        check=check_by_extension(path),
        progressbar=progressbar,
    )
