"""Figures for subtomogram averaging: a series of maps, e.g. an average per iteration."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from emcourse.viewers._core import (
    _AXES,
    _WIDTH,
    _close,
    _image,
    _limits,
    _new_figure,
    _panel_png,
    _show_once,
    _unpack,
    static_mode,
)


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
