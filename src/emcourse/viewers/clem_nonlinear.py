"""Figures of the non-linear registration lesson: displacement fields and resampled images."""

from __future__ import annotations

import numpy as np

from emcourse.viewers._core import _close, _new_figure

__all__ = ["displacement_figure", "images_figure"]


def displacement_figure(
    points_sets, vectors_sets, *, titles, unit_scale: float = 1e-3, exaggerate: float = 10.0
):
    """Arrows (exaggerated ``exaggerate`` times) at (y, x) points, one panel per set, in um."""
    n = len(points_sets)
    fig = _new_figure(4.6 * n, 4.2)
    axes = np.atleast_1d(fig.subplots(1, n))
    for ax, pts, vec, title in zip(axes, points_sets, vectors_sets, titles, strict=True):
        p, v = np.asarray(pts)[:, -2:] * unit_scale, np.asarray(vec)[:, -2:] * unit_scale
        length = np.linalg.norm(np.asarray(vec)[:, -2:], axis=1)
        q = ax.quiver(
            p[:, 1],
            p[:, 0],
            v[:, 1] * exaggerate,
            v[:, 0] * exaggerate,
            length,
            angles="xy",
            scale_units="xy",
            scale=1,
            cmap="viridis",
            width=0.004,
        )
        fig.colorbar(q, ax=ax, shrink=0.8, label="length (nm)")
        ax.set(xlabel="x (µm)", ylabel="y (µm)", aspect="equal", title=title)
        ax.invert_yaxis()
        ax.title.set_fontsize(9)
    _close(fig)
    return fig


def images_figure(images, *, titles, extent=None):
    """Images side by side (the same grey scale), ``extent`` (left, right, bottom, top) in um."""
    n = len(images)
    fig = _new_figure(3.6 * n, 3.6)
    axes = np.atleast_1d(fig.subplots(1, n))
    lo = min(float(np.min(i)) for i in images)
    hi = max(float(np.max(i)) for i in images)
    for ax, img, title in zip(axes, images, titles, strict=True):
        signed = title.lower().startswith("difference")
        lim = float(np.abs(img).max()) or 1.0
        ax.imshow(
            img,
            cmap="RdBu_r" if signed else "gray",
            vmin=-lim if signed else lo,
            vmax=lim if signed else hi,
            extent=extent,
        )
        ax.set(xlabel="x (µm)", ylabel="y (µm)", title=title)
        ax.title.set_fontsize(9)
    _close(fig)
    return fig
