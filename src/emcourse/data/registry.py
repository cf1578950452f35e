"""The registry of datasets: ``registry.toml`` read with importlib.resources, and its table.

An entry is a dictionary (see the comment at the top of ``registry.toml``).
It names its file with ``url``, or several files with a ``[name.files]``
table of role = URL; :func:`file_urls` gives either as ``{role: url}``.

Note: ``emcourse.data.registry`` is the function :func:`registry` once the
package is imported; import names from this module with
``from emcourse.data.registry import ...``.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path

from emcourse.data.messages import UnknownDatasetError
from emcourse.volume import Source

__all__ = [
    "EMDB_MAP_URL",
    "EMPIAR_URL",
    "MAIN",
    "empiar_url",
    "entry",
    "fetch_hint",
    "file_urls",
    "label",
    "lookup",
    "pinned_hash",
    "read_registry",
    "registry",
    "registry_markdown",
    "registry_path",
    "size_text",
    "source",
    "unknown_text",
]

EMDB_MAP_URL = "https://ftp.ebi.ac.uk/pub/databases/emdb/structures/EMD-{id}/map/emd_{id}.map.gz"
EMPIAR_URL = "https://ftp.ebi.ac.uk/empiar/world_availability/{id}/{path}"
MAIN = "main"  # the role of the file of a one-file entry (given by ``url``)


def registry_path() -> Path:
    """The package's ``registry.toml`` (a file on disk in a normal install)."""
    return Path(str(resources.files("emcourse.data").joinpath("registry.toml")))


def read_registry(path: str | Path | None = None) -> dict[str, dict]:
    """Parse a registry file (default the package's); each entry gets its ``name``."""
    if path is None:
        res = resources.files("emcourse.data").joinpath("registry.toml")
        text = res.read_text(encoding="utf-8")
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
        Each entry has ``archive``, ``accession``, ``url`` (or a ``files``
        table of role = URL), ``size``, ``sha256``, ``licence``, ``citation``,
        ``subset``, ``kind``, ``standin`` and notes on what is ``verified``
        and ``unverified``.

    Examples
    --------
    >>> entries = registry()
    >>> entries["emd-3197"]["accession"]
    'EMD-3197'
    """
    return read_registry()


def entry(name: str) -> dict:
    """The registry entry called ``name`` (case and spaces around it ignored)."""
    return lookup(registry(), name)


def lookup(entries: dict[str, dict], name: str) -> dict:
    """``entries[name]``, or :class:`UnknownDatasetError` listing the known names."""
    key = name.strip().lower()
    if key not in entries:
        raise UnknownDatasetError(unknown_text(name, entries))
    return entries[key]


def unknown_text(name: str, entries: dict[str, dict]) -> str:
    """The message for a name not in the registry.

    Examples
    --------
    >>> print(unknown_text("emd-1", {"emd-3197": {}, "emd-1832": {}}))
    no dataset named emd-1 in the registry; known: emd-1832, emd-3197. For any EMDB entry use data.emdb_map(NUMBER).
    """  # noqa: E501
    return (
        f"no dataset named {name.strip()} in the registry; known: {', '.join(sorted(entries))}. "
        "For any EMDB entry use data.emdb_map(NUMBER)."
    )


def file_urls(entry: dict) -> dict[str, str]:
    """``{role: url}`` of every file of ``entry``: ``{"main": url}``, or its ``files`` table.

    Examples
    --------
    >>> file_urls({"name": "x", "url": "https://a.org/x.mrc"})
    {'main': 'https://a.org/x.mrc'}
    >>> file_urls({"name": "y", "files": {"em": "https://a.org/em.tif", "labels": "https://a.org/l.tif"}})
    {'em': 'https://a.org/em.tif', 'labels': 'https://a.org/l.tif'}
    """  # noqa: E501
    files = entry.get("files")
    if files and entry.get("url"):
        raise ValueError(f"{entry['name']}: give either url or a [files] table, not both.")
    if files:
        return dict(files)
    return {MAIN: entry["url"]}


def pinned_hash(entry: dict, role: str = MAIN) -> str:
    """The pinned sha256 of one file of ``entry`` (``""`` when unpinned).

    ``sha256`` is a string for a one-file entry, a table of role = hash for
    an entry of several files.
    """
    pins = entry.get("sha256", "")
    if isinstance(pins, dict):
        return pins.get(role, "")
    return pins if role == MAIN else ""


def fetch_hint(entry: dict) -> str:
    """The command that fetches ``entry``, for error messages and announcements."""
    return entry.get("fetch_hint", f"emcourse data fetch {entry['name']}")


def label(entry: dict) -> str:
    """``ACCESSION (name)``: how messages name a dataset."""
    return f"{entry['accession']} ({entry['name']})"


def source(entry: dict, *, real: bool) -> Source:
    """The :class:`~emcourse.volume.Source` of ``entry``: real data, or its stand-in.

    A stand-in's source does not repeat why it is used: the one-time notice
    printed when it was loaded says why, and how to get the real data.
    """
    url = entry.get("url") or entry.get("page", "")
    if real:
        return Source(
            accession=entry["accession"],
            licence=entry["licence"],
            citation=entry["citation"],
            url=url,
            real=True,
            note=entry.get("subset", ""),
        )
    note = f"stand-in made by {entry.get('standin', 'emcourse.sta.simulate')}"
    if entry.get("standin_differs"):
        note += f"; `emcourse data list --long {entry['name']}` says how it differs"
    return Source(
        accession=entry["accession"],
        licence="CC0-1.0 (made by emcourse)",
        citation=f"the real data: {entry['citation']}",
        url=url,
        real=False,
        note=note,
    )


def _human(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return ""  # pragma: no cover


def size_text(entry: dict) -> str:
    """The entry's download size for people, ``~`` and ``(estimate)`` when not checked."""
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
    "standin_differs": "Offline stand-in: how it differs",
}


