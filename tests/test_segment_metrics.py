"""Metrics on cases with known answers: identical, disjoint, one split, one merge, empty."""

import numpy as np
import pytest
from skimage import metrics as skm

from emcourse.segment import metrics as m


@pytest.fixture
def two_cubes():
    lab = np.zeros((8, 10, 10), np.uint16)
    lab[1:4, 1:5, 1:5] = 1
    lab[5:8, 5:9, 5:9] = 2
    return lab


def test_identical(two_cubes):
    assert m.dice(two_cubes, two_cubes) == 1.0
    assert m.iou(two_cubes, two_cubes) == 1.0
    s = m.match_instances(two_cubes, two_cubes)
    assert (s.tp, s.fp, s.fn, s.f1) == (2, 0, 0, 1.0)
    assert m.average_precision(two_cubes, two_cubes) == 1.0
    assert m.variation_of_information(two_cubes, two_cubes) == (0.0, 0.0)
    assert m.adapted_rand_error(two_cubes, two_cubes) == (0.0, 1.0, 1.0)


def test_relabelled_is_identical(two_cubes):
    other = np.where(two_cubes == 1, 7, np.where(two_cubes == 2, 3, 0))
    assert m.match_instances(two_cubes, other).f1 == 1.0
    assert m.variation_of_information(two_cubes, other) == pytest.approx((0.0, 0.0), abs=1e-12)


def test_disjoint(two_cubes):
    shifted = np.zeros_like(two_cubes)
    shifted[1:4, 6:10, 0:4] = 1
    assert m.dice(two_cubes, shifted) == 0.0
    assert m.iou(two_cubes, shifted) == 0.0
    s = m.match_instances(two_cubes, shifted)
    assert (s.tp, s.fp, s.fn, s.f1) == (0, 1, 2, 0.0)


def test_one_split(two_cubes):
    split = two_cubes.copy()
    split[1:4, 1:5, 3:5][split[1:4, 1:5, 3:5] == 1] = 3  # object 1 cut in two halves
    s = m.match_instances(two_cubes, split)
    # each half has IoU 0.5 with object 1: one half matches, the other is a false positive
    assert (s.tp, s.fp, s.fn) == (2, 1, 0)
    vi_split, vi_merge = m.variation_of_information(two_cubes, split)
    frac = 48 / two_cubes.size  # object 1 (48 voxels) split 50:50 costs 1 bit per voxel of it
    assert vi_split == pytest.approx(frac)
    assert vi_merge == pytest.approx(0.0, abs=1e-12)
    err, prec, rec = m.adapted_rand_error(two_cubes, split)
    assert prec == 1.0 and rec < 1.0


def test_one_merge(two_cubes):
    merged = (two_cubes > 0).astype(np.uint16)
    s = m.match_instances(two_cubes, merged)
    assert (s.tp, s.fp, s.fn) == (1, 0, 1)  # same-size cubes: IoU exactly 0.5
    vi_split, vi_merge = m.variation_of_information(two_cubes, merged)
    assert vi_split == pytest.approx(0.0, abs=1e-12)
    assert vi_merge == pytest.approx(2 * 48 / two_cubes.size)
    err, prec, rec = m.adapted_rand_error(two_cubes, merged)
    assert rec == 1.0 and prec == pytest.approx(2 * 48 * 47 / (96 * 95))  # pairs kept apart


def test_empty():
    z = np.zeros((4, 4), np.uint8)
    one = z.copy()
    one[1:3, 1:3] = 1
    assert m.dice(z, z) == 1.0 and m.iou(z, z) == 1.0
    assert m.dice(z, one) == 0.0
    s = m.match_instances(z, z)
    assert (s.tp, s.fp, s.fn, s.precision, s.recall, s.f1) == (0, 0, 0, 1.0, 1.0, 1.0)
    s = m.match_instances(z, one)
    assert (s.fp, s.f1) == (1, 0.0)
    assert m.average_precision(z, z) == 1.0
    assert m.average_precision(one, z) == 0.0
    assert m.variation_of_information(z, z) == (0.0, 0.0)


def test_agrees_with_scikit_image():
    rng = np.random.default_rng(0)
    t = rng.integers(0, 5, (20, 30))
    p = rng.integers(0, 4, (20, 30))
    ours = m.variation_of_information(t, p)
    theirs = skm.variation_of_information(t, p)
    assert ours == pytest.approx(tuple(theirs), rel=1e-9)
    err, prec, rec = m.adapted_rand_error(t, p)
    s_err, s_prec, s_rec = skm.adapted_rand_error(t, p)
    assert (err, prec, rec) == pytest.approx((s_err, s_rec, s_prec))  # skimage swaps the names


def test_shape_mismatch_is_named():
    with pytest.raises(ValueError, match="shape"):
        m.dice(np.zeros((3, 3)), np.zeros((3, 4)))
    with pytest.raises(ValueError, match="non-negative"):
        m.match_instances(np.array([-1, 0]), np.array([0, 0]))


def test_agrees_with_stardist_and_scikit_learn():
    """The library calls lesson 20-06 and its sheet show beside the course's own metrics."""
    from sklearn import metrics as skl
    from stardist.matching import matching

    rng = np.random.default_rng(4)
    truth = np.zeros((12, 40, 40), np.int32)
    for i in range(1, 9):  # boxes of random sizes, later ones may cover earlier ones
        z, y, x = rng.integers(0, [8, 30, 30])
        truth[z : z + 4, y : y + int(rng.integers(4, 10)), x : x + int(rng.integers(4, 10))] = i
    pred = np.roll(truth, 2, axis=2)  # moved: some objects keep IoU >= 0.5, thin ones lose it
    pred[pred == 3] = 0  # one missed
    pred[:2, :5, :5] = 50  # one false positive
    for thresh in (0.3, 0.5, 0.7):
        ours = m.match_instances(truth, pred, threshold=thresh)
        theirs = matching(truth, pred, thresh=thresh)
        assert (ours.tp, ours.fp, ours.fn) == (theirs.tp, theirs.fp, theirs.fn), thresh
        assert np.isclose(ours.f1, theirs.f1)
    assert 0 < m.match_instances(truth, pred).tp < 8  # the case tests both outcomes
    t, p = truth.ravel() > 0, pred.ravel() > 0
    assert np.isclose(m.dice(truth, pred), skl.f1_score(t, p))
    assert np.isclose(m.iou(truth, pred), skl.jaccard_score(t, p))
