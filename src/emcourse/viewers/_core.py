"""The shared core of the viewers: figures outside pyplot, shown once; static fallbacks.

matplotlib and ipywidgets are imported only inside the functions that draw, so
``import emcourse.viewers`` stays cheap. :func:`static_mode` decides whether an
interactive viewer returns a widget or its static figure (``EMCOURSE_STATIC=1``,
set by the book build, which has no kernel). A track's viewer module builds on
these helpers: :func:`_unpack` for a Volume or an array, :func:`_slice_panel` and
:func:`_image` for a panel with axes in angstrom, :func:`_close` to hand a
figure to the notebook once, :func:`_panel_png` for a widget's image.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

STATIC_ENV = "EMCOURSE_STATIC"
_AXES = ("z", "y", "x")
# For a slice across axis a, the image rows/columns are these axes.
_PLANE = {0: (1, 2), 1: (0, 2), 2: (0, 1)}
_WIDTH = 9.5  # inches: fits a laptop screen and the book's text column


def static_mode() -> bool:
    """True when ``EMCOURSE_STATIC`` asks for static figures instead of widgets."""
    return os.environ.get(STATIC_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


def _unpack(
    obj: Any, voxel_size: Any = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, str, str]:
    """(data, voxel size zyx, origin zyx, unit, label) from a Volume or an array."""
    if hasattr(obj, "data") and hasattr(obj, "voxel_size"):
        data = np.asarray(obj.data)
        vs = obj.voxel_size if voxel_size is None else voxel_size
        origin = np.asarray(getattr(obj, "origin", (0.0, 0.0, 0.0)), dtype=float)
        source = getattr(obj, "source", None)
        label = getattr(source, "accession", "") or ""
        if source is not None and not getattr(source, "real", True):
            label = f"{label} (synthetic stand-in)"
    else:
        data = np.asarray(obj)
        vs = voxel_size
        origin = np.zeros(3)
        label = ""
    if data.ndim != 3:
        raise ValueError(
            f"expected a 3D volume indexed (z, y, x), but got an array with shape "
            f"{data.shape}. Pass a Volume or a 3D array (for one image, use matplotlib's imshow)."
        )
    if data.dtype.kind == "c":
        raise ValueError("the volume is complex; pass np.abs(...) or .real to view it.")
    if vs is None:
        return data, np.ones(3), np.zeros(3), "voxels", label
    vs = np.broadcast_to(np.asarray(vs, dtype=float), (3,)).copy()
    if origin.shape != (3,):
        origin = np.zeros(3)
    return data, vs, origin, "Å", label


def _limits(data: np.ndarray, clim: Sequence[float] | None) -> tuple[float, float]:
    if clim is not None:
        return float(clim[0]), float(clim[1])
    finite = data[np.isfinite(data)]
    if finite.size == 0:
        return 0.0, 1.0
    sample = finite.ravel()[:: max(1, finite.size // 2_000_000)]
    lo, hi = np.percentile(sample, [0.1, 99.9])
    if hi <= lo:
        lo, hi = float(finite.min()), float(finite.max()) + 1e-12
    return float(lo), float(hi)


def _extent(axis: int, shape, vs, origin) -> tuple[list[float], str, str]:
    """imshow extent (left, right, bottom, top) and axis labels of a slice across ``axis``."""
    row, col = _PLANE[axis]
    left = origin[col] - 0.5 * vs[col]
    right = origin[col] + (shape[col] - 0.5) * vs[col]
    bottom = origin[row] - 0.5 * vs[row]
    top = origin[row] + (shape[row] - 0.5) * vs[row]
    return [left, right, bottom, top], _AXES[col], _AXES[row]


def _points(points: Any) -> np.ndarray | None:
    return None if points is None else np.asarray(points, dtype=float).reshape(-1, 3)


def _draw_points(ax, pts, axis, index, vs, origin, near) -> None:
    if pts is None or len(pts) == 0:
        return
    row, col = _PLANE[axis]
    sel = np.abs(pts[:, axis] - index) <= near
    if sel.any():
        ax.scatter(
            origin[col] + pts[sel, col] * vs[col],
            origin[row] + pts[sel, row] * vs[row],
            s=80,
            facecolors="none",
            edgecolors="#ff7f0e",
            linewidths=1.5,
        )


def _new_figure(width: float, height: float):
    import matplotlib.pyplot as plt

    return plt.figure(figsize=(width, height), layout="constrained")


def _close(fig) -> None:
    """Take the figure out of pyplot and, in a notebook, show it once, now.

    Closing it keeps the inline backend from drawing it again at the end of the
    cell. In a Jupyter kernel the figure is displayed here, so that a trailing
    ``;`` or an assignment does not hide it, and the echo of the same figure as
    the cell's last value is skipped; in a later cell ``fig`` shows it again.
    """
    import matplotlib.pyplot as plt

    plt.close(fig)
    _show_once(fig, need_png=True)


def _show_once(obj: Any, *, need_png: bool = False) -> Any:
    """In a Jupyter kernel, display ``obj`` now and skip its echo in the same cell."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return obj
    shell = get_ipython()
    if shell is None or getattr(shell, "kernel", None) is None:
        return obj
    if need_png:  # only where the notebook can draw a Figure (inline backend)
        try:
            shell.display_formatter.formatters["image/png"].lookup(obj)
        except (KeyError, AttributeError):
            return obj
    from IPython.display import display

    shown_in = shell.execution_count

    def _ipython_display_() -> None:
        if shell.execution_count == shown_in:
            return
        del obj._ipython_display_
        try:
            display(obj)
        finally:
            obj._ipython_display_ = _ipython_display_

    display(obj)
    obj._ipython_display_ = _ipython_display_
    return obj


