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
        When the text has no ``[ZValue = N]`` section.

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
    global_keys: dict = {}
    titles: list[str] = []
    sections: list[dict] = []
    current = global_keys
    for line in text.splitlines():
        line = line.strip()
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
            continue
        if "=" in line:
            key, value = line.split("=", 1)
            current[key.strip()] = _mdoc_value(value)
    if titles:
        global_keys["Titles"] = titles
    frames = [s for s in sections if "ZValue" in s]
    if not frames:
        raise ValueError(
            f"{name}: not a SerialEM mdoc: expected '[ZValue = N]' sections, found none."
        )
    return [{**global_keys, **s} for s in frames]
