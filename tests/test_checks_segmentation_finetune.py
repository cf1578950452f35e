"""Checks of the sheet "Fine-tune a network on real mitochondria": right answers pass, each
typical mistake gets its own diagnosis, stubs are "not done"."""

import numpy as np
import pytest

from emcourse import checks
from emcourse.mito import predict_mito
from emcourse.segment import hela2d_standin

TRAIN_Z = (1, 30, 60)


@pytest.fixture(autouse=True)
def lenient(monkeypatch):
    monkeypatch.delenv("EMCOURSE_CHECKS_STRICT", raising=False)


def dice(a, b):
    return 2 * (a & b).sum() / (a.sum() + b.sum())


def score(image, pixel_nm, labels, cell, limits):
    pred = predict_mito(image, pixel_nm, limits=limits) > 0.5
    return dice(pred[cell], labels[cell] > 0)


def pick(probs, truths, cells, thresholds, zs=TRAIN_Z, inside=True):
    def pooled(t):
        c = {z: cells[z] if inside else np.ones_like(cells[z]) for z in zs}
        inter = sum(((probs[z] > t) & truths[z] & c[z]).sum() for z in zs)
        size = sum(((probs[z] > t) & c[z]).sum() + (truths[z] & c[z]).sum() for z in zs)
        return 2 * inter / size

    return thresholds[int(np.argmax([pooled(t) for t in thresholds]))]


def test_reference_answers_pass():
    assert checks.finetune_score_crop(score)
    assert checks.finetune_pick_threshold(pick)
    assert checks.finetune_threshold_choice("b")
    slices = hela2d_standin(size=192, z=(116,), seed=3)
    assert checks.finetune_ceiling_prediction(0.93, slices)


def test_the_mean_of_per_slice_dice_passes_too():
    def mean_pick(probs, truths, cells, thresholds):
        def mean(t):
            return np.mean([dice((probs[z] > t)[cells[z]], truths[z][cells[z]]) for z in TRAIN_Z])

        return thresholds[int(np.argmax([mean(t) for t in thresholds]))]

    assert checks.finetune_pick_threshold(mean_pick)


@pytest.mark.parametrize(
    "wrong, words",
    [
        (lambda i, p, lab, c, lim: dice(predict_mito(i, p, limits=lim) > 0.5, lab > 0), "whole"),
        (lambda i, p, lab, c, lim: score(i, 15.0, lab, c, lim), "15 nm"),
        (
            lambda i, p, lab, c, lim: (
                lambda pr: 2 * (lab * pr)[c].sum() / (lab[c].sum() + pr[c].sum())
            )(predict_mito(i, p, limits=lim) > 0.5),
            "instance labels",
        ),
        (
            lambda i, p, lab, c, lim: (lambda pr, t: (pr & t)[c].sum() / (pr | t)[c].sum())(
                predict_mito(i, p, limits=lim) > 0.5, lab > 0
            ),
            "IoU",
        ),
    ],
)
def test_score_mistakes_are_named(wrong, words):
    r = checks.finetune_score_crop(wrong)
    assert not r and words in r.diagnosis, r.diagnosis


@pytest.mark.parametrize(
    "wrong, words",
    [
        (lambda p, t, c, th: pick(p, t, c, th, zs=(116, 150)), "test slices z"),
        (lambda p, t, c, th: pick(p, t, c, th, zs=(1, 30, 60, 116, 150)), "all five"),
        (lambda p, t, c, th: pick(p, t, c, th, inside=False), "inside `cells"),
    ],
)
def test_threshold_mistakes_are_named(wrong, words):
    r = checks.finetune_pick_threshold(wrong)
    assert not r and words in r.diagnosis, r.diagnosis


def test_wrong_choices_and_stubs():
    for letter in "acd":
        r = checks.finetune_threshold_choice(letter)
        assert not r and r.diagnosis

    def stub(*args):
        raise NotImplementedError

    assert "not done" in str(checks.finetune_score_crop(stub)).lower()
    assert "not done" in str(checks.finetune_pick_threshold(stub)).lower()
    slices = hela2d_standin(size=192, z=(116,), seed=3)
    r = checks.finetune_ceiling_prediction(0.7, slices)
    assert not r and "far better" in r.diagnosis
    assert "not done" in str(checks.finetune_ceiling_prediction(..., slices)).lower()
