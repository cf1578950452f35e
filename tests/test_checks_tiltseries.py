"""The tilt-series sheet's checks: right answers pass, each typical mistake gets its diagnosis."""

from __future__ import annotations

import numpy as np
import pytest

from emcourse import checks, sta


@pytest.fixture(autouse=True)
def not_strict(monkeypatch):
    """These tests read failed results; under EMCOURSE_CHECKS_STRICT=1 a failure raises."""
    monkeypatch.delenv(checks.STRICT_ENV, raising=False)


def pre_exposure(doses):
    return np.cumsum(doses) - doses


def test_pre_exposure_passes_and_diagnoses_dose_per_tilt_against_accumulated():
    assert checks.pre_exposure_from_doses(pre_exposure).passed
    r = checks.pre_exposure_from_doses(lambda d: d)
    assert not r.passed and "doses of the images themselves" in r.diagnosis
    r = checks.pre_exposure_from_doses(lambda d: np.cumsum(d))
    assert "own dose" in r.diagnosis


def test_pre_exposure_stub_is_not_done_without_hint():
    def stub(doses):
        raise NotImplementedError("Replace this line with your code")

    r = checks.pre_exposure_from_doses(stub)
    assert r.status == "not done" and not r.diagnosis


def right(height_nm, tilt_deg, axis_deg, pixel_size):
    return height_nm * 10 * np.sin(np.deg2rad(tilt_deg)) / pixel_size, (axis_deg + 90) % 180


def test_bead_displacement_passes():
    assert checks.bead_displacement(right).passed


def test_bead_displacement_diagnoses_the_tilt_axis_taken_as_y():
    r = checks.bead_displacement(lambda h, t, a, p: (right(h, t, a, p)[0], 0.0))
    assert not r.passed and "not the y axis" in r.diagnosis


def test_bead_displacement_diagnoses_degrees_as_radians():
    r = checks.bead_displacement(lambda h, t, a, p: (h * 10 * np.sin(t) / p, (a + 90) % 180))
    assert "radians" in r.diagnosis


def test_bead_displacement_diagnoses_nanometres_as_angstrom():
    r = checks.bead_displacement(lambda h, t, a, p: (right(h, t, a, p)[0] / 10, (a + 90) % 180))
    assert "1 nm = 10" in r.diagnosis


def test_bead_displacement_diagnoses_movement_along_the_axis():
    r = checks.bead_displacement(lambda h, t, a, p: (right(h, t, a, p)[0], a % 180))
    assert "direction of the axis itself" in r.diagnosis


def test_astigmatism_prediction_is_computed_from_the_table():
    table = sta.standin_tilt_table()
    order = np.argsort(table["tilt"])
    jumps = sta.axial_difference(
        table["defocus_angle"][order][1:], table["defocus_angle"][order][:-1]
    )
    median = float(np.median(jumps))
    assert checks.astigmatism_angle_prediction(median, table).passed
    assert checks.astigmatism_angle_prediction(..., table).status == "not done"
    r = checks.astigmatism_angle_prediction(0.0, table)
    assert not r.passed and "CTFFIND's estimate" in r.diagnosis


def test_exposure_dose_choice():
    assert checks.exposure_dose_choice("a").passed
    for letter in "bcd":
        r = checks.exposure_dose_choice(letter)
        assert not r.passed and r.diagnosis
