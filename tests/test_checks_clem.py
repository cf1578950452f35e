"""The CLEM checks pass right answers, fail wrong ones, and name the slip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emcourse import checks, clem
from emcourse.checks.clem_questions import CHOICES

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def not_strict(monkeypatch):
    """These tests read failed results; under EMCOURSE_CHECKS_STRICT=1 a failure raises."""
    monkeypatch.delenv(checks.STRICT_ENV, raising=False)


def _lstsq(moving, fixed):
    a = np.hstack([moving, np.ones((len(moving), 1))])
    x, *_ = np.linalg.lstsq(a, fixed, rcond=None)
    return np.vstack([x.T, np.eye(len(x))[-1]])


def _quiet(fn, *args):
    return fn(*args) if args else fn


def test_landmark_fit_passes_least_squares(capsys):
    assert checks.clem_landmark_fit(_lstsq).passed


@pytest.mark.parametrize(
    ("wrong", "words"),
    [
        (lambda m, f: _lstsq(m, f).T, "transposed"),
        (lambda m, f: _lstsq(f, m), "wrong way"),
        (lambda m, f: clem.matrix_xyz(_lstsq(m, f)), "x and y"),
        (lambda m, f: np.eye(4), "least-squares fit reaches"),
    ],
)
def test_landmark_fit_names_the_slip(wrong, words, capsys):
    r = checks.clem_landmark_fit(wrong)
    assert not r.passed
    assert words in r.diagnosis or words in r.message


def test_landmark_fit_stub_is_not_done(capsys):
    def stub(m, f):
        raise NotImplementedError("fit it")

    assert checks.clem_landmark_fit(stub).status == "not done"


def test_pixel_transform(capsys):
    def right(lm_px, em_px, lp, ep):
        return _lstsq(lm_px * lp, em_px * ep)

    def in_pixels(lm_px, em_px, lp, ep):
        return _lstsq(lm_px, em_px)

    assert checks.clem_pixel_transform(right).passed
    r = checks.clem_pixel_transform(in_pixels)
    assert not r.passed and "pixels" in r.diagnosis


def test_tre_affine_check(capsys):
    assert checks.clem_tre_affine(clem.tre_affine).passed
    r = checks.clem_tre_affine(clem.tre_rigid)
    assert not r.passed and "rigid" in r.diagnosis


def test_fle_from_fre_check(capsys):
    assert checks.clem_fle_from_fre(lambda f, n, k: clem.fle_from_fre(f, n, 3, k)).passed
    r = checks.clem_fle_from_fre(lambda f, n, k: f)
    assert not r.passed and "absorbs" in r.diagnosis


def test_binned_centre_check(capsys):
    assert checks.clem_binned_centre(lambda i, f, p: (f * i + (f - 1) / 2) * p).passed
    r = checks.clem_binned_centre(lambda i, f, p: f * i * p)
    assert not r.passed and "corner" in r.diagnosis


def test_fwhm_check(capsys):
    assert checks.clem_fwhm(clem.fwhm).passed
    r = checks.clem_fwhm(lambda p, px: clem.fwhm(p, 1.0))
    assert not r.passed and "pixels" in r.diagnosis


def test_resample_check(capsys):
    def right(lm, lp, m, shape, ep):
        return clem.warp(lm, m, moving_pixel=lp, out_shape=shape, out_pixel=ep)

    def forward(lm, lp, m, shape, ep):
        return clem.warp(lm, np.linalg.inv(m), moving_pixel=lp, out_shape=shape, out_pixel=ep)

    assert checks.clem_resample(right).passed
    r = checks.clem_resample(forward)
    assert not r.passed and "inverse" in r.diagnosis


def _to_xyz_um(m):
    x = clem.matrix_xyz(m)
    x[:3, 3] /= 1000
    return x


def test_ellipse_axes_check(capsys):
    assert checks.clem_ellipse_axes(lambda c, p: clem.ellipse(c, confidence=p)["semi_axes"]).passed
    r = checks.clem_ellipse_axes(lambda c, p: tuple(np.sqrt(np.linalg.eigvalsh(c))[::-1]))
    assert not r.passed and "chi-square" in r.diagnosis


def test_matrix_for_xyz_tool_check(capsys):
    assert checks.clem_matrix_for_xyz_tool(_to_xyz_um).passed
    r = checks.clem_matrix_for_xyz_tool(clem.matrix_xyz)
    assert not r.passed and "still in nm" in r.diagnosis

    def no_reorder(m):
        y = m.copy()
        y[:3, 3] /= 1000
        return y

    r = checks.clem_matrix_for_xyz_tool(no_reorder)
    assert not r.passed and "(z, y, x) order" in r.diagnosis


def test_bigwarp_row_check(capsys):
    def row(name, mov, fix):
        vals = [*mov[::-1] / 1000, *fix[::-1] / 1000]
        return ",".join(f'"{v}"' for v in [name, "true", *vals])

    def row_nm(name, mov, fix):
        vals = [*mov[::-1], *fix[::-1]]
        return ",".join(f'"{v}"' for v in [name, "true", *vals])

    assert checks.clem_bigwarp_row(row).passed
    r = checks.clem_bigwarp_row(row_nm)
    assert not r.passed and "in nm" in r.diagnosis

    def row_zyx(name, mov, fix):
        vals = [*mov / 1000, *fix / 1000]
        return ",".join(f'"{v}"' for v in [name, "true", *vals])

    def row_swapped(name, mov, fix):
        return row(name, fix, mov)

    def unquoted(name, mov, fix):
        return row(name, mov, fix).replace('"', "")

    assert "(z, y, x) order" in checks.clem_bigwarp_row(row_zyx).diagnosis
    assert "swapped" in checks.clem_bigwarp_row(row_swapped).diagnosis
    assert "double quotes" in checks.clem_bigwarp_row(unquoted).diagnosis


def test_ransac_check(capsys):
    def right(m, f, thr):
        return clem.ransac(m, f, kind="affine", threshold=thr, n_trials=100)

    def plain(m, f, thr):
        return clem.fit(m, f), np.ones(len(m), bool)

    assert checks.clem_ransac(right).passed
    assert not checks.clem_ransac(plain).passed


def test_ransac_trials_check(capsys):
    assert checks.clem_ransac_trials(lambda o, s, f: clem.ransac_trials(o, s, failure=f)).passed
    r = checks.clem_ransac_trials(lambda o, s, f: np.log(f) / np.log(1 - (1 - o) ** s))
    assert not r.passed and "round up" in r.diagnosis


def test_mutual_information_check(capsys):
    assert checks.clem_mutual_information(lambda a, b, n: clem.mutual_information(a, b, bins=n))
    r = checks.clem_mutual_information(
        lambda a, b, n: clem.mutual_information(a, b, bins=n) / np.log(2)
    )
    assert not r.passed and "bits" in r.diagnosis


# -- a diagnosis for each typical mistake, planted -----------------------------


@pytest.mark.parametrize(
    ("wrong", "words"),
    [
        (lambda m, f: _lstsq(m, f)[:3], "bottom row"),
        (lambda m, f: _lstsq(m, f)[:3, :3], "no translation"),
        (
            lambda m, f: np.linalg.lstsq(np.hstack([m, np.ones((len(m), 1))]), f, rcond=None)[0],
            "least-squares solution itself",
        ),
    ],
)
def test_landmark_fit_names_a_wrong_shape(wrong, words, capsys):
    r = checks.clem_landmark_fit(wrong)
    assert not r.passed and words in r.diagnosis


def test_landmark_fit_hint_never_gives_the_answer(capsys):
    r = checks.clem_landmark_fit(lambda m, f: np.eye(4))
    text = " ".join(checks._ladder.hint_steps(r.hint)) + r.diagnosis
    assert "X.T" not in text and "(0, 0, 0, 1)" not in text
    assert not r.diagnosis and r.hint_step == 0 and "Hint 1 of 2" in str(r)


@pytest.mark.parametrize("mix", ["lm", "em", "swapped"])
def test_pixel_transform_names_one_pixel_size_for_both(mix, capsys):
    def wrong(lm_px, em_px, lp, ep):
        a, b = {"lm": (lp, lp), "em": (ep, ep), "swapped": (ep, lp)}[mix]
        return _lstsq(lm_px * a, em_px * b)

    r = checks.clem_pixel_transform(wrong)
    assert not r.passed and "one pixel size" in r.diagnosis


def test_tre_affine_names_the_missing_centroid_term(capsys):
    def no_centre(fid, targets, fle):
        c = fid.mean(0)
        s = (fid - c).T @ (fid - c)
        d = targets - c
        return fle * np.sqrt(np.einsum("ij,jk,ik->i", d, np.linalg.inv(s), d))

    r = checks.clem_tre_affine(no_centre)
    assert not r.passed and "1/N term" in r.diagnosis


def test_fle_from_fre_names_multiplying(capsys):
    r = checks.clem_fle_from_fre(lambda f, n, k: f * np.sqrt(1 - clem.dof(k, 3) / (3 * n)))
    assert not r.passed and "divide" in r.diagnosis


def test_binned_centre_names_fine_pixels(capsys):
    r = checks.clem_binned_centre(lambda i, f, p: f * i + (f - 1) / 2)
    assert not r.passed and "fine pixels" in r.diagnosis


@pytest.mark.parametrize(
    ("wrong", "words"),
    [
        (lambda p, px: clem.fwhm(p, px) / 2.3548, "standard deviation"),
        (lambda p, px: clem.fwhm(p, px) / 2, "half the width"),
        (lambda p, px: _raw_half_width(p, px), "background"),
    ],
)
def test_fwhm_names_the_slip(wrong, words, capsys):
    r = checks.clem_fwhm(wrong)
    assert not r.passed and words in r.diagnosis


def _raw_half_width(p, px):
    """A FWHM without subtracting the background."""
    k = int(np.argmax(p))
    half = p[k] / 2
    i = np.nonzero(p[:k] < half)[0][-1]
    j = k + np.nonzero(p[k:] < half)[0][0]
    left = np.interp(half, [p[i], p[i + 1]], [i, i + 1])
    right = np.interp(half, [p[j], p[j - 1]], [j, j - 1])
    return (right - left) * px


@pytest.mark.parametrize(
    ("planted", "words"),
    [
        (lambda m: clem.matrix_xyz(m), "x and y"),
        ("no em pixel", "EM pixel size is missing"),
        ("no lm pixel", "light pixel size is missing"),
    ],
)
def test_resample_names_the_slip(planted, words, capsys):
    def wrong(lm, lp, m, shape, ep):
        if planted == "no em pixel":
            return clem.warp(lm, m, moving_pixel=lp, out_shape=shape, out_pixel=1.0)
        if planted == "no lm pixel":
            return clem.warp(lm, m, moving_pixel=ep, out_shape=shape, out_pixel=ep)
        return clem.warp(lm, planted(m), moving_pixel=lp, out_shape=shape, out_pixel=ep)

    r = checks.clem_resample(wrong)
    assert not r.passed and words in r.diagnosis


@pytest.mark.parametrize(
    ("wrong", "words"),
    [
        (lambda c, p: tuple(clem.ellipse(c, confidence=p)["semi_axes"])[::-1], "minor first"),
        (
            lambda c, p: tuple(-2 * np.log(1 - p) * np.sqrt(np.linalg.eigvalsh(c))[::-1]),
            "squared radius",
        ),
        (lambda c, p: tuple(np.linalg.eigvalsh(c)[::-1]), "variances"),
        (lambda c, p: tuple(1.96 * np.sqrt(np.linalg.eigvalsh(c))[::-1]), "ONE Gaussian"),
    ],
)
def test_ellipse_axes_names_the_slip(wrong, words, capsys):
    r = checks.clem_ellipse_axes(wrong)
    assert not r.passed and words in r.diagnosis


def _scaled(m, linear=1.0, translation=1.0):
    """The right answer with its linear part and its translation scaled (planted slips)."""
    x = _to_xyz_um(m)
    x[:3, :3] *= linear
    x[:3, 3] *= translation
    return x


@pytest.mark.parametrize(
    ("wrong", "words"),
    [
        (lambda m: _scaled(m, linear=1e-3), "whole 3 x 3"),
        (lambda m: _scaled(m, translation=1e6), "multiplied by 1000"),
        (lambda m: _to_xyz_um(m)[[2, 1, 0, 3]], "only the rows or only the columns"),
        (lambda m: _to_xyz_um(m)[:, [2, 1, 0, 3]], "only the rows or only the columns"),
    ],
)
def test_matrix_for_xyz_tool_names_the_slip(wrong, words, capsys):
    r = checks.clem_matrix_for_xyz_tool(wrong)
    assert not r.passed and words in r.diagnosis


def test_ransac_names_the_slip(capsys):
    def all_inliers(m, f, thr):
        return clem.fit(m, f), np.ones(len(m), bool)

    r = checks.clem_ransac(all_inliers)
    assert not r.passed and "every pair is marked an inlier" in r.diagnosis

    def inverted(m, f, thr):
        matrix, inl = clem.ransac(m, f, kind="affine", threshold=thr, n_trials=100)
        return matrix, ~inl

    r = checks.clem_ransac(inverted)
    assert not r.passed and "exactly the wrong pairs" in r.diagnosis

    def no_refit(m, f, thr):
        _, inl = clem.ransac(m, f, kind="affine", threshold=thr, n_trials=100)
        return clem.fit(m, f), inl

    r = checks.clem_ransac(no_refit)
    assert not r.passed and "refit on the inliers" in r.diagnosis


def test_ransac_trials_names_the_outlier_fraction_as_success(capsys):
    r = checks.clem_ransac_trials(lambda o, s, f: int(np.ceil(np.log(f) / np.log(1 - o**s))))
    assert not r.passed and "outlier fraction itself" in r.diagnosis


def test_mutual_information_names_raw_counts(capsys):
    def counts(a, b, bins):
        joint, _, _ = np.histogram2d(a.ravel(), b.ravel(), bins=bins)
        ca, cb = joint.sum(1), joint.sum(0)
        nz = joint > 0
        return float(np.sum(joint[nz] * np.log(joint[nz] / np.outer(ca, cb)[nz])))

    r = checks.clem_mutual_information(counts)
    assert not r.passed and "raw counts" in r.diagnosis


# -- the questions ---------------------------------------------------------------


@pytest.fixture(scope="module")
def pair():
    return clem.standin_pair(seed=0)


def test_questions_refuse_before_an_answer(pair, capsys):
    for r in (
        checks.clem_small_bead_prediction(..., pair),
        checks.clem_four_landmarks_prediction(..., clem.standin_cosem_landmarks()),
        checks.clem_one_wrong_pair_prediction(..., clem.standin_landmarks(20, seed=0)),
        checks.clem_ellipse_coverage_prediction(...),
    ):
        assert r.status == "not done" and "Commit your prediction first" in r.message
    for task in CHOICES:
        r = getattr(checks, task)(...)
        assert r.status == "not done" and "Choose an option first" in r.message


def test_small_bead_prediction(pair, capsys):
    assert checks.clem_small_bead_prediction(240, pair).passed
    r = checks.clem_small_bead_prediction(40, pair)
    assert not r.passed and "bead's own size" in r.diagnosis
    assert "standard deviation" in checks.clem_small_bead_prediction(100, pair).diagnosis
    assert "quadrature" in checks.clem_small_bead_prediction(280, pair).diagnosis


def test_four_landmarks_prediction(capsys):
    lm = clem.standin_cosem_landmarks()
    r = checks.clem_four_landmarks_prediction(0.0, lm)
    assert r.passed and "the result is 0 nm" in r.message
    fre_all = clem.fre(clem.fit(lm.moving, lm.fixed), lm.moving, lm.fixed)
    r = checks.clem_four_landmarks_prediction(fre_all, lm)
    assert not r.passed and "fit to all the landmarks" in r.diagnosis


def test_one_wrong_pair_prediction(capsys):
    lm = clem.standin_landmarks(20, seed=0)
    assert checks.clem_one_wrong_pair_prediction(5, lm).passed
    r = checks.clem_one_wrong_pair_prediction(1, lm)
    assert not r.passed and "does not average out" in r.diagnosis


def test_ellipse_coverage_prediction(capsys):
    assert checks.clem_ellipse_coverage_prediction(65).passed
    r = checks.clem_ellipse_coverage_prediction(95)
    assert not r.passed and "every source of error" in r.diagnosis


@pytest.mark.parametrize("task", sorted(CHOICES))
def test_choices_explain_every_option(task, capsys):
    q = CHOICES[task]
    assert 3 <= len(q["options"]) <= 4
    ask = getattr(checks, task)
    assert ask(q["correct"]).passed
    for letter in set(q["options"]) - {q["correct"]}:
        r = ask(letter)
        assert not r.passed and r.diagnosis == q["why_not"][letter]
    assert ask("z").status == "failed"


@pytest.mark.parametrize("task", sorted(CHOICES))
def test_each_choice_is_shown_in_its_sheet(task):
    """The sheet lists exactly the options that the check knows (its text, any line breaks)."""
    import nbformat

    sheets = sorted((REPO / "solutions" / "30-clem").glob("*.ipynb"))
    for sheet in sheets:
        nb = nbformat.read(sheet, as_version=4)
        if f"checks.{task}(" in "".join(c.source for c in nb.cells):
            text = " ".join(
                " ".join(c.source.split()) for c in nb.cells if c.cell_type == "markdown"
            )
            for letter, option in CHOICES[task]["options"].items():
                assert f"({letter}) {' '.join(option.split())}" in text, (sheet.name, letter)
            return
    pytest.fail(f"no CLEM sheet asks {task}")


@pytest.mark.parametrize("last", [[0, 0, 0, 0], [0, 0, 1, 1], [1e-3, 0, 0, 1]])
def test_landmark_fit_refuses_a_matrix_that_is_not_homogeneous(last, capsys):
    # a zero last row maps every point as the fit does (only the top rows act on points), so
    # TRE alone passed it; the check must refuse it and name the row
    r = checks.clem_landmark_fit(lambda m, f: np.vstack([_lstsq(m, f)[:3], last]))
    assert not r.passed
    assert "last row" in r.message and "0 ... 0 1" in r.diagnosis
