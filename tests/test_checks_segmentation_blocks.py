"""Checks of the sheet "Segment a volume larger than memory": right answers pass, each typical
mistake gets its own diagnosis, stubs are "not done"."""

import math

import pytest
from scipy import ndimage as ndi

from emcourse import checks


@pytest.fixture(autouse=True)
def lenient(monkeypatch):
    monkeypatch.delenv("EMCOURSE_CHECKS_STRICT", raising=False)


def halo(s, r, v):
    return math.ceil(4 * s / v) + 2 * round(r / v)


def side(m, *, halo, itemsize, copies, threads):
    return math.floor((m * 2**20 / (itemsize * copies * threads)) ** (1 / 3)) - 2 * halo


def smooth(lazy, sigma):
    return lazy.map_overlap(
        ndi.gaussian_filter, depth=math.ceil(4 * sigma), boundary="none", sigma=sigma
    )


def test_reference_answers_pass():
    assert checks.blocks_halo(halo)
    assert checks.blocks_chunk_side(side)
    assert checks.blocks_map_overlap(smooth)
    assert checks.blocks_seams_choice("a")


@pytest.mark.parametrize(
    "wrong, words",
    [
        (lambda s, r, v: 4 * s + 2 * r, "nanometres"),
        (lambda s, r, v: math.ceil(4 * s / v) + round(r / v), "twice its radius"),
        (lambda s, r, v: math.ceil(4 * s / v) + 4 * round(r / v), "diameter twice"),
        (lambda s, r, v: math.ceil(4 * s / v), "Gaussian's reach alone"),
        (lambda s, r, v: math.ceil(s / v) + 2 * round(r / v), "out to 4 σ"),
    ],
)
def test_halo_mistakes_are_named(wrong, words):
    r = checks.blocks_halo(wrong)
    assert not r and words in r.diagnosis


@pytest.mark.parametrize(
    "change, words",
    [
        (lambda m, k: side(m / 2**20, **k), "MiB as bytes"),
        (lambda m, k: math.floor((m * 1e6 / 24) ** (1 / 3)) - 2 * k["halo"], "10**6"),
        (lambda m, k: side(m, **dict(k, itemsize=1)), "dtype's bytes"),
        (lambda m, k: side(m, **dict(k, halo=0)), "halo is held too"),
        (lambda m, k: side(m, **dict(k, threads=1)), "every thread"),
    ],
)
def test_block_size_mistakes_are_named(change, words):
    def largest_block_side(m, **k):
        return change(m, k)

    r = checks.blocks_chunk_side(largest_block_side)
    assert not r and words in r.diagnosis


def test_map_overlap_mistakes_are_named():
    r = checks.blocks_map_overlap(lambda lazy, s: lazy.map_blocks(ndi.gaussian_filter, sigma=s))
    assert not r and "no halo" in r.diagnosis
    r = checks.blocks_map_overlap(
        lambda lazy, s: lazy.map_overlap(ndi.gaussian_filter, depth=2, boundary="none", sigma=s)
    )
    assert not r and "smaller than the Gaussian's reach" in r.diagnosis
    r = checks.blocks_map_overlap(lambda lazy, s: smooth(lazy, s).compute())
    assert not r and "lazy dask array" in r.message


def test_stubs_are_not_done_and_named_as_the_learner_wrote_them():
    def largest_block_side(m, **k):
        raise NotImplementedError("Replace this line with your code")

    r = checks.blocks_chunk_side(largest_block_side)
    assert r.status == "not done" and "`largest_block_side`" in r.message

    def smooth_blockwise(lazy, sigma):
        raise NotImplementedError("Replace this line with your code")

    r = checks.blocks_map_overlap(smooth_blockwise)
    assert r.status == "not done" and "`smooth_blockwise`" in r.message


def test_questions():
    report = {
        "baseline_bytes": 80 * 2**20,
        "runs": [
            {"volume_bytes": 4 * 2**20, "peak_bytes": 110 * 2**20},
            {"volume_bytes": 64 * 2**20, "peak_bytes": 140 * 2**20},
        ],
    }
    assert checks.blocks_peak_prediction(..., report).status == "not done"
    assert checks.blocks_peak_prediction(55, report)  # actual 60 MiB above the baseline
    r = checks.blocks_peak_prediction(16 * 30, report)
    assert not r and "only the blocks in flight" in r.diagnosis
    for wrong in "bcd":
        r = checks.blocks_seams_choice(wrong)
        assert not r and r.diagnosis
