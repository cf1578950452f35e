"""Scoring any lesson's method on the real HeLa slices (segment.realslices), on the stand-in."""

from __future__ import annotations

import numpy as np
import pytest

from emcourse import segment
from emcourse.segment.hela2d import HELA2D_TEST_Z, HELA2D_TRAIN_Z, hela2d_standin


@pytest.fixture(scope="module")
def slices():
    return hela2d_standin(size=256, seed=1)


def _oracle(slices, pixel_nm, key="first"):
    """A method that answers each test window with the labels of that window."""
    windows = iter(segment.lesson_windows(slices, HELA2D_TEST_Z, pixel_nm=pixel_nm, crop_nm=None))
    return lambda image: next(windows)[key]


def test_the_labels_themselves_score_one_and_the_revised_pass_the_ceiling(slices):
    rows = segment.score_on_real_slices(_oracle(slices, slices.pixel_nm), slices, pixel_nm=10.0)
    assert [r["z"] for r in rows] == list(HELA2D_TEST_Z)  # the test slices by default
    for r in rows:
        assert r["dice"] == pytest.approx(1.0) and r["f1"] == pytest.approx(1.0)
        assert r["dice_revised"] == pytest.approx(r["dice_passes"])
        assert r["f1_revised"] == pytest.approx(r["f1_passes"])
        assert r["marked"] == pytest.approx(r["labelled"])
        assert 0.8 < r["dice_passes"] < 1.0  # the stand-in's passes differ, as the real ones


def test_at_the_lessons_15_nm_the_window_is_rescaled_and_the_answer_put_back(slices):
    shapes = []

    def method(image):
        shapes.append(image.shape)
        return np.zeros(image.shape, bool)

    segment.score_on_real_slices(method, slices, zs=(116,))
    seen = segment.lesson_windows(slices, (116,), crop_nm=None)[0]["image"].shape
    assert shapes == [seen]
    # labels at 15 nm, put back on the 10 nm grid: nearly what they were
    rows = segment.score_on_real_slices(_oracle(slices, 15.0), slices)
    assert all(r["dice"] > 0.93 and r["f1"] > 0.85 for r in rows), rows


def test_a_mask_gets_dice_only_and_labels_get_instance_f1(slices):
    empty = segment.score_on_real_slices(lambda im: np.zeros(im.shape, bool), slices)
    assert all(r["dice"] == 0 and r["f1"] is None and r["marked"] == 0 for r in empty)
    full = segment.score_on_real_slices(lambda im: np.ones(im.shape, np.uint16), slices)
    assert all(r["f1"] == 0 and r["marked"] == 1 for r in full)
    assert all(0 < r["dice"] < 0.5 for r in full)  # the labelled fraction of the cell, about


def test_a_method_that_changes_the_shape_is_refused(slices):
    with pytest.raises(ValueError, match="shape"):
        segment.score_on_real_slices(lambda im: im[1:] > 0.5, slices)


def test_training_windows_are_the_training_slices_in_the_cell(slices):
    windows = segment.lesson_windows(slices)
    assert [w["z"] for w in windows] == list(HELA2D_TRAIN_Z)
    assert not set(HELA2D_TEST_Z) & {w["z"] for w in windows}
    for w in windows:
        assert w["image"].dtype == np.float32 and w["cell"].dtype == bool
        assert w["image"].shape == w["first"].shape == w["cell"].shape
        assert w["cell"].mean() > 0.2  # the 256-pixel stand-in: the whole slice, the cell in it
        assert np.median(w["image"]) == pytest.approx(0.5, abs=0.5)


def test_the_forest_learns_only_from_strokes_inside_the_cell(slices, monkeypatch):
    from emcourse.segment import features

    windows = segment.lesson_windows(slices)
    seen = {}
    fit = features.train_forest

    def spy(x, y, **kw):
        seen["n"] = y.size
        return fit(x, y, **kw)

    monkeypatch.setattr(features, "train_forest", spy)
    forest, n_strokes, n_pixels = segment.forest_on_training_slices(windows, seed=0)
    assert n_strokes > 0 and n_pixels == seen["n"] > 0
    assert sorted(forest.classes_) == [1, 2]
    inside = sum(
        int(((sp > 0) & w["cell"]).sum())
        for i, w in enumerate(windows)
        for sp in [segment.draw_strokes(w["first"], strokes_per_object=2, seed=i)[0]]
    )
    assert n_pixels == inside  # exactly the stroke pixels inside the cell

    def rf(image):
        prob = segment.predict_proba(forest, segment.feature_stack(image[None], limits=(0, 1)))
        return prob[0] > 0.5

    rows = segment.score_on_real_slices(rf, slices)
    assert np.mean([r["dice"] for r in rows]) > 0.6, rows


def test_the_table_shows_every_method_and_the_ceiling(slices):
    rows = segment.score_on_real_slices(lambda im: np.zeros(im.shape, bool), slices)
    text = segment.real_slices_table({"nothing": rows})
    lines = text.splitlines()
    assert len(lines) == 1 + 2 * len(HELA2D_TEST_Z)
    assert lines[-1].startswith("the two passes (ceiling)")
    assert f"{rows[0]['dice_passes']:.3f}" in text


def test_the_classical_pipeline_works_on_one_2d_slice():
    """A 2D slice gets a disc, not a ball (which would erase a single slice) and a disc's size."""
    img = np.full((80, 80), 200.0)
    yy, xx = np.mgrid[:80, :80]
    for cy, cx in ((20, 20), (20, 56), (58, 38)):
        img[(yy - cy) ** 2 + (xx - cx) ** 2 <= 64] = 100.0  # 240 nm discs at 15 nm
    img[70:72, 5:75] = 100.0  # a thin dark line: removed by the opening
    labels = segment.segment_mitochondria(img, voxel_size=15.0, low=50, high=150)
    assert labels.ndim == 2 and labels.max() == 3
    assert not labels[70:72].any()
    # a volume still takes the 3D route; for a stack of equal slices its middle is the 2D answer
    vol = segment.segment_mitochondria(
        np.repeat(img[None], 9, 0), voxel_size=15.0, low=50, high=150
    )
    assert vol.ndim == 3 and vol.max() == 3
    assert np.array_equal(vol[4] > 0, labels > 0)
