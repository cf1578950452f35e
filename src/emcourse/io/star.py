"""RELION 4/5 tomography particle STAR files (positions in voxels, Euler angles in degrees)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

__all__ = ["read_particles_star", "read_star", "write_particles_star"]

_TOKEN = re.compile(r"'[^']*'|\"[^\"]*\"|\S+")


def _fields(line: str) -> list[str]:
    """The fields of one STAR line; quoted strings keep their spaces, lose their quotes."""
    return [t[1:-1] if t[:1] in "'\"" and len(t) > 1 else t for t in _TOKEN.findall(line)]


def _table(path: Path, block: str, labels: list[str], rows: list, first: list[int]):
    """A loop's rows as a DataFrame: whole-number columns int64, numbers float64, else text.

    ``rows`` holds each row's line (already checked to have one field per
    column), or its fields where the line has quotes. A column whose values
    are mostly numbers but not all is refused, naming the file, the block, the
    column and the row (a wrong type in a field).
    """
    import io

    import pandas as pd

    if rows and all(isinstance(r, str) for r in rows):
        df = pd.read_csv(
            io.StringIO("\n".join(rows)),
            sep=r"\s+",
            header=None,
            names=range(len(labels)),
            dtype=None,
            keep_default_na=False,
            na_values=["nan", "NaN", "-nan"],
            quoting=3,  # csv.QUOTE_NONE: rows with quotes take the other path
            engine="c",
        )
    else:
        df = pd.DataFrame([_fields(r) if isinstance(r, str) else r for r in rows], dtype=object)
        df = df.reindex(columns=range(len(labels)))
    columns = {}
    for j, label in enumerate(labels):
        raw = df[j]
        if pd.api.types.is_numeric_dtype(raw) or pd.api.types.is_bool_dtype(raw):
            columns[label] = raw
            continue
        text = raw.astype(str)
        num = pd.to_numeric(text, errors="coerce")
        bad = num.isna().to_numpy() & ~text.str.lower().isin(("nan", "-nan", "+nan")).to_numpy()
        if not bad.any():
            columns[label] = num
        elif bad.sum() * 2 < len(rows):
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"{path}: block data_{block}, column {label}, row {i + 1} (line {first[i]}): "
                f"expected a number like the other rows, found {text.iloc[i]!r}."
            )
        else:
            columns[label] = text
    return pd.DataFrame(columns, index=pd.RangeIndex(len(rows)), columns=labels)


def read_star(path: str | os.PathLike) -> dict:
    """Read every block of a STAR file, strictly: a table per loop, a dict per simple block.

    Structure is checked as the file is read, so that a damaged file is
    refused rather than loaded short: every row must have one field per
    column, the file must end with a line end (a file cut inside its last
    row has none), a loop's header must be followed by rows, and a column of
    numbers must hold only numbers. A file cut exactly at a line end
    (after a whole row) cannot be told from a shorter file by its text: the
    data layer's sha256 catches that, not this reader.

    Parameters
    ----------
    path : path-like
        The ``.star`` file (RELION 3, 4 or 5).

    Returns
    -------
    dict
        Block name (without ``data_``) -> a DataFrame (a ``loop_`` block:
        columns named by their labels without ``_``; whole numbers int64,
        numbers float64, the rest text) or a dict (label -> value).

    Raises
    ------
    ValueError
        A short or long row, a missing line end, a loop without rows, a
        non-numeric value in a numeric column, undecodable bytes: the message
        names the file, the block, the column and the row where there is one.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.star"
    >>> _ = p.write_text("data_p\\nloop_\\n_rlnA #1\\n_rlnB #2\\n1 x\\n2 y\\n")
    >>> read_star(p)["p"]["rlnA"].tolist()
    [1, 2]
    >>> _ = p.write_text("data_p\\nloop_\\n_rlnA #1\\n_rlnB #2\\n1 x\\n2\\n")
    >>> read_star(p)
    Traceback (most recent call last):
    ...
    ValueError: ...a.star: block data_p, row 2 (line 6): expected 2 fields (rlnA, rlnB), ...
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"{path}: expected a STAR text file in UTF-8 (or ASCII), found undecodable bytes "
            f"at byte {exc.start}: the file is binary or damaged."
        ) from exc
    blocks: dict = {}
    block = None  # name of the current block
    labels: list[str] = []
    rows: list[list[str]] = []
    first: list[int] = []
    state = "none"  # none | simple | loop-header | loop-rows

    def close(at_end: bool) -> None:
        if state in ("loop-header", "loop-rows"):
            if not labels:
                raise ValueError(f"{path}: block data_{block}: a loop_ without column labels.")
            if not rows and at_end:
                raise ValueError(
                    f"{path}: block data_{block}: the loop has {len(labels)} columns but no "
                    "rows before the file ends: the file looks cut off."
                )
            blocks[block] = _table(path, block, labels, rows, first)

    lines = text.splitlines()
    for n, line in enumerate(lines, 1):
        stripped = line.strip()
        if not stripped or stripped[0] == "#":
            continue
        if state in ("loop-header", "loop-rows") and stripped[0] not in "_dl":
            # a row (the common case, kept fast): fields split on blanks unless quoted
            quoted = "'" in line or '"' in line
            words = _fields(line) if quoted else line.split()
            if len(words) != len(labels):
                _wrong_row(path, block, labels, words, len(rows) + 1, n)
            rows.append(words if quoted else line)
            first.append(n)
            state = "loop-rows"
            continue
        words = _fields(line)
        head = words[0]
        if head.startswith("data_"):
            close(at_end=False)
            block, labels, rows, first, state = head[5:], [], [], [], "simple"
            blocks[block] = {}
        elif block is None:
            raise ValueError(
                f"{path}: line {n}: expected a 'data_' block first, found {line.strip()[:60]!r}."
            )
        elif head == "loop_":
            state, labels, rows, first = "loop-header", [], [], []
        elif head.startswith("_") and state in ("simple", "loop-header"):
            if state == "loop-header":
                labels.append(head[1:])
            elif len(words) < 2:
                raise ValueError(f"{path}: block data_{block}, line {n}: {head} has no value.")
            else:
                blocks[block][head[1:]] = _value(words[1])
        elif state in ("loop-header", "loop-rows"):
            words = _fields(line)
            if len(words) != len(labels):
                _wrong_row(path, block, labels, words, len(rows) + 1, n)
            rows.append(words)
            first.append(n)
            state = "loop-rows"
        else:
            raise ValueError(
                f"{path}: block data_{block}, line {n}: expected a label, 'loop_' or a row, "
                f"found {line.strip()[:60]!r}."
            )
    if text and not text.endswith(("\n", "\r")):
        where = f"block data_{block}, " if block is not None else ""
        raise ValueError(
            f"{path}: {where}line {len(lines)}: the file ends without a line end, inside "
            f"{'row ' + str(len(rows)) if state == 'loop-rows' else 'its last line'}: "
            "it looks cut off."
        )
    close(at_end=True)
    if not blocks:
        raise ValueError(f"{path}: expected STAR 'data_' blocks, found none.")
    return blocks


