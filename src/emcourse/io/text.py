"""Text files for the readers: decoded as UTF-8, or refused in one line naming the file."""

from __future__ import annotations

from pathlib import Path

__all__ = ["read_utf8"]


def read_utf8(path: str | Path, what: str, *, advice: str = "", bom: bool = False) -> str:
    """The text of ``path``, or one ``ValueError`` naming the file and the first bad byte.

    ``what`` names the content ("BigWarp landmark rows"); ``advice`` is added to the
    message; ``bom`` drops a UTF-8 byte-order mark, as spreadsheet exports write one.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.csv"
    >>> _ = p.write_bytes("caf\\xe9\\n".encode("latin-1"))
    >>> read_utf8(p, "rows")
    Traceback (most recent call last):
    ...
    ValueError: .../x.csv: expected rows as UTF-8 text, found byte 0xe9 at byte 3 that is not UTF-8.
    """
    try:
        return Path(path).read_bytes().decode("utf-8-sig" if bom else "utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"{path}: expected {what} as UTF-8 text, found byte 0x{exc.object[exc.start]:02x} "
            f"at byte {exc.start} that is not UTF-8.{' ' + advice if advice else ''}"
        ) from exc
