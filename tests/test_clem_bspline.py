"""elastix's B-spline applied by the course: the spline's own properties, then elastix itself."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest
from conftest import fixture_file, needs

from emcourse import clem, io
from emcourse.clem import bspline
from emcourse.clem.standin import standin_elastix_files

ZIP = "clem-cosem-landmarks/clem-transformations.zip"


def _grid(coeffs, spacing=(2.0, 3.0, 1.5), origin=(-4.0, -6.0, -3.0)):
    k = coeffs.shape[0]
    return {
        "grid_size": np.array(coeffs.shape[1:][::-1]),
        "spacing": np.array(spacing[:k]),
        "origin": np.array(origin[:k]),
        "direction": np.eye(k),
        "coefficients": coeffs,
    }


def test_basis_sums_to_one_and_is_2_3_at_a_knot():
    t = np.linspace(0, 1, 11)
    total = sum(bspline.cubic_bspline(t - j) for j in (-1, 0, 1, 2))
    assert np.allclose(total, 1.0)
    assert bspline.cubic_bspline(0.0) == pytest.approx(2 / 3)


def test_constant_coefficients_shift_every_inside_point_by_that_constant():
    coeffs = np.zeros((3, 8, 9, 10))
    coeffs[:] = np.array([0.1, -0.2, 0.3])[:, None, None, None]  # x, y, z
    g = _grid(coeffs)
    pts = np.random.default_rng(0).uniform([0, 0, 0], [4, 12, 8], (50, 3))  # z, y, x inside
    assert np.allclose(bspline.bspline_displacement(g, pts), [0.3, -0.2, 0.1])


def test_linear_coefficients_give_a_linear_displacement():
    # a cubic B-spline reproduces linear functions: c_j = a * j gives a * u exactly
    size = (10, 9, 8)  # x, y, z
    ix = np.arange(size[0])[None, None, :] * np.ones((size[2], size[1], 1))
    coeffs = np.stack([0.05 * ix, np.zeros_like(ix), np.zeros_like(ix)])
    g = _grid(coeffs)
    pts = np.random.default_rng(1).uniform([0, 0, 0], [4, 12, 8], (50, 3))
    u = (pts[:, 2] - g["origin"][0]) / g["spacing"][0]
    assert np.allclose(bspline.bspline_displacement(g, pts)[:, 2], 0.05 * u)


def test_points_outside_the_valid_region_are_not_displaced():
    g = _grid(np.ones((2, 6, 6)), spacing=(1.0, 1.0), origin=(0.0, 0.0))
    # valid: continuous index in [1, size - 2) = [1, 4) on each axis
    pts = np.array([[2.0, 2.0], [0.5, 2.0], [2.0, 4.0], [3.99, 1.0]])
    d = bspline.bspline_displacement(g, pts)
    assert np.allclose(d[[0, 3]], 1.0) and np.allclose(d[[1, 2]], 0.0)


def test_chain_applies_the_bspline_after_the_affine_and_inverts():
    files = standin_elastix_files()["files"]
    steps = io.elastix_steps(files, "sim_def_TransformParameters.txt")
    assert [s[0] for s in steps] == ["affine", "bspline"]
    x = np.random.default_rng(2).uniform(0, 1, (100, 3)) * [6.0, 75.0, 60.0]
    a = clem.apply(steps[0][1], x)
    assert np.allclose(
        bspline.apply_steps(steps, x), a + bspline.bspline_displacement(steps[1][1], a)
    )
    y = bspline.apply_steps(steps, x)
    assert np.abs(bspline.invert_points(steps, y) - x).max() < 1e-6


def test_identity_chain_resamples_the_image_unchanged():
    img = np.random.default_rng(3).random((4, 5, 6))
    out = bspline.resample_fixed_grid(img, (1.0, 1.0, 1.0), [], shape=img.shape, spacing=(1, 1, 1))
    assert np.allclose(out, img)


def test_elastix_steps_refuses_a_broken_chain():
    files = standin_elastix_files()["files"]
    del files["sim_affine_TransformParameters.txt"]
    with pytest.raises(ValueError, match="InitialTransformParametersFileName"):
        io.elastix_steps(files, "sim_def_TransformParameters.txt")


def _real_files():
    with zipfile.ZipFile(fixture_file(ZIP)) as zf:
        return {n: zf.read(n).decode() for n in zf.namelist() if n.endswith(".txt")}


def _transformix():
    if not io.have_transformix():
        needs("itk-elastix (pip install 'emcourse[elastix]')", "elastix's transformix as reference")


@pytest.mark.parametrize("which", ["sim", "palm"])
def test_real_bspline_points_agree_with_transformix(which):
    files = _real_files()
    _transformix()
    name = f"{which}_def_TransformParameters.txt"
    steps = io.elastix_steps(files, name)
    p = io.read_elastix_parameters(files[name])
    extent = np.array(p["Size"]) * np.array(p["Spacing"])  # x, y, z, um
    pts = np.random.default_rng(4).uniform(-0.1, 1.1, (300, 3)) * extent[::-1]  # some outside
    mine = bspline.apply_steps(steps, pts)
    theirs = io.transformix_points(files, name, pts)
    bend = np.linalg.norm(mine - bspline.apply_steps(steps[:1], pts), axis=1)
    assert bend.max() > 0.5  # um: the B-spline moves points, so the check has teeth
    # transformix writes its points in float32-like precision: 6e-6 um at 50 um; 1e-5 um
    # is 10 pm, four orders of magnitude below a FIB-SEM voxel
    assert np.abs(mine - theirs).max() < 1e-5


def test_real_bspline_reduced_image_agrees_with_transformix():
    files = _real_files()
    _transformix()
    name = "sim_def_TransformParameters.txt"
    steps = io.elastix_steps(files, name)
    rng = np.random.default_rng(5)
    mshape, msp = (16, 190, 160), (0.5, 0.5, 0.5)
    zz, yy, xx = np.indices(mshape) * 0.5
    moving = sum(
        np.exp(-((zz - c[0]) ** 2 + (yy - c[1]) ** 2 + (xx - c[2]) ** 2) / 8.0)
        for c in rng.uniform(0, 1, (60, 3)) * np.array(mshape) * 0.5
    )
    grid = {"shape": (6, 86, 72), "spacing": (1.0, 1.0, 1.0)}
    mine = bspline.resample_fixed_grid(moving, msp, steps, **grid)
    theirs = io.transformix_image(files, name, moving, msp, **grid)
    affine_only = bspline.resample_fixed_grid(moving, msp, steps[:1], **grid)
    assert np.abs(affine_only - theirs).max() > 0.1 * theirs.max()  # the spline matters
    # transformix's result is float32: 1e-6 of the maximum is a few float32 steps
    assert np.abs(mine - theirs).max() < 1e-6 * np.abs(theirs).max() * 10
