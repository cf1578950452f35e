"""Views of one volume, for every track: orthogonal slices, projections, isosurfaces, slices.

:func:`slice_viewer` is interactive (ipywidgets) with a static montage as its
fallback; the others return a matplotlib figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from emcourse.viewers._core import (
    _AXES,
    _PLANE,
    _WIDTH,
    _close,
    _image,
    _limits,
    _montage,
    _new_figure,
    _panel_png,
    _points,
    _show_once,
    _slice_panel,
    _unpack,
    static_mode,
)


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
