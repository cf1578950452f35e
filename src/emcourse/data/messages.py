"""What the data layer says to people: its errors, the advice for each cause, one-time notes.

Every other module of :mod:`emcourse.data` raises and announces through this
one, so the wording lives in one place and the set of notes already printed
in this process (``_announced``) has one home.
"""

from __future__ import annotations

import logging
import re

__all__ = [
    "DataUnavailableError",
    "UnknownDatasetError",
    "advice",
    "announce_once",
    "python_hint",
    "redact",
    "short",
    "unavailable",
]

_announced: set[str] = set()
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/@\s]*@")


def redact(text: str) -> str:
    """``text`` with the user info (``user:password@``) of every URL in it removed.

    Mirror URLs may carry credentials; no message, log line or exception shows them.

    Examples
    --------
    >>> redact("mirror http://ann:s3cret@10.0.0.5:8000/x: HTTP 404")
    'mirror http://10.0.0.5:8000/x: HTTP 404'
    """
    return _USERINFO.sub(r"\1", str(text))


class RedactingFilter(logging.Filter):
    """A logging filter that removes credentials from URLs in a record (pooch logs URLs)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


def redact_logs(logger: logging.Logger) -> None:
    """Attach a :class:`RedactingFilter` to ``logger`` (once) and to its handlers."""
    for target in (logger, *logger.handlers):
        if not any(isinstance(f, RedactingFilter) for f in target.filters):
            target.addFilter(RedactingFilter())


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
        ``archive-missing``, ``corrupt``, ``disk-full``, ``cache-write``,
        ``slow`` (past the file's deadline), ``stall`` or ``network``.
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


def unavailable(
    label: str,
    reason: str,
    what_next: str = "",
    *,
    kind: str = "",
    summary: str = "",
    details: list[str] | None = None,
) -> DataUnavailableError:
    """A :class:`DataUnavailableError` for ``label`` with its parts filled in."""
    reason, what_next, summary = redact(reason), redact(what_next), redact(summary)
    exc = DataUnavailableError(f"{label}: {reason} {what_next}".rstrip())
    exc.reason = reason
    exc.summary = summary or reason.rstrip(".")
    exc.kind = kind
    exc.advice = what_next
    exc.details = [redact(d) for d in details or []]
    return exc


def python_hint(call: str) -> str:
    """A shell command that runs ``data.<call>``: how to fetch a file outside the registry.

    Examples
    --------
    >>> print(python_hint("emdb_map(3197)"))
    python -c "from emcourse import data; data.emdb_map(3197)"
    """
    return f'python -c "from emcourse import data; data.{call}"'


def short(exc: BaseException | str) -> str:
    """The text of ``exc`` on one line, at most about 400 characters."""
    text = str(exc).strip().splitlines()
    text = " ".join(t.strip() for t in text if t.strip())
    return text if len(text) <= 400 else text[:400] + "..."


def advice(kind: str, hint: str, *, standin: bool = False, mirror_fix: str = "") -> str:
    """What to do next for a failure of ``kind``; ``hint`` is the command that fetches.

    Examples
    --------
    >>> print(advice("mirror-missing", "emcourse data fetch emd-3197"))
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
        "disk-full": "Free some space there, or point EMCOURSE_DATA_DIR at a folder on a disk "
        f"with room, then run `{hint}` again (nothing partial was kept).",
        "cache-write": "Make the cache folder writable (or point EMCOURSE_DATA_DIR at one that "
        f"is), then run `{hint}` again (nothing was kept).",
        "slow": "The connection is too slow for this file: try again on a faster network or "
        f"from a mirror (EMCOURSE_MIRROR); EMCOURSE_MIN_RATE (bytes/s) sets the deadline, "
        f"then run `{hint}` again{alternative}.",
        "stall": "The server stopped sending in the middle of the file: check the network or "
        f"the mirror's server, then run `{hint}` again{alternative}.",
        "network": f"Check the network (and the mirror's server, if one is set), then run "
        f"`{hint}` again once online{alternative}.",
    }[kind]


def announce_once(key: str, message: str) -> None:
    """Print a one-line notice the first time ``key`` comes up in this process."""
    if key in _announced:
        return
    _announced.add(key)
    print(redact(message))
