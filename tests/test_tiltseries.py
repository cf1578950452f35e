"""A tilt series' metadata and its simulation: readers on real RELION 5 bytes, refusals, truth.

Real bytes: ``../shared/fixtures/sta-relion5-hiv/`` (the RELION 5 tutorial's
output for EMPIAR-10164, via cryoCAT) and ``tilt-metadata/TS_01.mrc.mdoc``;
those tests skip without the fixtures. The rest runs on seeded stand-ins.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import fixture_file

from emcourse import data, io, sta
from emcourse.io.relion5 import TILT_COLUMNS

R5 = "sta-relion5-hiv"
R5_URL = (
    "https://raw.githubusercontent.com/turonova/cryoCAT/"
    "665b581486e06ec5e089be7798b2d39a7512e2a7/tests/test_data/motl_data/relion5/clean"
)


# ------------------------------------------------------------ real RELION 5 files


def test_read_star_reads_all_three_real_relion5_files():
    particles = io.read_star(fixture_file(f"{R5}/R5_tutorial_run_data.star"))
    assert set(particles) == {"general", "optics", "particles"}
    assert particles["particles"].shape == (9053, 26)
    assert particles["particles"]["rlnTomoName"].value_counts().to_dict() == {
        "TS_43": 2428, "TS_01": 1829, "TS_03": 1826, "TS_45": 1605, "TS_54": 1365,
    }  # fmt: skip
    assert particles["optics"]["rlnTomoTiltSeriesPixelSize"].tolist() == [1.35]
    tomograms = io.read_star(fixture_file(f"{R5}/R5_tutorial_run_tomograms.star"))
    assert tomograms["global"].shape == (5, 16)
    assert tomograms["global"]["rlnTomoSizeX"].tolist() == [4000] * 5
    tilt = io.read_star(fixture_file(f"{R5}/relion5_TS_01_tilt.star"))
    assert tilt["TS_01"].shape == (40, 28)


def test_real_tilt_table_holds_ts01s_metadata():
    t = io.read_tilt_series_star(fixture_file(f"{R5}/relion5_TS_01_tilt.star"))
    assert t["name"] == "TS_01" and len(t["tilt"]) == 40
    assert np.allclose(t["tilt_axis"], 85.0)
    assert 85.0 < t["z_rot"].min() < t["z_rot"].max() < 85.6  # refined axis
    assert t["pre_exposure"].min() == 0.0 and t["pre_exposure"].max() == 120.0
    assert np.all((t["defocus_u"] > 37000) & (t["defocus_u"] < 41000))  # about 3.9 um, in A
    zero = int(np.argmin(np.abs(t["tilt"])))  # the lesson: 105 A of astigmatism at 0 deg
    assert t["defocus_u"][zero] - t["defocus_v"][zero] == pytest.approx(105.0, abs=0.01)
    jumps = sta.axial_difference(t["defocus_angle"][1:], t["defocus_angle"][:-1])
    assert 20 < np.median(jumps) < 35  # the measured angle wanders (table sorted by tilt)
    doses = sta.dose_per_tilt(t["pre_exposure"])
    assert np.median(doses) == 3.0
    # one step of two doses: the image after it in the scheme (-60 deg) is missing
    assert np.flatnonzero(doses == 6.0).tolist() == [int(np.argmin(t["tilt"]))]


def test_the_table_misses_the_mdocs_minus_60_degree_image():
    t = io.read_tilt_series_star(fixture_file(f"{R5}/relion5_TS_01_tilt.star"))
    mdoc = io.read_mdoc(fixture_file("tilt-metadata/TS_01.mrc.mdoc"))
    angles = np.array([s["TiltAngle"] for s in mdoc])
    assert len(angles) == 41
    missing = sta.missing_tilts(angles, t["tilt"])
    assert np.round(missing).tolist() == [-60.0]
    assert all(s["ExposureDose"] == 0 for s in mdoc)  # the real dose is in the table


@pytest.mark.parametrize("cut", [0.35, 0.6, 0.999])
def test_a_cut_real_particle_file_is_refused_or_caught_by_its_count(tmp_path, cut):
    raw = fixture_file(f"{R5}/R5_tutorial_run_data.star").read_bytes()
    path = tmp_path / "R5_tutorial_run_data.star"
    path.write_bytes(raw[: int(len(raw) * cut)])
    with pytest.raises(ValueError, match=r"R5_tutorial_run_data\.star.*data_particles.*row"):
        io.read_star(path)
    # cut exactly at a line end: parses, but the registry's count refuses it
    text = raw[: int(len(raw) * cut)].decode()
    path.write_text(text[: text.rindex("\n") + 1])
    blocks = io.read_star(path)
    assert len(blocks["particles"]) < 9053
    with pytest.raises(ValueError, match=r"data_particles: expected 9,053 rows.*found"):
        io.check_star_rows(path, blocks, {"optics": 1, "particles": 9053})


def test_real_relion5_files_through_the_data_layer(archive_server):
    for name, file in [
        ("empiar-10164-ts-01-tilt-table", "relion5_TS_01_tilt.star"),
        ("relion5-hiv-tomograms", "R5_tutorial_run_tomograms.star"),
        ("relion5-hiv-particles", "R5_tutorial_run_data.star"),
    ]:
        archive_server.put(f"{R5_URL}/{file}", fixture_file(f"{R5}/{file}").read_bytes())
        got = data.load(name, standin=False)
        assert got["source"].real, name
    assert data.load("relion5-hiv-particles", standin=False)["blocks"]["particles"].shape[0] == 9053


def test_a_cut_tilt_table_is_refused_by_the_data_layer(archive_server):
    raw = fixture_file(f"{R5}/relion5_TS_01_tilt.star").read_text()
    lines = raw.splitlines(keepends=True)
    body = "".join(lines[:-5])  # cut at a line end: 40 rows become fewer
    entry = data.registry()["empiar-10164-ts-01-tilt-table"]
    archive_server.put(entry["url"], body.encode())
    with pytest.raises(data.DataUnavailableError):
        data.fetch("empiar-10164-ts-01-tilt-table")


# ------------------------------------------------------------ refusals on damaged tables


def _table_text(rows: list[str]) -> str:
    head = "data_TS_01\nloop_\n" + "".join(f"_{c} #{i + 1}\n" for i, c in enumerate(TILT_COLUMNS))
    return head + "\n".join(rows) + "\n"


GOOD = ["-3.0 85 3 39000 38900 40 1.5 -2.0", "0.0 85 0 39100 39000 45 0 0"]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (["-3.0 85 3 3.9 3.8 40 1.5 -2.0", GOOD[1]], "rlnDefocusU, row 1.*micrometres"),
        (["-3.0 85 -3 39000 38900 40 1.5 -2.0", GOOD[1]], "rlnMicrographPreExposure, row 1"),
        (["-3.0 85 3 39000 38900 40 1.5 -2.0", "-3.0 85 0 39100 39000 45 0 0"], "same tilt"),
        (["-3.0 85 3 39000 38900 40 1.5 -2.0", "0.0 85 0 39100 39000 45 0 nan"], "finite"),
        (["95.0 85 3 39000 38900 40 1.5 -2.0", GOOD[1]], "StageTiltAngle, row 1"),
        ([GOOD[0]], "expected a tilt series"),
    ],
)
def test_malformed_tilt_tables_are_refused_naming_file_and_field(tmp_path, rows, message):
    path = tmp_path / "TS_01.star"
    path.write_text(_table_text(rows))
    with pytest.raises(ValueError, match=rf"TS_01\.star.*{message}"):
        io.read_tilt_series_star(path)


def test_a_tilt_table_without_a_required_column_is_refused(tmp_path):
    path = tmp_path / "TS_01.star"
    text = _table_text(GOOD).replace("_rlnMicrographPreExposure", "_rlnSomethingElse")
    path.write_text(text)
    with pytest.raises(ValueError, match=r"TS_01\.star.*rlnMicrographPreExposure"):
        io.read_tilt_series_star(path)


def test_a_cut_tilt_table_row_is_refused(tmp_path):
    path = tmp_path / "TS_01.star"
    path.write_text(_table_text(GOOD)[:-12])
    with pytest.raises(ValueError, match=r"TS_01\.star.*row 2"):
        io.read_tilt_series_star(path)


def test_a_malformed_mdoc_is_refused_naming_file_and_field(tmp_path):
    path = tmp_path / "TS_01.mrc.mdoc"
    path.write_text("[ZValue = 0]\nTiltAngle = 0.0\n[ZValue = 1]\nTiltAngle = three\n")
    with pytest.raises(ValueError, match=r"TS_01\.mrc\.mdoc.*TiltAngle"):
        io.read_mdoc(path)


# ------------------------------------------------------------ stand-in and metadata


def test_standin_table_is_like_ts01():
    t = sta.standin_tilt_table()
    again = sta.standin_tilt_table()
    assert np.array_equal(t["defocus_u"], again["defocus_u"])
    assert list(t["table"].columns)[: len(TILT_COLUMNS)] == list(TILT_COLUMNS)
    assert len(t["tilt"]) == 40 and round(t["tilt"].min()) == -57
    assert np.median(sta.dose_per_tilt(t["pre_exposure"])) == 3.0
    order = sta.acquisition_order(t["pre_exposure"])
    by_time = t["tilt"][np.argsort(order)]
    assert np.round(by_time[:5]).tolist() == [0, 3, -3, -6, 6]
    astig = t["defocus_u"] - t["defocus_v"]
    assert 0 < astig.min() and astig.max() <= 1000


def test_axial_difference_and_missing_tilts():
    assert sta.axial_difference(89.0, -89.0) == pytest.approx(2.0)
    assert sta.axial_difference(0.0, 90.0) == pytest.approx(90.0)
    assert sta.missing_tilts([0.0, 3.0], [0.0, 3.0]).size == 0


# ------------------------------------------------------------ geometry and simulation


def test_a_point_off_the_axis_moves_across_it_at_the_axis_angle():
    vol = np.zeros((17, 65, 65), np.float32)
    vol[8 + 6, 32, 32] = 1.0  # 6 px above the centre: moves by 6 sin(tilt) across the axis
    axis = 85.0
    p = sta.project_about_axis(vol, [0.0, 30.0], axis)
    com = [np.array(np.unravel_index(np.argmax(im), im.shape), float) for im in p]
    move = com[1] - com[0]  # (dy, dx)
    across = np.deg2rad(axis + 90.0)
    assert np.linalg.norm(move) == pytest.approx(6 * np.sin(np.deg2rad(30)), abs=1.0)
    direction = np.array([np.sin(across), np.cos(across)])
    assert abs(abs(move @ direction) - np.linalg.norm(move)) < 0.6  # perpendicular to the axis


@pytest.fixture(scope="module")
def small_series():
    meta = sta.standin_tilt_table()
    return meta, sta.simulate_tilt_series(meta, shape=(96, 96), thickness=40, n_beads=3, seed=2)


def test_simulated_series_keeps_its_truth(small_series):
    meta, ts = small_series
    assert ts.images.shape == (40, 96, 96)
    assert np.array_equal(ts.tilts, np.sort(meta["tilt"]))
    assert ts.axis_error == pytest.approx(1.0) and ts.true_axis == pytest.approx(86.0)
    # shot noise for 3 e/A^2 at 6 A pixels: mean 108 electrons, Poisson variance at least that
    # 3 e/A^2 at 6 A pixels: 108 electrons away from the (absorbing) beads; Poisson variance
    assert np.median(ts.images) == pytest.approx(3.0 * 36, rel=0.02)
    assert ts.images.var() > np.median(ts.images)
    sort = np.argsort(meta["tilt"])
    assert np.allclose(ts.shifts[:, 1], meta["x_shift"][sort])
    again = sta.simulate_tilt_series(meta, shape=(96, 96), thickness=40, n_beads=3, seed=2)
    assert np.array_equal(again.images, ts.images)


def test_simulated_images_carry_the_ctf_of_their_tilt():
    """The power of the images, summed over the series, dips at the CTF's zeros."""
    from emcourse.sta.ctf import ctf_zeros

    meta = sta.standin_tilt_table()
    one = np.full(len(meta["tilt"]), 39000.0)  # one defocus, no astigmatism: clean rings
    meta = {**meta, "defocus_u": one, "defocus_v": one}
    ts = sta.simulate_tilt_series(meta, shape=(128, 128), thickness=24, n_particles=0, n_beads=0)
    power = sum(np.abs(np.fft.fft2(im - im.mean())) ** 2 for im in ts.images)
    k = np.hypot(*np.meshgrid(np.fft.fftfreq(128, 6.0), np.fft.fftfreq(128, 6.0)))
    zeros = ctf_zeros(4, defocus=39000.0)
    for first, second in zip(zeros[:-1], zeros[1:], strict=True):
        at_zero = power[np.abs(k - first) < 0.0015].mean()
        between = power[np.abs(k - (first + second) / 2) < 0.0015].mean()  # a CTF**2 maximum
        assert at_zero < 0.9 * between, (1 / first, at_zero, between)


def test_beads_sit_where_the_truth_says(small_series):
    """At 0 deg each bead is a dark disc at its true (y, x) plus the image's true shift."""
    _, ts = small_series
    i = int(np.argmin(np.abs(ts.tilts)))
    img = ts.images[i]
    centre = np.array(img.shape) // 2
    yy, xx = np.indices(img.shape)
    for bead in ts.beads:
        y, x = centre + (bead[1:] + ts.shifts[i]) / ts.pixel_size
        inside = img[(yy - y) ** 2 + (xx - x) ** 2 < 3**2].mean()
        assert inside < img.mean() - 3 * np.sqrt(img.mean()), (bead, inside, img.mean())
