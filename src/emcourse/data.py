"""Archive data for the course: the one module that touches the network or the cache.

Where data come from, in order:

1. the cache: ``EMCOURSE_DATA_DIR`` (default ``pooch.os_cache("emcourse")``).
   When it is read-only (a hub's shared folder) every file in it is used and
   anything missing goes to a per-user cache, with a one-line explanation;
2. a mirror: ``EMCOURSE_MIRROR``, a base URL with paths
   ``<mirror>/<archive host>/<archive path>``;
3. the archive itself;
4. the deterministic synthetic stand-in, announced once with the reason and
   the command that gets the real data.

``EMCOURSE_OFFLINE=1`` never touches the network. The cache is laid out like
the mirror (``<cache>/<archive host>/<archive path>``), so ``emcourse data
mirror DIR`` is a copy. Downloads land in a temporary file next to the target
(pooch) and are moved into place only after they check out: by a pinned
sha256, or by format (MRC header against file size, expected shape and voxel
size, readable zarr). The sha256 of an unpinned file is recorded on first
download in ``<file>.sha256``, so ``emcourse data verify`` catches later
corruption. Files are moved into place (and copied into a mirror) readable by
all, ``0o666 & ~umask``, so a hub's shared cache and a mirror served by
another user work; a cached file this user cannot read is skipped with a note.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import math
import os
import re
import shutil
import tempfile
import tomllib
import uuid
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

from emcourse.volume import Source, Volume

__all__ = [
    "DataUnavailableError",
    "UnknownDatasetError",
    "registry",
    "registry_markdown",
    "load",
    "fetch",
    "emdb_map",
    "empiar_file",
    "mrc_slab",
    "bytes_downloaded",
    "cache_dir",
    "is_cached",
    "verify",
    "mirror",
    "mirror_missing",
    "pin",
]

EMDB_MAP_URL = "https://ftp.ebi.ac.uk/pub/databases/emdb/structures/EMD-{id}/map/emd_{id}.map.gz"
EMPIAR_URL = "https://ftp.ebi.ac.uk/empiar/world_availability/{id}/{path}"
_TIMEOUT = (10, 60)  # seconds: connect, read
_SIDE = ".sha256"
_SKIP_IN_MIRROR = re.compile(r"(\.sha256|\.part|\.header1024|\.bytes)$|^tmp[a-z0-9_]{8}$")

_bytes_downloaded = 0
_announced: set[str] = set()
_hash_ok: dict[tuple, str] = {}


class DataUnavailableError(OSError):
    """No checked copy of a file could be had from the cache, a mirror or the archive.

    Attributes
    ----------
    reason : str
        The why alone, short and without URLs, for the stand-in's announcement.
    summary : str
        One line: what each tier answered, e.g. ``mirror http://...: HTTP 404;
        archive: cannot resolve host``.
    kind : str
        The cause: ``offline``, ``mirror-config``, ``mirror-missing``,
        ``archive-missing``, ``corrupt`` or ``network``.
    advice : str
        What to do next, right for ``kind``.
    details : list of str
        The full error of each attempt (``emcourse data fetch --verbose``).
    """

    reason = ""
    summary = ""
    kind = ""
    advice = ""
    details: list[str] = []  # noqa: RUF012 - replaced per instance, never mutated


class UnknownDatasetError(KeyError):
    """A name that is not in the registry; the message lists the known names."""

    def __str__(self) -> str:  # KeyError would print the message in quote marks
        return str(self.args[0]) if self.args else ""


def _unavailable(
    label: str,
    reason: str,
    what_next: str = "",
    *,
    kind: str = "",
    summary: str = "",
    details: list[str] | None = None,
) -> DataUnavailableError:
    exc = DataUnavailableError(f"{label}: {reason} {what_next}".rstrip())
    exc.reason = reason
    exc.summary = summary or reason.rstrip(".")
    exc.kind = kind
    exc.advice = what_next
    exc.details = details or []
    return exc


def _python_hint(call: str) -> str:
    """A shell command that runs ``data.<call>``: how to fetch a file outside the registry."""
    return f'python -c "from emcourse import data; data.{call}"'


# ----------------------------------------------------------------------- registry


def _registry_path() -> Path:
    return Path(str(resources.files("emcourse").joinpath("registry.toml")))


def _read_registry(path: Path | None = None) -> dict[str, dict]:
    if path is None:
        text = resources.files("emcourse").joinpath("registry.toml").read_text(encoding="utf-8")
    else:
        text = Path(path).read_text(encoding="utf-8")
    entries = tomllib.loads(text)
    for name, entry in entries.items():
        entry["name"] = name
    return entries


def registry() -> dict[str, dict]:
    """Return the registry: one dictionary per dataset, keyed by name.

    Returns
    -------
    dict of str to dict
        Each entry has ``archive``, ``accession``, ``url``, ``size``,
        ``sha256``, ``licence``, ``citation``, ``subset``, ``kind``, ``standin``
        and notes on what is ``verified`` and ``unverified``.

    Examples
    --------
    >>> entries = registry()
    >>> entries["emd-3197"]["accession"]
    'EMD-3197'
    """
    return _read_registry()


def _entry(name: str) -> dict:
    return _lookup(registry(), name)


def _lookup(entries: dict[str, dict], name: str) -> dict:
    key = name.strip().lower()
    if key not in entries:
        raise UnknownDatasetError(_unknown_text(name, entries))
    return entries[key]


def _unknown_text(name: str, entries: dict[str, dict]) -> str:
    """The message for a name not in the registry.

    Examples
    --------
    >>> print(_unknown_text("emd-1", {"emd-3197": {}, "emd-1832": {}}))
    no dataset named emd-1 in the registry; known: emd-1832, emd-3197. For any EMDB entry use data.emdb_map(NUMBER).
    """  # noqa: E501
    return (
        f"no dataset named {name.strip()} in the registry; known: {', '.join(sorted(entries))}. "
        "For any EMDB entry use data.emdb_map(NUMBER)."
    )


def _human(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return ""  # pragma: no cover


def _size_text(entry: dict) -> str:
    text = _human(entry.get("size", 0))
    return f"~{text} (estimate)" if entry.get("size_estimated") else text


_TABLE_COLUMNS = {
    "name": "Name",
    "archive": "Archive",
    "accession": "Accession",
    "size": "Size",
    "licence": "Licence",
    "citation": "Citation",
    "subset": "Subset",
}


def registry_markdown(columns: tuple[str, ...] = tuple(_TABLE_COLUMNS)) -> str:
    """A markdown table of every dataset, for the book's data and licences page.

    Parameters
    ----------
    columns : tuple of str
        Which columns, in order, from name, archive, accession (linked to its
        page), size, licence, citation, subset.

    Returns
    -------
    str

    Examples
    --------
    >>> print(registry_markdown().splitlines()[0])
    | Name | Archive | Accession | Size | Licence | Citation | Subset |
    >>> print(registry_markdown(("name", "licence")).splitlines()[0])
    | Name | Licence |
    """
    rows = [
        "| " + " | ".join(_TABLE_COLUMNS[c] for c in columns) + " |",
        "|" + " --- |" * len(columns),
    ]
    for name, e in registry().items():
        acc = f"[{e['accession']}]({e['page']})" if e.get("page") else e["accession"]
        values = {**e, "name": f"`{name}`", "accession": acc, "size": _size_text(e)}
        rows.append("| " + " | ".join(str(values[c]).replace("|", "/") for c in columns) + " |")
    return "\n".join(rows) + "\n"


# -------------------------------------------------------------------------- cache


def _offline() -> bool:
    return os.environ.get("EMCOURSE_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def cache_dir() -> Path:
    """The configured cache folder (``EMCOURSE_DATA_DIR`` or pooch's OS cache)."""
    import pooch

    env = os.environ.get("EMCOURSE_DATA_DIR", "").strip()
    return Path(env).expanduser() if env else Path(pooch.os_cache("emcourse"))


def _user_cache() -> Path:
    import pooch

    return Path(pooch.os_cache("emcourse"))


def _is_writable(path: Path) -> bool:
    """True when files can be created in ``path`` (created if missing).

    ``os.access`` alone is not enough (root passes it on a read-only mount),
    so a small probe file is written and removed.
    """
    try:
        path.mkdir(parents=True, exist_ok=True)
        if not os.access(path, os.W_OK):
            return False
        with tempfile.NamedTemporaryFile(dir=path, prefix=".probe-"):
            pass
    except OSError:
        return False
    return True


@functools.cache
def _file_mode() -> int:
    """``0o666 & ~umask``: the mode of a file created normally (0644 with umask 022).

    Staging files (``tempfile``, pooch) are created 0600; moved into place as
    they are, a hub's shared cache or a mirror would be unreadable to others.
    The umask is read once (``os.umask`` can only be read by setting it).
    """
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _share(path: Path) -> None:
    """Give ``path`` the mode of a normally created file, before or after moving it in."""
    try:
        os.chmod(path, _file_mode())
    except OSError:  # not ours (a read-only shared cache): leave it as it is
        pass


def _is_readable(path: Path) -> bool:
    """True when this user may read ``path`` (another user's 0600 file is not)."""
    return os.access(path, os.R_OK)


def _skip_unreadable(path: Path) -> None:
    owner = path.parent
    for d in _read_dirs():
        if d in path.parents:
            owner = d
            break
    _announce_once(
        f"unreadable:{path}",
        f"emcourse: cached file {path} is not readable by this user; skipping it. "
        f"The cache's owner can fix this with `chmod -R a+rX {owner}`.",
    )


def _fallback_cache() -> Path:
    """The last resort when neither the cache nor the per-user cache is writable."""
    return Path(tempfile.gettempdir()) / f"emcourse-{getattr(os, 'getuid', lambda: 'user')()}"


def _write_dir() -> Path:
    """Where new downloads go: the cache, or a per-user cache when it is read-only."""
    main = cache_dir()
    if _is_writable(main):
        return main
    user = _user_cache()
    if user == main or not _is_writable(user):
        user = _fallback_cache()
        user.mkdir(parents=True, exist_ok=True)
    _announce_once(
        f"read-only:{main}",
        f"emcourse: the data cache {main} is read-only; using the files in it and "
        f"saving anything missing to {user}.",
    )
    return user


def _read_dirs() -> list[Path]:
    """Every folder :func:`_write_dir` may choose, in the order they are searched."""
    return list(dict.fromkeys([cache_dir(), _user_cache(), _fallback_cache()]))


def _relpath(url: str) -> str:
    """``<host>/<path>`` of a URL: its place in the cache and on a mirror."""
    parts = urlsplit(url)
    return parts.hostname + parts.path


def _mirror_setting() -> tuple[str, str]:
    """``EMCOURSE_MIRROR`` and, when it is unusable, what is wrong and what to set.

    Examples
    --------
    >>> import os
    >>> os.environ["EMCOURSE_MIRROR"] = "127.0.0.1:8000"
    >>> print(_mirror_setting()[1])
    EMCOURSE_MIRROR=127.0.0.1:8000 is not a URL (no http:// or https://): set EMCOURSE_MIRROR=http://127.0.0.1:8000
    >>> del os.environ["EMCOURSE_MIRROR"]
    """  # noqa: E501
    value = os.environ.get("EMCOURSE_MIRROR", "").strip()
    if not value or re.match(r"https?://[^/]", value, re.IGNORECASE):
        return value, ""
    scheme = re.match(r"([a-z][a-z0-9+.-]*)://", value, re.IGNORECASE)
    rest = value[scheme.end() :] if scheme else value
    return value, (
        f"EMCOURSE_MIRROR={value} is not a URL (no http:// or https://): "
        f"set EMCOURSE_MIRROR=http://{rest or 'HOST:8000'}"
    )


def _candidate_urls(url: str) -> list[tuple[str, str]]:
    """``(tier, url)`` to try in order: the mirror (when set), then the archive."""
    urls = []
    mirror_base, _ = _mirror_setting()
    if mirror_base:
        urls.append(("mirror", mirror_base.rstrip("/") + "/" + _relpath(url)))
    urls.append(("archive", url))
    return urls


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + _SIDE)


