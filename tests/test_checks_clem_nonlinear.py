"""The thin-plate spline checks pass right answers and name each planted slip."""

from __future__ import annotations

import numpy as np
import pytest

from emcourse import checks, clem
from emcourse.checks import clem_nonlinear as cn


@pytest.fixture(autouse=True)
def not_strict(monkeypatch):
    monkeypatch.delenv(checks.STRICT_ENV, raising=False)


def _rms(e):
    return float(np.sqrt(np.mean(np.square(e))))


def test_tps_map_passes_the_spline_and_a_hand_written_system(capsys):
    assert checks.clem_tps_map(lambda p, q, t: clem.fit_tps(p, q)(t)).passed

    def by_hand(p, q, t):
        n = len(p)

        def u(a, b):
            r = np.linalg.norm(a[:, None] - b[None], axis=-1)
            return np.where(r > 0, r**2 * np.log(np.where(r > 0, r, 1)), 0)

        big = np.zeros((n + 3, n + 3))
        big[:n, :n] = u(p, p)
        big[:n, n:] = np.c_[p, np.ones(n)]
        big[n:, :n] = big[:n, n:].T
        sol = np.linalg.solve(big, np.vstack([q, np.zeros((3, 2))]))
        return u(t, p) @ sol[:n] + np.c_[t, np.ones(len(t))] @ sol[n:]

    assert checks.clem_tps_map(by_hand).passed


@pytest.mark.parametrize(
    ("wrong", "words"),
    [
        (lambda p, q, t: clem.fit_tps(q, p)(t), cn.WRONG_WAY),
        (lambda p, q, t: clem.fit_tps(p, q, kernel="r")(t), cn.KERNEL_R),
        (lambda p, q, t: clem.apply(clem.fit(p, q, kind="affine"), t), cn.NO_BENDING),
    ],
)
def test_tps_map_names_the_slip(wrong, words, capsys):
    r = checks.clem_tps_map(wrong)
    assert not r.passed and r.diagnosis == words


def test_tps_map_stub_is_not_done(capsys):
    def stub(p, q, t):
        raise NotImplementedError

    assert checks.clem_tps_map(stub).status == "not done"


def _loo(p, q, pixel):
    return _rms(clem.tps_leave_one_out(p * pixel, q * pixel))


@pytest.mark.parametrize(
    ("wrong", "words"),
    [
        (  # FRE: the spline's error at its own landmarks
            lambda p, q, s: _rms(clem.fit_tps(p * s, q * s)(p * s) - q * s),
            cn.FRE_TRAP,
        ),
        (lambda p, q, s: _rms(clem.tps_leave_one_out(p, q)), cn.PIXELS),
        (
            lambda p, q, s: _rms(clem.leave_one_out(p * s, q * s, kind="affine")),
            cn.AFFINE_LOO,
        ),
    ],
)
def test_tps_loo_names_the_slip(wrong, words, capsys):
    assert checks.clem_tps_loo(_loo).passed
    r = checks.clem_tps_loo(wrong)
    assert not r.passed and r.diagnosis == words


def test_tps_fre_prediction(capsys):
    lm = clem.standin_cosem_landmarks()
    assert checks.clem_tps_loo_prediction(..., lm).status == "not done"
    r = checks.clem_tps_loo_prediction(0.0, lm)
    assert r.passed and "misses them by" in r.message
    fre_affine = clem.fre(clem.fit(lm.moving, lm.fixed), lm.moving, lm.fixed)
    r = checks.clem_tps_loo_prediction(fre_affine, lm)
    assert not r.passed and "affine fit's FRE" in r.diagnosis


def test_tps_meaning_choice_explains_every_option(capsys):
    q = cn.CHOICES["clem_tps_meaning_choice"]
    assert checks.clem_tps_meaning_choice(q["correct"]).passed
    for letter in set(q["options"]) - {q["correct"]}:
        r = checks.clem_tps_meaning_choice(letter)
        assert not r.passed and r.diagnosis == q["why_not"][letter]
    assert checks.clem_tps_meaning_choice(...).status == "not done"


def test_the_sheet_shows_the_options():
    from pathlib import Path

    import nbformat

    sheet = (
        Path(__file__).resolve().parents[1] / "solutions/30-clem/06-non-linear-registration.ipynb"
    )
    nb = nbformat.read(sheet, as_version=4)
    text = " ".join(" ".join(c.source.split()) for c in nb.cells if c.cell_type == "markdown")
    for letter, option in cn.CHOICES["clem_tps_meaning_choice"]["options"].items():
        assert f"({letter}) {' '.join(option.split())}" in text, letter
