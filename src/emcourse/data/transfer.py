"""Moving the bytes of one file: a deadline, stalls, a full disk, a lock, and leftovers.

:class:`Downloader` is the callable that :mod:`~emcourse.data.tiers` hands to
``pooch.retrieve`` (pooch keeps doing the staging, the hash and the move):
it streams the response and stops with a plain cause when

- the whole file takes longer than its deadline, which scales with its size
  (``EMCOURSE_MIN_RATE`` bytes per second, default 100 kB/s, plus a grace
  period): :class:`TooSlow`;
- no byte arrives for ``EMCOURSE_STALL_TIMEOUT`` seconds (default 60) once the
  server has answered: :class:`Stalled` (a server that never answers is a
  network failure, reported by requests);
- the connection closes before the promised length: :class:`Cut`;
- the disk is full: :class:`DiskFull`, with the space needed and the folder.

Reads use ``read1`` (whatever one socket read returns), so a server dripping a
few bytes a second meets its deadline within one read, not after a whole chunk.

:func:`file_lock` makes concurrent fetches of one file (several kernels, several
learners sharing a cache) download it once; :func:`clean_leftovers` removes the
temporary files of a download that was killed.
"""

from __future__ import annotations

import errno
import os
import re
import time
from contextlib import contextmanager
from pathlib import Path

__all__ = [
    "Cut",
    "DiskFull",
    "Downloader",
    "LockTimeout",
    "Stalled",
    "TooSlow",
    "clean_leftovers",
    "deadline",
    "file_lock",
    "min_rate",
    "stall_timeout",
]

CONNECT_TIMEOUT = 10.0  # seconds to open a connection and get the response headers
CHUNK = 1 << 20
DEFAULT_MIN_RATE = 100_000  # bytes/s: a file must arrive at least this fast on average
DEFAULT_STALL = 60.0  # seconds without a byte
GRACE = 30.0  # seconds added to every deadline (connection set-up, a slow start)
_PART = re.compile(r"^\..+\.(\d+)\.[0-9a-f]{8}\.part$")  # tiers' staging: .NAME.PID.HEX.part
_POOCH_TMP = re.compile(r"^tmp[a-z0-9_]{8}$")  # pooch's own temporary file


def _env_float(name: str, default: float) -> float:
    try:
        value = float(os.environ.get(name, "") or default)
    except ValueError:
        return default
    return value if value > 0 else default


def stall_timeout() -> float:
    """Seconds without a byte after which a download is a stall (``EMCOURSE_STALL_TIMEOUT``)."""
    return _env_float("EMCOURSE_STALL_TIMEOUT", DEFAULT_STALL)


def min_rate() -> float:
    """The slowest average rate, bytes/s, a download may take (``EMCOURSE_MIN_RATE``)."""
    return _env_float("EMCOURSE_MIN_RATE", DEFAULT_MIN_RATE)


def deadline(size: int) -> float:
    """Seconds one file of ``size`` bytes may take in all: a grace period plus size / rate.

    Examples
    --------
    >>> deadline(0) == GRACE, deadline(1_000_000) == GRACE + 1_000_000 / min_rate()
    (True, True)
    """
    grace = min(GRACE, stall_timeout())
    return grace + max(int(size), 0) / min_rate()


def _bytes(n: int) -> str:
    return f"{n:,} bytes"


class TooSlow(OSError):
    """The file did not arrive within its deadline."""

    def __init__(self, got: int, total: int, elapsed: float, limit: float):
        of = f" of {_bytes(total)}" if total else ""
        super().__init__(
            f"too slow: {_bytes(got)}{of} in {elapsed:.0f} s, past this file's deadline of "
            f"{limit:.0f} s (at least {min_rate() / 1000:g} kB/s)"
        )


class Stalled(OSError):
    """The server stopped sending in the middle of the file."""

    def __init__(self, got: int, total: int, stall: float):
        of = f" of {_bytes(total)}" if total else ""
        super().__init__(f"stalled: no data for {stall:g} s after {_bytes(got)}{of}")


class Cut(OSError):
    """The connection closed before the length the server announced."""

    def __init__(self, got: int, total: int):
        of = f" of {_bytes(total)}" if total else ""
        super().__init__(f"the connection closed after {_bytes(got)}{of}")


class DiskFull(OSError):
    """No space left where the file is being written."""

    def __init__(self, folder: Path, needed: int):
        try:
            import shutil

            free = f", {shutil.disk_usage(folder).free:,} bytes free"
        except OSError:
            free = ""
        need = f"needs {_bytes(needed)}" if needed else "needs more space"
        super().__init__(errno.ENOSPC, f"disk full: the file {need} in {folder}{free}")
        self.folder, self.needed = folder, needed


def is_disk_full(exc: BaseException) -> bool:
    """True for ENOSPC and EDQUOT (a quota), however the error travelled."""
    return isinstance(exc, DiskFull) or getattr(exc, "errno", None) in (
        errno.ENOSPC,
        getattr(errno, "EDQUOT", -1),
    )


