"""Block splits with gaps: layout, refusals, and that a gap of one object length leaves no
object in two blocks (and a shorter one does, on a volume built to show it)."""

import numpy as np
import pytest

from emcourse.segment import splits


def test_blocks_laid_out_with_gaps():
    blocks = splits.block_split(128, sizes=[48, 16, 24], gap=20)
    assert blocks == (slice(0, 48), slice(68, 84), slice(104, 128))
    starts = [b.start for b in blocks]
    stops = [b.stop for b in blocks]
    assert [a - b for a, b in zip(starts[1:], stops[:-1], strict=True)] == [20, 20]


def test_open_block_takes_the_rest():
    assert splits.block_split(100, sizes=[None, 30], gap=10) == (slice(0, 60), slice(70, 100))
    assert splits.block_split(100, sizes=[20, None, 30], gap=5) == (
        slice(0, 20),
        slice(25, 65),
        slice(70, 100),
    )


def test_zero_gap_touches_and_leftover_is_unused():
    assert splits.block_split(10, sizes=[3, 3], gap=0) == (slice(0, 3), slice(3, 6))


@pytest.mark.parametrize(
    ("n", "sizes", "gap", "words"),
    [
        (100, [48, 48], 10, "need 106 slices"),
        (100, [None, 50], 60, "no slice left"),
        (100, [None, None], 0, "at most one"),
        (100, [10, 0], 0, ">= 1 slice"),
        (100, [10, 10], -1, "gap must be >= 0"),
        (100, [], 0, "empty"),
    ],
)
def test_refusals_say_why(n, sizes, gap, words):
    with pytest.raises(ValueError, match=words):
        splits.block_split(n, sizes=sizes, gap=gap)


def test_longest_extent_per_axis_and_masks():
    lab = np.zeros((20, 9, 9), np.uint16)
    lab[2:9, 1, 1] = 1  # 7 slices in z
    lab[10:13, 2:8, 3] = 2  # 3 in z, 6 in y
    assert splits.longest_extent(lab) == 7
    assert splits.longest_extent(lab, axis=1) == 6
    assert splits.longest_extent(lab > 0) == 7  # a mask: connected components
    assert splits.longest_extent(np.zeros((4, 4, 4), int)) == 0


def test_gap_of_longest_extent_leaves_no_shared_object():
    rng = np.random.default_rng(3)
    lab = np.zeros((120, 16, 16), np.int32)
    for i in range(1, 40):  # rods of 3-25 slices at random depths
        z0, length = int(rng.integers(0, 100)), int(rng.integers(3, 26))
        y, x = rng.integers(0, 16, 2)
        lab[z0 : z0 + length, y, x] = i
    longest = splits.longest_extent(lab)
    assert 20 <= longest <= 25
    touching = splits.block_split(120, sizes=[40, 40], gap=0)
    assert splits.objects_shared(lab, touching) > 0  # the leak a touching split makes
    for gap in (longest, longest - 1):  # extent L needs a gap of L - 1 to skip both blocks
        blocks = splits.block_split(120, sizes=[30, None, 30], gap=gap)
        assert splits.objects_shared(lab, blocks) == 0
    # one slice less and an object of the longest extent can touch both sides
    lab2 = np.zeros((30, 1, 1), int)
    lab2[5:15, 0, 0] = 1
    assert splits.objects_shared(lab2, splits.block_split(30, sizes=[6, 5], gap=8)) == 1
    assert splits.objects_shared(lab2, splits.block_split(30, sizes=[6, 5], gap=9)) == 0


# ------------------------------------------------------------------ the sheet's checks


@pytest.fixture
def lenient(monkeypatch):
    monkeypatch.delenv("EMCOURSE_CHECKS_STRICT", raising=False)


def _extent_off_by_one(labels):
    from scipy import ndimage as ndi

    return max(b[0].stop - b[0].start - 1 for b in ndi.find_objects(labels) if b is not None)


def _extent_of_foreground(labels):
    z = np.flatnonzero((labels > 0).any(axis=(1, 2)))
    return int(z[-1] - z[0] + 1)


@pytest.mark.usefixtures("lenient")
@pytest.mark.parametrize(
    ("wrong", "words"),
    [
        (_extent_off_by_one, "one slice short"),
        (_extent_of_foreground, "all objects together"),
        (lambda lab: splits.longest_extent(lab, axis=1), "along y"),
        (lambda lab: splits.longest_extent(lab, axis=2), "along x"),
    ],
)
def test_extent_check_diagnoses_each_planted_mistake(wrong, words):
    from emcourse import checks

    assert checks.object_extent(splits.longest_extent)
    r = checks.object_extent(wrong)
    assert not r and words in r.diagnosis


@pytest.mark.usefixtures("lenient")
@pytest.mark.parametrize(
    ("wrong", "words"),
    [
        (lambda v, a: (6 * v) ** (2 / 3) / a, "pi**(1/3) is missing"),
        (lambda v, a: np.pi ** (1 / 3) * (6 * v) ** (1 / 3) / a, "power is 2/3"),
        (lambda v, a: a / (np.pi ** (1 / 3) * (6 * v) ** (2 / 3)), "upside down"),
    ],
)
def test_sphericity_check_diagnoses_each_planted_mistake(wrong, words):
    from emcourse import checks, segment

    def right(v, a):
        return np.pi ** (1 / 3) * (6 * v) ** (2 / 3) / a

    assert checks.sphericity(right)
    r = checks.sphericity(wrong)
    assert not r and words in r.diagnosis
    # the course's measure_objects uses the same formula: a ball of radius 10 voxels
    zz, yy, xx = np.indices((25, 25, 25))
    ball = ((zz - 12) ** 2 + (yy - 12) ** 2 + (xx - 12) ** 2 <= 100).astype(np.int32)
    m = segment.measure_objects(ball, voxel_size=10.0)
    assert np.isclose(right(m["volume_um3"][0], m["area_um2"][0]), m["sphericity"][0])


@pytest.mark.usefixtures("lenient")
def test_split_questions_compute_and_explain():
    from emcourse import checks, segment

    labels = segment.hela_standin((48, 64, 64), seed=2).labels
    r = checks.nearest_copy_prediction(..., labels)
    assert not r and r.status == "not done"
    n = labels.shape[0]
    train = np.sort(np.random.default_rng(1).permutation(n)[: n // 2])
    val = np.setdiff1d(np.arange(n), train)
    nearest = train[np.abs(val[:, None] - train[None]).argmin(axis=1)]
    actual = segment.dice(labels[val] > 0, labels[nearest] > 0)
    assert actual > 0.8  # the leak: copying a neighbour scores nearly as well as the truth
    assert checks.nearest_copy_prediction(actual, labels)
    r = checks.nearest_copy_prediction(0.5, labels)
    assert not r and "not half right" in r.diagnosis
    assert "Choose an option first" in checks.gap_choice(...).message
    assert checks.gap_choice("b")
    for wrong in "acd":
        r = checks.gap_choice(wrong)
        assert not r and r.diagnosis