def _record_hash(path: Path, digest: str) -> None:
    side = _sidecar(path)
    tmp = side.with_name(f".{side.name}.{uuid.uuid4().hex}.part")
    try:
        tmp.write_text(digest + "\n", encoding="ascii")
        _share(tmp)
        os.replace(tmp, side)
    except OSError:
        tmp.unlink(missing_ok=True)


def _expected_hash(path: Path, pinned: str) -> str | None:
    if pinned:
        return pinned.removeprefix("sha256:").lower()
    side = _sidecar(path)
    if side.exists():
        return side.read_text(encoding="ascii").strip().lower() or None
    return None


def _hash_status(path: Path, pinned: str = "") -> str | None:
    """None when the file matches its pinned or recorded hash (or has none), else a reason."""
    expected = _expected_hash(path, pinned)
    if expected is None:
        return None
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key not in _hash_ok:
        _hash_ok[key] = _sha256(path)
    if _hash_ok[key] != expected:
        what = "pinned" if pinned else "recorded on download"
        return f"sha256 {_hash_ok[key][:12]}... differs from the {what} {expected[:12]}..."
    return None


def _cached(url: str, *, pinned: str = "", suffix: str = "") -> Path | None:
    """A good local copy of ``url`` in any cache folder, or None."""
    rel = _relpath(url) + suffix
    for d in _read_dirs():
        p = d / rel
        if not p.is_file():
            continue
        side = _sidecar(p)
        if not _is_readable(p) or (side.exists() and not _is_readable(side)):
            _skip_unreadable(p)
            continue
        try:
            problem = _hash_status(p, pinned)
        except PermissionError:
            _skip_unreadable(p)
            continue
        if problem is None:
            return p
        _announce_once(
            f"corrupt:{p}",
            f"emcourse: cached file {p} is corrupt ({problem}); it will be fetched again.",
        )
        if _is_writable(p.parent):
            p.unlink(missing_ok=True)
            _sidecar(p).unlink(missing_ok=True)
    return None


