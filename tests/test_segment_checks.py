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
    assert not r and "label image was expected" in str(r)
    r = cs.mask_problem(truth, truth.shape, want="mask", name="x")
    assert "labels > 0" in str(r)
    r = cs.mask_problem(
        np.random.default_rng(0).random(truth.shape), truth.shape, want="mask", name="x"
    )
    assert "probability" in str(r)
    r = checks.segmentation_quality(truth[0], truth)
    assert not r and "one slice" in str(r)
    assert checks.segmentation_quality(truth, truth)


def test_quality_check_names_merges_and_under_segmentation():
    truth = np.zeros((4, 10, 20), np.uint16)
    truth[:, 2:8, 2:9] = 1
    truth[:, 2:8, 10:17] = 2
    merged = np.where(truth > 0, 1, 0).astype(np.uint16)
    merged[:, 2:8, 9] = 1
    r = checks.segmentation_quality(merged, truth)
    assert not r and "merged" in str(r)
    thin = truth.copy()
    thin[:, 2:5] = 0
    r = checks.segmentation_quality(thin, truth)
    assert not r and "under-segmentation" in str(r)


def test_classifier_sheet_checks():
    assert checks.feature_memory(lambda s, n, b: float(np.prod(s)) * n * b / 1e9)
    r = checks.feature_memory(lambda s, n, b: float(np.prod(s)) * n * b)
    assert not r and "bytes" in str(r)
    truth = np.zeros((4, 10, 10), np.uint16)
    truth[1:3, 2:8, 2:8] = 3
    assert checks.mask_quality(truth > 0, truth)
    r = checks.mask_quality(np.ones(truth.shape, bool), truth)
    assert not r and "too much" in str(r)
    r = checks.mask_quality(lambda: truth, truth)
    assert not r and "label image" in str(r)


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


# -- hint ladders, diagnoses and questions (issue 15) ------------------------------


@pytest.fixture(autouse=True)
def fresh_ladder():
    from emcourse.checks import _ladder

    _ladder.reset()
    yield
    _ladder.reset()


@pytest.mark.parametrize(
    "name",
    [
        "physical_volume",
        "percentile_normalise",
        "psnr",
        "otsu_threshold",
        "remove_small_nm",
        "feature_memory",
        "unet_parameters",
        "conv3x3",
        "early_stopping",
        "dice_score",
        "instance_scores",
        "vi_split_merge",
    ],
)
def test_ladders_step_from_a_nudge_to_the_method_and_never_repeat(name):
    def wrong(*args):
        return 12345.0

    def stub(*args):
        raise NotImplementedError("Replace this line with your code")

    check = getattr(checks, name)
    r = check(stub)
    assert r.status == "not done" and r.hint_step is None and "Hint" not in str(r)
    first = check(wrong)
    second = check(wrong)
    steps = [line for r in (first, second) for line in str(r).splitlines() if "Hint" in line]
    assert len(steps) == 2 and steps[0].startswith("  Hint 1 of 2")
    assert steps[1].startswith("  Hint 2 of 2") and steps[0][14:] != steps[1][14:]


def test_units_mistakes_are_diagnosed():
    shape_vox = lambda s, v: float(np.prod(s))  # noqa: E731
    in_nm3 = lambda s, v: float(np.prod(s) * np.prod(np.broadcast_to(v, 3)))  # noqa: E731
    by_1e6 = lambda s, v: float(np.prod(s) * np.prod(np.broadcast_to(v, 3))) / 1e6  # noqa: E731
    once = lambda s, v: float(np.prod(s) * np.max(v)) / 1e9  # noqa: E731
    assert "number of voxels" in checks.physical_volume(shape_vox).diagnosis
    assert "in nm³" in checks.physical_volume(in_nm3).diagnosis
    assert "1000 times too large" in checks.physical_volume(by_1e6).diagnosis
    assert "three edges" in checks.physical_volume(once).diagnosis
    r = checks.feature_memory(lambda s, n, b: float(np.prod(s)) * b / 1e9)
    assert "number of features" in r.diagnosis


def _labelled(mask, connectivity=1):
    from skimage import measure

    return measure.label(mask, connectivity=connectivity)


def test_size_filter_in_nm_diagnoses_units_limit_and_connectivity():
    def counts_vs_nm3(mask, v, vs):  # voxel counts compared with nm³
        lab = _labelled(mask)
        return (np.bincount(lab.ravel()) >= v)[lab] & mask

    def strict(mask, v, vs):
        lab = _labelled(mask)
        return (np.bincount(lab.ravel()) * vs**3 > v)[lab] & mask

    def full_connectivity(mask, v, vs):
        lab = _labelled(mask, connectivity=3)
        return (np.bincount(lab.ravel()) * vs**3 >= v)[lab] & mask

    def labels_back(mask, v, vs):
        lab = _labelled(mask)
        return np.where((np.bincount(lab.ravel()) * vs**3 >= v)[lab], lab, 0)

    assert (
        "voxel counts compared with a volume in nm³"
        in checks.remove_small_nm(counts_vs_nm3).diagnosis
    )
    assert "at least" in checks.remove_small_nm(strict).diagnosis
    assert "connectivity=1" in checks.remove_small_nm(full_connectivity).diagnosis
    assert checks.remove_small_nm(lambda m, v, vs: m).diagnosis.startswith("nothing was removed")
    assert cs.LABELS_FOR_MASK == checks.remove_small_nm(labels_back).diagnosis


