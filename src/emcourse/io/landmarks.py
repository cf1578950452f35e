"""Landmark tables CLEM tools exchange: BigWarp landmark CSV and the COSEM landmark CSV.

- **BigWarp landmarks CSV**: no header; each row ``name, active, moving_x,
  moving_y[, moving_z], fixed_x, fixed_y[, fixed_z]``, every field
  double-quoted, names ``Pt-0``, ``Pt-1``, ..., active ``"true"``/``"false"``,
  calibrated physical units (BigWarp shows what the images' calibration says,
  usually micrometres).
- **COSEM landmark CSV** (Heinrich et al. 2021): header
  ``Pt-index, Rater ID, em-x, em-y, em-z, lm-x, lm-y, lm-z``, micrometres.

Readers return arrays in the course's order, ``(z, y, x)`` (3D) or ``(y, x)``
(2D); files keep x first. Strict: a malformed file raises ``ValueError``
naming the file, what was expected and what was found.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from emcourse.io.text import read_utf8
from emcourse.volume import Source

__all__ = ["read_bigwarp_csv", "read_cosem_landmarks", "write_bigwarp_csv"]


def _read_text_rows(path: Path, what: str) -> list[list[str]]:
    """The CSV rows of ``path``, or one ValueError naming the file and the encoding problem."""
    text = read_utf8(
        path,
        what,
        bom=True,
        advice="(A Latin-1 or Windows export?) Re-save the file as UTF-8, or rename its "
        "points with plain ASCII letters.",
    )
    if "\x00" in text:
        raise ValueError(f"{path}: expected {what} as text, found binary bytes (NUL).")
    if text and not text.endswith(("\n", "\r")):
        raise ValueError(
            f"{path}: row {len(text.splitlines())}: the file ends without a line end, inside "
            f"its last row {text.splitlines()[-1][-40:]!r}: it looks cut off."
        )
    try:
        return list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise ValueError(f"{path}: expected {what}, found text CSV cannot split: {exc}.") from exc


def _flip(points: np.ndarray) -> np.ndarray:
    """x, y[, z] columns <-> (z,) y, x columns."""
    return np.ascontiguousarray(np.asarray(points, dtype=np.float64)[:, ::-1])


# ----------------------------------------------------------------- BigWarp


def read_bigwarp_csv(path) -> dict:
    """Read a BigWarp landmarks CSV.

    Returns
    -------
    dict
        ``names`` (list of str), ``active`` (bool array), ``moving`` and
        ``fixed`` ((n, K) arrays, **(z, y, x)** or (y, x) columns, the file's
        physical unit), ``ndim``; ``paired`` (bool array): False where BigWarp
        wrote ``Infinity`` for every coordinate of one side, its mark of a
        landmark placed in one image only (``LandmarkTableModel``); such a row
        reads as NaN there and is never ``active`` (no fit can use it).
    """
    path = Path(path)
    rows = [r for r in _read_text_rows(path, "BigWarp landmark rows") if r]
    if not rows:
        raise ValueError(f"{path}: expected BigWarp landmark rows, found an empty file.")
    width = len(rows[0])
    if width not in (6, 8):
        raise ValueError(
            f"{path}: expected 6 (2D) or 8 (3D) columns per BigWarp row, found {width} "
            f"in the first row {rows[0]!r}."
        )
    k = (width - 2) // 2
    axes = "xyz"[:k]
    columns = ["name", "active", *(f"moving_{a}" for a in axes), *(f"fixed_{a}" for a in axes)]
    names, active, paired, vals = [], [], [], []
    for i, r in enumerate(rows, 1):
        if len(r) != width:
            gap = f": column {columns[len(r)]} is missing" if len(r) < width else ""
            raise ValueError(
                f"{path}: row {i}: expected {width} fields ({', '.join(columns)}), "
                f"found {len(r)}{gap}."
            )
        if r[1] not in ("true", "false"):
            raise ValueError(
                f"{path}: row {i}, column active: expected 'true' or 'false', found {r[1]!r}."
            )
        row = []
        for col, v in zip(columns[2:], r[2:], strict=True):
            try:
                row.append(float(v))
            except ValueError as exc:
                raise ValueError(
                    f"{path}: row {i}, column {col}: expected a number, found {v!r}."
                ) from exc
        sides = [row[:k], row[k:]]
        unplaced = [all(x == np.inf for x in side) for side in sides]
        for col, x in zip(columns[2:], row, strict=True):
            side = sides[columns.index(col) >= 2 + k]
            if not np.isfinite(x) and not (x == np.inf and all(y == np.inf for y in side)):
                raise ValueError(
                    f"{path}: row {i}, column {col}: expected a finite number (or Infinity in "
                    f"every column of a side, BigWarp's mark of a point not placed), found {x!r}."
                )
        vals.append([np.nan if np.isinf(x) else x for x in row])
        names.append(r[0])
        paired.append(not any(unplaced))
        active.append(r[1] == "true" and paired[-1])
    v = np.array(vals)
    return {
        "names": names,
        "active": np.array(active),
        "paired": np.array(paired),
        "moving": _flip(v[:, :k]),
        "fixed": _flip(v[:, k:]),
        "ndim": k,
    }


def write_bigwarp_csv(path, moving, fixed, *, names=None, active=None) -> Path:
    """Write paired points as a BigWarp landmarks CSV.

    ``moving`` and ``fixed`` are (n, K) arrays in **(z, y, x)** / (y, x) order
    and the physical unit BigWarp will show for the images (usually
    micrometres: divide nanometres by 1000 first). BigWarp's thin-plate
    spline then maps fixed to moving.
    """
    path = Path(path)
    p, q = np.asarray(moving, dtype=np.float64), np.asarray(fixed, dtype=np.float64)
    if p.shape != q.shape or p.ndim != 2 or p.shape[1] not in (2, 3):
        raise ValueError(
            f"moving and fixed: expected two (n, 2|3) arrays, found {p.shape}, {q.shape}."
        )
    n = len(p)
    names = names or [f"Pt-{i}" for i in range(n)]
    active = np.ones(n, dtype=bool) if active is None else np.asarray(active, dtype=bool)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, quoting=csv.QUOTE_ALL, lineterminator="\n")
        for name, act, a, b in zip(names, active, _flip(p), _flip(q), strict=True):
            w.writerow(
                [
                    name,
                    "true" if act else "false",
                    *(repr(float(v)) for v in a),
                    *(repr(float(v)) for v in b),
                ]
            )
    return path


# ----------------------------------------------------------------- COSEM

_COSEM_HEADER = ["Pt-index", "Rater ID", "em-x", "em-y", "em-z", "lm-x", "lm-y", "lm-z"]


def read_cosem_landmarks(path, *, rater: str = "AW", source: Source | None = None):
    """Read the COSEM CLEM landmark table (Heinrich et al. 2021) into nanometres, (z, y, x).

    The table places every light-microscopy landmark in the FIB-SEM once per
    rater (two people, ``AW`` and ``JB``, and the automatic method ``Auto``).
    ``fixed`` holds ``rater``'s placements, ``raters`` all of them.

    Returns
    -------
    emcourse.clem.Landmarks
    """
    from emcourse.clem.types import Landmarks

    path = Path(path)
    rows = _read_text_rows(path, "the COSEM landmark table")
    if not rows or [h.strip() for h in rows[0]] != _COSEM_HEADER:
        raise ValueError(
            f"{path}: expected the header {','.join(_COSEM_HEADER)}, found "
            f"{','.join(rows[0]) if rows else 'an empty file'}."
        )
    by_rater: dict[str, dict[int, tuple]] = {}
    for i, r in enumerate(rows[1:], 2):
        if not r:
            continue
        if len(r) != len(_COSEM_HEADER):
            raise ValueError(
                f"{path}: line {i}: expected {len(_COSEM_HEADER)} fields "
                f"({','.join(_COSEM_HEADER)}), found {len(r)}"
                f"{': column ' + _COSEM_HEADER[len(r)] + ' is missing' if len(r) < 8 else ''}."
            )
        values = []
        for col, v in zip(_COSEM_HEADER, r, strict=True):
            if col == "Rater ID":
                continue
            try:
                values.append(int(v) if col == "Pt-index" else float(v))
            except ValueError as exc:
                kind = "a whole number" if col == "Pt-index" else "a number"
                raise ValueError(
                    f"{path}: line {i}, column {col}: expected {kind}, found {v!r}."
                ) from exc
        idx, who, em, lm = values[0], r[1].strip(), values[1:4], values[4:7]
        by_rater.setdefault(who, {})[idx] = (em, lm)
    if rater not in by_rater:
        raise ValueError(f"{path}: expected rater {rater!r}, found {sorted(by_rater)}.")
    order = sorted(by_rater[rater])
    lm = np.array([by_rater[rater][i][1] for i in order])
    raters = {}
    for who, pts in by_rater.items():
        if sorted(pts) != order:
            raise ValueError(f"{path}: rater {who} has points {sorted(pts)}, {rater} has {order}.")
        if not np.allclose([pts[i][1] for i in order], lm):
            raise ValueError(
                f"{path}: rater {who}'s light-microscopy points differ from {rater}'s."
            )
        raters[who] = _flip(np.array([pts[i][0] for i in order])) * 1000.0
    return Landmarks(
        moving=_flip(lm) * 1000.0,
        fixed=raters[rater],
        unit="nm",
        raters=raters,
        source=source or Source("COSEM CLEM landmarks", licence="BSD-2-Clause", url=str(path)),
    )