def bytes_downloaded() -> int:
    """Bytes downloaded by this process so far (for the benchmark)."""
    return _bytes_downloaded


def _short(exc: BaseException | str) -> str:
    text = str(exc).strip().splitlines()
    text = " ".join(t.strip() for t in text if t.strip())
    return text if len(text) <= 400 else text[:400] + "..."


def _cause(exc: BaseException, *, staging: Path, candidate: str) -> tuple[str, str]:
    """``(kind, short cause)`` of one failed attempt: no URL, no traceback.

    ``kind`` is ``missing`` (HTTP 404/410), ``network`` (no answer, HTTP
    errors) or ``corrupt`` (the file came but fails its checks).
    """
    import requests

    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        code = exc.response.status_code
        if code in (404, 410):
            return "missing", f"HTTP {code}"
        why = f" {exc.response.reason}" if exc.response.reason else ""
        return "network", f"HTTP {code}{why}"
    if isinstance(exc, requests.Timeout):
        return "network", "timed out"
    if isinstance(exc, requests.exceptions.ProxyError):
        return "network", "cannot reach the proxy (HTTPS_PROXY/HTTP_PROXY)"
    if isinstance(exc, requests.ConnectionError):
        text = str(exc)
        if re.search(r"resolve|NameResolution|not known|nodename|getaddrinfo", text, re.I):
            return "network", "cannot resolve host"
        if "refused" in text.lower():
            return "network", "connection refused"
        return "network", "cannot connect"
    if isinstance(exc, requests.RequestException):
        return "network", _short(exc)[:160]
    text = str(exc)
    if isinstance(exc, ValueError) and "does not match the known hash" in text:
        return "corrupt", "sha256 differs from the pinned hash"
    name = Path(urlsplit(candidate).path).name
    text = _short(text.replace(f"{staging}: ", "").replace(str(staging), name))
    return "corrupt", f"{name}: {text[:200]}" if name not in text else text[:240]


