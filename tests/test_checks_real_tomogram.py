"""The real-tomogram sheet's checks: right answers pass, each typical mistake is diagnosed."""

from __future__ import annotations

import numpy as np
import pytest

from emcourse import checks, sta


@pytest.fixture(autouse=True)
def not_strict(monkeypatch):
    """These tests read failed results; under EMCOURSE_CHECKS_STRICT=1 a failure raises."""
    monkeypatch.delenv(checks.STRICT_ENV, raising=False)


def spheres(points, grid_factor):
    p = points / grid_factor
    labels = sta.group_points(p, link=2 * sta.lattice_spacing(p))
    fits = [sta.fit_sphere(p[labels == k]) for k in np.unique(labels)]
    return np.array([c for c, _ in fits]), np.array([r for _, r in fits])


def test_lattice_spheres_passes():
    assert checks.lattice_spheres(spheres).passed


def test_lattice_spheres_diagnoses_the_finer_grid_not_divided():
    r = checks.lattice_spheres(lambda p, f: spheres(p, 1))
    assert not r.passed and "divide them by grid_factor" in r.diagnosis


def test_lattice_spheres_diagnoses_xyz_order():
    r = checks.lattice_spheres(lambda p, f: (spheres(p, f)[0][:, ::-1], spheres(p, f)[1]))
    assert not r.passed and "(x, y, z) order" in r.diagnosis


def test_lattice_spheres_diagnoses_both_mistakes():
    r = checks.lattice_spheres(lambda p, f: (spheres(p, 1)[0][:, ::-1], spheres(p, 1)[1]))
    assert not r.passed and "finer grid (divide" in r.diagnosis


def test_lattice_spheres_stub_is_not_done_without_hint():
    def stub(points, grid_factor):
        raise NotImplementedError("Replace this line with your code")

    r = checks.lattice_spheres(stub)
    assert r.status == "not done" and not r.diagnosis


def normals(points, centre):
    d = points - centre
    return d / np.linalg.norm(d, axis=1, keepdims=True)


def test_outward_normals_passes_and_diagnoses_inward():
    assert checks.outward_normals(normals).passed
    r = checks.outward_normals(lambda p, c: -normals(p, c))
    assert not r.passed and "point inward" in r.diagnosis


def test_outward_normals_diagnoses_unnormalised_and_xyz():
    r = checks.outward_normals(lambda p, c: p - c)
    assert "not of length 1" in r.diagnosis
    r = checks.outward_normals(lambda p, c: normals(p, c)[:, ::-1])
    assert "(x, y, z) order" in r.diagnosis


def test_recall_prediction_is_computed_from_the_points():
    sim = sta.simulate_vlp_tomogram(seed=0)
    r = checks.sphere_pick_recall_prediction(0.8, sim["points"], 4)
    assert r.status != "not done"
    assert checks.sphere_pick_recall_prediction(..., sim["points"], 4).status == "not done"
    recall = checks.real_tomogram._ceiling_recall(sim["points"], 4)[0]
    assert 0.5 < recall < 0.95
    assert checks.sphere_pick_recall_prediction(recall, sim["points"], 4).passed
    r = checks.sphere_pick_recall_prediction(1.0, sim["points"], 4)
    assert not r.passed and "no lattice on it" in r.diagnosis


def test_half_set_split_choice():
    assert checks.half_set_split_choice("a").passed
    for letter in "bcd":
        r = checks.half_set_split_choice(letter)
        assert not r.passed and r.diagnosis
