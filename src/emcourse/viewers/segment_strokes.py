"""Figures of annotation: brush strokes over an image, and a classifier's mistakes.

Part of the segmentation track's viewers (``viewers.strokes_figure``); imports
matplotlib lazily, like every viewer.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from emcourse.viewers._core import _close, _new_figure

__all__ = ["strokes_figure"]

#: Colours (RGBA) of background and mitochondrion strokes, and of the two kinds of mistake.
BACKGROUND, FOREGROUND = (0.0, 0.8, 1.0, 0.95), (1.0, 0.2, 0.6, 0.95)
MISSED, FALSE = (1.0, 0.85, 0.0, 0.55), (1.0, 0.0, 0.0, 0.45)


def strokes_figure(
    images: Sequence[np.ndarray],
    strokes: Sequence[np.ndarray | None],
    titles: Sequence[str],
    *,
    voxel_size: float = 1.0,
    truth: Sequence[np.ndarray | None] | None = None,
    prediction: Sequence[np.ndarray | None] | None = None,
    crop: tuple[slice, slice] | None = None,
):
    """2D images side by side with sparse labels painted on them, axes in micrometres.

    ``strokes`` hold 0 (unlabelled), 1 (background, cyan) and 2 (foreground,
    magenta). With ``truth`` the expert outline is drawn in yellow; with
    ``prediction`` (a foreground mask) and ``truth`` the mistakes are shaded:
    red where the prediction marks background as foreground, amber where it
    misses foreground. ``voxel_size`` in nanometres; ``crop`` zooms in.
    """
    n = len(images)
    fig = _new_figure(3.4 * n, 3.7)
    axes = fig.subplots(1, n, squeeze=False)[0]
    crop = crop or (slice(None), slice(None))
    for k, (ax, img) in enumerate(zip(axes, images, strict=True)):
        img = np.asarray(img, float)[crop]
        h, w = img.shape
        y0 = (crop[0].start or 0) * voxel_size / 1000
        x0 = (crop[1].start or 0) * voxel_size / 1000
        ext = [x0, x0 + w * voxel_size / 1000, y0 + h * voxel_size / 1000, y0]
        lo, hi = np.percentile(img, [0.5, 99.5])
        ax.imshow(img, cmap="gray", vmin=lo, vmax=hi, extent=ext, interpolation="nearest")
        rgba = np.zeros((h, w, 4))
        t = None if truth is None or truth[k] is None else np.asarray(truth[k])[crop] > 0
        p = None if prediction is None or prediction[k] is None else prediction[k]
        if t is not None and p is not None:
            p = np.asarray(p, bool)[crop]
            rgba[t & ~p], rgba[~t & p] = MISSED, FALSE
        if strokes[k] is not None:
            s = np.asarray(strokes[k])[crop]
            rgba[s == 1], rgba[s == 2] = BACKGROUND, FOREGROUND
        ax.imshow(rgba, extent=ext, interpolation="nearest")
        if t is not None:
            ax.contour(t, levels=[0.5], colors="yellow", linewidths=0.6, extent=ext, origin="upper")
        ax.set(title=titles[k], xlabel="x (µm)")
        if not k:
            ax.set_ylabel("y (µm)")
    _close(fig)
    return fig
