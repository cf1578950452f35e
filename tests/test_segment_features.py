"""The random-forest pixel classifier: quality bar on the stand-in, shapes and errors."""

import numpy as np
import pytest

from emcourse import segment


def test_forest_meets_the_quality_bar_on_a_held_out_block():
    # 2,000 scribbles per class on 32 slices, a block one object length away for testing
    vol = segment.hela_standin((128, 256, 256), seed=0)
    gap = segment.longest_extent(vol.labels)
    train, test = segment.block_split(128, sizes=[32, None], gap=gap)
    assert segment.objects_shared(vol.labels, [train, test]) == 0
    feats = segment.feature_stack(vol.em[train])
    assert feats.dtype == np.float32 and feats.shape[:3] == (32, 256, 256)
    sparse = segment.scribbles(vol.labels[train], n_per_class=2000, seed=0)
    assert set(np.unique(sparse)) == {0, 1, 2} and (sparse == 2).sum() == 2000
    forest = segment.train_forest(feats, sparse)
    prob = segment.predict_volume(forest, vol.em[test], chunk=8)
    assert prob.shape == vol.em[test].shape
    assert segment.dice(vol.labels[test], prob > 0.5) >= 0.90


def test_forest_refuses_one_class_and_mismatched_shapes():
    feats = np.zeros((2, 8, 8, 3), np.float32)
    with pytest.raises(ValueError, match="two classes"):
        segment.train_forest(feats, np.ones((2, 8, 8), np.uint8))
    with pytest.raises(ValueError, match="differ"):
        segment.train_forest(feats, np.ones((2, 8, 9), np.uint8))


def test_watershed_from_boundaries_trades_splits_for_merges():
    s = segment.neuron_standin((20, 60, 80), n_cells=30, seed=4)
    inside = s.labels > 0
    few = segment.watershed_from_boundaries(s.em, sigma=1.5, seed_level=0.4)
    many = segment.watershed_from_boundaries(s.em, sigma=0.5, seed_level=0.8)
    s_few, m_few = segment.variation_of_information(s.labels[inside], few[inside])
    s_many, m_many = segment.variation_of_information(s.labels[inside], many[inside])
    assert m_few > m_many and s_many > s_few
