"""The tiers for one file: cache (checked) -> mirror -> archive, with pooch doing the download.

``EMCOURSE_MIRROR`` is a base URL with paths ``<mirror>/<archive host>/<archive
path>``; ``EMCOURSE_OFFLINE=1`` never touches the network. A download lands in
a temporary file next to its target and is moved into place only after it
checks out (a pinned sha256, then the caller's ``check``) and its sha256 is
recorded; whatever goes wrong, nothing partial stays in the cache, and the
error says in one line what each tier answered and what to do next. A file is
fetched under a lock (one download however many processes ask), within a
deadline that scales with its size (:mod:`~emcourse.data.transfer`); a full
disk or an unwritable cache stops the fetch at once (no other tier can help).
Mirror URLs are shown without their user info, in messages and in pooch's log.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from emcourse.data import cache, transfer
from emcourse.data.messages import (
    DataUnavailableError,
    advice,
    redact,
    redact_logs,
    short,
    unavailable,
)

__all__ = ["bytes_downloaded", "fetch_file", "mirror_setting", "offline", "watch_tiers"]

LOCAL = ("disk-full", "cache-write")  # failures of this machine, not of a server
_bytes_downloaded = 0
_watchers: list[list[tuple[str, Path]]] = []


@contextmanager
def watch_tiers() -> Iterator[list[tuple[str, Path]]]:
    """Collect ``(tier, local path)`` of every file fetched in the block, in order.

    The tier is ``"cache"``, ``"mirror"`` or ``"archive"``: what the banner of a
    page and ``emcourse data fetch`` report.
    """
    seen: list[tuple[str, Path]] = []
    _watchers.append(seen)
    try:
        yield seen
    finally:
        _watchers.remove(seen)


def _came_from(tier: str, path: Path) -> None:
    for seen in _watchers:
        seen.append((tier, path))


def bytes_downloaded() -> int:
    """Bytes downloaded by this process so far (for the benchmark)."""
    return _bytes_downloaded


def offline() -> bool:
    """True when ``EMCOURSE_OFFLINE`` is set to 1, true, yes or on."""
    return os.environ.get("EMCOURSE_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def mirror_setting() -> tuple[str, str]:
    """``EMCOURSE_MIRROR`` and, when it is unusable, what is wrong and what to set.

    Examples
    --------
    >>> import os
    >>> os.environ["EMCOURSE_MIRROR"] = "127.0.0.1:8000"
    >>> print(mirror_setting()[1])
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


def candidate_urls(url: str) -> list[tuple[str, str]]:
    """``(tier, url)`` to try in order: the mirror (when set), then the archive."""
    urls = []
    mirror_base, _ = mirror_setting()
    if mirror_base:
        urls.append(("mirror", mirror_base.rstrip("/") + "/" + cache.relpath(url)))
    urls.append(("archive", url))
    return urls


def cause(exc: BaseException, *, staging: Path, candidate: str) -> tuple[str, str]:
    """``(kind, short cause)`` of one failed attempt: no URL, no traceback.

    ``kind`` is ``missing`` (HTTP 404/410), ``network`` (no answer, HTTP
    errors, a cut connection), ``slow`` (past the file's deadline), ``stall``,
    ``disk-full``, ``cache-write`` (the cache cannot take the file) or
    ``corrupt`` (the file came but fails its checks).
    """
    import requests

    if transfer.is_disk_full(exc):
        if isinstance(exc, transfer.DiskFull):
            return "disk-full", str(exc.args[1] if len(exc.args) > 1 else exc)
        return "disk-full", f"disk full: no space left in {staging.parent}"
    if isinstance(exc, transfer.TooSlow):
        return "slow", str(exc)
    if isinstance(exc, transfer.Stalled):
        return "stall", str(exc)
    if isinstance(exc, transfer.Cut):
        return "network", str(exc)

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
        return "network", short(redact(exc))[:160]
    if isinstance(exc, OSError):
        where = exc.filename or staging.parent
        return "cache-write", f"cannot write {where}: {exc.strerror or exc}"
    text = str(exc)
    if isinstance(exc, ValueError) and "does not match the known hash" in text:
        return "corrupt", "sha256 differs from the pinned hash"
    name = Path(urlsplit(candidate).path).name
    text = short(text.replace(f"{staging}: ", "").replace(str(staging), name))
    return "corrupt", f"{name}: {text[:200]}" if name not in text else text[:240]


def download(
    url: str,
    *,
    label: str,
    hint: str,
    standin: bool = True,
    pinned: str = "",
    check: Callable[[Path], None] | None = None,
    headers: dict | None = None,
    suffix: str = "",
    progressbar: bool = False,
    size: int = 0,
) -> Path:
    """Fetch ``url`` from the mirror, then the archive, into the cache; checked and atomic.

    ``hint`` is the command that fetches the file, for the error message;
    ``standin`` says whether the caller has a synthetic stand-in to offer;
    ``check(path)`` raises ValueError for a file that fails its format checks;
    ``size`` is the expected size in bytes (for the deadline when the server
    does not say).
    """
    if offline():
        raise unavailable(
            label,
            "not in the cache and EMCOURSE_OFFLINE=1 is set.",
            advice("offline", hint),
            kind="offline",
        )
    dest = cache.write_dir() / (cache.relpath(url) + suffix)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        kind, why = cause(exc, staging=dest, candidate=url)
        raise unavailable(label, f"{why}.", advice(kind, hint), kind=kind, summary=why) from exc
    transfer.clean_leftovers(dest.parent)
    wait = transfer.deadline(size) + transfer.stall_timeout()
    try:
        with transfer.file_lock(dest, timeout=wait):
            # Another process may have fetched it while this one waited for the lock.
            found = cache.cached(url, pinned=pinned, suffix=suffix, check=check)
            if found is not None:
                _came_from("cache", found)
                return found
            return _download(
                url,
                dest,
                label=label,
                hint=hint,
                standin=standin,
                pinned=pinned,
                check=check,
                headers=headers,
                progressbar=progressbar,
                size=size,
            )
    except transfer.LockTimeout as exc:
        raise unavailable(
            label,
            f"{exc}; nothing was downloaded.",
            f"Wait for it to finish, then run `{hint}` again.",
            kind="network",
        ) from exc


