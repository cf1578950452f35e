"""CLEM figures are made and closed; the picker is a widget in Jupyter and a table in the book."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest

from emcourse import clem, viewers

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def pair():
    return clem.standin_pair(seed=0, em_shape=(128, 128), lm_shape=(40, 40), n_mito=4, n_lyso=2)


def test_figures_have_axes(pair):
    lm = pair.truth["landmarks"]
    figs = [
        viewers.pair_figure(pair, title="t"),
        viewers.landmarks_figure(lm.moving, lm.fixed),
        viewers.tre_map(lm.moving, 50.0, kind="affine", extent_nm=((0, 2000), (0, 2000))),
        viewers.ratio_figure(["a", "b"], [1.0, 2.0], [1.1, 1.9]),
        viewers.overlay_figure(
            pair.em,
            np.broadcast_to(pair.lm[:, :1, :1], (2, *pair.em.shape)),
            pixel=pair.em_pixel,
            points=lm.fixed,
            zoom=((0, 1000), (0, 1000)),
        ),
        viewers.clouds_figure(lm.fixed, [lm.fixed], titles=["x"]),
    ]
    assert all(len(f.axes) >= 1 for f in figs)


def test_picker_static_table(pair, monkeypatch):
    monkeypatch.setenv("EMCOURSE_STATIC", "1")
    table = viewers.landmark_picker(pair, start=pair.truth["landmarks"])
    html = table.data
    assert html.count("<tr>") == len(pair.truth["landmarks"]) + 1 and "light y (nm)" in html


def test_picker_widget_adds_pairs(pair, monkeypatch):
    monkeypatch.delenv("EMCOURSE_STATIC", raising=False)
    box = viewers.landmark_picker(pair)
    assert box.pairs == []
    add = box.children[0].children[2]
    add.click()
    assert len(box.pairs) == 1
    moving, fixed = box.pairs[0]
    assert np.allclose(moving, np.array(pair.lm_extent) / 2)
    assert np.allclose(fixed, np.array(pair.em_extent) / 2)
