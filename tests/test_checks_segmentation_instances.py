"""Checks of the sheet "Separate touching mitochondria with a boundary network": right answers
pass, each typical mistake gets its own diagnosis, stubs are "not done"."""

import numpy as np
import pytest
from skimage import measure, segmentation

from emcourse.checks import segmentation_instances as checks
from emcourse.segment import hela2d_standin, region_instance_f1


@pytest.fixture(autouse=True)
def lenient(monkeypatch):
    monkeypatch.delenv("EMCOURSE_CHECKS_STRICT", raising=False)


def targets(labels, *, edge=None):
    if edge is None:
        edge = segmentation.find_boundaries(labels, connectivity=1, mode="inner")
    out = (labels > 0).astype(np.uint8)
    out[edge & (labels > 0)] = 2
    return out


def instances(fg, bd):
    seeds = measure.label((fg > 0.5) & (bd < 0.5))
    return segmentation.watershed(bd, seeds, mask=fg > 0.5)


@pytest.fixture(scope="module")
def slices():
    return hela2d_standin(size=192, z=(150,), seed=3)


def test_reference_answers_pass(slices):
    assert checks.instances_boundary_targets(targets)
    assert checks.instances_seeded_watershed(instances)
    assert checks.instances_contact_choice("b")
    s = slices.at(150)
    f1 = region_instance_f1(s["first"], s["revised"], s["cell"])
    assert checks.instances_passes_prediction(f1 + 0.05, slices)


@pytest.mark.parametrize(
    "wrong, words",
    [
        (
            lambda lab: targets(
                lab, edge=segmentation.find_boundaries(lab > 0, connectivity=1, mode="inner")
            ),
            "foreground mask",
        ),
        (
            lambda lab: targets(
                lab, edge=segmentation.find_boundaries(lab, connectivity=2, mode="inner")
            ),
            "diagonal",
        ),
        (
            lambda lab: np.where(
                segmentation.find_boundaries(lab, connectivity=1, mode="outer"), 2, lab > 0
            ).astype(np.uint8),
            "outside the objects",
        ),
        (
            lambda lab: targets(
                lab,
                edge=segmentation.find_boundaries(np.pad(lab, 1), connectivity=1, mode="inner")[
                    1:-1, 1:-1
                ],
            ),
            "image's own edge",
        ),
    ],
)
def test_target_mistakes_are_named(wrong, words):
    r = checks.instances_boundary_targets(wrong)
    assert not r and words in r.diagnosis, r.diagnosis


@pytest.mark.parametrize(
    "wrong, words",
    [
        (lambda fg, bd: measure.label(fg > 0.5), "one object"),
        (
            lambda fg, bd: segmentation.watershed(bd, measure.label((fg > 0.5) & (bd < 0.5))),
            "grew over the background",
        ),
        (lambda fg, bd: measure.label((fg > 0.5) & (bd < 0.5)), "seeds themselves"),
    ],
)
def test_watershed_mistakes_are_named(wrong, words):
    r = checks.instances_seeded_watershed(wrong)
    assert not r and words in r.diagnosis, r.diagnosis


def test_wrong_choices_predictions_and_stubs(slices):
    for letter in "acd":
        r = checks.instances_contact_choice(letter)
        assert not r and r.diagnosis
    r = checks.instances_passes_prediction(0.5, slices)
    assert not r and "much higher" in r.diagnosis

    def stub(*args):
        raise NotImplementedError

    assert "not done" in str(checks.instances_boundary_targets(stub)).lower()
    assert "not done" in str(checks.instances_seeded_watershed(stub)).lower()
    assert "not done" in str(checks.instances_passes_prediction(..., slices)).lower()
