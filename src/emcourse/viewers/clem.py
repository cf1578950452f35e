"""Figures and widgets of the CLEM track: image pairs, landmarks, TRE maps, overlays.

Imports matplotlib and ipywidgets only inside functions. Images are drawn in
physical units with pixel centres where :mod:`emcourse.clem.warp` puts them.
The interactive landmark picker returns a static table with
``EMCOURSE_STATIC=1`` (the book has no kernel).
"""

from __future__ import annotations

import numpy as np

from emcourse.viewers._core import _close, _new_figure, static_mode

__all__ = [
    "clouds_figure",
    "landmark_picker",
    "landmarks_figure",
    "overlay_figure",
    "pair_figure",
    "ratio_figure",
    "tre_map",
]

_WIDTH = 9.5


def _extent(shape, pixel):
    from emcourse.clem.warp import extent

    return extent(shape, pixel)


def _lims(img):
    return np.percentile(img, (0.5, 99.8))


def pair_figure(pair, *, channels=None, unit_scale: float = 1e-3, title: str = ""):
    """EM and each light channel side by side, axes in micrometres (or pixels)."""
    unit = "µm" if pair.unit == "nm" else pair.unit
    scale = unit_scale if pair.unit == "nm" else 1.0
    chans = range(len(pair.lm)) if channels is None else channels
    n = 1 + len(chans)
    fig = _new_figure(_WIDTH, _WIDTH / n + 0.6)
    axes = fig.subplots(1, n)
    lo, hi = _lims(pair.em)
    axes[0].imshow(
        pair.em,
        cmap="gray",
        vmin=lo,
        vmax=hi,
        extent=np.multiply(_extent(pair.em.shape, pair.em_pixel), scale),
    )
    axes[0].set_title(f"EM, {pair.em_pixel:g} {pair.unit} pixels", fontsize=9)
    for ax, c in zip(axes[1:], chans, strict=True):
        lo, hi = _lims(pair.lm[c])
        ax.imshow(
            pair.lm[c],
            cmap="magma",
            vmin=lo,
            vmax=hi,
            extent=np.multiply(_extent(pair.lm[c].shape, pair.lm_pixel), scale),
        )
        name = pair.channels[c] if c < len(pair.channels) else f"channel {c}"
        ax.set_title(f"light: {name}, {pair.lm_pixel:g} {pair.unit} pixels", fontsize=9)
    for ax in axes:
        ax.set_xlabel(f"x ({unit})", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0].set_ylabel(f"y ({unit})", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    _close(fig)
    return fig


def landmarks_figure(moving, fixed, *, unit_scale: float = 1e-3, labels=None, title: str = ""):
    """Landmarks in the light (moving) and EM (fixed) spaces, x-y view, z as colour.

    ``moving``/``fixed`` are (n, 3) (z, y, x) or (n, 2) (y, x) arrays in nm.
    """
    fig = _new_figure(_WIDTH, 4.2)
    axes = fig.subplots(1, 2)
    for ax, pts, name in ((axes[0], moving, "light (moving)"), (axes[1], fixed, "EM (fixed)")):
        p = np.asarray(pts) * unit_scale
        if p.shape[1] == 3:
            sc = ax.scatter(p[:, -1], p[:, -2], c=p[:, 0], cmap="viridis", s=25)
        else:
            sc = ax.scatter(p[:, -1], p[:, -2], color="C0", s=25)
        for i, (y, x) in enumerate(p[:, -2:]):
            ax.annotate(
                str(i if labels is None else labels[i]),
                (x, y),
                fontsize=6,
                xytext=(3, 3),
                textcoords="offset points",
            )
        ax.set(xlabel="x (µm)", ylabel="y (µm)", title=name, aspect="equal")
        ax.invert_yaxis()
        if p.shape[1] == 3:
            fig.colorbar(sc, ax=ax, label="z (µm)", shrink=0.8)
    if title:
        fig.suptitle(title, fontsize=10)
    _close(fig)
    return fig


def tre_map(
    fiducials,
    fle: float,
    *,
    kind: str,
    extent_nm,
    z=None,
    title: str = "",
    ax_titles=None,
    sets=None,
    vmax=None,
):
    """Predicted TRE over an x-y plane of the light space, for one or more fiducial sets.

    ``sets`` is a list of (N, K) fiducial arrays (default: just ``fiducials``);
    ``extent_nm`` is ((y0, y1), (x0, x1)); 3D sets are evaluated at depth ``z``
    (default: the first set's mean z).
    """
    from emcourse.clem.errors import tre_predicted

    sets = [np.asarray(fiducials)] if sets is None else [np.asarray(s) for s in sets]
    (y0, y1), (x0, x1) = extent_nm
    yy, xx = np.meshgrid(np.linspace(y0, y1, 80), np.linspace(x0, x1, 80), indexing="ij")
    maps = []
    for s in sets:
        grid = np.stack([yy.ravel(), xx.ravel()], 1)
        if s.shape[1] == 3:
            zz = s[:, 0].mean() if z is None else z
            grid = np.hstack([np.full((len(grid), 1), zz), grid])
        maps.append(tre_predicted(s, grid, fle, kind=kind).reshape(yy.shape))
    vmax = vmax or max(float(np.percentile(m, 99)) for m in maps)
    fig = _new_figure(_WIDTH, _WIDTH / len(sets) * 0.8 + 0.5)
    axes = np.atleast_1d(fig.subplots(1, len(sets)))
    for i, (ax, s, m) in enumerate(zip(axes, sets, maps, strict=True)):
        im = ax.imshow(
            m, extent=(x0 / 1e3, x1 / 1e3, y1 / 1e3, y0 / 1e3), cmap="viridis", vmin=0, vmax=vmax
        )
        cs = ax.contour(xx / 1e3, yy / 1e3, m, levels=5, colors="w", linewidths=0.6)
        ax.clabel(cs, fontsize=6, fmt="%.0f")
        ax.plot(s[:, -1] / 1e3, s[:, -2] / 1e3, "r+", ms=7)
        ax.set(xlabel="x (µm)", ylabel="y (µm)")
        if ax_titles:
            ax.set_title(ax_titles[i], fontsize=9)
    fig.colorbar(im, ax=axes.tolist(), label="predicted TRE (nm)", shrink=0.8)
    if title:
        fig.suptitle(title, fontsize=10)
    _close(fig)
    return fig


def ratio_figure(labels, predicted, measured, *, title: str = "", unit: str = "nm"):
    """Measured (Monte Carlo) against predicted TRE, one point per case, with the 15 % band."""
    pred, meas = np.asarray(predicted), np.asarray(measured)
    fig = _new_figure(5.5, 4.5)
    ax = fig.subplots()
    top = 1.1 * max(pred.max(), meas.max())
    ax.fill_between([0, top], [0, 0.85 * top], [0, 1.15 * top], color="0.9", label="±15 %")
    ax.plot([0, top], [0, top], "k-", lw=0.8)
    for i, lab in enumerate(labels):
        ax.plot(pred[i], meas[i], "o", label=lab)
    ax.set(
        xlabel=f"predicted RMS TRE ({unit})",
        ylabel=f"Monte Carlo RMS TRE ({unit})",
        xlim=(0, top),
        ylim=(0, top),
        aspect="equal",
    )
    ax.legend(fontsize=7)
    if title:
        ax.set_title(title, fontsize=10)
    _close(fig)
    return fig


def overlay_figure(
    em,
    channels,
    *,
    pixel: float,
    unit: str = "nm",
    points=None,
    ellipses=(),
    title: str = "",
    zoom=None,
):
    """The EM with light channels overlaid (magenta, green), optional points and ellipses.

    ``points`` (n, 2) and each ellipse's ``outline`` + centre are in ``unit``,
    (y, x); ``zoom`` ((y0, y1), (x0, x1)) in ``unit`` crops the view.
    """
    from emcourse.clem.warp import overlay

    scale = 1e-3 if unit == "nm" else 1.0
    shown = "µm" if unit == "nm" else unit
    fig = _new_figure(6.5, 6.0)
    ax = fig.subplots()
    ax.imshow(overlay(em, channels), extent=np.multiply(_extent(np.shape(em), pixel), scale))
    if points is not None:
        p = np.asarray(points) * scale
        ax.plot(p[:, 1], p[:, 0], "c+", ms=10, mew=1.5)
    for centre, outline in ellipses:
        o = (np.asarray(outline) + np.asarray(centre)) * scale
        ax.plot(o[:, 1], o[:, 0], "y-", lw=1.2)
    if zoom is not None:
        (y0, y1), (x0, x1) = zoom
        ax.set(xlim=(x0 * scale, x1 * scale), ylim=(y1 * scale, y0 * scale))
    ax.set(xlabel=f"x ({shown})", ylabel=f"y ({shown})")
    if title:
        ax.set_title(title, fontsize=10)
    _close(fig)
    return fig


def _table(pairs, unit):
    from IPython.display import HTML

    rows = "".join(
        f"<tr><td>{i}</td><td>{m[0]:.0f}</td><td>{m[1]:.0f}</td><td>{f[0]:.0f}</td>"
        f"<td>{f[1]:.0f}</td></tr>"
        for i, (m, f) in enumerate(pairs)
    )
    return HTML(
        f"<table><tr><th>#</th><th>light y ({unit})</th><th>light x ({unit})</th>"
        f"<th>EM y ({unit})</th><th>EM x ({unit})</th></tr>{rows}</table>"
    )


def landmark_picker(pair, *, channel: int = 0, start=None):
    """Pick landmark pairs by moving two cross-hairs; the pairs are kept in ``.pairs``.

    Sliders move a cross-hair on the light image and one on the EM image
    (physical units); "Add pair" appends the two positions. With
    ``EMCOURSE_STATIC=1`` (the book) it returns the table of ``start`` (a
    :class:`~emcourse.clem.Landmarks`, e.g. the stand-in's beads) instead.
    """
    pairs = (
        [] if start is None else [(m, f) for m, f in zip(start.moving, start.fixed, strict=True)]
    )
    if static_mode():
        return _table(pairs, pair.unit)
    import ipywidgets as w
    import matplotlib.pyplot as plt

    def slider(label, size):
        return w.FloatSlider(
            description=label,
            min=0,
            max=size,
            step=size / 400,
            value=size / 2,
            readout_format=".0f",
            continuous_update=False,
        )

    ly, lx = slider("light y", pair.lm_extent[0]), slider("light x", pair.lm_extent[1])
    ey, ex = slider("EM y", pair.em_extent[0]), slider("EM x", pair.em_extent[1])
    out, table = w.Output(), w.Output()
    add = w.Button(description="Add pair")

    def draw(*_):
        with out:
            out.clear_output(wait=True)
            fig, axes = plt.subplots(1, 2, figsize=(9, 4.3), layout="constrained")
            axes[0].imshow(
                pair.lm[channel],
                cmap="magma",
                extent=_extent(pair.lm[channel].shape, pair.lm_pixel),
            )
            axes[0].plot(lx.value, ly.value, "c+", ms=18, mew=2)
            axes[1].imshow(pair.em, cmap="gray", extent=_extent(pair.em.shape, pair.em_pixel))
            axes[1].plot(ex.value, ey.value, "c+", ms=18, mew=2)
            for m, f in pairs:
                axes[0].plot(m[1], m[0], "g.", ms=6)
                axes[1].plot(f[1], f[0], "g.", ms=6)
            plt.show()

    def on_add(_):
        pairs.append((np.array([ly.value, lx.value]), np.array([ey.value, ex.value])))
        with table:
            table.clear_output(wait=True)
            from IPython.display import display

            display(_table(pairs, pair.unit))
        draw()

    for s in (ly, lx, ey, ex):
        s.observe(draw, names="value")
    add.on_click(on_add)
    draw()
    box = w.VBox([w.HBox([w.VBox([ly, lx]), w.VBox([ey, ex]), add]), out, table])
    box.pairs = pairs
    return box


def clouds_figure(fixed, moving_sets, *, titles, unit_scale: float = 1e-3, title: str = ""):
    """Fixed points (circles) with one or more mapped moving point sets (crosses), 2D (y, x)."""
    fig = _new_figure(_WIDTH, _WIDTH / len(moving_sets) * 0.9 + 0.4)
    axes = np.atleast_1d(fig.subplots(1, len(moving_sets)))
    f = np.asarray(fixed) * unit_scale
    for ax, pts, name in zip(axes, moving_sets, titles, strict=True):
        p = np.asarray(pts) * unit_scale
        ax.plot(f[:, 1], f[:, 0], "o", mfc="none", mec="k", ms=6, label="EM objects")
        ax.plot(p[:, 1], p[:, 0], "x", color="C3", ms=5, label="light objects, mapped")
        ax.set(xlabel="x (µm)", ylabel="y (µm)", aspect="equal", title=name)
        ax.invert_yaxis()
        ax.title.set_fontsize(9)
    axes[0].legend(fontsize=7, loc="lower left")
    if title:
        fig.suptitle(title, fontsize=10)
    _close(fig)
    return fig
