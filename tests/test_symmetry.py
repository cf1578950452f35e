"""Rotational symmetry about z, and stand-in maps that mimic their real datasets."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import fixture_file

from emcourse import io, sta


@pytest.mark.parametrize("order", [2, 3, 7])
def test_symmetrized_phantom_scores_its_own_order_best(order):
    vol = sta.symmetrize(np.roll(sta.phantom_map(box=32, voxel_size=8.0), 4, axis=2), order)
    scores = sta.symmetry_scores(vol, orders=range(2, 10))
    assert max(scores, key=scores.get) == order
    assert scores[order] > 0.95


def test_asymmetric_phantom_has_no_order():
    scores = sta.symmetry_scores(sta.phantom_map(box=32, voxel_size=8.0), orders=range(2, 10))
    assert max(scores.values()) < 0.5


def test_cylindrical_average_removes_rings_only():
    yy, xx = np.indices((16, 16)) - 8
    ring = np.broadcast_to((np.rint(np.hypot(yy, xx)) == 5).astype(float), (4, 16, 16))
    assert np.abs(sta.subtract_cylindrical_average(ring)).max() < 1e-12
    spot = np.zeros((4, 16, 16))
    spot[:, 8, 13] = 1.0
    assert np.abs(sta.subtract_cylindrical_average(spot)).max() > 0.5


@pytest.mark.parametrize(("name", "order"), [("atpase", 2), ("hsp60", 7)])
def test_real_in_situ_averages_have_their_published_symmetry(name, order):
    """Waltz et al. 2025: ATP synthase dimer C2, HSP60 seven-fold, both about z."""
    vol = io.read_mrc(fixture_file(f"sta-chlamy-in-situ/{name}.mrc"))
    scores = sta.symmetry_scores(vol.data, orders=range(2, 10))
    ranked = sorted(scores, key=scores.get, reverse=True)
    assert ranked[0] == order and scores[ranked[0]] - scores[ranked[1]] >= 0.05, scores


def test_standin_map_matches_value_range_size_and_symmetry():
    m = sta.standin_map(box=64, voxel_size=5.7, value_range=(-0.159, 2.052), diameter=260.0)
    assert m.shape == (64, 64, 64) and m.dtype == np.float32
    assert m.min() == pytest.approx(-0.159, abs=1e-4) and m.max() == pytest.approx(2.052, abs=1e-4)
    assert abs(m[0, 0, 0]) < 1e-6 * m.max()  # background stays zero, positive contrast
    pts = np.argwhere(m > 0.2 * m.max())
    rg = np.sqrt(((pts - pts.mean(axis=0)) ** 2).sum(axis=1).mean()) * 5.7
    assert 50 < rg < 80  # EMD-1832: 63 A
    c7 = sta.standin_map(box=48, voxel_size=7.84, value_range=(-1.2, 3.9), diameter=150, symmetry=7)
    s = sta.symmetry_scores(c7)
    assert max(s, key=s.get) == 7


def test_standin_map_membrane_and_bad_arguments():
    m = sta.standin_map(box=20, voxel_size=11.4, value_range=(-4.134, 5.577), form="membrane")
    assert (m.min(), m.max()) == pytest.approx((-4.134, 5.577), abs=1e-3)
    profile = m.mean(axis=(0, 2))  # layers across y, as in EMD-3197
    assert profile.std() > 5 * m.mean(axis=(0, 1)).std()
    with pytest.raises(ValueError, match="form"):
        sta.standin_map(box=8, voxel_size=1.0, form="sphere")
    with pytest.raises(ValueError, match="value_range"):
        sta.standin_map(box=8, voxel_size=1.0, value_range=(1.0, 0.0))
