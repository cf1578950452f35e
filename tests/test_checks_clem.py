"""The CLEM checks pass right answers, fail wrong ones, and name the slip."""

from __future__ import annotations

import numpy as np
import pytest

from emcourse import checks, clem


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
    assert not r.passed and "nm" in r.message


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