def _wrong_row(path, block, labels, words, row: int, line: int):
    """Refuse a row with too few or too many fields, naming the first missing column."""
    if len(words) < len(labels):
        what = f"column {labels[len(words)]} is missing"
    else:
        what = f"{len(words) - len(labels)} more than the header names"
    raise ValueError(
        f"{path}: block data_{block}, row {row} (line {line}): expected {len(labels)} fields "
        f"({_names(labels)}), found {len(words)}: {what}. Is the file cut off or a row damaged?"
    )


def _names(labels: list[str]) -> str:
    return ", ".join(labels) if len(labels) <= 4 else f"{labels[0]} ... {labels[-1]}"


def _value(word: str):
    for kind in (int, float):
        try:
            return kind(word)
        except ValueError:
            pass
    return word


def write_particles_star(
    path: str | os.PathLike,
    positions_zyx: np.ndarray,
    eulers_deg: np.ndarray | None = None,
    *,
    voxel_size: float,
    tomo_name: str | list[str],
    tomo_shape: tuple[int, int, int] | None = None,
    voltage: float = 300.0,
    spherical_aberration: float = 2.7,
    amplitude_contrast: float = 0.1,
) -> None:
    """Write particle positions and orientations as a RELION 5 tomography STAR file.

    Two blocks, as RELION 5 writes them: ``data_optics`` (one optics group,
    with ``rlnTomoTiltSeriesPixelSize``) and ``data_particles`` with
    ``rlnTomoName``, ``rlnCoordinateX/Y/Z`` (pixels of the tomogram),
    ``rlnAngleRot/Tilt/Psi`` (ZYZ Euler angles in degrees) and
    ``rlnOpticsGroup``. When ``tomo_shape`` is given, RELION 5's centred
    coordinates ``rlnCenteredCoordinateX/Y/ZAngst`` (angstrom from the
    tomogram centre) are written as well.

    Parameters
    ----------
    path : path-like
        Output ``.star`` file; overwritten.
    positions_zyx : ndarray, shape (n, 3)
        Particle centres in voxels, ``(z, y, x)`` order.
    eulers_deg : ndarray, shape (n, 3), optional
        ``(rot, tilt, psi)`` in degrees, RELION's ZYZ convention; zeros if omitted.
    voxel_size : float
        Angstrom per tomogram voxel (the coordinates' pixel size).
    tomo_name : str or list of str
        ``rlnTomoName`` for all particles, or one per particle.
    tomo_shape : tuple of int, optional
        ``(z, y, x)`` shape of the tomogram, for the centred coordinates.
    voltage, spherical_aberration, amplitude_contrast : float
        Optics group values (kV, mm, fraction).
    """
    import pandas as pd
    import starfile

    pos = np.asarray(positions_zyx, dtype=float).reshape(-1, 3)
    n = len(pos)
    eul = np.zeros((n, 3)) if eulers_deg is None else np.asarray(eulers_deg, float).reshape(-1, 3)
    if len(eul) != n:
        raise ValueError(f"{n} positions but {len(eul)} Euler-angle triples; expected equal.")
    names = [tomo_name] * n if isinstance(tomo_name, str) else list(tomo_name)
    if len(names) != n:
        raise ValueError(f"{n} positions but {len(names)} tomogram names.")
    optics = pd.DataFrame(
        {
            "rlnOpticsGroup": [1],
            "rlnOpticsGroupName": ["opticsGroup1"],
            "rlnVoltage": [float(voltage)],
            "rlnSphericalAberration": [float(spherical_aberration)],
            "rlnAmplitudeContrast": [float(amplitude_contrast)],
            "rlnTomoTiltSeriesPixelSize": [float(voxel_size)],
        }
    )
    particles = {
        "rlnTomoName": names,
        "rlnCoordinateX": pos[:, 2],
        "rlnCoordinateY": pos[:, 1],
        "rlnCoordinateZ": pos[:, 0],
    }
    if tomo_shape is not None:
        centre = (np.asarray(tomo_shape, dtype=float) / 2.0)[::-1]  # x, y, z
        for i, ax in enumerate("XYZ"):
            particles[f"rlnCenteredCoordinate{ax}Angst"] = (pos[:, 2 - i] - centre[i]) * voxel_size
    particles.update(
        {
            "rlnAngleRot": eul[:, 0],
            "rlnAngleTilt": eul[:, 1],
            "rlnAnglePsi": eul[:, 2],
            "rlnOpticsGroup": np.ones(n, dtype=int),
        }
    )
    starfile.write(
        {"optics": optics, "particles": pd.DataFrame(particles)}, Path(path), overwrite=True
    )


