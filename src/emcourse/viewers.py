"""Look at volumes: orthogonal slices, projections, isosurfaces and slice viewers.

The only module of the package that imports matplotlib and ipywidgets, and
only inside the functions that need them.

Every function accepts a :class:`~emcourse.volume.Volume` (voxel size and
origin are taken from it) or a bare ``(z, y, x)`` array (give ``voxel_size``
in angstrom for axes in Å; without it the axes count voxels). Intensities are
never changed: the contrast limits are display settings (by default the 0.1st
and 99.9th percentiles of the slices shown).

Figures are closed in pyplot before they are returned. In a notebook each
figure is displayed once, when it is made, whether or not the line ends with
``;`` or assigns the figure; ``fig`` alone in a later cell shows it again.
Widgets behave the same way. The interactive viewers
(:func:`slice_viewer`, :func:`series_viewer`) return an ipywidgets widget; with
``EMCOURSE_STATIC=1`` (set by the book build, which has no kernel) they return
a static figure instead: a montage of slices, or a row of central slices.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "isosurface",
    "orthoslices",
    "projection",
    "series_viewer",
    "slice_viewer",
    "static_mode",
]

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


# --------------------------------------------------------------------------
# Static figures
# --------------------------------------------------------------------------


def orthoslices(
    volume: Any,
    *,
    voxel_size: Any = None,
    points: Any = None,
    index: Sequence[int] | None = None,
    near: float = 2.0,
    clim: Sequence[float] | None = None,
    cmap: str = "gray",
    title: str | None = None,
    label: str = "density (as stored)",
):
    """Three orthogonal slices through the centre of a volume, axes in Å.

    Parameters
    ----------
    volume : Volume or ndarray
        Indexed (z, y, x).
    voxel_size : float or (z, y, x) tuple, optional
        Angstrom per voxel; taken from a Volume when not given.
    points : (n, 3) array, optional
        Positions in voxels (z, y, x), e.g. picked particles; each is circled
        on the slices it lies within ``near`` voxels of.
    index : (iz, iy, ix), optional
        Slices to show; the central ones by default.
    near : float
        How far (voxels) a point may be from a slice to be drawn on it.
    clim : (low, high), optional
        Display range; by default the 0.1st to 99.9th percentile of the three slices.
    cmap : str
        Matplotlib colour map.
    title : str, optional
        Figure title; by default the accession of a Volume.
    label : str
        Colour-bar label, e.g. ``"correlation score"`` for a score map.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> fig = orthoslices(np.zeros((8, 10, 12)), voxel_size=5.0)
    >>> len(fig.axes)
    4
    """
    data, vs, origin, unit, name = _unpack(volume, voxel_size)
    idx = [n // 2 for n in data.shape] if index is None else [int(i) for i in index]
    shown = np.concatenate([np.take(data, idx[a], axis=a).ravel() for a in range(3)])
    lims = _limits(shown, clim)
    pts = _points(points)
    fig = _new_figure(_WIDTH, 3.6)
    axes = fig.subplots(1, 3)
    for axis, ax in enumerate(axes):
        im = _slice_panel(ax, data, axis, idx[axis], vs, origin, unit, lims, pts, near, cmap)
        # faint lines where the other two slices cut this one
        row, col = _PLANE[axis]
        ax.axvline(origin[col] + idx[col] * vs[col], color="#4fa3ff", lw=0.6, alpha=0.6)
        ax.axhline(origin[row] + idx[row] * vs[row], color="#4fa3ff", lw=0.6, alpha=0.6)
    fig.colorbar(im, ax=list(axes), shrink=0.8, label=label)
    fig.suptitle(title if title is not None else (name or "orthogonal slices"))
    _close(fig)
    return fig


def projection(
    volume: Any,
    *,
    axis: int | None = None,
    voxel_size: Any = None,
    method: str = "sum",
    cmap: str = "gray",
    title: str | None = None,
):
    """Projections of a volume: the density summed (or its maximum) along an axis.

    Parameters
    ----------
    volume : Volume or ndarray
        Indexed (z, y, x).
    axis : int, optional
        0, 1 or 2 for one projection along z, y or x; all three when None.
    voxel_size : float or tuple, optional
        Angstrom per voxel; taken from a Volume when not given.
    method : {"sum", "max"}
        Sum (what a micrograph records) or maximum-intensity projection.
    cmap, title
        As in :func:`orthoslices`.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> fig = projection(np.ones((4, 5, 6)), axis=0)
    >>> len(fig.axes)
    2
    """
    if method not in {"sum", "max"}:
        raise ValueError(f"method must be 'sum' or 'max', not {method!r}.")
    data, vs, origin, unit, label = _unpack(volume, voxel_size)
    axes_to_show = [0, 1, 2] if axis is None else [int(axis)]
    n = len(axes_to_show)
    fig = _new_figure(_WIDTH if n == 3 else 5.0, 3.6 if n == 3 else 4.2)
    panels = np.atleast_1d(fig.subplots(1, n))
    for a, ax in zip(axes_to_show, panels, strict=True):
        img = data.sum(axis=a) if method == "sum" else data.max(axis=a)
        im = _image(ax, img, a, data.shape, vs, origin, unit, cmap=cmap)
        ax.set_title(f"{method} along {_AXES[a]}", fontsize=10)
        fig.colorbar(im, ax=ax, shrink=0.8)
    fig.suptitle(title if title is not None else (label or "projections"))
    _close(fig)
    return fig


def isosurface(
    volume: Any,
    *,
    level: float | None = None,
    voxel_size: Any = None,
    color: str = "#7fa7d9",
    max_faces: int = 150_000,
    view: tuple[float, float] = (20.0, -60.0),
    title: str | None = None,
):
    """A shaded isosurface at ``level``, by marching cubes, axes in Å.

    Parameters
    ----------
    volume : Volume or ndarray
        Indexed (z, y, x).
    level : float, optional
        Density of the surface. When None, mean + 3 standard deviations is used
        and written in the title.
    voxel_size : float or tuple, optional
        Angstrom per voxel; taken from a Volume when not given.
    color : str
        Surface colour.
    max_faces : int
        Large maps are meshed with a coarser step until the mesh has about
        this many triangles, to keep the figure quick to draw.
    view : (elevation, azimuth)
        Camera angles in degrees.
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        When ``level`` is outside the range of the densities.

    Examples
    --------
    >>> import numpy as np
    >>> z, y, x = np.mgrid[-8:8, -8:8, -8:8]
    >>> fig = isosurface(np.exp(-(x**2 + y**2 + z**2) / 20.0), level=0.5, voxel_size=2.0)
    >>> fig.axes[0].name
    '3d'
    """
    from skimage.measure import marching_cubes

    data, vs, origin, unit, label = _unpack(volume, voxel_size)
    auto = level is None
    if auto:
        level = float(data.mean() + 3 * data.std())
    lo, hi = float(np.nanmin(data)), float(np.nanmax(data))
    if not lo < level < hi:
        raise ValueError(
            f"level {level:.4g} is outside the densities of the volume ({lo:.4g} to {hi:.4g}), "
            "so there is no surface. Pick a level between them, e.g. from a histogram."
        )
    # choose a step so the mesh stays near max_faces triangles (faces ~ 2 * surface voxels)
    step = 1
    while step < 8:
        est = 2.0 * (np.count_nonzero(data[::step, ::step, ::step] >= level) ** (2 / 3)) * 6
        if est <= max_faces:
            break
        step += 1
    verts, faces, _, _ = marching_cubes(
        np.asarray(data, dtype=np.float32), level=level, spacing=tuple(vs), step_size=step
    )
    verts = verts + origin  # (z, y, x) in Å
    fig = _new_figure(6.0, 5.5)
    ax = fig.add_subplot(projection="3d")
    ax.plot_trisurf(
        verts[:, 2],
        verts[:, 1],
        faces,
        verts[:, 0],
        color=color,
        linewidth=0,
        antialiased=False,
        shade=True,
    )
    ext = np.array(data.shape) * vs
    ax.set_xlim(origin[2], origin[2] + ext[2])
    ax.set_ylim(origin[1], origin[1] + ext[1])
    ax.set_zlim(origin[0], origin[0] + ext[0])
    ax.set_box_aspect((ext[2], ext[1], ext[0]))
    ax.set_xlabel(f"x ({unit})")
    ax.set_ylabel(f"y ({unit})")
    ax.set_zlabel(f"z ({unit})")
    ax.view_init(elev=view[0], azim=view[1])
    how = " (mean + 3 sd)" if auto else ""
    head = title if title is not None else (label or "isosurface")
    ax.set_title(f"{head}\nlevel {level:.4g}{how}, {len(faces):,} triangles", fontsize=10)
    _close(fig)
    return fig


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


# --------------------------------------------------------------------------
# Interactive viewers (with static fallbacks)
# --------------------------------------------------------------------------


def slice_viewer(
    volume: Any,
    *,
    axis: int = 0,
    points: Any = None,
    voxel_size: Any = None,
    near: float = 2.0,
    cmap: str = "gray",
    title: str | None = None,
    static: bool | None = None,
    n_static: int = 8,
    label: str | None = None,
):
    """Browse a volume slice by slice: slider for the slice, axis buttons, contrast.

    Parameters
    ----------
    volume : Volume or ndarray
        Indexed (z, y, x).
    axis : int
        Axis to slice across first (0 = z, 1 = y, 2 = x).
    points : (n, 3) array, optional
        Positions in voxels (z, y, x) to circle on the slices they are near.
    voxel_size, near, cmap, title
        As in :func:`orthoslices`.
    static : bool, optional
        Force the static figure (True) or the widget (False); by default
        static when ``EMCOURSE_STATIC=1``.
    n_static : int
        Number of slices in the static montage.
    label : str, optional
        Colour-bar label of the static montage (none by default).

    Returns
    -------
    ipywidgets.VBox or matplotlib.figure.Figure
        The widget; or, in static mode, a montage of ``n_static`` slices
        across ``axis``.

    Examples
    --------
    >>> import numpy as np
    >>> fig = slice_viewer(np.zeros((8, 8, 8)), static=True, n_static=4)
    >>> type(fig).__name__
    'Figure'
    """
    data, vs, origin, unit, name = _unpack(volume, voxel_size)
    pts = _points(points)
    head = title if title is not None else (name or "slices")
    if static is None:
        static = static_mode()
    if static:
        return _montage(
            data,
            vs,
            origin,
            unit,
            None,
            pts,
            near,
            axis,
            n_static,
            cmap,
            f"{head}: slices across {_AXES[axis]} (static view)",
            label,
        )

    import ipywidgets as widgets

    lims = _limits(data, None)
    step = (lims[1] - lims[0]) / 200 or 1e-6
    lo_all, hi_all = float(np.nanmin(data)), float(np.nanmax(data))
    axis_w = widgets.ToggleButtons(
        options=[("z", 0), ("y", 1), ("x", 2)],
        value=int(axis),
        description="axis",
        style={"button_width": "3em"},
    )
    index_w = widgets.IntSlider(
        value=data.shape[axis] // 2,
        min=0,
        max=data.shape[axis] - 1,
        description="slice",
        continuous_update=True,
        layout=widgets.Layout(width="95%"),
    )
    contrast_w = widgets.FloatRangeSlider(
        value=lims,
        min=min(lo_all, lims[0]),
        max=max(hi_all, lims[1]),
        step=step,
        description="contrast",
        readout_format=".3g",
        layout=widgets.Layout(width="95%"),
    )
    image_w = widgets.Image(format="png")

    def draw(fig, ax) -> None:
        a, i = axis_w.value, index_w.value
        _slice_panel(ax, data, a, i, vs, origin, unit, contrast_w.value, pts, near, cmap)
        fig.suptitle(head)

    def redraw(*_: Any) -> None:
        image_w.value = _panel_png(draw)

    def on_axis(change: Any) -> None:
        a = change["new"]
        index_w.max = data.shape[a] - 1
        index_w.value = data.shape[a] // 2
        redraw()

    axis_w.observe(on_axis, names="value")
    index_w.observe(redraw, names="value")
    contrast_w.observe(redraw, names="value")
    redraw()
    return _show_once(widgets.VBox([widgets.HBox([axis_w]), index_w, contrast_w, image_w]))


def series_viewer(
    volumes: Sequence[Any],
    *,
    labels: Sequence[str] | None = None,
    axis: int = 0,
    voxel_size: Any = None,
    cmap: str = "gray",
    title: str | None = None,
    static: bool | None = None,
    max_static: int = 6,
):
    """Step through a series of volumes, e.g. an average converging per iteration.

    Parameters
    ----------
    volumes : sequence of Volume or ndarray
        Same shape; each indexed (z, y, x).
    labels : sequence of str, optional
        One per volume; ``"iteration 0"``, ``"iteration 1"``... by default.
    axis : int
        The central slice across this axis is shown.
    voxel_size, cmap, title
        As in :func:`orthoslices`.
    static : bool, optional
        Force the static figure or the widget; by default static when
        ``EMCOURSE_STATIC=1``.
    max_static : int
        At most this many volumes in the static row (evenly chosen, always
        including the first and the last).

    Returns
    -------
    ipywidgets.VBox or matplotlib.figure.Figure
        A slider over the series; or, in static mode, a row of central slices.

    Examples
    --------
    >>> import numpy as np
    >>> fig = series_viewer([np.zeros((6, 6, 6)), np.ones((6, 6, 6))], static=True)
    >>> len(fig.axes)
    2
    """
    if len(volumes) == 0:
        raise ValueError("series_viewer needs at least one volume; got an empty sequence.")
    unpacked = [_unpack(v, voxel_size) for v in volumes]
    shapes = {u[0].shape for u in unpacked}
    if len(shapes) > 1:
        raise ValueError(f"all volumes must have the same shape; got {sorted(shapes)}.")
    labels = list(labels) if labels is not None else [f"iteration {i}" for i in range(len(volumes))]
    if len(labels) != len(volumes):
        raise ValueError(f"got {len(labels)} labels for {len(volumes)} volumes.")
    data0, vs, origin, unit, label = unpacked[0]
    slices = [np.take(u[0], u[0].shape[axis] // 2, axis=axis) for u in unpacked]
    head = title if title is not None else (label or "series")

    def panel(ax, i: int, fontsize: float | None = None):
        lims = _limits(slices[i], None)
        _image(
            ax,
            slices[i],
            axis,
            data0.shape,
            vs,
            origin,
            unit,
            cmap=cmap,
            lims=lims,
            fontsize=fontsize,
        )

    if static is None:
        static = static_mode()
    if static:
        n = len(slices)
        chosen = np.unique(np.linspace(0, n - 1, min(n, max_static)).round().astype(int))
        fig = _new_figure(_WIDTH, _WIDTH / len(chosen) + 0.9)
        axes = np.atleast_1d(fig.subplots(1, len(chosen), sharey=True))
        for ax, i in zip(axes, chosen, strict=True):
            panel(ax, i, fontsize=8)
            ax.set_title(labels[i], fontsize=9)
            ax.tick_params(labelsize=7)
        for ax in axes[1:]:
            ax.set_ylabel("")  # the rows are shared: one label, on the left
        fig.suptitle(f"{head}: central {_AXES[axis]} slice (static view)")
        _close(fig)
        return fig

    import ipywidgets as widgets

    step_w = widgets.IntSlider(
        value=len(slices) - 1,
        min=0,
        max=len(slices) - 1,
        description="step",
        layout=widgets.Layout(width="95%"),
    )
    image_w = widgets.Image(format="png")

    def draw(fig, ax) -> None:
        panel(ax, step_w.value)
        ax.set_title(f"{head}: {labels[step_w.value]}", fontsize=10)

    def redraw(*_: Any) -> None:
        image_w.value = _panel_png(draw)

    step_w.observe(redraw, names="value")
    redraw()
    return _show_once(widgets.VBox([step_w, image_w]))
