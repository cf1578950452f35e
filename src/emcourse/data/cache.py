"""The cache folders: where files live, who may read them, and their sha256 sidecars.

The cache is ``EMCOURSE_DATA_DIR`` (default ``pooch.os_cache("emcourse")``),
laid out like a mirror: ``<cache>/<archive host>/<archive path>``. When it is
read-only (a hub's shared folder) its files are used and new downloads go to
a per-user cache (or, failing that, a private folder in the temp directory),
with a one-line note.

The temp-directory fallback, ``$TMPDIR/emcourse-<uid>``, is shared ground on a
machine with several users: it is created with mode 700 and used only while
it is a real folder (not a link) owned by this user that nobody else can
write; any file in it owned by someone else is refused with a note. Every
read from a cache folder re-checks the file: its format (the caller's check)
and its pinned or recorded sha256, once per process and file version.

Files are given the mode of a normally created file, ``0o666 & ~umask``, so
a shared cache or a mirror is readable by everyone; a cached file this user
cannot read is skipped with a note. The sha256 of every downloaded file is
recorded in ``<file>.sha256``.

Other modules call these functions as ``cache.is_writable(...)`` (through the
module), so a test patches them here, once.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import shutil
import stat
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from emcourse.data.messages import announce_once, unavailable

__all__ = [
    "cache_dir",
    "cache_files",
    "cached",
    "foreign",
    "private_fallback",
    "install",
    "is_readable",
    "is_writable",
    "read_dirs",
    "relpath",
    "sha256",
    "write_dir",
]

SIDECAR = ".sha256"
# Files that are the cache's own bookkeeping, never data (nor mirrored).
SKIP_IN_MIRROR = re.compile(
    r"(\.sha256|\.part|\.header1024|\.bytes|\.lock)$|^tmp[a-z0-9_]{8}$|^\.probe-"
)

_hash_ok: dict[tuple, str] = {}  # (path, size, mtime) -> sha256 already computed
_format_ok: set[tuple] = set()  # (path, size, mtime) whose format check passed


def cache_dir() -> Path:
    """The configured cache folder (``EMCOURSE_DATA_DIR`` or pooch's OS cache)."""
    import pooch

    env = os.environ.get("EMCOURSE_DATA_DIR", "").strip()
    return Path(env).expanduser() if env else Path(pooch.os_cache("emcourse"))


def user_cache() -> Path:
    """The per-user cache (pooch's OS cache), used when the configured one is read-only."""
    import pooch

    return Path(pooch.os_cache("emcourse"))


def fallback_cache() -> Path:
    """The last resort when neither the cache nor the per-user cache is writable."""
    return Path(tempfile.gettempdir()) / f"emcourse-{getattr(os, 'getuid', lambda: 'user')()}"


def _uid() -> int | None:
    return os.getuid() if hasattr(os, "getuid") else None


def foreign(path: Path) -> str:
    """Why ``path`` must not be trusted as this user's own ("" when it may).

    A symbolic link, or a file or folder owned by another user, or a folder
    others may write into, could have been planted by someone else.
    """
    try:
        st = os.lstat(path)
    except OSError:
        return "cannot be inspected"
    if stat.S_ISLNK(st.st_mode):
        return "is a symbolic link"
    uid = _uid()
    if uid is not None and st.st_uid != uid:
        return f"belongs to another user (uid {st.st_uid})"
    if stat.S_ISDIR(st.st_mode) and st.st_mode & 0o022:
        return f"can be written by other users (mode {stat.S_IMODE(st.st_mode):o})"
    return ""


def private_fallback(*, create: bool = False) -> Path | None:
    """The temp-directory fallback when it is safe to use, else None (said once).

    With ``create``, a missing folder is made with mode 700.
    """
    path = fallback_cache()
    if create:
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            pass
        except OSError:
            return None
    if not os.path.lexists(path):
        return None
    why = foreign(path)
    if why:
        announce_once(
            f"foreign:{path}",
            f"emcourse: the fallback cache {path} {why}; it is not used, since another user "
            "could have put files there. Set EMCOURSE_DATA_DIR to a folder of your own.",
        )
        return None
    return path


def is_writable(path: Path) -> bool:
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


def is_readable(path: Path) -> bool:
    """True when this user may read ``path`` (another user's 0600 file is not)."""
    return os.access(path, os.R_OK)


@functools.cache
def file_mode() -> int:
    """``0o666 & ~umask``: the mode of a file created normally (0644 with umask 022).

    Staging files (``tempfile``, pooch) are created 0600; moved into place as
    they are, a hub's shared cache or a mirror would be unreadable to others.
    The umask is read once (``os.umask`` can only be read by setting it).
    """
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def share(path: Path) -> None:
    """Give ``path`` the mode of a normally created file, before or after moving it in."""
    try:
        os.chmod(path, file_mode())
    except OSError:  # not ours (a read-only shared cache): leave it as it is
        pass


def install(src: Path, target: Path) -> Path:
    """Copy ``src`` to ``target`` readable by all, atomically (never a half-copied file)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.part")
    try:
        shutil.copy2(src, tmp)
        share(tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def read_dirs() -> list[Path]:
    """Every folder :func:`write_dir` may choose, in the order they are searched.

    The temp-directory fallback only while it is private (:func:`private_fallback`).
    """
    dirs = [cache_dir(), user_cache()]
    fallback = private_fallback()
    if fallback is not None:
        dirs.append(fallback)
    return list(dict.fromkeys(dirs))


def write_dir() -> Path:
    """Where new downloads go: the cache, or a per-user cache when it is read-only.

    Raises
    ------
    DataUnavailableError
        No folder can take downloads (kind ``cache-write``).
    """
    main = cache_dir()
    if is_writable(main):
        return main
    user = user_cache()
    if user == main or not is_writable(user):
        fallback = private_fallback(create=True)
        if fallback is None or not is_writable(fallback):
            raise unavailable(
                "emcourse data cache",
                f"no folder to save downloads in: {main} and {user} are read-only and the "
                f"fallback {fallback_cache()} is unusable.",
                "Set EMCOURSE_DATA_DIR to a folder you can write.",
                kind="cache-write",
            )
        user = fallback
    announce_once(
        f"read-only:{main}",
        f"emcourse: the data cache {main} is read-only; using the files in it and "
        f"saving anything missing to {user}.",
    )
    return user


def skip_unreadable(path: Path) -> None:
    """Say once that a cached file is unreadable by this user, and how its owner fixes it."""
    owner = path.parent
    for d in read_dirs():
        if d in path.parents:
            owner = d
            break
    announce_once(
        f"unreadable:{path}",
        f"emcourse: cached file {path} is not readable by this user; skipping it. "
        f"The cache's owner can fix this with `chmod -R a+rX {owner}`.",
    )


def relpath(url: str) -> str:
    """``<host>/<path>`` of a URL: its place in the cache and on a mirror.

    Examples
    --------
    >>> relpath("https://zenodo.org/records/1/files/a.tif?download=1")
    'zenodo.org/records/1/files/a.tif'
    """
    parts = urlsplit(url)
    return parts.hostname + parts.path


def sha256(path: Path) -> str:
    """The sha256 hex digest of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sidecar(path: Path) -> Path:
    """``<file>.sha256``: where the hash of an unpinned file is recorded."""
    return path.with_name(path.name + SIDECAR)


def record_hash(path: Path, digest: str) -> None:
    """Write ``digest`` into the sidecar of ``path``, atomically; OSError when it cannot.

    A file whose hash could not be recorded must not be kept (later corruption
    would go unseen): the caller deletes it.
    """
    side = sidecar(path)
    tmp = side.with_name(f".{side.name}.{uuid.uuid4().hex[:8]}.part")
    try:
        with open(tmp, "w", encoding="ascii") as fh:
            fh.write(digest + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        share(tmp)
        os.replace(tmp, side)
    finally:
        tmp.unlink(missing_ok=True)


def expected_hash(path: Path, pinned: str) -> str | None:
    """The pinned sha256, else the recorded one, else None."""
    if pinned:
        return pinned.removeprefix("sha256:").lower()
    side = sidecar(path)
    if side.exists():
        return side.read_text(encoding="ascii").strip().lower() or None
    return None


def hash_status(path: Path, pinned: str = "") -> str | None:
    """None when the file matches its pinned or recorded hash (or has none), else a reason."""
    expected = expected_hash(path, pinned)
    if expected is None:
        return None
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key not in _hash_ok:
        _hash_ok[key] = sha256(path)
    if _hash_ok[key] != expected:
        what = "pinned" if pinned else "recorded on download"
        return f"sha256 {_hash_ok[key][:12]}... differs from the {what} {expected[:12]}..."
    return None


def format_status(path: Path, check: Callable[[Path], None] | None) -> str | None:
    """None when ``check(path)`` passes (remembered per file version), else its reason."""
    if check is None:
        return None
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns, check.__qualname__)
    if key in _format_ok:
        return None
    try:
        check(path)
    except ValueError as exc:
        text = " ".join(str(exc).split()).replace(f"{path}: ", "")
        return f"fails its check: {text[:200]}"
    _format_ok.add(key)
    return None


def refused(d: Path, p: Path) -> str:
    """Why a file found in cache folder ``d`` is refused ("" when it may be used).

    Only the temp-directory fallback is checked for ownership: a hub's shared
    cache is legitimately owned by its instructor.
    """
    if d != fallback_cache():
        return ""
    for q in (p, sidecar(p)):
        if os.path.lexists(q) and foreign(q):
            return f"{q.name} {foreign(q)}"
    return ""


def cached(
    url: str,
    *,
    pinned: str = "",
    suffix: str = "",
    check: Callable[[Path], None] | None = None,
) -> Path | None:
    """A good local copy of ``url`` in any cache folder, or None.

    Every copy is re-checked: its sha256 (pinned or recorded) and ``check``
    (its format). A copy that fails is announced and, where this user may,
    deleted; a file in the temp-directory fallback that is not this user's
    is refused.
    """
    rel = relpath(url) + suffix
    for d in read_dirs():
        p = d / rel
        if not p.is_file():
            continue
        why = refused(d, p)
        if why:
            announce_once(
                f"refused:{p}",
                f"emcourse: refusing {p}: {why} (it may have been planted); fetching anew.",
            )
            continue
        side = sidecar(p)
        if not is_readable(p) or (side.exists() and not is_readable(side)):
            skip_unreadable(p)
            continue
        try:
            problem = hash_status(p, pinned) or format_status(p, check)
        except PermissionError:
            skip_unreadable(p)
            continue
        if problem is None:
            return p
        announce_once(
            f"corrupt:{p}",
            f"emcourse: cached file {p} is corrupt ({problem}); it will be fetched again.",
        )
        if is_writable(p.parent):
            p.unlink(missing_ok=True)
            sidecar(p).unlink(missing_ok=True)
    return None


def cache_files(*, bookkeeping: bool = False) -> list[tuple[Path, Path]]:
    """(cache folder, file) for every data file in the cache folders.

    With ``bookkeeping``, the cache's own files instead (sidecars, locks,
    temporary files), for :func:`~emcourse.data.maintenance.verify`.
    """
    out = []
    for d in read_dirs():
        if not d.is_dir():
            continue
        for root, _, files in os.walk(d):
            for f in files:
                if bool(SKIP_IN_MIRROR.search(f)) != bookkeeping:
                    continue
                out.append((d, Path(root) / f))
    return sorted(out)


def unverified(path: Path, pinned: str = "") -> bool:
    """True when ``path`` has neither a pinned nor a recorded sha256 (corruption unseen)."""
    return not pinned and not sidecar(path).exists()