def _advice(kind: str, hint: str, *, standin: bool = False, mirror_fix: str = "") -> str:
    """What to do next for a failure of ``kind``; ``hint`` is the command that fetches.

    Examples
    --------
    >>> print(_advice("mirror-missing", "emcourse data fetch emd-3197"))
    The mirror lacks this file: re-run `emcourse data mirror` on the instructor machine (after `emcourse data fetch` there).
    """  # noqa: E501
    alternative = (
        ", or set EMCOURSE_OFFLINE=1 to use the built-in synthetic stand-in" if standin else ""
    )
    return {
        "offline": f"To download it, unset EMCOURSE_OFFLINE and run `{hint}`.",
        "mirror-config": f"{mirror_fix or 'EMCOURSE_MIRROR is not an http(s):// URL'}, "
        f"then run `{hint}` again.",
        "mirror-missing": "The mirror lacks this file: re-run `emcourse data mirror` on the "
        "instructor machine (after `emcourse data fetch` there).",
        "archive-missing": "The archive no longer serves this file at its registered URL; "
        "please tell the course maintainers.",
        "corrupt": "A server sent a file that fails its checks (nothing broken was kept); "
        f"run `{hint}` again later, and if it persists tell whoever runs that server.",
        "network": f"Check the network (and the mirror's server, if one is set), then run "
        f"`{hint}` again once online{alternative}.",
    }[kind]


def _download(
    url: str,
    *,
    label: str,
    hint: str,
    standin: bool = True,
    pinned: str = "",
    check=None,
    headers: dict | None = None,
    suffix: str = "",
    progressbar: bool = False,
) -> Path:
    """Fetch ``url`` from the mirror, then the archive, into the cache; checked and atomic.

    ``hint`` is the command that fetches the file, for the error message;
    ``standin`` says whether the caller has a synthetic stand-in to offer.
    """
    global _bytes_downloaded
    import pooch
    import requests

    if _offline():
        raise _unavailable(
            label,
            "not in the cache and EMCOURSE_OFFLINE=1 is set.",
            _advice("offline", hint),
            kind="offline",
        )
    dest = _write_dir() / (_relpath(url) + suffix)
    dest.parent.mkdir(parents=True, exist_ok=True)
    known = f"sha256:{pinned.removeprefix('sha256:')}" if pinned else None
    failures = []  # (tier, url, kind, cause, details)
    _, mirror_fix = _mirror_setting()
    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel("WARNING")
    try:
        for tier, candidate in _candidate_urls(url):
            if tier == "mirror" and mirror_fix:
                cause = "EMCOURSE_MIRROR is not an http(s):// URL"
                failures.append((tier, candidate, "config", cause, mirror_fix))
                continue
            staging = dest.with_name(f".{dest.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.part")
            downloader = pooch.HTTPDownloader(
                progressbar=progressbar,
                timeout=_TIMEOUT,
                headers={**(headers or {}), **({"Accept-Encoding": "identity"} if headers else {})},
            )
            try:
                pooch.retrieve(
                    candidate,
                    known_hash=known,
                    fname=staging.name,
                    path=staging.parent,
                    downloader=downloader,
                    progressbar=progressbar,
                )
                if check is not None:
                    check(staging)
                size, digest = staging.stat().st_size, _sha256(staging)
                _share(staging)  # pooch's temporary file is 0600
                os.replace(staging, dest)
            except (requests.exceptions.RequestException, OSError, ValueError) as exc:
                kind, cause = _cause(exc, staging=staging, candidate=candidate)
                full = f"{candidate}: {type(exc).__name__}: {str(exc).replace(str(staging), '…')}"
                failures.append((tier, candidate, kind, cause, full))
                continue
            finally:  # whatever went wrong, no partial file stays in the cache
                staging.unlink(missing_ok=True)
            _bytes_downloaded += size
            _record_hash(dest, digest)
            return dest
    finally:
        logger.setLevel(level)
    raise _download_error(label, hint, failures, standin=standin, mirror_fix=mirror_fix)


def _download_error(
    label: str, hint: str, failures: list[tuple], *, standin: bool, mirror_fix: str
) -> DataUnavailableError:
    """One :class:`DataUnavailableError` for every failed attempt, with advice for the cause."""
    by_tier = {tier: kind for tier, _, kind, _, _ in failures}
    if by_tier.get("mirror") == "config":
        kind = "mirror-config"
    elif by_tier.get("mirror") == "missing":
        kind = "mirror-missing"
    elif "corrupt" in by_tier.values():
        kind = "corrupt"
    elif by_tier.get("archive") == "missing":
        kind = "archive-missing"
    else:
        kind = "network"
    parts = []
    for tier, candidate, k, cause, _ in failures:
        where = f"mirror {candidate}" if tier == "mirror" and k != "config" else tier
        parts.append(f"{where}: {cause}")
    summary = "; ".join(parts)
    short = "; ".join(f"{tier}: {cause}" for tier, _, _, cause, _ in failures)
    reason = f"no copy could be downloaded ({short})."
    exc = _unavailable(
        label,
        f"no good copy could be downloaded; nothing broken was left in the cache ({summary}).",
        _advice(kind, hint, standin=standin, mirror_fix=mirror_fix),
        kind=kind,
        summary=summary,
        details=[d for *_, d in failures],
    )
    exc.reason = reason  # short, without URLs: for the stand-in's announcement
    return exc