def registry_markdown(columns: tuple[str, ...] = tuple(_TABLE_COLUMNS)) -> str:
    """A markdown table of every dataset, for the book's data and licences page.

    Parameters
    ----------
    columns : tuple of str
        Which columns, in order, from name, archive, accession (linked to its
        page), size, licence, citation, subset, standin_differs.

    Returns
    -------
    str

    Examples
    --------
    >>> print(registry_markdown().splitlines()[0])  # doctest: +ELLIPSIS
    | Name | Archive | Accession | Size | Licence | Citation | Subset | Offline stand-in: ... |
    >>> print(registry_markdown(("name", "licence")).splitlines()[0])
    | Name | Licence |
    """
    rows = [
        "| " + " | ".join(_TABLE_COLUMNS[c] for c in columns) + " |",
        "|" + " --- |" * len(columns),
    ]
    for name, e in registry().items():
        acc = f"[{e['accession']}]({e['page']})" if e.get("page") else e["accession"]
        values = {"standin_differs": "", **e, "name": f"`{name}`", "accession": acc}
        values["size"] = size_text(e)
        rows.append("| " + " | ".join(str(values[c]).replace("|", "/") for c in columns) + " |")
    return "\n".join(rows) + "\n"


def empiar_url(entry: int | str, path: str) -> tuple[str, str]:
    """``(url, accession)`` of the file ``path`` of EMPIAR entry ``entry``.

    Examples
    --------
    >>> empiar_url("EMPIAR-10164", "/data/a.mdoc")
    ('https://ftp.ebi.ac.uk/empiar/world_availability/10164/data/a.mdoc', 'EMPIAR-10164')
    """
    number = str(entry).upper().removeprefix("EMPIAR-").strip()
    if not number.isdigit():
        raise ValueError(f"expected an EMPIAR entry number such as 10164, found {entry!r}.")
    return EMPIAR_URL.format(id=number, path=path.lstrip("/")), f"EMPIAR-{number}"