def _download(url: str, dest: Path, *, label: str, hint: str, **kw) -> Path:
    """The tiers for one file, under its lock (see :func:`download`)."""
    global _bytes_downloaded
    import pooch
    import requests

    pinned, check, headers = kw["pinned"], kw["check"], kw["headers"]
    known = f"sha256:{pinned.removeprefix('sha256:')}" if pinned else None
    failures = []  # (tier, url, kind, cause, details)
    _, mirror_fix = mirror_setting()
    logger = pooch.get_logger()
    redact_logs(logger)
    level = logger.level
    logger.setLevel("WARNING")
    try:
        for tier, candidate in candidate_urls(url):
            if tier == "mirror" and mirror_fix:
                why = "EMCOURSE_MIRROR is not an http(s):// URL"
                failures.append((tier, candidate, "config", why, mirror_fix))
                continue
            staging = dest.with_name(f".{dest.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.part")
            downloader = transfer.Downloader(
                headers={**(headers or {}), **({"Accept-Encoding": "identity"} if headers else {})},
                size=kw["size"],
                progressbar=kw["progressbar"],
            )
            try:
                pooch.retrieve(
                    candidate,
                    known_hash=known,
                    fname=staging.name,
                    path=staging.parent,
                    downloader=downloader,
                )
                if check is not None:
                    check(staging)
                got, digest = staging.stat().st_size, cache.sha256(staging)
                cache.share(staging)  # pooch's temporary file is 0600
                os.replace(staging, dest)
                try:
                    cache.record_hash(dest, digest)
                except OSError:
                    dest.unlink(missing_ok=True)  # unrecorded, later corruption would go unseen
                    raise
            except (requests.exceptions.RequestException, OSError, ValueError) as exc:
                kind, why = cause(exc, staging=staging, candidate=candidate)
                text = str(exc).replace(str(staging), "…")
                failures.append(
                    (tier, candidate, kind, why, f"{candidate}: {type(exc).__name__}: {text}")
                )
                if kind in LOCAL:  # this machine's fault: another tier cannot help
                    break
                continue
            finally:  # whatever went wrong, no partial file stays in the cache
                staging.unlink(missing_ok=True)
            _bytes_downloaded += got
            _came_from(tier, dest)
            return dest
    finally:
        logger.setLevel(level)
    raise download_error(label, hint, failures, standin=kw["standin"], mirror_fix=mirror_fix)


def download_error(
    label: str, hint: str, failures: list[tuple], *, standin: bool, mirror_fix: str
) -> DataUnavailableError:
    """One :class:`DataUnavailableError` for every failed attempt, with advice for the cause."""
    by_tier = {tier: kind for tier, _, kind, _, _ in failures}
    kinds = set(by_tier.values())
    if kinds & set(LOCAL):
        kind = "disk-full" if "disk-full" in kinds else "cache-write"
        why = next(w for _, _, k, w, _ in failures if k == kind)
        exc = unavailable(
            label,
            f"could not be saved ({why}); nothing partial was kept.",
            advice(kind, hint),
            kind=kind,
            summary=why,
            details=[d for *_, d in failures],
        )
        exc.reason = f"it could not be saved ({why})."
        return exc
    if by_tier.get("mirror") == "config":
        kind = "mirror-config"
    elif by_tier.get("mirror") == "missing":
        kind = "mirror-missing"
    elif "corrupt" in by_tier.values():
        kind = "corrupt"
    elif by_tier.get("archive") == "missing":
        kind = "archive-missing"
    elif kinds & {"slow", "stall"}:
        kind = "slow" if "slow" in kinds else "stall"
    else:
        kind = "network"
    parts = []
    for tier, candidate, k, why, _ in failures:
        where = f"mirror {candidate}" if tier == "mirror" and k != "config" else tier
        parts.append(f"{where}: {why}")
    summary = "; ".join(parts)
    brief = "; ".join(f"{tier}: {why}" for tier, _, _, why, _ in failures)
    exc = unavailable(
        label,
        f"no good copy could be downloaded; nothing broken was left in the cache ({summary}).",
        advice(kind, hint, standin=standin, mirror_fix=mirror_fix),
        kind=kind,
        summary=summary,
        details=[d for *_, d in failures],
    )
    exc.reason = f"no copy could be downloaded ({brief})."  # short, no URLs: for announcements
    return exc


def fetch_file(url: str, *, label: str, hint: str, pinned: str = "", **kwargs) -> Path:
    """A checked local copy of ``url``: from a cache folder, else :func:`download`.

    Keyword arguments are those of :func:`download` (``check``, ``headers``,
    ``suffix`` for a piece of the file, ``standin``, ``progressbar``, ``size``).
    A cached copy is re-checked (sha256 and ``check``) before it is returned.
    """
    found = cache.cached(
        url, pinned=pinned, suffix=kwargs.get("suffix", ""), check=kwargs.get("check")
    )
    if found is not None:
        _came_from("cache", found)
        return found
    return download(url, label=label, hint=hint, pinned=pinned, **kwargs)