def _fetch_file(url: str, *, label: str, hint: str, pinned: str = "", **kwargs) -> Path:
    found = _cached(url, pinned=pinned, suffix=kwargs.get("suffix", ""))
    if found is not None:
        return found
    return _download(url, label=label, hint=hint, pinned=pinned, **kwargs)


# ------------------------------------------------------------------ format checks


def _check_map(entry: dict):
    def check(path: Path) -> None:
        from emcourse.io import read_mrc

        vol = read_mrc(path)
        shape = entry.get("shape")
        if shape and entry.get("shape_verified") and tuple(vol.shape) != tuple(shape):
            raise ValueError(
                f"{path}: expected a {tuple(shape)} map for {entry['accession']}, "
                f"found {vol.shape}."
            )
        vs = entry.get("voxel_size")
        if vs and entry.get("shape_verified"):
            found = vol.voxel_size_zyx
            if not np.allclose(found, vs, rtol=1e-3):
                raise ValueError(
                    f"{path}: expected voxel size {vs} A for {entry['accession']}, found {found}."
                )

    return check


def _check_mdoc(entry: dict):
    def check(path: Path) -> None:
        from emcourse.io import read_mdoc

        sections = read_mdoc(path)
        n = entry.get("n_sections")
        if n and len(sections) != n:
            raise ValueError(f"{path}: expected {n} mdoc sections, found {len(sections)}.")

    return check


def _check_ndjson(path: Path) -> None:
    _read_ndjson(path)


def _check_json(path: Path) -> None:
    try:
        json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: expected JSON metadata, found unreadable text ({exc}).") from exc


def _check_by_extension(path_hint: str):
    low = path_hint.lower()

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


# ---------------------------------------------------------------------- fetching


def _chunk_keys(zarray: dict) -> list[str]:
    """Keys of every chunk of a zarr v2 array, from its ``.zarray`` metadata."""
    sep = zarray.get("dimension_separator", ".") or "."
    grid = [range(math.ceil(s / c)) for s, c in zip(zarray["shape"], zarray["chunks"], strict=True)]
    return [sep.join(str(i) for i in idx) for idx in itertools.product(*grid)]


def _zarr_level(entry: dict) -> Path:
    """Fetch the metadata and every chunk of one level; return the local store root."""
    store = entry["url"].rstrip("/")
    level = str(entry.get("level", 0))
    label = f"{entry['accession']} ({entry['name']})"
    kw = {"label": label, "hint": _fetch_hint(entry)}
    meta = [f"{store}/.zattrs", f"{store}/.zgroup", f"{store}/{level}/.zarray"]
    files = [_fetch_file(u, check=_check_json, **kw) for u in meta]
    zarray = json.loads(files[-1].read_text(encoding="utf-8"))
    if zarray.get("zarr_format") != 2:
        raise _unavailable(
            label,
            f"expected a zarr v2 array at {meta[-1]}, found zarr_format "
            f"{zarray.get('zarr_format')!r}.",
            "The registry's URL is wrong for this version; please tell the course maintainers.",
            kind="corrupt",
        )
    urls = meta + [f"{store}/{level}/{key}" for key in _chunk_keys(zarray)]
    files += [_fetch_file(u, **kw) for u in urls[len(meta) :]]
    # A store split between a read-only cache and the user cache is gathered in one place.
    dirs = {Path(str(f)[: -len(_relpath(u))]) for f, u in zip(files, urls, strict=True)}
    rel_store = _relpath(store)
    root = dirs.pop() / rel_store
    if dirs:
        write_dir = _write_dir()
        root = write_dir / rel_store
        for f, u in zip(files, urls, strict=True):
            target = write_dir / _relpath(u)
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.part")
                shutil.copy2(f, tmp)
                _share(tmp)
                os.replace(tmp, target)  # never a half-copied chunk in the cache
    return root


def _read_zarr_level(entry: dict, root: Path) -> np.ndarray:
    import zarr

    level = str(entry.get("level", 0))
    try:
        arr = zarr.open_array(store=str(root / level), mode="r", zarr_format=2)
        return np.asarray(arr[:])
    except Exception as exc:  # zarr/numcodecs raise many types for broken stores
        raise ValueError(f"{root}: level {level} is not a readable zarr array: {exc}") from exc


def _open_zarr_level(entry: dict, root: Path) -> Volume:
    from emcourse.io import as_float

    data = as_float(_read_zarr_level(entry, root))
    voxel = _zarr_voxel_size(entry, root)
    return Volume(data=data, voxel_size=voxel, source=_source(entry, real=True))


