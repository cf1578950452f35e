"""RELION 5 tomography tables: the tilt-series table of one tilt series, row counts.

RELION 5 keeps, for each tilt series, a STAR file with one row per tilt image
(``Tomograms/job*/tilt_series/TS_01.star``): the stage tilt, the tilt-axis
angle, the accumulated dose before the image (``rlnMicrographPreExposure``),
CTFFIND's defocus and astigmatism, and the alignment. This module reads that
table strictly, on top of :func:`~emcourse.io.star.read_star`, and checks a
STAR file's row counts against the counts a registry expects (a file cut at a
line end reads as a shorter file, which only a count or a checksum can see).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from emcourse.io.star import read_star

__all__ = ["TILT_COLUMNS", "check_star_rows", "read_tilt_series_star"]

# column -> (key in the result, unit, what it is)
TILT_COLUMNS = {
    "rlnTomoNominalStageTiltAngle": ("tilt", "deg", "stage tilt"),
    "rlnTomoNominalTiltAxisAngle": ("tilt_axis", "deg", "tilt-axis angle from the x axis"),
    "rlnMicrographPreExposure": ("pre_exposure", "e/A^2", "dose received before this image"),
    "rlnDefocusU": ("defocus_u", "A", "CTFFIND defocus along the astigmatism angle"),
    "rlnDefocusV": ("defocus_v", "A", "CTFFIND defocus across it"),
    "rlnDefocusAngle": ("defocus_angle", "deg", "CTFFIND astigmatism angle"),
    "rlnTomoXShiftAngst": ("x_shift", "A", "alignment shift along x"),
    "rlnTomoYShiftAngst": ("y_shift", "A", "alignment shift along y"),
}
OPTIONAL_COLUMNS = {
    "rlnTomoZRot": ("z_rot", "deg", "refined in-plane rotation (the refined tilt axis)"),
    "rlnTomoYTilt": ("y_tilt", "deg", "refined tilt"),
    "rlnCtfMaxResolution": ("ctf_max_resolution", "A", "CTFFIND fit resolution"),
}
# (key, low, high, why): values outside are refused, naming the column and the row
_RANGES = (
    ("tilt", -90.0, 90.0, "a stage tilt in degrees"),
    ("tilt_axis", -360.0, 360.0, "an angle in degrees"),
    ("pre_exposure", 0.0, 10000.0, "an accumulated dose in e/A^2, not negative"),
    ("defocus_u", 100.0, 1e6, "a defocus in angstrom (underfocus positive; micrometres?)"),
    ("defocus_v", 100.0, 1e6, "a defocus in angstrom (underfocus positive; micrometres?)"),
    ("defocus_angle", -360.0, 360.0, "an angle in degrees"),
)


def read_tilt_series_star(path: str | os.PathLike) -> dict:
    """Read a RELION 5 tilt-series table: one row per tilt image, strictly.

    Parameters
    ----------
    path : path-like
        The tilt series' ``.star`` file (one ``data_<tilt series>`` loop).

    Returns
    -------
    dict
        ``name`` (the block's name, e.g. ``"TS_01"``), ``table`` (the whole
        DataFrame, rows in file order) and one float array per column of
        :data:`TILT_COLUMNS` (``tilt``, ``tilt_axis``, ``pre_exposure``,
        ``defocus_u``, ``defocus_v``, ``defocus_angle``, ``x_shift``,
        ``y_shift``) and of the optional ones present (``z_rot``, ...), in
        the units of those tables (degrees, e/A^2, angstrom).

    Raises
    ------
    ValueError
        A damaged STAR file (see :func:`~emcourse.io.star.read_star`), no
        block with ``rlnTomoNominalStageTiltAngle``, a required column missing,
        a value that is not a finite number or is out of its range (a defocus
        in micrometres, a negative dose), two rows with the same tilt, fewer
        than two tilts: the message names the file, the column and the row.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> cols = list(TILT_COLUMNS)
    >>> rows = ["-3.0 85 3 39000 38900 40 1.5 -2.0", "0.0 85 0 39100 39000 45 0 0"]
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "TS_01.star"
    >>> text = "data_TS_01\\nloop_\\n" + "".join(f"_{c} #{i + 1}\\n" for i, c in enumerate(cols))
    >>> _ = p.write_text(text + "\\n".join(rows) + "\\n")
    >>> t = read_tilt_series_star(p)
    >>> t["name"], t["tilt"].tolist(), t["pre_exposure"].tolist()
    ('TS_01', [-3.0, 0.0], [3.0, 0.0])
    """
    path = Path(path)
    blocks = read_star(path)
    tables = [
        (name, b)
        for name, b in blocks.items()
        if hasattr(b, "columns") and "rlnTomoNominalStageTiltAngle" in b.columns
    ]
    if not tables:
        raise ValueError(
            f"{path}: expected a RELION 5 tilt-series table (a loop with "
            f"rlnTomoNominalStageTiltAngle), found blocks {list(blocks)}."
        )
    name, df = tables[0]
    missing = [c for c in TILT_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(
            f"{path}: block data_{name}: expected the column {missing[0]} "
            f"({TILT_COLUMNS[missing[0]][2]}), found none"
            f"{f' (and {len(missing) - 1} more missing)' if len(missing) > 1 else ''}."
        )
    if len(df) < 2:
        raise ValueError(f"{path}: block data_{name}: expected a tilt series, found {len(df)} row.")
    out: dict = {"name": name, "table": df}
    for column, (key, _unit, _what) in {**TILT_COLUMNS, **OPTIONAL_COLUMNS}.items():
        if column in df.columns:
            out[key] = _finite(path, name, df, column)
    for key, low, high, why in _RANGES:
        bad = np.flatnonzero((out[key] < low) | (out[key] > high))
        if bad.size:
            column = next(c for c, v in TILT_COLUMNS.items() if v[0] == key)
            i = int(bad[0])
            raise ValueError(
                f"{path}: block data_{name}, column {column}, row {i + 1}: expected {why} "
                f"between {low:g} and {high:g}, found {out[key][i]:g}."
            )
    order = np.argsort(out["tilt"])
    close = np.flatnonzero(np.diff(out["tilt"][order]) < 0.5)
    if close.size:
        i, j = sorted((int(order[close[0]]), int(order[close[0] + 1])))
        raise ValueError(
            f"{path}: block data_{name}, column rlnTomoNominalStageTiltAngle: rows {i + 1} and "
            f"{j + 1} have the same tilt ({out['tilt'][i]:g} and {out['tilt'][j]:g} deg): "
            "expected one image per tilt."
        )
    return out


def _finite(path: Path, block: str, df, column: str) -> np.ndarray:
    """A column as float64; a text or non-finite value is refused naming the column and row."""
    import pandas as pd

    values = pd.to_numeric(df[column], errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        i = int(bad[0])
        raise ValueError(
            f"{path}: block data_{block}, column {column}, row {i + 1}: expected a finite "
            f"number, found {df[column].iloc[i]!r}."
        )
    return values


def check_star_rows(path: str | os.PathLike, blocks: dict, expected: dict[str, int]) -> None:
    """Refuse a STAR file whose loops hold other row counts than ``expected``.

    A STAR file cut exactly at a line end parses as a shorter, valid file:
    only a known count (or a checksum) tells. The data layer passes the
    counts its registry records for a file.

    Parameters
    ----------
    path : path-like
        The file (for the message).
    blocks : dict
        What :func:`~emcourse.io.star.read_star` returned for it.
    expected : dict of str to int
        Block name (without ``data_``) -> number of rows.

    Raises
    ------
    ValueError
        A block missing or with another number of rows, naming the file, the
        block and both counts.

    Examples
    --------
    >>> import pandas as pd
    >>> check_star_rows("a.star", {"particles": pd.DataFrame({"rlnA": [1, 2]})}, {"particles": 3})
    Traceback (most recent call last):
    ...
    ValueError: a.star: block data_particles: expected 3 rows (the registry's count), found 2: ...
    """
    for block, n in expected.items():
        table = blocks.get(block)
        if table is None or not hasattr(table, "columns"):
            raise ValueError(
                f"{path}: expected a loop block data_{block} with {n:,} rows, found blocks "
                f"{list(blocks)}."
            )
        if len(table) != int(n):
            raise ValueError(
                f"{path}: block data_{block}: expected {int(n):,} rows (the registry's count), "
                f"found {len(table):,}: the file is cut off or not the one the course was "
                "written for. Delete it and fetch it again."
            )
