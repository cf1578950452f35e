"""The checks of the localisation sheet pass right answers and name each planted mistake."""

from __future__ import annotations

from pathlib import Path

import nbformat
import numpy as np
import pytest
from scipy.optimize import curve_fit

from emcourse import checks, clem
from emcourse.checks.clem_localise import CHOICES

REPO = Path(__file__).resolve().parents[1]
SHEET = REPO / "solutions" / "30-clem" / "05-localisation-and-chromatic-shift.ipynb"
K = 2 * np.sqrt(2 * np.log(2))


@pytest.fixture(autouse=True)
def not_strict(monkeypatch):
    """These tests read failed results; under EMCOURSE_CHECKS_STRICT=1 a failure raises."""
    monkeypatch.delenv(checks.STRICT_ENV, raising=False)


def _lsq_var(n, s, a, b):
    sa2 = s**2 + a**2 / 12
    return sa2 / n * (16 / 9 + 8 * np.pi * sa2 * b / (n * a**2))


def right_precision(n, w, a, b):
    return np.sqrt(_lsq_var(n, w * a / K, a, b))


@pytest.mark.parametrize(
    ("wrong", "words"),
    [
        (lambda n, w, a, b: _lsq_var(n, w * a / K, a, b), "variance"),
        (lambda n, w, a, b: np.sqrt(_lsq_var(n, w * a, a, b)), "FWHM as the PSF's standard"),
        (lambda n, w, a, b: np.sqrt(_lsq_var(n, w / K, a, b)), "still in pixels"),
        (
            lambda n, w, a, b: np.sqrt(
                ((w * a / K) ** 2 + a**2 / 12) / n + 8 * np.pi * (w * a / K) ** 4 * b / (a * n) ** 2
            ),
            "Thompson",
        ),
    ],
)
def test_lsq_precision_names_the_slip(wrong, words, capsys):
    assert checks.clem_lsq_precision(right_precision).passed
    r = checks.clem_lsq_precision(wrong)
    assert not r.passed and words in r.diagnosis, r.diagnosis


def test_lsq_precision_stub_is_not_done_and_hints_climb(capsys):
    def stub(n, w, a, b):
        raise NotImplementedError

    r = checks.clem_lsq_precision(stub)
    assert r.status == "not done" and "Hint" not in str(r)
    checks._ladder.reset()
    r = checks.clem_lsq_precision(lambda n, w, a, b: 1.0)
    assert not r.passed and not r.diagnosis and "Hint 1 of 2" in str(r)


def _fit(window, pixel):
    def model(_, y, x, n, s, b):
        return clem.spot_model([[y, x, n, s, b]], window.shape, pixel).ravel()

    peak = np.array(np.unravel_index(np.argmax(window), window.shape)) * pixel
    p, _ = curve_fit(model, None, window.ravel(), p0=[*peak, window.sum(), pixel, 10.0])
    return p[0], p[1]


def _centroid(window, pixel, bg):
    d = window - (np.median(window) if bg == "median" else bg)
    h, w = window.shape
    return (d.sum(1) @ np.arange(h)) / d.sum() * pixel, (d.sum(0) @ np.arange(w)) / d.sum() * pixel


@pytest.mark.parametrize(
    ("wrong", "words"),
    [
        (lambda w, a: tuple(np.array(_fit(w, a)) / a), "pixels"),
        (lambda w, a: _fit(w, a)[::-1], "(x, y) order"),
        (lambda w, a: _centroid(w, a, 0.0), "background pulls"),
        (
            lambda w, a: tuple(
                clem.centroid(w[None], pixel=a)[0]  # background from the window's border
            ),
            "background-subtracted centroid",
        ),
    ],
)
def test_localise_spot_names_the_slip(wrong, words, capsys):
    r = checks.clem_localise_spot(wrong)
    assert not r.passed and words in r.diagnosis, (r.message, r.diagnosis)


def test_localise_spot_passes_curve_fit_and_the_course_mle(capsys):
    assert checks.clem_localise_spot(_fit).passed
    mle = checks.clem_localise_spot(
        lambda w, a: tuple(clem.fit_gaussian(w[None], pixel=a, sigma0=a, method="mle")[0, :2])
    )
    assert mle.passed


def _r2g(green, red, pts):
    return clem.apply(clem.fit(red, green, kind="similarity"), pts)


@pytest.mark.parametrize(
    ("wrong", "words"),
    [
        (lambda g, r, p: clem.apply(clem.fit(g, r, kind="similarity"), p), "channels swapped"),
        (lambda g, r, p: p, "unchanged"),
        (lambda g, r, p: p - (r - g).mean(axis=0), "translation alone"),
    ],
)
def test_chromatic_correction_names_the_slip(wrong, words, capsys):
    assert checks.clem_chromatic_correction(_r2g).passed
    assert checks.clem_chromatic_correction(
        lambda g, r, p: clem.apply(clem.invert(clem.fit(g, r, kind="similarity")), p)
    ).passed
    r = checks.clem_chromatic_correction(wrong)
    assert not r.passed and words in r.diagnosis, (r.message, r.diagnosis)


def test_chromatic_correction_accepts_an_affine(capsys):
    assert checks.clem_chromatic_correction(
        lambda g, r, p: clem.apply(clem.fit(r, g, kind="affine"), p)
    ).passed


def test_four_times_photons_prediction(capsys):
    assert checks.clem_four_times_photons_prediction(...).status == "not done"
    assert checks.clem_four_times_photons_prediction(2.2).passed
    r = checks.clem_four_times_photons_prediction(4.5 / 4)
    assert not r.passed and "variance" in r.diagnosis
    r = checks.clem_four_times_photons_prediction(4.5)
    assert not r.passed and "more photons" in r.diagnosis


def test_chromatic_direction_choice(capsys):
    assert checks.clem_chromatic_direction_choice(...).status == "not done"
    q = CHOICES["clem_chromatic_direction_choice"]
    assert checks.clem_chromatic_direction_choice(q["correct"]).passed
    for letter in set(q["options"]) - {q["correct"]}:
        r = checks.clem_chromatic_direction_choice(letter)
        assert not r.passed and r.diagnosis == q["why_not"][letter]


def test_sheet_shows_the_options_the_check_knows():
    text = " ".join(" ".join(c.source.split()) for c in nbformat.read(SHEET, as_version=4).cells)
    for task, q in CHOICES.items():
        assert f"checks.{task}(" in text
        for letter, option in q["options"].items():
            assert f"({letter}) {option}" in text, (letter, option)
