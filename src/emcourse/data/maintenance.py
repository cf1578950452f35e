"""Looking after the cache: verify it, copy it into a mirror, pin sha256 values (maintainers).

The cache is laid out like a mirror (``<cache>/<archive host>/<archive
path>``), so a mirror is a copy, served by any static HTTP server.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

from emcourse.data import cache, transfer
from emcourse.data.core import fetch_entry, has_all
from emcourse.data.kinds import check_by_extension, kind_of
from emcourse.data.messages import short
from emcourse.data.registry import (
    file_urls,
    lookup,
    pinned_hash,
    read_registry,
    registry,
)
from emcourse.data.registry import registry_path as _default_registry_path

__all__ = ["mirror", "mirror_missing", "pin", "verify"]


def file_checks(entry: dict, dirs: list[Path]) -> dict[str, Callable[[Path], None]]:
    """The format check of each file of ``entry`` by its cache path (for verify)."""
    kind = kind_of(entry)
    if kind.checks is not None:
        return kind.checks(entry, dirs)
    if kind.validate is None:
        return {}
    out = {}
    for role, url in file_urls(entry).items():

        def check(path: Path, role: str = role) -> None:
            kind.validate(path, entry, role)

        out[cache.relpath(url)] = check
    return out


def verify() -> list[tuple[Path, str]]:
    """Check every cached file: its owner, its pinned or recorded sha256, and its format.

    The format check is the one a download passes (the dataset kind's check,
    an OME-Zarr chunk's decoding, an MRC header against the file size), so a
    file kept before it was checked, or with a sidecar that hashes broken
    bytes, is found. Temporary files of killed downloads are deleted.

    Returns
    -------
    list of (Path, str)
        Each file with ``"ok"``, ``"no recorded hash"`` (format checked, but a
        flipped byte would go unseen) or what is wrong (``"CORRUPT: ..."``,
        ``"UNREADABLE: ..."``, ``"FOREIGN: ..."``, ``"removed: ..."``).
    """
    dirs = cache.read_dirs()
    pins, checks = {}, {}
    for e in registry().values():
        for role, url in file_urls(e).items():
            pins[cache.relpath(url)] = pinned_hash(e, role)
        checks.update(file_checks(e, dirs))
    results = []
    for _, f in cache.cache_files(bookkeeping=True):
        for gone in transfer.clean_leftovers(f.parent):
            results.append((gone, "removed: temporary file of an interrupted download"))
    for d, f in cache.cache_files():
        rel = f.relative_to(d).as_posix()
        pinned = pins.get(rel, "")
        why = cache.refused(d, f)
        if why:
            results.append((f, f"FOREIGN: {why}; never loaded, delete it"))
            continue
        try:
            if not cache.is_readable(f):
                raise PermissionError(f"{f}: not readable by this user")
            problem = cache.hash_status(f, pinned)
            if problem is None:
                check = checks.get(rel) or check_by_extension(f.name)
                try:
                    check(f)
                except ValueError as exc:
                    problem = short(str(exc).replace(f"{f}: ", ""))
        except PermissionError:
            results.append((f, f"UNREADABLE: ask its owner to run `chmod -R a+rX {d}`"))
            continue
        if problem is None and cache.unverified(f, pinned):
            results.append((f, "no recorded hash"))
        else:
            results.append((f, "ok" if problem is None else f"CORRUPT: {problem}"))
    return sorted(set(results))


def mirror(dest: str | os.PathLike) -> list[Path]:
    """Copy the cache into a mirror folder ``<dest>/<archive host>/<archive path>``.

    Serve it with any static HTTP server (``python -m http.server -d DEST``) and
    point ``EMCOURSE_MIRROR`` at it for a workshop without internet.

    Files are written readable by all (``0o666 & ~umask``) whatever their
    mode in the cache, so a web server running as another user can serve
    them; cached files this user cannot read are skipped with a note. See
    :func:`mirror_missing` for the datasets the mirror still lacks.

    Returns
    -------
    list of Path
        The files written.
    """
    dest = Path(dest)
    written = []
    for d, f in cache.cache_files():
        if not cache.is_readable(f):
            cache.skip_unreadable(f)
            continue
        written.append(cache.install(f, dest / f.relative_to(d)))
    return written


def mirror_missing(dest: str | os.PathLike) -> list[str]:
    """Registry datasets not (wholly) in the mirror folder ``dest``.

    Examples
    --------
    >>> import tempfile
    >>> "emd-3197" in mirror_missing(tempfile.mkdtemp())
    True
    """
    folders = [Path(dest)]
    return [name for name, e in registry().items() if not has_all(e, folders)]


def _set_sha256(text: str, name: str, value: str) -> tuple[str, int]:
    """``text`` with the ``sha256 = ...`` line of table ``[name]`` set to ``value`` (TOML)."""
    pattern = re.compile(
        rf"(^\[{re.escape(name)}\]\n(?:(?!^\[).*\n)*?)sha256 = (?:\"[^\"]*\"|\{{[^}}\n]*\}})",
        re.MULTILINE,
    )
    return pattern.subn(lambda m: f"{m[1]}sha256 = {value}", text, count=1)


def pin(names: list[str] | None = None, *, registry_path: str | os.PathLike | None = None) -> dict:
    """Download datasets and write their sha256 into ``registry.toml`` (maintainers, online).

    Datasets whose kind fetches many files itself (OME-Zarr levels) are
    skipped: they are checked by format. A dataset of several files gets a
    table, ``sha256 = { em = "...", labels = "..." }``.

    Parameters
    ----------
    names : list of str, optional
        Datasets to pin; default all unpinned datasets.
    registry_path : path-like, optional
        The registry file to edit; default the package's ``registry.toml``.

    Returns
    -------
    dict of str to str or dict
        Name to the sha256 written (a dict role -> sha256 for several files).
    """
    path = Path(registry_path) if registry_path else _default_registry_path()
    entries = read_registry(path)
    text = path.read_text(encoding="utf-8")
    pinned = {}
    for name in names or sorted(entries):
        entry = lookup(entries, name)
        if kind_of(entry).fetch is not None:
            continue
        if names is None and entry.get("sha256"):
            continue
        local = fetch_entry(entry)
        digests = {role: cache.sha256(p) for role, p in local.items()}
        if "files" in entry:
            value = "{ " + ", ".join(f'{r} = "{h}"' for r, h in digests.items()) + " }"
            pinned[entry["name"]] = digests
        else:
            value = f'"{digests["main"]}"'
            pinned[entry["name"]] = digests["main"]
        text, n = _set_sha256(text, entry["name"], value)
        if n != 1:
            raise ValueError(f"{path}: could not find the sha256 line of [{entry['name']}].")
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return pinned
