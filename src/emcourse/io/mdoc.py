"""SerialEM ``.mdoc`` tilt-series metadata."""

from __future__ import annotations

import os
import re
from pathlib import Path

__all__ = ["read_mdoc"]


_SECTION_RE = re.compile(r"^\[\s*(\w+)\s*=\s*(.*?)\s*\]$")


def _mdoc_value(text: str):
    parts = text.split()
    if not parts:
        return ""
    try:
        nums = [int(p) for p in parts]
    except ValueError:
        try:
            nums = [float(p) for p in parts]
        except ValueError:
            return text.strip()
    return nums[0] if len(nums) == 1 else nums


def read_mdoc(path_or_text: str | os.PathLike) -> list[dict]:
    """Read SerialEM ``.mdoc`` metadata: one dictionary per image of the stack.

    Parameters
    ----------
    path_or_text : path-like or str
        A file, or the mdoc text itself (any string with a line break).

    Returns
    -------
    list of dict
        One per ``[ZValue = N]`` section, in file order. Each holds the
        section's keys (``ZValue``, ``TiltAngle`` in degrees, ``ExposureDose``
        in e/A^2, ``Defocus`` in micrometre (SerialEM: negative is
        underfocus for ``TargetDefocus``), ``PixelSpacing`` in angstrom,
        ``DateTime`` as text, ...) on top of the file's global keys, with the
        ``[T = ...]`` title lines as ``Titles``. Numbers become int or float;
        several numbers become a list.

    Raises
    ------
    ValueError
        When the text has no ``[ZValue = N]`` section, or looks cut or damaged:
        a last line without its line end, a line that is neither ``Key = value``
        nor a section header, ZValues that do not count 0, 1, 2, ..., a
        section lacking a key every other section has, a text where the other
        sections have a number. The message names the file, the section and
        the key. A file cut exactly between two sections cannot be told from a
        shorter series by its text: the data layer compares the number of
        sections with the registry's, and the file's sha256.

    Examples
    --------
    >>> text = "PixelSpacing = 5.4\\n[ZValue = 0]\\nTiltAngle = 0.0\\n"
    >>> text += "[ZValue = 1]\\nTiltAngle = 3.0\\n"
    >>> [s["TiltAngle"] for s in read_mdoc(text)]
    [0.0, 3.0]
    >>> read_mdoc(text)[1]["PixelSpacing"]
    5.4
    """
    if isinstance(path_or_text, str) and "\n" in path_or_text:
        text, name = path_or_text, "<mdoc text>"
    else:
        name = str(path_or_text)
        text = Path(path_or_text).read_text(encoding="utf-8", errors="replace")
    if "\x00" in text:
        raise ValueError(f"{name}: expected SerialEM mdoc text, found binary bytes (NUL).")
    global_keys: dict = {}
    titles: list[str] = []
    sections: list[dict] = []
    lines_of: list[int] = []  # the line of each section's header
    current = global_keys
    lines = text.splitlines()
    for n, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line:
            continue
        m = _SECTION_RE.match(line)
        if m:
            key, value = m.groups()
            if key == "T":
                titles.append(value)
                continue
            current = {key: _mdoc_value(value)}
            sections.append(current)
            lines_of.append(n)
            continue
        if line.startswith("[") or "=" not in line:
            raise ValueError(
                f"{name}: line {n}: expected 'Key = value' or a '[ZValue = N]' section header, "
                f"found {line[:60]!r}. Is the file damaged?"
            )
        key, value = line.split("=", 1)
        current[key.strip()] = _mdoc_value(value)
    if text and not text.endswith(("\n", "\r")):
        where = f"section [ZValue = {sections[-1].get('ZValue')}], " if sections else ""
        raise ValueError(
            f"{name}: {where}line {len(lines)}: the file ends without a line end, inside "
            f"{lines[-1].strip()[:40]!r}: it looks cut off."
        )
    if titles:
        global_keys["Titles"] = titles
    frames = [s for s in sections if "ZValue" in s]
    if not frames:
        raise ValueError(
            f"{name}: not a SerialEM mdoc: expected '[ZValue = N]' sections, found none."
        )
    frame_lines = [n for s, n in zip(sections, lines_of, strict=True) if "ZValue" in s]
    _check_sections(name, frames, frame_lines)
    return [{**global_keys, **s} for s in frames]


def _check_sections(name: str, frames: list[dict], lines: list[int]) -> None:
    """Refuse what a cut or damaged mdoc leaves behind, naming the section and the key.

    ZValues must count 0, 1, 2, ... (a section missing in between is seen);
    with three sections or more, a section must have every key all the other
    sections have (a file cut inside its last section is seen), and a key
    that is a number in the other sections must be a number in each.
    """
    for i, (sec, n) in enumerate(zip(frames, lines, strict=True)):
        z = sec["ZValue"]
        if z != i:
            raise ValueError(
                f"{name}: line {n}: expected section [ZValue = {i}], found [ZValue = {z}]: "
                f"{'a section is missing' if isinstance(z, int) and z > i else 'a damaged header'}."
            )
        if not isinstance(sec.get("TiltAngle", 0.0), (int, float)):
            raise ValueError(
                f"{name}: section [ZValue = {i}], TiltAngle: expected a number (degrees), "
                f"found {sec['TiltAngle']!r}."
            )
    if len(frames) < 3:
        return
    counts: dict[str, int] = {}
    numeric: dict[str, int] = {}
    for sec in frames:
        for key, value in sec.items():
            counts[key] = counts.get(key, 0) + 1
            numeric[key] = numeric.get(key, 0) + (not isinstance(value, str))
    for sec, n in zip(frames, lines, strict=True):
        missing = [k for k, c in counts.items() if c == len(frames) - 1 and k not in sec]
        if missing:
            raise ValueError(
                f"{name}: section [ZValue = {sec['ZValue']}] (line {n}): expected the key "
                f"{missing[0]} that every other section has, found none"
                f"{' (and ' + str(len(missing) - 1) + ' more)' if len(missing) > 1 else ''}: "
                "is the file cut off inside this section?"
            )
        for key, value in sec.items():
            if isinstance(value, str) and numeric.get(key, 0) == counts[key] - 1 > 0:
                raise ValueError(
                    f"{name}: section [ZValue = {sec['ZValue']}], {key}: expected a number as in "
                    f"the other sections, found {value!r}."
                )