def _zarr_voxel_size(entry: dict, root: Path) -> float | tuple[float, float, float]:
    """The level's scale from the store's ``.zattrs``; the registry's value, announced, if none."""
    level = str(entry.get("level", 0))
    try:
        attrs = json.loads((root / ".zattrs").read_text(encoding="utf-8"))
        ms = attrs["multiscales"][0]
        scale_to_a = 1.0
        units = {ax.get("unit") for ax in ms.get("axes", []) if isinstance(ax, dict)}
        if units & {"nanometer", "nm"}:
            scale_to_a = 10.0
        for ds in ms["datasets"]:
            if str(ds["path"]) == level:
                for t in ds.get("coordinateTransformations", []):
                    if t.get("type") == "scale":
                        zyx = tuple(float(v) * scale_to_a for v in t["scale"][-3:])
                        return zyx[0] if zyx[0] == zyx[1] == zyx[2] else zyx
    except (OSError, KeyError, IndexError, TypeError, ValueError):
        pass
    fallback = _tomogram_voxel_size(entry)
    print(
        f"emcourse: {root}: no scale for level {level} in .zattrs; using the registry's "
        f"voxel size, {fallback:g} A."
    )
    return fallback


def fetch(name: str, *, progressbar: bool = False) -> Path:
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
    Path
        The file, or for OME-Zarr datasets the local ``.zarr`` store folder.

    Raises
    ------
    DataUnavailableError
        No good copy could be had (offline, network down, corrupt download);
        the message says why and what to do.
    KeyError
        Unknown name.
    """
    entry = _entry(name)
    return _fetch_entry(entry, progressbar=progressbar)


def _fetch_entry(entry: dict, *, progressbar: bool = False) -> Path:
    label = f"{entry['accession']} ({entry['name']})"
    kind = entry["kind"]
    if kind == "tomogram-zarr":
        root = _zarr_level(entry)
        try:
            _read_zarr_level(entry, root)
        except ValueError as exc:
            raise _unavailable(
                label,
                str(exc),
                "Run `emcourse data verify`, delete the bad files and "
                f"`emcourse data fetch {entry['name']}` again.",
                kind="corrupt",
                summary=_short(exc)[:240],
            ) from exc
        return root
    check = {
        "map": _check_map(entry),
        "mdoc": _check_mdoc(entry),
        "picks": _check_ndjson,
    }.get(kind, _check_by_extension(entry["url"]))
    return _fetch_file(
        entry["url"],
        label=label,
        hint=_fetch_hint(entry),
        pinned=entry.get("sha256", ""),
        check=check,
        progressbar=progressbar,
    )


def _entry_files(entry: dict, dirs: list[Path]) -> list[str] | None:
    """Relative paths of every file of ``entry``, or None when a zarr's chunk list is unknown."""
    rels = [_relpath(entry["url"])]
    if entry["kind"] == "tomogram-zarr":
        store = entry["url"].rstrip("/")
        level = str(entry.get("level", 0))
        rels = [_relpath(f"{store}/{f}") for f in (".zattrs", ".zgroup", f"{level}/.zarray")]
        for d in dirs:
            za = d / rels[-1]
            if za.is_file() and _is_readable(za):
                try:
                    keys = _chunk_keys(json.loads(za.read_text(encoding="utf-8")))
                except (ValueError, KeyError, TypeError):
                    return None
                rels += [_relpath(f"{store}/{level}/{k}") for k in keys]
                break
        else:
            return None
    return rels


def _has_all(entry: dict, dirs: list[Path]) -> bool:
    rels = _entry_files(entry, dirs)
    if rels is None:
        return False
    return all(any((d / r).is_file() and _is_readable(d / r) for d in dirs) for r in rels)


def is_cached(name: str) -> bool:
    """True when every file of dataset ``name`` is in a cache folder, readable (no network)."""
    return _has_all(_entry(name), _read_dirs())


# ----------------------------------------------------------------------- loading


def _source(entry: dict, *, real: bool, reason: str = "") -> Source:
    if real:
        return Source(
            accession=entry["accession"],
            licence=entry["licence"],
            citation=entry["citation"],
            url=entry["url"],
            real=True,
            note=entry.get("subset", ""),
        )
    return Source(
        accession=entry["accession"],
        licence="CC0-1.0 (synthetic stand-in made by emcourse)",
        citation=f"synthetic stand-in ({entry.get('standin', 'emcourse.simulate')}); "
        f"the real data: {entry['citation']}",
        url=entry["url"],
        real=False,
        note=f"synthetic stand-in, because {reason}",
    )


def _fetch_hint(entry: dict) -> str:
    return entry.get("fetch_hint", f"emcourse data fetch {entry['name']}")


def _announce_once(key: str, message: str) -> None:
    """Print a one-line notice the first time ``key`` comes up in this process."""
    if key in _announced:
        return
    _announced.add(key)
    print(message)


def _announce(entry: dict, reason: str) -> None:
    _announce_once(
        entry["name"],
        f"emcourse: {entry['accession']} ({entry['name']}): using the synthetic stand-in, "
        f"because {reason} Get the real data with `{_fetch_hint(entry)}`.",
    )


