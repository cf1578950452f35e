"""Small text files that come with a tilt series: IMOD's ``.rawtlt`` and an FEI tomography log.

Strict like the other readers: a line that is not what it should be raises
``ValueError`` naming the file, the line and what was found.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

__all__ = ["read_fei_tomography_log", "read_rawtlt"]


def read_rawtlt(path: str | Path) -> np.ndarray:
    """The tilt angles of a ``.rawtlt`` file: one number (degrees) a line, blank lines skipped.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "s.rawtlt"
    >>> _ = p.write_text(" -2.00\\n 0.00\\n 2.00\\n")
    >>> read_rawtlt(p).tolist()
    [-2.0, 0.0, 2.0]
    """
    path = Path(path)
    out = []
    for k, line in enumerate(path.read_text(encoding="ascii", errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            out.append(float(line))
        except ValueError:
            raise ValueError(
                f"{path}: line {k}: expected one tilt angle in degrees, found {line.strip()!r}."
            ) from None
    if not out:
        raise ValueError(f"{path}: expected one tilt angle a line, found no numbers.")
    return np.array(out)


_FIELDS = {
    "tilt_axis": r"Tilt Axis Angle \[.*?\]:\s*([-+0-9.]+)",
    "pixel_size_nm": r"Image pixel size \[nm\]:\s*([-+0-9.]+)",
    "min_tilt": r"Max negative tilt \[.*?\]:\s*([-+0-9.]+)",
    "max_tilt": r"Max positive tilt \[.*?\]:\s*([-+0-9.]+)",
}


def read_fei_tomography_log(path: str | Path) -> dict:
    """The acquisition parameters of an FEI tomography log (``HAADF.txt``-style) as numbers.

    Returns ``tilt_axis`` (degrees, as the software states it), ``pixel_size_nm``,
    ``min_tilt`` and ``max_tilt`` (degrees). Bytes that are not ASCII (the
    log's degree signs) are ignored.

    Raises
    ------
    ValueError
        When a field is missing, naming the file and the field.
    """
    path = Path(path)
    text = path.read_bytes().decode("ascii", errors="replace")
    out = {}
    for key, pattern in _FIELDS.items():
        m = re.search(pattern, text)
        if not m:
            raise ValueError(
                f"{path}: expected an FEI tomography log with the field {key!r} "
                f"(a line matching {pattern!r}), found none."
            )
        out[key] = float(m.group(1))
    return out
