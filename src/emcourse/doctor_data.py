"""``emcourse doctor``'s data checks: the cache, where downloads go, and the mirror.

Each check returns ``(check, status, detail, fix)`` tuples, which
:func:`emcourse.doctor.check_data` turns into its findings. The mirror check
does what a lesson would do: it asks for every file and reads the first bytes
of one file of each dataset, so a server that answers every path with an HTML
page and status 200 is caught; mirror URLs are shown without user info.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

__all__ = ["bytes_problem", "data_findings", "downloads", "mirror_urls"]

OK, NOTE, PROBLEM = "ok", "note", "PROBLEM"  # as emcourse.doctor's findings


def mirror_urls(entry: dict, mirror: str) -> list[str]:
    """Where a dataset's files are on a mirror laid out as ``<host>/<path>``."""
    urls = list(entry.get("files", {}).values()) if "files" in entry else [entry["url"]]
    out = []
    for url in urls:
        if url.rstrip("/").endswith(".zarr"):
            url = url.rstrip("/") + "/.zattrs"
        parts = urlsplit(url)
        out.append(f"{mirror.rstrip('/')}/{parts.hostname}{parts.path}")
    return out


# The first bytes a file of each ending starts with; "" = text (anything but an HTML page).
MAGIC = {
    ".gz": (b"\x1f\x8b",),
    ".tif": (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"),
    ".tiff": (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"),
    ".png": (b"\x89PNG",),
    ".h5": (b"\x89HDF",),
    ".zip": (b"PK\x03\x04",),
    ".zattrs": (b"{",),
    ".ndjson": (b"{",),
    ".mat": (b"MATLAB 5.0 MAT-file",),
}


def bytes_problem(url: str, head: bytes, content_type: str = "") -> str:
    """What is wrong with the first bytes of ``url`` ("" when they look like its kind).

    Examples
    --------
    >>> bytes_problem("http://m/a.map.gz", b"<!DOCTYPE html><html>", "text/html")
    'an HTML page (text/html), not the file'
    >>> bytes_problem("http://m/a.map.gz", b"\\x1f\\x8b\\x08")
    ''
    """
    text = head.lstrip()[:15].lower()
    if "html" in content_type.lower() or text.startswith((b"<!doctype", b"<html", b"<head")):
        return f"an HTML page ({content_type or 'no content type'}), not the file"
    if not head:
        return "an empty answer"
    name = urlsplit(url).path.lower()
    for ending, magics in MAGIC.items():
        if name.endswith(ending):
            start = head.lstrip() if ending in (".zattrs", ".ndjson") else head
            if not start.startswith(magics):
                return f"bytes {head[:8]!r}, not what a {ending} file starts with"
    return ""


def downloads(*, needed: bool = True) -> list[tuple]:
    """Where new downloads would go: the cache, the per-user cache, the temp folder, nowhere.

    ``needed``: datasets are missing, so a lesson would download (a fallback in
    the temp folder or no writable folder is then a problem).
    """
    from emcourse.data import cache

    main, user, fallback = cache.cache_dir(), cache.user_cache(), cache.fallback_cache()
    if cache.is_writable(main):
        return [("downloads", OK, f"new downloads go to {main}")]
    fix = "set EMCOURSE_DATA_DIR to a folder you can write (on a hub, one in your home)"
    if user != main and cache.is_writable(user):
        return [
            ("downloads", OK, f"the cache {main} is read-only (its files are used); new "
                    f"downloads go to {user}")
        ]  # fmt: skip
    status = PROBLEM if needed else NOTE
    usable = cache.private_fallback(create=False)
    if usable is not None or not os.path.lexists(fallback):
        if usable is not None or cache.is_writable(fallback.parent):
            return [
                (
                    "downloads",
                    status,
                    f"the cache {main} is read-only and {user} cannot be written: downloads "
                    f"would go to {fallback}, in the temp folder (lost at the next reboot)",
                    fix,
                )
            ]
    why = cache.foreign(fallback) if os.path.lexists(fallback) else "cannot be created"
    return [
        (
            "downloads",
            status,
            f"nowhere to save downloads: {main} is read-only, {user} cannot be written and "
            f"{fallback} {why}",
            fix,
        )
    ]


def _probe(session, url: str, timeout: float) -> str:
    """ "" when the mirror serves the first bytes of a real file at ``url``, else what it served."""
    resp = session.get(url, headers={"Range": "bytes=0-63"}, timeout=timeout, stream=True)
    with resp:
        if resp.status_code not in (200, 206):
            return f"HTTP {resp.status_code}"
        head = resp.raw.read(64, decode_content=True)
        return bytes_problem(url, head, resp.headers.get("Content-Type", ""))


def data_findings(mirror: str | None = None, *, timeout: float = 5.0) -> list[tuple]:
    """Which datasets the cache holds, where downloads go, and that the mirror serves real files.

    The mirror check asks for every file (HEAD) and reads the first bytes of
    one file of each dataset: a server that answers every path with an HTML
    page and status 200 is not a mirror.
    """
    import requests

    from emcourse import data
    from emcourse.data.messages import redact

    entries = data.registry()
    missing = [name for name in entries if not data.is_cached(name)]
    cache = data.cache_dir()
    if missing:
        findings = [
            (
                "cache",
                NOTE,
                f"{len(entries) - len(missing)}/{len(entries)} datasets in {cache}; "
                f"not cached: {', '.join(missing)} (lessons use their announced stand-ins)",
                "`make data` or `emcourse data fetch --all` (online, or with EMCOURSE_MIRROR set)",
            )
        ]
    else:
        findings = [("cache", OK, f"all {len(entries)} datasets in {cache}")]
    findings += downloads(needed=bool(missing))
    mirror = os.environ.get("EMCOURSE_MIRROR", "").strip() if mirror is None else mirror
    if not mirror:
        return findings
    shown = redact(mirror)
    if not mirror.lower().startswith(("http://", "https://")):
        return findings + [
            (
                "mirror",
                PROBLEM,
                f"EMCOURSE_MIRROR={shown} is not a URL",
                f"set EMCOURSE_MIRROR=http://{shown.split('://')[-1]}",
            )
        ]
    absent, unreachable, fake = [], "", []
    with requests.Session() as session:
        for name, entry in entries.items():
            urls = mirror_urls(entry, mirror)
            try:
                for url in urls:
                    status = session.head(url, timeout=timeout, allow_redirects=True).status_code
                    if status != 200:
                        absent.append(name)
                        break
                else:
                    why = _probe(session, urls[0], timeout)
                    if why:
                        fake.append(f"{name} ({why})")
            except requests.exceptions.RequestException as exc:
                unreachable = redact(f"{type(exc).__name__} on {url}")
                break
    if unreachable:
        return findings + [
            (
                "mirror",
                PROBLEM,
                f"the mirror {shown} does not answer ({unreachable})",
                "check the address with the instructor, or unset EMCOURSE_MIRROR to use the "
                "archives",
            )
        ]
    if fake:
        return findings + [
            (
                "mirror",
                PROBLEM,
                f"the mirror {shown} answers but does not serve the files: "
                + "; ".join(fake[:3])
                + (f"; and {len(fake) - 3} more" if len(fake) > 3 else ""),
                "check EMCOURSE_MIRROR with the instructor: it must be the folder made by "
                "`emcourse data mirror DIR`, served as files (paths <mirror>/<host>/<path>)",
            )
        ]
    if absent:
        return findings + [
            (
                "mirror",
                PROBLEM,
                f"the mirror {shown} lacks {', '.join(absent)}",
                "on the mirror's machine: `emcourse data fetch "
                + " ".join(absent)
                + "`, then `emcourse data mirror DIR` again",
            )
        ]
    return findings + [
        ("mirror", OK, f"{shown} holds all {len(entries)} datasets (first bytes checked)")
    ]
