"""Figures and viewers of the segmentation track (``viewers.segment``).

Like :mod:`emcourse.viewers`, the only place of this track that imports
matplotlib and ipywidgets (lazily). Every interactive viewer has a static
figure for the book (``EMCOURSE_STATIC=1`` or ``static=True``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from emcourse.viewers._core import _close, _new_figure, _panel_png, _show_once, static_mode

__all__ = ["label_overlay", "labels_3d", "overlay_viewer", "panels"]


def _label_rgba(labels: np.ndarray, alpha: float) -> np.ndarray:
    """Colours for a 2D label image: a fixed pseudo-random colour per label, 0 transparent."""
    labels = np.asarray(labels)
    rng = np.random.default_rng(7)
    n = int(labels.max()) + 1
    colours = np.concatenate([np.zeros((1, 4)), np.c_[rng.uniform(0.2, 1.0, (n, 3)), np.ones(n)]])
    if labels.dtype == bool:
        colours[1] = (1.0, 0.2, 0.2, 1.0)
    rgba = colours[np.asarray(labels, np.int64)]
    rgba[..., 3] *= alpha
    return rgba


def _draw_overlay(ax, image, labels, *, alpha, voxel_size, title, clim=None, contour=None):
    h, w = image.shape
    ext = [0, w * voxel_size / 1000, h * voxel_size / 1000, 0]
    lo, hi = clim if clim is not None else np.percentile(image, [0.5, 99.5])
    ax.imshow(image, cmap="gray", vmin=lo, vmax=hi, extent=ext, interpolation="nearest")
    if labels is not None:
        ax.imshow(_label_rgba(labels, alpha), extent=ext, interpolation="nearest")
    if contour is not None:
        ax.contour(
            np.asarray(contour, bool),
            levels=[0.5],
            colors="yellow",
            linewidths=0.8,
            extent=[0, ext[1], 0, ext[2]],
            origin="upper",
        )
    ax.set(xlabel="x (µm)", ylabel="y (µm)", title=title)


def label_overlay(
    image: np.ndarray,
    labels: np.ndarray | None = None,
    *,
    voxel_size: float = 1.0,
    z: int | None = None,
    alpha: float = 0.4,
    truth: np.ndarray | None = None,
    title: str = "",
):
    """One z slice of a volume with labels in colour (and the truth's outline in yellow).

    ``voxel_size`` in nanometres; axes in micrometres.
    """
    image = np.asarray(image)
    if image.ndim == 3:
        z = image.shape[0] // 2 if z is None else z
        image = image[z]
        labels = None if labels is None else np.asarray(labels)[z]
        truth = None if truth is None else np.asarray(truth)[z]
    fig = _new_figure(6.0, 6.0 * image.shape[0] / image.shape[1] + 0.6)
    ax = fig.add_subplot()
    _draw_overlay(ax, image, labels, alpha=alpha, voxel_size=voxel_size, title=title, contour=truth)
    _close(fig)
    return fig


def panels(
    images: Sequence[np.ndarray],
    titles: Sequence[str],
    *,
    voxel_size: float = 1.0,
    labels: Sequence[np.ndarray | None] | None = None,
    cmap: str = "gray",
    same_contrast: bool = True,
    suptitle: str = "",
):
    """Images side by side (2D each), in micrometres; optional label overlays."""
    n = len(images)
    fig = _new_figure(3.2 * n, 3.6)
    axes = fig.subplots(1, n, squeeze=False)[0]
    clim = np.percentile(np.asarray(images[0], float), [0.5, 99.5]) if same_contrast else None
    for k, (ax, img, t) in enumerate(zip(axes, images, titles, strict=True)):
        lab = None if labels is None else labels[k]
        if cmap == "gray":
            _draw_overlay(
                ax,
                np.asarray(img, float),
                lab,
                alpha=0.45,
                voxel_size=voxel_size,
                title=t,
                clim=clim,
            )
        else:
            ax.imshow(img, cmap=cmap, interpolation="nearest")
            ax.set(title=t)
        if k:
            ax.set_ylabel("")
    if suptitle:
        fig.suptitle(suptitle)
    _close(fig)
    return fig


def labels_3d(labels: np.ndarray, *, voxel_size: float = 1.0, title: str = "", max_objects=60):
    """A static 3D rendering of labelled objects (marching cubes meshes, one colour each)."""
    from mpl_toolkits.mplot3d.art3d import Poly3DCollection
    from scipy import ndimage as ndi
    from skimage import measure

    labels = np.asarray(labels)
    fig = _new_figure(6.5, 6.0)
    ax = fig.add_subplot(projection="3d")
    rng = np.random.default_rng(7)
    ids = np.unique(labels[labels > 0])[:max_objects]
    step = max(1, int(np.ceil(max(labels.shape) / 128)))  # coarser meshes for big volumes
    boxes = ndi.find_objects(labels.astype(np.int64))
    s = voxel_size / 1000.0
    for i in ids:
        sl = boxes[i - 1]
        obj = np.pad((labels[sl] == i).astype(np.float32), 1)[::step, ::step, ::step]
        if min(obj.shape) < 2 or obj.max() < 0.5:
            continue
        verts, faces, _, _ = measure.marching_cubes(obj, 0.5, spacing=(s * step,) * 3)
        verts += (np.array([a.start for a in sl]) - 1) * s
        mesh = Poly3DCollection(verts[faces][:, :, ::-1], alpha=0.9, linewidths=0)
        mesh.set_facecolor(rng.uniform(0.2, 1.0, 3))
        ax.add_collection3d(mesh)
    ext = np.array(labels.shape[::-1]) * s
    ax.set(
        xlim=(0, ext[0]),
        ylim=(0, ext[1]),
        zlim=(0, ext[2]),
        xlabel="x (µm)",
        ylabel="y (µm)",
        zlabel="z (µm)",
        title=title,
    )
    ax.set_box_aspect(ext)
    _close(fig)
    return fig


def overlay_viewer(
    image: np.ndarray,
    *,
    voxel_size: float = 1.0,
    labels: np.ndarray | None = None,
    threshold: float | None = None,
    static: bool | None = None,
    title: str = "",
):
    """Browse z slices with a threshold slider (voxels at or below it in red) and an opacity slider.

    With ``labels`` the overlay shows them instead of the threshold mask. In
    static mode (the book), a figure of three slices at the given threshold.
    """
    image = np.asarray(image)
    thr = float(np.percentile(image, 20)) if threshold is None else float(threshold)

    def overlay_of(z, t):
        return labels[z] if labels is not None else image[z] <= t

    if static is None:
        static = static_mode()
    if static:
        zs = np.linspace(0, image.shape[0] - 1, 5).astype(int)[1:4]
        return panels(
            [image[z] for z in zs],
            [f"z = {z}" for z in zs],
            voxel_size=voxel_size,
            labels=[overlay_of(z, thr) for z in zs],
            suptitle=title or f"overlay (threshold {thr:.0f}, static view)",
        )
    import ipywidgets as widgets

    z_w = widgets.IntSlider(image.shape[0] // 2, 0, image.shape[0] - 1, description="slice")
    t_w = widgets.FloatSlider(
        thr,
        min=float(image.min()),
        max=float(image.max()),
        step=1.0,
        description="threshold",
        disabled=labels is not None,
    )
    a_w = widgets.FloatSlider(0.4, min=0.0, max=1.0, step=0.05, description="opacity")
    image_w = widgets.Image(format="png")

    def draw(fig, ax) -> None:
        z = z_w.value
        _draw_overlay(
            ax,
            image[z],
            overlay_of(z, t_w.value),
            alpha=a_w.value,
            voxel_size=voxel_size,
            title=title or f"z = {z}",
        )

    def redraw(*_: Any) -> None:
        image_w.value = _panel_png(draw)

    for w in (z_w, t_w, a_w):
        w.observe(redraw, names="value")
    redraw()
    return _show_once(widgets.VBox([z_w, t_w, a_w, image_w]))
