"""The segmentation checks: right answers pass, wrong ones get the message meant for them."""

import numpy as np
import pytest

from emcourse import checks, segment
from emcourse.checks import segmentation as cs


@pytest.fixture(autouse=True)
def lenient(monkeypatch):
    monkeypatch.delenv("EMCOURSE_CHECKS_STRICT", raising=False)


def test_reference_answers_pass():
    assert checks.physical_volume(
        lambda s, v: float(np.prod(s) * np.prod(np.broadcast_to(v, 3))) / 1e9
    )
    assert checks.percentile_normalise(segment.normalise_percentile)
    assert checks.dice_score(segment.dice)
    m = segment.match_instances
    assert checks.instance_scores(lambda t, p: (m(t, p).precision, m(t, p).recall, m(t, p).f1))
    assert checks.vi_split_merge(segment.variation_of_information)
    assert checks.remove_small_nm(
        lambda mask, v, vs: segment.remove_small(mask, min_volume_nm3=v, voxel_size=vs)
    )


def test_wrong_answers_get_their_diagnosis():
    r = checks.physical_volume(lambda s, v: float(np.prod(s)))
    assert not r and "number of voxels" in str(r)
    r = checks.vi_split_merge(lambda t, p: segment.variation_of_information(t, p)[::-1])
    assert not r and "swapped" in str(r)
    r = checks.dice_score(lambda t, p: 0.0 if not (t.any() or p.any()) else segment.dice(t, p))
    assert not r and "both empty" in r.name
    r = checks.physical_volume(lambda s, v: (_ for _ in ()).throw(NotImplementedError("x")))
    assert r.status == "not done"


def test_mask_and_label_mixups_are_named():
    truth = np.zeros((4, 10, 10), np.uint16)
    truth[1:3, 1:4, 1:4] = 1
    truth[1:3, 6:9, 6:9] = 2
    r = checks.segmentation_quality(truth > 0, truth)
    assert not r and "label image was expected" in r.message
    r = cs.mask_problem(truth, truth.shape, want="mask", name="x")
    assert "labels > 0" in r.message
    r = cs.mask_problem(
        np.random.default_rng(0).random(truth.shape), truth.shape, want="mask", name="x"
    )
    assert "probability" in r.message
    r = checks.segmentation_quality(truth[0], truth)
    assert not r and "one slice" in r.message
    assert checks.segmentation_quality(truth, truth)


def test_quality_check_names_merges_and_under_segmentation():
    truth = np.zeros((4, 10, 20), np.uint16)
    truth[:, 2:8, 2:9] = 1
    truth[:, 2:8, 10:17] = 2
    merged = np.where(truth > 0, 1, 0).astype(np.uint16)
    merged[:, 2:8, 9] = 1
    r = checks.segmentation_quality(merged, truth)
    assert not r and "merged" in r.message
    thin = truth.copy()
    thin[:, 2:5] = 0
    r = checks.segmentation_quality(thin, truth)
    assert not r and "under-segmentation" in r.message


def test_classifier_sheet_checks():
    assert checks.feature_memory(lambda s, n, b: float(np.prod(s)) * n * b / 1e9)
    r = checks.feature_memory(lambda s, n, b: float(np.prod(s)) * n * b)
    assert not r and "bytes" in str(r)
    truth = np.zeros((4, 10, 10), np.uint16)
    truth[1:3, 2:8, 2:8] = 3
    assert checks.mask_quality(truth > 0, truth)
    r = checks.mask_quality(np.ones(truth.shape, bool), truth)
    assert not r and "Too much" in r.message
    r = checks.mask_quality(lambda: truth, truth)
    assert not r and "label image" in r.message


def test_network_sheet_checks():
    from emcourse.checks.segmentation_models import _unet_count
    from emcourse.segment.unet import _conv3x3

    assert checks.unet_parameters(_unet_count)
    assert checks.conv3x3(_conv3x3)
    r = checks.conv3x3(lambda x, w, b: _conv3x3(x, w[:, :, ::-1, ::-1].copy(), b))
    assert not r and "flipped" in str(r)
    assert checks.early_stopping(lambda s, v: float(s[int(np.argmin(v))]))
    r = checks.early_stopping(lambda s, v: float(np.argmin(v)))
    assert not r and "index" in str(r)
