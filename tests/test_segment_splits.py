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