class Downloader:
    """A pooch downloader (``downloader(url, output_file, pooch)``) with a deadline per file.

    Parameters
    ----------
    headers : dict, optional
        Extra request headers (``Range``).
    size : int
        The size the registry expects, used for the deadline when the server
        sends no ``Content-Length``.
    progressbar : bool
        Show a tqdm progress bar.
    """

    def __init__(self, *, headers: dict | None = None, size: int = 0, progressbar: bool = False):
        self.headers = dict(headers or {})
        self.size = int(size or 0)
        self.progressbar = progressbar

    def __call__(self, url: str, output_file, pooch=None, check_only: bool = False):
        import requests

        stall = stall_timeout()
        start = time.monotonic()
        with requests.get(
            url, headers=self.headers, stream=True, timeout=(CONNECT_TIMEOUT, stall)
        ) as resp:
            resp.raise_for_status()
            if check_only:
                return True
            total = int(resp.headers.get("Content-Length") or 0)
            encoded = resp.headers.get("Content-Encoding", "identity") not in ("", "identity")
            limit = deadline(total or self.size)
            path = Path(output_file if not hasattr(output_file, "write") else output_file.name)
            fh = output_file if hasattr(output_file, "write") else open(output_file, "wb")  # noqa: SIM115
            bar = _bar(total, self.progressbar)
            got = 0
            try:
                while True:
                    chunk = self._read(resp, got, total, stall)
                    if not chunk:
                        break
                    try:
                        fh.write(chunk)
                    except OSError as exc:
                        if is_disk_full(exc):
                            raise DiskFull(path.parent, total or self.size) from exc
                        raise
                    got += len(chunk)
                    if bar is not None:
                        bar.update(len(chunk))
                    elapsed = time.monotonic() - start
                    if elapsed > limit:
                        raise TooSlow(got, total or self.size, elapsed, limit)
                try:
                    fh.flush()
                    os.fsync(fh.fileno())
                except OSError as exc:
                    if is_disk_full(exc):
                        raise DiskFull(path.parent, total or self.size) from exc
                    raise
            finally:
                if bar is not None:
                    bar.close()
                if fh is not output_file:
                    fh.close()
            if total and not encoded and got < total:
                raise Cut(got, total)
        return None

    @staticmethod
    def _read(resp, got: int, total: int, stall: float) -> bytes:
        import urllib3

        read1 = getattr(resp.raw, "read1", None)  # urllib3 >= 2.3
        try:
            if read1 is None:  # pragma: no cover - older urllib3: whole chunks
                return resp.raw.read(CHUNK, decode_content=True)
            return read1(CHUNK, decode_content=True)
        except (urllib3.exceptions.ReadTimeoutError, TimeoutError) as exc:
            raise Stalled(got, total, stall) from exc
        except (urllib3.exceptions.HTTPError, ConnectionError) as exc:
            raise Cut(got, total) from exc


def _bar(total: int, show: bool):
    if not show:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm comes with the course
        return None
    return tqdm(total=total or None, unit="B", unit_scale=True, leave=True, ncols=80)


@contextmanager
def file_lock(target: Path, *, timeout: float):
    """Hold ``.<name>.lock`` next to ``target`` while it is fetched (one download at a time).

    Raises ``TimeoutError`` when another process holds it for ``timeout`` seconds.
    """
    from filelock import FileLock, Timeout

    path = target.with_name(f".{target.name}.lock")
    lock = FileLock(str(path), timeout=timeout)
    try:
        lock.acquire()
    except Timeout as exc:
        raise LockTimeout(
            f"another process has been fetching {target.name} for {timeout:.0f} s"
        ) from exc
    try:
        yield
    finally:
        lock.release()
        # Tidy: a process that got the lock after this one finds the file in the cache
        # (or, if this fetch failed, at worst two retries download it twice, atomically).
        path.unlink(missing_ok=True)


class LockTimeout(TimeoutError):
    """Another process held the file's lock for longer than its download may take."""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process: alive
        return True
    return True


def clean_leftovers(folder: Path) -> list[Path]:
    """Delete temporary files of killed downloads in ``folder``; return those deleted.

    A staging file (``.NAME.PID.HEX.part``) whose process is gone, and pooch's
    ``tmpXXXXXXXX`` untouched for longer than a stall lasts (a live download
    writes at least that often), are leftovers.
    """
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    now = time.time()
    for e in entries:
        try:
            if not e.is_file(follow_symlinks=False):
                continue
            m = _PART.match(e.name)
            stale = (m and not _pid_alive(int(m[1]))) or (
                _POOCH_TMP.match(e.name) and now - e.stat().st_mtime > 2 * stall_timeout()
            )
            if stale:
                os.unlink(e.path)
                removed.append(Path(e.path))
        except OSError:
            continue
    return removed