def _read_ndjson(path: Path) -> list[dict]:
    points = []
    with open(path, encoding="utf-8") as fh:
        for i, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                loc = rec["location"]
                points.append(rec | {"_zyx": (float(loc["z"]), float(loc["y"]), float(loc["x"]))})
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                raise ValueError(
                    f"{path}: line {i}: expected a JSON point with location x, y, z, "
                    f"found {line[:80]!r} ({exc})."
                ) from exc
    return points


def _tomogram_voxel_size(entry: dict) -> float:
    return float(entry.get("voxel_size", 1.0)) * 2 ** int(entry.get("level", 0))


def _open_entry(entry: dict, path: Path):
    kind = entry["kind"]
    if kind == "map":
        from emcourse.io import read_mrc

        vol = read_mrc(path)
        return Volume(
            data=vol.data,
            voxel_size=vol.voxel_size,
            source=_source(entry, real=True),
            origin=vol.origin,
        )
    if kind == "mdoc":
        from emcourse.io import read_mdoc

        return read_mdoc(path)
    if kind == "tomogram-zarr":
        return _open_zarr_level(entry, path)
    if kind == "picks":
        points = _read_ndjson(path)
        tomo = registry().get(entry.get("tomogram", ""), {})
        target = _tomogram_voxel_size(tomo) if tomo else float(entry["voxel_size"])
        zyx = np.array([p["_zyx"] for p in points], dtype=float).reshape(-1, 3)
        rot = None
        if points and all("xyz_rotation_matrix" in p for p in points):
            rot = np.array([p["xyz_rotation_matrix"] for p in points], dtype=float)
        return {
            "positions": zyx * float(entry["voxel_size"]) / target,
            "voxel_size": target,
            "rotations": rot,
            "source": _source(entry, real=True),
        }
    raise ValueError(f"{entry['name']}: unknown kind {kind!r}")


def _standin(entry: dict, reason: str):
    from emcourse.sta import simulate

    kind = entry["kind"]
    source = _source(entry, real=False, reason=reason)
    if kind == "map":
        shape = entry.get("shape") or [48, 48, 48]
        vs = float(entry.get("voxel_size") or 4.0)
        box = int(max(shape))
        diameter = 0.6 * box * vs
        data = simulate.phantom_map(box=box, voxel_size=vs, diameter=diameter)
        return Volume(data=data, voxel_size=vs, source=source)
    if kind == "mdoc":
        return _standin_mdoc(entry)
    if kind == "tomogram-zarr":
        sim = _simulated_tomogram(entry["name"])
        return Volume(
            data=np.asarray(sim.tomogram, dtype=np.float32),
            voxel_size=_tomogram_voxel_size(entry),
            source=source,
        )
    if kind == "picks":
        tomo = registry()[entry["tomogram"]]
        sim = _simulated_tomogram(tomo["name"])
        return {
            "positions": np.asarray(sim.positions, dtype=float),
            "voxel_size": _tomogram_voxel_size(tomo),
            "rotations": np.asarray(sim.rotations) if sim.rotations is not None else None,
            "source": source,
        }
    raise ValueError(f"{entry['name']}: no stand-in for kind {kind!r}")


@functools.lru_cache(maxsize=4)
def _simulated_tomogram(name: str):
    from emcourse.sta import simulate

    entry = _entry(name)
    if not hasattr(simulate, "simulate_tomogram"):
        raise NotImplementedError(
            "emcourse.simulate.simulate_tomogram is not available in this version; "
            "no stand-in tomogram can be made."
        )
    vs = _tomogram_voxel_size(entry)
    reference = simulate.phantom_map(box=16, voxel_size=vs, diameter=260.0)
    return simulate.simulate_tomogram(
        reference,
        voxel_size=vs,
        shape=tuple(entry.get("standin_shape", (48, 128, 128))),
        n_particles=int(entry.get("standin_particles", 12)),
        seed=0,
    )


def _dose_symmetric_angles(max_angle: float = 60.0, step: float = 3.0) -> list[float]:
    """Hagen dose-symmetric order: 0, +s, then groups of two alternating sides."""
    n = int(round(max_angle / step))
    pos = [step * i for i in range(1, n + 1)]
    neg = [-step * i for i in range(1, n + 1)]
    order = [0.0] + pos[:1]
    pos = pos[1:]
    side = neg
    while pos or neg:
        order += side[:2]
        del side[:2]
        side = pos if side is neg else neg
    return order


def _standin_mdoc(entry: dict) -> list[dict]:
    pixel = float(entry.get("pixel_size", 5.4))
    out = []
    for i, angle in enumerate(_dose_symmetric_angles()):
        out.append(
            {
                "PixelSpacing": pixel,
                "Titles": ["emcourse synthetic stand-in: dose-symmetric tilt series"],
                "ZValue": i,
                "TiltAngle": angle,
                "ExposureDose": 3.0,
                "Defocus": -3.0,
                "DateTime": f"01-Jan-00  00:{i // 60:02d}:{i % 60:02d}",
            }
        )
    return out


def _load_entry(entry: dict, *, standin: bool = True):
    try:
        path = _fetch_entry(entry)
    except DataUnavailableError as exc:
        if not standin:
            raise
        reason = _short(exc.reason or exc)
        if not reason.endswith("."):
            reason += "."
        _announce(entry, reason)
        return _standin(entry, reason)
    return _open_entry(entry, path)


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
    return _load_entry(_entry(name), standin=standin)


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
        return _load_entry(entries[name], standin=standin)
    entry = {
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
        "standin": "simulate.phantom_map",
        "fetch_hint": _python_hint(f"emdb_map({number})"),
    }
    return _load_entry(entry, standin=standin)


