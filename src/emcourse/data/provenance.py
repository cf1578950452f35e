"""Which data produced a page's numbers: a record per dataset loaded, and the page's banner.

Every :func:`~emcourse.data.load` (and :func:`~emcourse.data.emdb_map`)
records here, once per dataset and kernel, whether it returned real data and
from which tier (the cache, a mirror, the archive), or the stand-in and why.
:func:`banner` shows those records as one line at the top of a lesson::

    Data on this page: EMD-1832 (real, EMDB, from the cache) · EMPIAR-10982 hela_cell (synthetic stand-in: offline)

In a Jupyter kernel the banner is a display with a ``display_id``: every
later load updates it in place, so the banner at the top of a page ends up
listing everything the page loaded (nbclient applies the updates to the
executed notebook, so the built book shows the final banner too). Outside a
kernel it is printed once, as it stands when :func:`banner` is called.
"""  # noqa: E501

from __future__ import annotations

import html
import re
import sys
import uuid
from dataclasses import dataclass

__all__ = ["Record", "banner", "banner_html", "banner_text", "loaded", "record", "records"]

PREFIX = "Data on this page:"
NONE_YET = "no archive dataset loaded"
SEPARATOR = " · "
TIERS = ("cache", "mirror", "archive")  # in the order the data layer tries them
# Why a stand-in was used, by DataUnavailableError.kind: a few words for the banner.
WHY = {
    "offline": "offline",
    "network": "archive unreachable",
    "mirror-missing": "not on the mirror",
    "mirror-config": "mirror setting unusable",
    "archive-missing": "gone from the archive",
    "corrupt": "download failed its checks",
}
_SHORT_ACCESSION = re.compile(r"^[A-Za-z]+-\d+( \w+)?$")  # EMD-1832, EMPIAR-10982 hela_cell

_records: dict[str, Record] = {}  # registry name -> record, in the order first loaded
_displays: list = []  # IPython DisplayHandles of the banners shown in this kernel


@dataclass(frozen=True)
class Record:
    """Where the data of one dataset came from, in this kernel.

    Parameters
    ----------
    name : str
        Registry name, e.g. ``"emd-1832"``.
    accession : str
        The archive's accession, e.g. ``"EMD-1832"``.
    archive : str
        The archive, e.g. ``"EMDB"`` or ``"GitHub (janelia-flyem/gala)"``.
    real : bool
        True for real archive data, False for the synthetic stand-in.
    tiers : tuple of str
        Real data: where its files came from (``"cache"``, ``"mirror"``,
        ``"archive"``), in tier order.
    why : str
        Stand-in: the cause in a few words (``"offline"``, ``"not on the mirror"``).
    """

    name: str
    accession: str
    archive: str = ""
    real: bool = True
    tiers: tuple[str, ...] = ()
    why: str = ""

    @property
    def label(self) -> str:
        """The accession when it is short (``EMD-1832``), else the registry name."""
        acc = self.accession
        return acc if _SHORT_ACCESSION.match(acc) and len(acc) <= 24 else self.name

    @property
    def status(self) -> str:
        """``real, EMDB, from the cache`` or ``synthetic stand-in: offline``."""
        if not self.real:
            return f"synthetic stand-in: {self.why or 'unavailable'}"
        parts = ["real"]
        archive = self.archive.split(" (")[0].strip()
        if archive:
            parts.append(archive)
        if self.tiers:
            parts.append("from the " + " and ".join(self.tiers))
        return ", ".join(parts)

    def __str__(self) -> str:
        return f"{self.label} ({self.status})"


def record(entry: dict, *, real: bool, tiers=(), kind: str = "") -> Record:
    """Record what :func:`~emcourse.data.load` returned for ``entry``; update the banners.

    ``tiers``: the tiers the real files came from; ``kind``: the
    :class:`~emcourse.data.DataUnavailableError` kind behind a stand-in.
    """
    rec = Record(
        name=entry["name"],
        accession=entry.get("accession", entry["name"]),
        archive=entry.get("archive", ""),
        real=real,
        tiers=tuple(t for t in TIERS if t in set(tiers)),
        why="" if real else WHY.get(kind, "unavailable"),
    )
    if _records.get(rec.name) != rec:
        _records[rec.name] = rec
        for handle in _displays:
            handle.update(_bundle(), raw=True)
    return rec


def records() -> list[Record]:
    """The records of this kernel, in the order the datasets were first loaded."""
    return list(_records.values())


def loaded(name: str) -> Record:
    """The record of dataset ``name`` as loaded in this kernel.

    Examples
    --------
    >>> from emcourse.data.registry import entry
    >>> _ = record(entry("emd-3197"), real=True, tiers=["mirror"])  # what data.load does
    >>> print(loaded("emd-3197"))
    EMD-3197 (real, EMDB, from the mirror)
    """
    try:
        return _records[name]
    except KeyError:
        loaded = ", ".join(_records) or "none"
        raise KeyError(
            f"{name!r} has not been loaded in this kernel (loaded: {loaded}); "
            f"call data.load({name!r}) first."
        ) from None


def banner_text(recs: list[Record] | None = None) -> str:
    """The banner as one line of plain text."""
    recs = records() if recs is None else recs
    items = SEPARATOR.join(str(r) for r in recs) if recs else NONE_YET
    return f"{PREFIX} {items}"


def banner_html(recs: list[Record] | None = None) -> str:
    """The banner as a quiet one-line box; a stand-in's status is set off in colour."""
    recs = records() if recs is None else recs
    items = []
    for r in recs:
        colour = "inherit" if r.real else "#a15c00"
        items.append(
            f'<span title="{html.escape(r.accession)} ({html.escape(r.name)})">'
            f"{html.escape(r.label)}</span> "
            f'<span style="color:{colour}">({html.escape(r.status)})</span>'
        )
    body = SEPARATOR.join(items) if items else f"<i>{NONE_YET}</i>"
    return (
        '<div class="emcourse-data-banner" style="font-size:0.85em;line-height:1.4;'
        "padding:0.2em 0.6em;margin:0.2em 0;border:1px solid rgba(127,127,127,0.35);"
        'border-radius:4px;background:rgba(127,127,127,0.07)">'
        f"<b>{PREFIX}</b> {body}</div>"
    )


def _bundle() -> dict[str, str]:
    return {"text/plain": banner_text(), "text/html": banner_html()}


def _kernel_shell():
    """The IPython shell of a Jupyter kernel, or None (plain Python, terminal IPython)."""
    ipython = sys.modules.get("IPython")  # never imported here: a kernel has it already
    shell = ipython.get_ipython() if ipython is not None else None
    return shell if getattr(shell, "kernel", None) is not None else None


def banner() -> None:
    """Show which data produced this page's numbers, as one line.

    In a Jupyter kernel, a display that every later load of this kernel
    updates in place; elsewhere, the line printed once as it stands.
    """
    if _kernel_shell() is None:
        print(banner_text())
        return
    from IPython.display import display

    handle = display(_bundle(), raw=True, display_id=f"emcourse-data-{uuid.uuid4().hex}")
    _displays.append(handle)
