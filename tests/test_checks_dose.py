"""The dose sheet's checks: right answers pass, each typical mistake gets its diagnosis."""

from __future__ import annotations

import numpy as np
import pytest

from emcourse import checks, sta


@pytest.fixture(autouse=True)
def not_strict(monkeypatch):
    """These tests read failed results; under EMCOURSE_CHECKS_STRICT=1 a failure raises."""
    monkeypatch.delenv(checks.STRICT_ENV, raising=False)


def critical(k, voltage):
    return (0.8 if voltage == 200 else 1.0) * (0.245 * k**-1.665 + 2.81)


def test_critical_exposure_passes_with_the_papers_and_the_programs_constants():
    assert checks.critical_exposure_curve(critical).passed

    def cistem(k, voltage):
        return (0.8 if voltage == 200 else 1.0) * (0.24499 * k**-1.6649 + 2.8141)

    assert checks.critical_exposure_curve(cistem).passed


def test_critical_exposure_diagnoses_the_voltage_and_the_floor():
    r = checks.critical_exposure_curve(lambda k, v: critical(k, 300))
    assert not r.passed and "wrong way round" in r.diagnosis
    r = checks.critical_exposure_curve(lambda k, v: critical(k, 300) / (0.8 if v == 200 else 1))
    assert "do not divide" in r.diagnosis
    r = checks.critical_exposure_curve(
        lambda k, v: critical(k, v) - 2.81 * (0.8 if v == 200 else 1)
    )
    assert "floor" in r.diagnosis
    r = checks.critical_exposure_curve(lambda k, v: critical(k * 10, v))
    assert "1/nm" in r.diagnosis


def test_critical_exposure_stub_is_not_done_without_hint():
    def stub(k, voltage):
        raise NotImplementedError("Replace this line with your code")

    r = checks.critical_exposure_curve(stub)
    assert r.status == "not done" and not r.diagnosis


def learner_filter(doses, shape, pixel_size, *, pre=None, square=False):
    doses = np.asarray(doses, float)
    pre = np.cumsum(doses) - doses if pre is None else pre
    ky = np.fft.fftfreq(shape[0], d=pixel_size)[:, None]
    kx = np.fft.fftfreq(shape[1], d=pixel_size)[None, :]
    k = np.hypot(ky, kx)
    k[0, 0] = 1.0
    ne = 0.245 * k**-1.665 + 2.81
    w = np.exp(-pre[:, None, None] / (2 * ne))
    w[:, 0, 0] = 1.0
    return w**2 if square else w


def test_exposure_filter_passes_and_agrees_with_sta():
    assert checks.exposure_filter_weights(learner_filter).passed
    d = np.array([3.0, 3.0, 3.0])
    assert np.allclose(
        learner_filter(d, (8, 6), 2.7), sta.exposure_filter(np.cumsum(d) - d, (8, 6), 2.7)
    )


def test_exposure_filter_diagnoses_dose_per_tilt_against_accumulated():
    r = checks.exposure_filter_weights(lambda d, s, p: learner_filter(d, s, p, pre=np.asarray(d)))
    assert not r.passed and "its own dose" in r.diagnosis
    r = checks.exposure_filter_weights(lambda d, s, p: learner_filter(d, s, p, pre=np.cumsum(d)))
    assert "pre-exposure" in r.diagnosis


def test_exposure_filter_diagnoses_the_wrong_pixel_size():
    r = checks.exposure_filter_weights(lambda d, s, p: learner_filter(d, s, p / 10))
    assert not r.passed and "1/nm" in r.diagnosis
    r = checks.exposure_filter_weights(lambda d, s, p: learner_filter(d, s, p * 10))
    assert "too low" in r.diagnosis


def test_exposure_filter_diagnoses_the_filter_applied_twice():
    r = checks.exposure_filter_weights(lambda d, s, p: learner_filter(d, s, p, square=True))
    assert not r.passed and "applied twice" in r.diagnosis
    r = checks.exposure_filter_weights(lambda d, s, p: np.sqrt(learner_filter(d, s, p)))
    assert "square root" in r.diagnosis


def test_exposure_filter_diagnoses_a_centred_grid():
    r = checks.exposure_filter_weights(
        lambda d, s, p: np.fft.fftshift(learner_filter(d, s, p), axes=(-2, -1))
    )
    assert not r.passed and "fftshift" in r.diagnosis


def test_half_amplitude_prediction_is_computed_from_the_table():
    table = sta.standin_tilt_table()
    w = np.exp(-table["pre_exposure"] / (2 * sta.critical_exposure(0.1)))
    count = int(np.sum(w >= 0.5))
    assert count == 7  # TS_01's pre-exposures: 0, 3, ..., 18 e/Å² (the real table has the same)
    assert checks.half_amplitude_prediction(count, table).passed
    assert checks.half_amplitude_prediction(..., table).status == "not done"
    r = checks.half_amplitude_prediction(40.0, table)
    assert not r.passed and "did not accumulate" in r.diagnosis


def test_circular_gain_choice():
    assert checks.circular_gain_choice("a").passed
    for letter in "bcd":
        r = checks.circular_gain_choice(letter)
        assert not r.passed and r.diagnosis
