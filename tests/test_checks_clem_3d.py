"""The 3D and targeting checks pass right answers and name each planted slip."""

from __future__ import annotations

import numpy as np
import pytest

from emcourse import checks, clem
from emcourse.checks import clem_3d as c3


@pytest.fixture(autouse=True)
def not_strict(monkeypatch):
    monkeypatch.delenv(checks.STRICT_ENV, raising=False)


def _factor(n1, n2):
    return clem.depth_scale(n1, n2)


def test_depth_correct_passes_and_names_slips(capsys):
    assert checks.clem_depth_correct(lambda p, n1, n2: p * [n2 / n1, 1, 1]).passed
    for wrong, words in (
        (lambda p, n1, n2: p * [n1 / n2, 1, 1], c3.INVERTED),
        (lambda p, n1, n2: p * [(n2 / n1) ** 2, 1, 1], c3.TWICE),
        (lambda p, n1, n2: p * [1, 1, n2 / n1], c3.AXIS_X),
    ):
        r = checks.clem_depth_correct(wrong)
        assert not r.passed and r.diagnosis == words


def _ratio(a):
    cols = np.linalg.norm(a[:3, :3], axis=0)
    return cols


def test_z_scale_passes_and_names_slips(capsys):
    def right(px, voxel, em):
        return clem.axial_scale(clem.fit(px * voxel, em, kind="affine"))["ratio"]

    assert checks.clem_z_scale(right).passed

    def pixels(px, voxel, em):
        return clem.axial_scale(clem.fit(px, em, kind="affine"))["ratio"]

    def swapped(px, voxel, em):
        c = _ratio(clem.fit(px * voxel, em, kind="affine"))
        return c[2] / c[:2].mean()

    def rows(px, voxel, em):
        r = np.linalg.norm(clem.fit(px * voxel, em, kind="affine")[:3, :3], axis=1)
        return r[0] / r[1:].mean()

    for wrong, words in ((pixels, c3.PIXELS), (swapped, c3.SWAPPED), (rows, c3.ROWS)):
        r = checks.clem_z_scale(wrong)
        assert not r.passed and r.diagnosis == words


def test_3dct_target_passes_and_names_the_flat_fit(capsys):
    def right(p, q, t):
        return clem.map_3dct(clem.fit_3dct(p, q), t)[0]

    assert checks.clem_3dct_target(right).passed

    def flat(p, q, t):
        return clem.apply(clem.fit(p[:, 1:], q, kind="affine"), t[1:])[0]

    r = checks.clem_3dct_target(flat)
    assert not r.passed and r.diagnosis == c3.FLAT


def test_questions(capsys):
    lm = clem.standin_cosem_landmarks()
    fit = clem.fit(lm.moving, lm.fixed, kind="affine")
    fle = clem.fle_from_fre(clem.fre(fit, lm.moving, lm.fixed), len(lm.moving), 3, "affine")
    sd = clem.axial_scale_monte_carlo(
        lm.moving, fit, sigma_light=0.0, sigma_em=fle / np.sqrt(3), n_trials=200
    ).std()
    assert checks.clem_z_scale_prediction(sd, lm).passed
    assert checks.clem_z_scale_prediction(0.1, lm).passed  # the sheet's answer
    assert not checks.clem_z_scale_prediction(0.5, lm).passed
    r = checks.clem_z_scale_prediction(0.0, lm)
    assert not r.passed and "re-click" in r.diagnosis
    assert checks.clem_z_scale_meaning_choice("b").passed
    assert not checks.clem_z_scale_meaning_choice("a").passed


def test_meaning_choice_explains_every_option(capsys):
    q = c3.CHOICE
    assert checks.clem_z_scale_meaning_choice(q["correct"]).passed
    for letter in set(q["options"]) - {q["correct"]}:
        r = checks.clem_z_scale_meaning_choice(letter)
        assert not r.passed and r.diagnosis == q["why_not"][letter]
    assert checks.clem_z_scale_meaning_choice(...).status == "not done"


def test_the_sheet_shows_the_options():
    from pathlib import Path

    import nbformat

    sheet = (
        Path(__file__).resolve().parents[1]
        / "solutions/30-clem/07-register-in-3d-and-target-a-lamella.ipynb"
    )
    nb = nbformat.read(sheet, as_version=4)
    text = " ".join(" ".join(c.source.split()) for c in nb.cells if c.cell_type == "markdown")
    for letter, option in c3.CHOICE["options"].items():
        assert f"({letter}) {' '.join(option.split())}" in text, letter


def test_prediction_stub_is_not_done(capsys):
    assert checks.clem_z_scale_prediction(..., clem.standin_cosem_landmarks()).status == "not done"
