"""The questions of the subtomogram-averaging sheets: nothing shown before an answer, the
result computed from the sheet's data, every wrong option explained, options as in the sheet."""

import json
import re
from pathlib import Path

import numpy as np
import pytest

from emcourse import checks, sta
from emcourse.checks import tomograms

SHEETS = Path(__file__).resolve().parents[1] / "solutions" / "10-subtomogram-averaging"


@pytest.fixture(autouse=True)
def not_strict(monkeypatch):
    monkeypatch.delenv(checks.STRICT_ENV, raising=False)


def mdoc(lo, hi, step=3.0):
    return [{"TiltAngle": float(a)} for a in sta.tilt_scheme(min_angle=lo, max_angle=hi, step=step)]


def test_elongation_prediction_follows_the_tilt_range():
    assert checks.elongation_prediction(..., mdoc(-60, 60)).status == "not done"
    r = checks.elongation_prediction(1.5, mdoc(-60, 60))
    assert r.passed and "1.552" in r.message
    assert not checks.elongation_prediction(1.5, mdoc(-45, 45)).passed  # e is about 2.3 there
    assert "90 degrees" in checks.elongation_prediction(1.0, mdoc(-60, 60)).diagnosis
    assert "not squeezed" in checks.elongation_prediction(0.64, mdoc(-60, 60)).diagnosis


def test_low_threshold_prediction_is_measured_on_the_map_it_gets():
    scores = tomograms._score_map(seed=2)
    truth = np.array([(6, 7, 8), (16, 20, 24), (12, 6, 24), (18, 9, 9), (9, 21, 12)])
    kw = {"min_distance": 4.0, "tolerance": 1.0}
    assert checks.low_threshold_prediction(..., scores, truth, **kw).status == "not done"
    r = checks.low_threshold_prediction(0.5, scores, truth, **kw)
    med = np.median(scores)
    thr = med + 3 * 1.4826 * np.median(np.abs(scores - med))
    picks = sta.find_peaks(scores, min_distance=4.0, threshold=thr)
    precision = sta.precision_recall(picks, truth, tolerance=1.0)[0]
    assert precision < 0.5  # noise picks of the small map at 3 SD
    assert f"the result is {precision:.4g}" in r.message
    assert (
        "what a lower threshold adds is noise"
        in checks.low_threshold_prediction(1.0, scores, truth, **kw).diagnosis
    )


def test_noise_prediction_measures_one_over_root_n():
    ref = sta.phantom_map(box=24, voxel_size=10.0)
    r = checks.noise_prediction(0.25, ref, n=16)
    assert r.passed and float(re.search(r"the result is (\d+\.\d+)", r.message)[1]) == (
        pytest.approx(0.25, abs=0.01)
    )
    assert "that is 1 / n" in checks.noise_prediction(1 / 16, ref, n=16).diagnosis
    assert "does average down" in checks.noise_prediction(1.0, ref, n=16).diagnosis
    assert checks.noise_prediction(..., ref).status == "not done"


def test_half_map_prediction():
    assert checks.half_map_prediction(0.5).passed
    assert "half-map FSC itself" in checks.half_map_prediction(0.143).diagnosis
    assert "twice" in checks.half_map_prediction(0.378).diagnosis
    assert checks.half_map_prediction(...).status == "not done"


CHOICES = {
    "01-the-tilt-series-and-its-metadata": (checks.exposure_dose_choice, "a"),
    "03-weighting-by-dose": (checks.circular_gain_choice, "a"),
    "06-tomograms-and-the-missing-wedge": (checks.missing_wedge_choice, "a"),
    "07-finding-particles": (checks.recall_choice, "a"),
    "08-aligning-and-averaging": (checks.einstein_choice, "b"),
    "09-resolution-and-comparison": (checks.gold_standard_choice, "a"),
    "10-cleaning-picks-by-3d-classification": (checks.decoy_class_choice, "a"),
}


@pytest.mark.parametrize("sheet", sorted(CHOICES))
def test_choices_explain_every_option_and_the_sheet_lists_them(sheet):
    question, right = CHOICES[sheet]
    assert question(...).status == "not done"
    assert question(right).passed and question(f"({right.upper()})").passed
    for letter in set(question.options) - {right}:
        r = question(letter)
        assert not r.passed and r.diagnosis and r.diagnosis not in r.message
    assert "one of" in question("e").message
    cells = json.loads((SHEETS / f"{sheet}.ipynb").read_text())["cells"]
    text = re.sub(r"\s+", " ", " ".join("".join(c["source"]) for c in cells))
    for letter, option in question.options.items():
        assert f"({letter}) {option}" in text, (sheet, letter)