def test_layout_and_type_mixups_are_diagnoses():
    truth = np.zeros((4, 10, 12), np.uint16)
    truth[1:3, 1:4, 1:4] = 1
    truth[1:3, 6:9, 6:9] = 2
    assert checks.segmentation_quality(truth > 0, truth).diagnosis == cs.MASK_FOR_LABELS
    assert checks.segmentation_quality(truth.T, truth).diagnosis == cs.XYZ_ORDER
    prob = np.random.default_rng(0).random(truth.shape)
    assert checks.mask_quality(prob, truth).diagnosis == cs.PROBABILITY_FOR_MASK
    assert checks.mask_quality(truth.astype(float), truth).diagnosis == cs.LABELS_FOR_MASK


def test_formula_mistakes_are_diagnosed():
    from emcourse.checks.segmentation_models import _unet_count
    from emcourse.segment.unet import _conv3x3

    r = checks.psnr(lambda c, i, d: float(10 * np.log10(d**2 / np.sqrt(np.mean((c - i) ** 2)))))
    assert "RMS" in r.diagnosis
    img_median = lambda im: float(np.median(im))  # noqa: E731
    assert "median" in checks.otsu_threshold(img_median).diagnosis
    assert (
        "skip connections" in checks.unet_parameters(lambda lv: _unet_count(lv, skip=1)).diagnosis
    )
    r = checks.unet_parameters(lambda lv: _unet_count(lv, up_kernel=3))
    assert "2x2" in r.diagnosis
    r = checks.conv3x3(lambda x, w, b: _conv3x3(x, w, b)[:, 1:-1, 1:-1])
    assert "'valid'" in r.diagnosis
    r = checks.conv3x3(lambda x, w, b: _conv3x3(x, w, b).transpose(1, 2, 0))
    assert "(H, W, O)" in r.diagnosis
    assert "highest" in checks.early_stopping(lambda s, v: float(s[int(np.argmax(v))])).diagnosis


def test_metric_mistakes_are_diagnosed():
    def iou(t, p):
        u = (t | p).sum()
        return 1.0 if not u else float((t & p).sum() / u)

    assert "IoU" in checks.dice_score(iou).diagnosis
    empty_zero = lambda t, p: 0.0 if not (t.any() or p.any()) else segment.dice(t, p)  # noqa: E731
    assert "1" in checks.dice_score(empty_zero).diagnosis
    m = segment.match_instances

    def swapped(t, p):
        s = m(t, p)
        return s.recall, s.precision, s.f1

    def arithmetic(t, p):
        s = m(t, p)
        return s.precision, s.recall, (s.precision + s.recall) / 2

    assert "swapped" in checks.instance_scores(swapped).diagnosis
    assert "harmonic" in checks.instance_scores(arithmetic).diagnosis
    nats = lambda t, p: tuple(v * np.log(2) for v in segment.variation_of_information(t, p))  # noqa: E731
    assert "nats" in checks.vi_split_merge(nats).diagnosis


def test_questions_refuse_before_an_answer_and_explain_after():
    img = segment.hela_standin((4, 64, 64), seed=1).em
    r = checks.outside_range_prediction(..., img)
    assert r.status == "not done" and "Commit your prediction first" in str(r)
    assert checks.outside_range_prediction(4.0, img)
    assert "one tail" in checks.outside_range_prediction(2.0, img).diagnosis
    assert "does not clip" in checks.outside_range_prediction(0.0, img).diagnosis
    assert checks.wider_unet_prediction(4.0)
    assert "both counts double" in checks.wider_unet_prediction(2.0).diagnosis
    labels = np.zeros((4, 20, 20), np.int64)
    labels[:, 2:10, 2:18] = 1
    labels[:, 11:19, 2:18] = 2
    r = checks.shifted_truth_prediction(0.2, labels)
    assert not r and "Instance F1" in str(r)
    for question, right in [
        (checks.calibration_choice, "c"),
        (checks.merged_objects_choice, "b"),
        (checks.feature_memory_choice, "b"),
        (checks.stopping_block_choice, "b"),
        (checks.few_seeds_choice, "b"),
    ]:
        assert "Choose an option first" in question(...).message
        assert question(right)
        wrong = next(k for k in "abcd" if k != right)
        r = question(wrong)
        assert not r and r.diagnosis
