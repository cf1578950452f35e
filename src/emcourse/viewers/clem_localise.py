"""Figures of the CLEM localisation lesson: spot images, precision against photons, chromatic shift.

Imports matplotlib only inside functions.
"""

from __future__ import annotations

import numpy as np

from emcourse.viewers._core import _close, _new_figure

__all__ = ["chromatic_figure", "precision_figure", "spots_figure"]


def spots_figure(stack, *, pixel: float, truth=None, found=None, titles=(), title: str = ""):
    """A row of spot windows in nm, with the true centre (+) and estimates (x, one colour each).

    ``found`` maps a label to an (n, 2) array of estimated ``(y, x)`` nm.
    """
    st = np.asarray(stack)
    n = len(st)
    fig = _new_figure(2.3 * n + 0.5, 2.6)
    axes = np.atleast_1d(fig.subplots(1, n))
    h, w = st.shape[1:]
    ext = (-pixel / 2, (w - 0.5) * pixel, (h - 0.5) * pixel, -pixel / 2)
    for i, ax in enumerate(axes):
        ax.imshow(st[i], cmap="gray", extent=ext)
        if truth is not None:
            ax.plot(truth[i][1], truth[i][0], "+", color="lime", ms=12, mew=2, label="truth")
        for (lab, pts), col in zip(
            (found or {}).items(), ("tab:red", "tab:cyan", "tab:orange"), strict=False
        ):
            ax.plot(pts[i][1], pts[i][0], "x", color=col, ms=9, mew=2, label=lab)
        ax.set(xlabel="x (nm)", ylabel="y (nm)" if i == 0 else "")
        if i < len(titles):
            ax.set_title(titles[i], fontsize=9)
    axes[0].legend(fontsize=7, loc="lower left")
    if title:
        fig.suptitle(title, fontsize=10)
    _close(fig)
    return fig


def precision_figure(photons, lines: dict, points_photons=None, points=None, *, title=""):
    """Precision (nm) against photons on log axes: formula ``lines`` and Monte Carlo ``points``.

    ``lines`` maps a label to values over ``photons``, ``points`` a label to
    values over ``points_photons``. Curves share a colour when their labels
    start with the same word (the estimator); a label holding ``b²=0`` is
    drawn solid (circles), others dotted (triangles); Thompson's lines dashed.
    """
    fig = _new_figure(6.5, 4.5)
    ax = fig.subplots()
    colours: dict[str, str] = {}
    palette = iter(["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown"])

    def colour(lab):
        key = lab.split()[0]
        if key not in colours:
            colours[key] = next(palette)
        return colours[key]

    for lab, y in lines.items():
        style = "--" if lab.startswith("Thompson") else "-" if "b²=0" in lab else ":"
        ax.plot(photons, y, style, color=colour(lab), label=lab)
    for lab, y in (points or {}).items():
        mark = "o" if "b²=0" in lab else "^"
        ax.plot(points_photons, y, mark, color=colour(lab), mfc="none", label=lab)
    ax.set(xscale="log", yscale="log", xlabel="photons per spot", ylabel="precision per axis (nm)")
    ax.grid(True, which="both", lw=0.3)
    ax.legend(fontsize=6, ncol=2)
    if title:
        ax.set_title(title, fontsize=10)
    _close(fig)
    return fig


def chromatic_figure(beads, before, after, *, scales=(50.0, 500.0), title: str = ""):
    """Bead-by-bead shift between two channels, before and after correction.

    ``beads`` (n, 2) nm positions; ``before`` and ``after`` (n, 2) nm shift
    vectors, drawn as arrows magnified by ``scales`` (one per panel: the
    residual after correction is small).
    """
    b = np.asarray(beads) / 1000.0
    fig = _new_figure(9.5, 4.4)
    axes = fig.subplots(1, 2, sharex=True, sharey=True)
    panels = zip(axes, (before, after), ("before", "after"), scales, strict=True)
    for ax, vec, lab, scale in panels:
        v = np.asarray(vec) * scale / 1000.0
        ax.quiver(
            b[:, 1],
            b[:, 0],
            v[:, 1],
            v[:, 0],
            angles="xy",
            scale_units="xy",
            scale=1,
            color="tab:red",
            width=0.006,
        )
        ax.plot(b[:, 1], b[:, 0], "k.", ms=4)
        rms = float(np.sqrt(np.mean(np.sum(np.asarray(vec) ** 2, axis=1))))
        ax.set(xlabel="x (µm)", aspect="equal")
        ax.set_title(f"{lab} correction: RMS {rms:.1f} nm (arrows x {scale:g})", fontsize=9)
        ax.margins(0.08)
    axes[0].set_ylabel("y (µm)")
    axes[0].invert_yaxis()  # shared: rows grow downwards in both
    if title:
        fig.suptitle(title, fontsize=10)
    _close(fig)
    return fig
