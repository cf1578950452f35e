"""The alignment sheet's checks: right answers pass, each typical mistake gets its diagnosis."""

from __future__ import annotations

import numpy as np
import pytest

from emcourse import checks, sta


@pytest.fixture(autouse=True)
def not_strict(monkeypatch):
    """These tests read failed results; under EMCOURSE_CHECKS_STRICT=1 a failure raises."""
    monkeypatch.delenv(checks.STRICT_ENV, raising=False)


def shift(reference, moving):
    cc = np.fft.ifft2(np.fft.fft2(reference) * np.conj(np.fft.fft2(moving))).real
    peak = np.array(np.unravel_index(np.argmax(cc), cc.shape))
    size = np.array(cc.shape)
    return tuple(np.where(peak > size // 2, peak - size, peak))


def position(u, x, z, tilt_deg, axis_deg):
    t, a = np.deg2rad(tilt_deg), np.deg2rad(axis_deg)
    across = x * np.cos(t) + z * np.sin(t)
    return u * np.sin(a) + across * np.cos(a), u * np.cos(a) - across * np.sin(a)


def test_shift_passes_and_stub_is_not_done():
    assert checks.shift_between_images(shift).passed

    def stub(reference, moving):
        raise NotImplementedError("Replace this line with your code")

    r = checks.shift_between_images(stub)
    assert r.status == "not done" and not r.diagnosis


def test_shift_diagnoses_the_sign():
    r = checks.shift_between_images(lambda a, b: tuple(-np.array(shift(a, b))))
    assert not r.passed and "opposite sign" in r.diagnosis


def test_shift_diagnoses_x_and_y_swapped():
    r = checks.shift_between_images(lambda a, b: shift(a, b)[::-1])
    assert "rows first" in r.diagnosis


def test_shift_diagnoses_the_peak_not_wrapped():
    r = checks.shift_between_images(lambda a, b: tuple(np.mod(shift(a, b), 64)))
    assert "wraps around" in r.diagnosis


def test_bead_position_passes():
    assert checks.bead_position(position).passed


def test_bead_position_diagnoses_the_axis_taken_as_y():
    r = checks.bead_position(lambda u, x, z, t, a: position(u, x, z, t, 90.0))
    assert not r.passed and "not the y axis" in r.diagnosis


def test_bead_position_diagnoses_degrees_as_radians():
    r = checks.bead_position(lambda u, x, z, t, a: position(u, x, z, np.rad2deg(t), np.rad2deg(a)))
    assert "radians" in r.diagnosis


def test_bead_position_diagnoses_sine_and_cosine_swapped():
    r = checks.bead_position(lambda u, x, z, t, a: position(u, z, x, t, a))
    assert "sine of the tilt" in r.diagnosis


def test_axis_as_y_prediction_is_computed_from_the_tracks():
    tilts = np.arange(-57.0, 61.0, 3.0)
    beads = np.random.default_rng(2).uniform(-60, 60, (8, 3))
    tracks = sta.bead_model(beads, tilts, 86.0, (128.0, 128.0))
    tracks += np.random.default_rng(3).normal(0, 0.4, tracks.shape)
    at_y, best = sta.axis_scan(tracks, tilts, [90.0, 86.0], centre=(128.0, 128.0))
    kw = {"centre": (128.0, 128.0), "fitted_axis": 86.0}
    assert checks.axis_as_y_prediction(float(at_y), tracks, tilts, **kw).passed
    assert checks.axis_as_y_prediction(..., tracks, tilts, **kw).status == "not done"
    r = checks.axis_as_y_prediction(float(best), tracks, tilts, **kw)
    assert not r.passed and "fitted axis" in r.diagnosis


def test_bead_gauge_choice():
    assert checks.bead_gauge_choice("b").passed
    for letter in "acd":
        r = checks.bead_gauge_choice(letter)
        assert not r.passed and r.diagnosis
