"""The functions of two dataset kinds: RELION 5 STAR tables and a tilt series' table.

``relion5-star``: any RELION 5 STAR file (particles, tomograms), opened as its
blocks; the registry's ``rows`` (block -> count) is checked on download, so a
file cut at a line end is refused instead of loading as fewer particles.
``tilt-series-star``: one tilt series' table (one row per tilt), opened with
:func:`emcourse.io.read_tilt_series_star`. Their :class:`~emcourse.data.kinds.Kind`
entries are in :data:`emcourse.data.kinds.KINDS`; parsing is in :mod:`emcourse.io`,
stand-ins in :mod:`emcourse.sta`.
"""

from __future__ import annotations

from pathlib import Path

from emcourse.data.registry import MAIN, source
from emcourse.volume import Source

__all__ = [
    "RELION5_KINDS",
    "open_relion5_star",
    "open_tilt_series_star",
    "standin_relion5_star",
    "standin_tilt_series_star",
    "validate_relion5_star",
    "validate_tilt_series_star",
]


def validate_relion5_star(path: Path, entry: dict, role: str) -> None:
    """Read the whole file strictly and compare its row counts with the registry's."""
    from emcourse.io import check_star_rows, read_star

    check_star_rows(path, read_star(path), dict(entry.get("rows", {})))


def open_relion5_star(paths: dict[str, Path], entry: dict) -> dict:
    """The file's blocks (block name -> DataFrame or dict) and its ``source``."""
    from emcourse.io import read_star

    return {"blocks": read_star(paths[MAIN]), "source": source(entry, real=True)}


def standin_relion5_star(entry: dict, src: Source) -> dict:
    """Particles or tomograms table, as the entry's ``standin_form`` says."""
    from emcourse.sta import relion5

    form = entry.get("standin_form", "particles")
    if form == "tomograms":
        blocks = relion5.standin_tomograms_star()
    elif form == "particles":
        rows = dict(entry.get("rows", {}))
        blocks = relion5.standin_particles_star(int(rows.get("particles", 9053)))
    else:
        raise ValueError(f"{entry['name']}: unknown standin_form {form!r} (particles|tomograms).")
    return {"blocks": blocks, "source": src}


def validate_tilt_series_star(path: Path, entry: dict, role: str) -> None:
    """Read the table strictly; its number of tilts must be the registry's ``n_tilts``."""
    from emcourse.io import read_tilt_series_star

    table = read_tilt_series_star(path)
    n = entry.get("n_tilts")
    if n and len(table["tilt"]) != int(n):
        raise ValueError(
            f"{path}: block data_{table['name']}: expected {int(n)} tilts (the registry's "
            f"count), found {len(table['tilt'])}: the file is cut off or not the one the "
            "course was written for."
        )


def open_tilt_series_star(paths: dict[str, Path], entry: dict) -> dict:
    """What :func:`emcourse.io.read_tilt_series_star` returns, plus ``source``."""
    from emcourse.io import read_tilt_series_star

    return {**read_tilt_series_star(paths[MAIN]), "source": source(entry, real=True)}


def standin_tilt_series_star(entry: dict, src: Source) -> dict:
    """:func:`emcourse.sta.standin_tilt_table`, plus ``source``."""
    from emcourse.sta.tiltseries import standin_tilt_table

    return {**standin_tilt_table(name=entry.get("tilt_series", "TS_01")), "source": src}


# (name, returns, open, standin, validate): the arguments of their Kind entries
RELION5_KINDS = (
    (
        "relion5-star",
        "dict: blocks (block name -> DataFrame or dict), source",
        open_relion5_star,
        standin_relion5_star,
        validate_relion5_star,
    ),
    (
        "tilt-series-star",
        "dict: name, table, tilt, tilt_axis, pre_exposure, defocus_u/v, defocus_angle, "
        "x_shift, y_shift (see emcourse.io.read_tilt_series_star), source",
        open_tilt_series_star,
        standin_tilt_series_star,
        validate_tilt_series_star,
    ),
)