def read_particles_star(
    path: str | os.PathLike, *, tomo_shape: tuple[int, int, int] | None = None
) -> dict:
    """Read a RELION (3, 4 or 5) tomography particle STAR file.

    Columns are found by their header labels, never by position: RELION-3
    files as deposited (one unnamed ``data_`` block, no optics table) put
    ``rlnTomoName`` or ``rlnMicrographName`` and the coordinates in any order.

    Parameters
    ----------
    path : path-like
        The ``.star`` file.
    tomo_shape : tuple of int, optional
        ``(z, y, x)`` tomogram shape; needed only when the file has RELION 5's
        centred coordinates in angstrom and no ``rlnCoordinateX/Y/Z``.

    Returns
    -------
    dict
        ``positions`` (n, 3) float ``(z, y, x)`` voxels; ``eulers_deg`` (n, 3)
        ``(rot, tilt, psi)``; ``tomo_names`` (n,) array of str; ``voxel_size``
        (angstrom, from ``rlnTomoTiltSeriesPixelSize`` when present, else None);
        ``particles`` the full table as a DataFrame.

    Raises
    ------
    ValueError
        When the file has no particle table or no usable coordinates, or is
        damaged (see :func:`read_star`: a cut or short row, a text where a
        number belongs); the message names the file, the block, the column
        and the row.
    """
    path = Path(path)
    blocks = read_star(path)
    if "particles" in blocks:
        df = blocks["particles"]
    else:
        labels = ("rlnTomoName", "rlnMicrographName", "rlnCoordinateX")
        tables = [
            b for b in blocks.values() if hasattr(b, "columns") and any(c in b for c in labels)
        ]
        if not tables:
            raise ValueError(
                f"{path}: expected a particle table (a 'data_particles' block, or a block "
                f"with rlnTomoName or rlnCoordinateX/Y/Z), found blocks {list(blocks)}."
            )
        df = tables[0]
    voxel_size = None
    optics = blocks.get("optics")
    for table in (optics, df):
        if table is not None and "rlnTomoTiltSeriesPixelSize" in table:
            voxel_size = float(_numbers(path, table, ["rlnTomoTiltSeriesPixelSize"])[0, 0])
            if not (np.isfinite(voxel_size) and voxel_size > 0):
                raise ValueError(
                    f"{path}: rlnTomoTiltSeriesPixelSize: expected a positive pixel size in "
                    f"angstrom, found {voxel_size}."
                )
            break
    if all(f"rlnCoordinate{a}" in df for a in "XYZ"):
        pos = _numbers(path, df, ["rlnCoordinateZ", "rlnCoordinateY", "rlnCoordinateX"])
    elif all(f"rlnCenteredCoordinate{a}Angst" in df for a in "XYZ"):
        if tomo_shape is None or voxel_size is None:
            raise ValueError(
                f"{path}: the file has only centred coordinates in angstrom; pass "
                "tomo_shape=(z, y, x) (and the file needs rlnTomoTiltSeriesPixelSize) to "
                "turn them into voxels."
            )
        cols = ["rlnCenteredCoordinateZAngst", "rlnCenteredCoordinateYAngst"]
        cols.append("rlnCenteredCoordinateXAngst")
        pos = _numbers(path, df, cols) / voxel_size + np.asarray(tomo_shape, float) / 2.0
    else:
        raise ValueError(
            f"{path}: expected rlnCoordinateX/Y/Z or rlnCenteredCoordinateX/Y/ZAngst columns, "
            f"found {list(df.columns)}."
        )
    angles = ["rlnAngleRot", "rlnAngleTilt", "rlnAnglePsi"]
    eul = _numbers(path, df, angles) if all(a in df for a in angles) else np.zeros((len(df), 3))
    # RELION 4/5 name the tomogram rlnTomoName; RELION 3 subtomogram files rlnMicrographName
    name_col = next((c for c in ("rlnTomoName", "rlnMicrographName") if c in df), None)
    names = df[name_col].astype(str).to_numpy() if name_col else None
    return {
        "positions": pos,
        "eulers_deg": eul,
        "tomo_names": names,
        "voxel_size": voxel_size,
        "particles": df,
    }


def _numbers(path: Path, df, labels: list[str]) -> np.ndarray:
    """Columns ``labels`` of ``df`` as floats; a text value is refused naming column and row."""
    import pandas as pd

    for label in labels:
        col = df[label]
        if not pd.api.types.is_numeric_dtype(col):
            num = pd.to_numeric(col, errors="coerce")
            i = int(np.flatnonzero(num.isna().to_numpy())[0])
            raise ValueError(
                f"{path}: column {label}, row {i + 1}: expected a number, found {col.iloc[i]!r}."
            )
    return df[labels].to_numpy(float)
