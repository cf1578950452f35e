"""Coordinates between voxel grids go through angstrom."""

from __future__ import annotations

import numpy as np
import pytest

from emcourse.volume import convert_voxel_coordinates

# cryoET Data Portal dataset 10445, run TS_100_3: the same tomogram at two spacings
FINE, FINE_SHAPE = 4.990, (368, 1260, 1260)
COARSE, COARSE_SHAPE = 10.012, (184, 630, 630)


def test_portal_spacings_through_angstrom_not_halving():
    far_corner = np.array([FINE_SHAPE]) - 1.0
    coarse = convert_voxel_coordinates(far_corner, from_voxel_size=FINE, to_voxel_size=COARSE)
    # the same point in angstrom on both grids
    np.testing.assert_allclose(coarse * COARSE, far_corner * FINE)
    # halving would misplace it by about 2 coarse voxels along x and y
    assert np.all(np.abs(far_corner / 2 - coarse)[0, 1:] > 1.5)
    # and the point stays inside the coarse tomogram, whose extent is 6308 A against 6287 A
    assert np.all(coarse < np.array(COARSE_SHAPE))


def test_round_trip_and_anisotropic_voxels():
    rng = np.random.default_rng(0)
    pts = rng.uniform(0, 300, size=(20, 3))
    there = convert_voxel_coordinates(pts, from_voxel_size=FINE, to_voxel_size=COARSE)
    back = convert_voxel_coordinates(there, from_voxel_size=COARSE, to_voxel_size=FINE)
    np.testing.assert_allclose(back, pts)
    aniso = convert_voxel_coordinates(
        [[1.0, 1.0, 1.0]], from_voxel_size=(20, 10, 10), to_voxel_size=5
    )
    np.testing.assert_allclose(aniso, [[4.0, 2.0, 2.0]])


def test_level_of_a_pyramid_is_a_power_of_two_of_its_spacing():
    pts = np.array([[92.0, 630.0, 1000.0]])
    level2 = convert_voxel_coordinates(pts, from_voxel_size=FINE, to_voxel_size=FINE * 4)
    assert level2 == pytest.approx(pts / 4)
