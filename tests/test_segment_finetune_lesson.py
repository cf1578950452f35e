"""The pieces of the lesson "Fine-tune a network on real mitochondria": the crop, the contrast,
and a fine-tune on a fraction of the labelled rows (on the offline stand-in)."""

import numpy as np
import pytest

from emcourse.segment import finetune as ft
from emcourse.segment import hela2d_standin


def test_cell_crop_finds_the_window_with_the_most_cell():
    cell = np.zeros((100, 100), bool)
    cell[60:90, 10:40] = True
    cell[5:8, 5:8] = True  # a speck: the window must not centre on the centre of mass
    ys, xs = ft.cell_crop(cell, 30)
    assert (ys.stop - ys.start, xs.stop - xs.start) == (30, 30)
    assert cell[ys, xs].sum() == 900


def test_grey_contrast_on_a_known_image():
    img = np.full((10, 10), 100.0)
    img[:5] = 80.0  # mitochondria 20 darker
    img[5:, ::2] += 2.0  # the rest: 101 +- 1
    mask = np.zeros((10, 10), bool)
    mask[:5] = True
    c = ft.grey_contrast(img, mask, np.ones((10, 10), bool))
    assert c["mito"] == 80 and c["rest"] == 101 and c["darker_by"] == 21
    assert c["cnr"] == pytest.approx(21.0)


def test_score_crop_counts_only_the_cell():
    truth = np.zeros((4, 4), bool)
    truth[0, :2] = True
    prob = np.zeros((4, 4))
    prob[0, :2] = 0.9
    prob[3, 3] = 0.9  # a false positive outside the cell
    cell = np.ones((4, 4), bool)
    cell[3, 3] = False
    assert ft.score_crop(prob, truth, cell) == 1.0
    assert ft.score_crop(prob, truth, np.ones((4, 4), bool)) == pytest.approx(0.8)


def test_a_fraction_of_the_rows_means_fewer_labelled_pixels_and_the_caller_keeps_its_list():
    slices = hela2d_standin(size=256, seed=1)
    prepared = ft.prepare_slices(slices, (1, 30, 60))
    before = [p["train_rows"] for p in prepared]
    px = {}
    for fraction in (0.25, 1.0):
        params, threshold, hist = ft.finetune(
            slices, steps=2, batch=1, size=32, lr=1e-3, seed=0, prepared=prepared,
            fraction=fraction, log=lambda *a: None,
        )  # fmt: skip
        px[fraction] = hist["labelled_px"]
        assert 0.2 <= threshold <= 0.8 and set(params)
    assert [p["train_rows"] for p in prepared] == before
    assert 0.15 < px[0.25] / px[1.0] < 0.4  # about a quarter of the cell pixels
    with pytest.raises(ValueError, match="fraction"):
        ft.finetune(slices, steps=1, batch=1, size=32, lr=1e-3, seed=0, fraction=0.0)