def _image(ax, img, axis, shape, vs, origin, unit, *, cmap, lims=(None, None), fontsize=None):
    """Draw a slice or projection across ``axis`` with its extent and axis labels in ``unit``."""
    extent, xlab, ylab = _extent(axis, shape, vs, origin)
    im = ax.imshow(
        img,
        cmap=cmap,
        vmin=lims[0],
        vmax=lims[1],
        origin="lower",
        extent=extent,
        interpolation="nearest",
    )
    ax.set_xlabel(f"{xlab} ({unit})", fontsize=fontsize)
    ax.set_ylabel(f"{ylab} ({unit})", fontsize=fontsize)
    return im


def _slice_panel(ax, data, axis, index, vs, origin, unit, lims, pts, near, cmap="gray"):
    img = np.take(data, index, axis=axis)
    im = _image(ax, img, axis, data.shape, vs, origin, unit, cmap=cmap, lims=lims)
    _draw_points(ax, pts, axis, index, vs, origin, near)
    pos = origin[axis] + index * vs[axis]
    where = f"{pos:.0f} Å" if unit == "Å" else f"{index}"
    ax.set_title(f"{_AXES[axis]} = {where} (slice {index})", fontsize=10)
    return im


def _montage(data, vs, origin, unit, lims, pts, near, axis, n, cmap, title, label=None):
    size = data.shape[axis]
    n = max(1, min(n, size))
    # evenly spaced, away from the edges
    indices = np.unique(np.linspace(0, size - 1, n + 2)[1:-1].round().astype(int))  # n >= 1
    cols = min(len(indices), 4)
    rows = int(np.ceil(len(indices) / cols))
    if lims is None:
        lims = _limits(np.take(data, indices, axis=axis), None)
    fig = _new_figure(_WIDTH, 2.3 * rows + 0.5)
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    for ax, i in zip(axes, indices, strict=False):
        im = _slice_panel(ax, data, axis, int(i), vs, origin, unit, lims, pts, near, cmap)
    for ax in axes[len(indices) :]:
        ax.set_axis_off()
    fig.colorbar(im, ax=list(axes), shrink=0.8, label=label)
    fig.suptitle(title)
    _close(fig)
    return fig


def _panel_png(draw) -> bytes:
    """PNG bytes of one widget panel: ``draw(fig, ax)`` fills a figure outside pyplot."""
    import matplotlib.figure

    fig = matplotlib.figure.Figure(figsize=(5.5, 5.0), layout="constrained")
    draw(fig, fig.subplots())
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    return buf.getvalue()
