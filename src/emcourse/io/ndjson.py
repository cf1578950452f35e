"""cryoET Data Portal point annotations: one JSON object per line (NDJSON)."""

from __future__ import annotations

import json
import os

from emcourse.io.text import read_utf8

__all__ = ["read_ndjson_points"]


def read_ndjson_points(path: str | os.PathLike) -> list[dict]:
    """Read the points of a portal ``*_point.ndjson`` annotation file.

    Parameters
    ----------
    path : path-like
        The file: one JSON object per line, each with ``location`` ``x, y, z``
        in voxels of the annotation's voxel spacing.

    Returns
    -------
    list of dict
        Each line's record, plus ``_zyx``: its location as ``(z, y, x)`` floats.

    Raises
    ------
    ValueError
        A line that is not a JSON point with a location; the message names
        the file and the line.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.ndjson"
    >>> _ = p.write_text('{"type": "point", "location": {"x": 1, "y": 2, "z": 3}}\\n')
    >>> read_ndjson_points(p)[0]["_zyx"]
    (3.0, 2.0, 1.0)
    """
    points = []
    text = read_utf8(path, "NDJSON")
    for i, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            loc = rec["location"]
            points.append(rec | {"_zyx": (float(loc["z"]), float(loc["y"]), float(loc["x"]))})
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise ValueError(
                f"{path}: line {i}: expected a JSON point with location x, y, z, "
                f"found {line[:80]!r} ({exc})."
            ) from exc
    return points