def _empiar_url(entry: int | str, path: str) -> tuple[str, str]:
    number = str(entry).upper().removeprefix("EMPIAR-").strip()
    if not number.isdigit():
        raise ValueError(f"expected an EMPIAR entry number such as 10164, found {entry!r}.")
    return EMPIAR_URL.format(id=number, path=path.lstrip("/")), f"EMPIAR-{number}"


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
    url, acc = _empiar_url(entry, path)
    return _fetch_file(
        url,
        label=f"{acc} {path}",
        hint=_python_hint(f"empiar_file({acc.removeprefix('EMPIAR-')}, {path!r})"),
        standin=False,
        check=_check_by_extension(path),
        progressbar=progressbar,
    )


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
        :func:`empiar_file`).
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
        url, acc = _empiar_url(url_or_empiar, path)
        args = f"{acc.removeprefix('EMPIAR-')}, {path!r}"
    else:
        url, acc = str(url_or_empiar), Path(urlsplit(str(url_or_empiar)).path).name
        args = repr(url)
    accession = accession or acc
    if url.endswith(".gz"):
        raise ValueError(f"{url}: a gzip file cannot be read by byte ranges; download it whole.")
    label = f"{accession} (z {start}:{stop})"
    fetch_kw = {
        "label": label,
        "hint": _python_hint(f"mrc_slab({args}, z=({start}, {stop}))"),
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

    hpath = _fetch_file(
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

    spath = _fetch_file(
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


# ------------------------------------------------------------------ maintenance


def _cache_files() -> list[tuple[Path, Path]]:
    """(cache folder, file) for every data file in the cache folders."""
    out = []
    for d in _read_dirs():
        if not d.is_dir():
            continue
        for root, _, files in os.walk(d):
            for f in files:
                if _SKIP_IN_MIRROR.search(f) or f.startswith(".probe-"):
                    continue
                out.append((d, Path(root) / f))
    return sorted(out)


def verify() -> list[tuple[Path, str]]:
    """Check every cached file against its pinned or recorded sha256 and its format.

    Returns
    -------
    list of (Path, str)
        Each file with ``"ok"``, ``"no recorded hash"`` or what is wrong
        (``"CORRUPT: ..."``, ``"UNREADABLE: ..."``).
    """
    pins = {_relpath(e["url"]): e.get("sha256", "") for e in registry().values()}
    results = []
    for d, f in _cache_files():
        rel = f.relative_to(d).as_posix()
        pinned = pins.get(rel, "")
        try:
            if not _is_readable(f):
                raise PermissionError(f"{f}: not readable by this user")
            problem = _hash_status(f, pinned)
        except PermissionError:
            results.append((f, f"UNREADABLE: ask its owner to run `chmod -R a+rX {d}`"))
            continue
        if problem is None and f.name.endswith((".map.gz", ".mrc", ".map")):
            from emcourse.io import read_mrc_header

            try:
                read_mrc_header(f)
            except ValueError as exc:
                problem = _short(exc)
        if problem is None and _expected_hash(f, pinned) is None:
            results.append((f, "no recorded hash"))
        else:
            results.append((f, "ok" if problem is None else f"CORRUPT: {problem}"))
    return results


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
    for d, f in _cache_files():
        if not _is_readable(f):
            _skip_unreadable(f)
            continue
        target = dest / f.relative_to(d)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.part")
        try:
            shutil.copy2(f, tmp)
            _share(tmp)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        written.append(target)
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
    return [name for name, e in registry().items() if not _has_all(e, folders)]


def pin(names: list[str] | None = None, *, registry_path: str | os.PathLike | None = None) -> dict:
    """Download datasets and write their sha256 into ``registry.toml`` (maintainers, online).

    OME-Zarr datasets are skipped (many files; they are checked by format).

    Parameters
    ----------
    names : list of str, optional
        Datasets to pin; default all unpinned single-file datasets.
    registry_path : path-like, optional
        The registry file to edit; default the package's ``registry.toml``.

    Returns
    -------
    dict of str to str
        Name to the sha256 written.
    """
    path = Path(registry_path) if registry_path else _registry_path()
    entries = _read_registry(path)
    text = path.read_text(encoding="utf-8")
    pinned = {}
    for name in names or sorted(entries):
        entry = _lookup(entries, name)
        if entry["kind"] == "tomogram-zarr":
            continue
        if names is None and entry.get("sha256"):
            continue
        local = _fetch_entry(entry)
        digest = _sha256(local)
        pattern = re.compile(
            rf"(^\[{re.escape(entry['name'])}\]\n(?:(?!^\[).*\n)*?)sha256 = \"[^\"]*\"",
            re.MULTILINE,
        )
        text, n = pattern.subn(rf'\g<1>sha256 = "{digest}"', text, count=1)
        if n != 1:
            raise ValueError(f"{path}: could not find the sha256 line of [{entry['name']}].")
        pinned[entry["name"]] = digest
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return pinned
