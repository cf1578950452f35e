"""Tilt-series alignment and reconstruction: simulated truth, the FEI reader, the real HAADF series.

The lesson "Align a tilt series and reconstruct it" states these numbers; here they are checked
against the simulation's truth (shifts within 1 pixel, axis within 1 degree) and, on the real
NIST HAADF series in ../shared/fixtures, against what an aligned series must show (residuals
down, the axis near the logged horizontal one, even/odd agreement up).
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import fixture_file
from scipy import ndimage

from emcourse import data, sta
from emcourse.data.registry import file_urls
from emcourse.io import read_fei_extended_header, read_fei_tomography_log, read_mrc, read_rawtlt
from emcourse.io.mrc import HEADER_BYTES

HAADF = "et-haadf-tiltseries/"


# ------------------------------------------------------------- cross-correlation


def test_cross_correlation_agrees_with_skimage_and_has_its_sign():
    from skimage.registration import phase_cross_correlation

    rng = np.random.default_rng(3)
    ref = ndimage.gaussian_filter(rng.normal(size=(96, 96)), 2)
    moved = ndimage.shift(ref, (4.3, -2.6), mode="grid-wrap")
    ours = sta.cross_correlation_shift(ref, moved)
    lib = phase_cross_correlation(ref, moved, upsample_factor=20)[0]
    assert np.allclose(ours, [-4.3, 2.6], atol=0.15)
    assert np.allclose(ours, lib, atol=0.2)


def test_detect_beads_finds_dark_discs_only():
    img = np.full((96, 96), 100.0)
    yy, xx = np.indices(img.shape)
    for cy, cx in ((30, 30), (60, 70)):
        img[(yy - cy) ** 2 + (xx - cx) ** 2 < 36] = 40.0
    img[(yy - 70) ** 2 + (xx - 20) ** 2 < 36] = 160.0  # a bright disc is not gold
    img += np.random.default_rng(0).normal(0, 3, img.shape)
    found = sta.detect_beads(img, radius=6)
    assert sorted(np.round(found).astype(int).tolist()) == [[30, 30], [60, 70]]


# ------------------------------------------------------------- beads, axis, shifts


@pytest.fixture(scope="module")
def simulated():
    ts = sta.simulate_tilt_series(sta.standin_tilt_table(), pixel_size=6.0, seed=0)
    coarse = sta.coarse_alignment(ts.images, ts.tilts)
    rough = sta.apply_shifts(ts.images, coarse)
    zero = int(np.argmin(np.abs(ts.tilts)))
    radius = 50.0 / ts.pixel_size
    seeds = sta.detect_beads(rough[zero], radius=radius)
    tracks = sta.track_beads(rough, ts.tilts, seeds, radius=radius) - coarse[:, None, :]
    fit = sta.fit_tilt_axis(tracks, ts.tilts, centre=np.array(ts.images.shape[1:]) // 2)
    return ts, coarse, tracks, fit


def test_beads_give_the_axis_within_1_degree_and_shifts_within_1_pixel(simulated):
    ts, coarse, tracks, fit = simulated
    assert np.isfinite(tracks).all() and tracks.shape == (40, len(ts.beads), 2)
    assert abs(fit["axis"] - ts.true_axis) < 1.0  # measured 0.34 deg
    err = sta.gauge_free_error(fit["shifts"], ts.shifts / ts.pixel_size, ts.tilts, fit["axis"])
    assert err.max() < 1.0  # measured 0.38 px
    assert fit["residual"] < 1.0 < 10 < fit["residual_no_shifts"]


def test_the_nominal_axis_and_the_y_axis_fit_worse(simulated):
    ts, _, tracks, fit = simulated
    centre = np.array(ts.images.shape[1:]) // 2
    best, nominal, y = sta.axis_scan(tracks, ts.tilts, [fit["axis"], 85.0, 90.0], centre=centre)
    assert best < nominal < y


def test_fit_is_exact_on_noise_free_tracks_up_to_the_gauge():
    rng = np.random.default_rng(5)
    tilts = np.arange(-57.0, 61.0, 3.0)
    beads = rng.uniform(-50, 50, (9, 3))
    shifts = rng.normal(0, 6, (len(tilts), 2))
    tracks = sta.bead_model(beads, tilts, 85.3, (128.0, 128.0)) + shifts[:, None]
    fit = sta.fit_tilt_axis(tracks, tilts, centre=(128.0, 128.0))
    assert abs(fit["axis"] - 85.3) < 0.01
    assert sta.gauge_free_error(fit["shifts"], shifts, tilts, 85.3).max() < 0.01
    # the raw difference is not small: the gauge is real
    assert np.abs(fit["shifts"] - shifts).max() > 0.5


# ------------------------------------------------------------- reconstruction


def test_wbp_and_sirt_agree_with_skimage_on_one_slice():
    from skimage.transform import iradon, iradon_sart

    vol = np.zeros((64, 1, 64), np.float32)
    vol[20:30, 0, 25:45] = 1.0
    vol[40:44, 0, 10:20] = 2.0
    tilts = np.arange(-70.0, 71.0, 2.0)
    proj = sta.project(vol, tilts)
    ours = sta.weighted_backprojection(proj, tilts, thickness=64)[:, 0]
    lib = iradon(proj[:, 0, :].T, theta=-tilts, filter_name="ramp", circle=False, output_size=64)
    assert np.corrcoef(ours.ravel(), lib.ravel())[0, 1] > 0.97
    s = sta.sirt(proj, tilts, thickness=64, n_iter=30)[:, 0]
    sart = iradon_sart(proj[:, 0, :].T.astype(float), theta=-tilts)  # its angle: the other way
    assert np.corrcoef(s.ravel(), sart.ravel())[0, 1] > 0.9
    assert np.corrcoef(s.ravel(), vol[:, 0].ravel())[0, 1] > 0.75  # the wedge: WBP 0.78, SIRT 0.80


def test_rod_standin_alignment_axis_and_sharpness():
    tilts = np.linspace(-76.0, 76.0, 77)
    sim = sta.simulate_rod_series(tilts, seed=0)
    images = sta.bin_images(sim["images"], 2)
    shifts = sta.coarse_alignment(images, tilts, low=0.25, high=0.005)
    assert np.abs(-2 * shifts - sim["shifts"]).max() < 1.0
    aligned = sta.apply_shifts(images, shifts)
    assert abs(sta.rod_axis(aligned, tilts)["axis"] - sim["axis"]) < 1.0
    r0 = sta.wbp_slab(images, tilts, 0.0, rows=slice(60, 92), thickness=96)
    r1 = sta.wbp_slab(aligned, tilts, 0.0, rows=slice(60, 92), thickness=96)
    before = sta.even_odd_correlation(r0["even"], r0["odd"])
    assert sta.even_odd_correlation(r1["even"], r1["odd"]) > before + 0.05


# ------------------------------------------------------------- FEI MRC stacks


def _fei_stack(tmp_path, *, nz=3, nsymbt=None, label=b"    Fei Company (c) Copyright 2003"):
    import mrcfile

    tmp = tmp_path / "plain.mrc"
    data_ = np.arange(nz * 8 * 8, dtype=np.int16).reshape(nz, 8, 8)
    with mrcfile.new(tmp, overwrite=True) as m:
        m.set_data(data_)
        m.voxel_size = 1.0
    raw = bytearray(tmp.read_bytes()[:HEADER_BYTES])
    nsymbt = 128 * 1024 if nsymbt is None else nsymbt
    raw[92:96] = np.int32(nsymbt).tobytes()
    raw[208:216] = bytes(8)  # no map ID, no machine stamp: as FEI wrote them
    raw[224:304] = label.ljust(80, b"\0")
    ext = np.zeros((max(nsymbt, 128 * nz) // 4,), "<f4")
    ext[: 32 * nz : 32] = [-2.0, 0.0, 2.0][:nz]
    path = tmp_path / "fei.mrc"
    path.write_bytes(bytes(raw) + ext.tobytes()[:nsymbt] + data_.tobytes())
    return path


def test_read_mrc_accepts_a_legacy_fei_stack_and_its_records(tmp_path):
    path = _fei_stack(tmp_path)
    vol = read_mrc(path)
    assert vol.shape == (3, 8, 8) and vol.data[1, 0, 1] == 65.0
    assert read_fei_extended_header(path)["a_tilt"].tolist() == [-2.0, 0.0, 2.0]


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"nsymbt": 100}, "NSYMBT"),  # not a whole number of 128-byte records
        ({"nsymbt": 256}, "NSYMBT"),  # fewer records than images
        ({"label": b"made by hand"}, "'MAP '"),  # no map ID and not FEI: not MRC
    ],
)
def test_read_mrc_refuses_malformed_fei_stacks_naming_file_and_field(tmp_path, kwargs, words):
    path = _fei_stack(tmp_path, **kwargs)
    with pytest.raises(ValueError, match="fei.mrc") as err:
        read_mrc(path)
    assert words in str(err.value)


def test_read_mrc_refuses_a_truncated_fei_stack(tmp_path):
    path = _fei_stack(tmp_path)
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(ValueError, match="truncated MRC map"):
        read_mrc(path)


def test_rawtlt_and_log_readers_refuse_what_they_cannot_read(tmp_path):
    bad = tmp_path / "s.rawtlt"
    bad.write_text("-2.0\nminus one\n")
    with pytest.raises(ValueError, match="line 2"):
        read_rawtlt(bad)
    log = tmp_path / "s.txt"
    log.write_text("Image pixel size [nm]: 3.36\n")
    with pytest.raises(ValueError, match="tilt_axis"):
        read_fei_tomography_log(log)


# ------------------------------------------------------------- the real HAADF series


def test_real_fei_stack_reads_with_its_tilts():
    path = fixture_file(HAADF + "HAADF.mrc")
    vol = read_mrc(path)
    assert vol.shape == (77, 256, 256) and vol.data.dtype == np.float32
    fei = read_fei_extended_header(path)
    tilts = read_rawtlt(fixture_file(HAADF + "HAADF.rawtlt"))
    assert np.allclose(fei["a_tilt"], tilts) and tilts[0] == -76.0 and tilts[-1] == 76.0
    log = read_fei_tomography_log(fixture_file(HAADF + "HAADF.txt"))
    assert log == {"tilt_axis": 90.0, "pixel_size_nm": 3.36, "min_tilt": -76.0, "max_tilt": 76.0}


@pytest.mark.realdata
def test_real_haadf_series_aligns_and_sharpens(archive_server):
    for role, url in file_urls(data.registry()["etspy-haadf-tiltseries"]).items():
        name = {"stack": "HAADF.mrc", "tilts": "HAADF.rawtlt", "log": "HAADF.txt"}[role]
        archive_server.put(url, fixture_file(HAADF + name).read_bytes())
    haadf = data.load("etspy-haadf-tiltseries", standin=False)
    assert haadf["source"].real and "NIST" in haadf["source"].licence
    tilts = haadf["tilts"]
    images = sta.bin_images(haadf["images"], 2)
    images = (images - images.min()) / (images.max() - images.min())
    band = {"low": 0.25, "high": 0.005}
    shifts = sta.coarse_alignment(images, tilts, **band)
    aligned = sta.apply_shifts(images, shifts)
    rod = sta.rod_axis(aligned, tilts)
    assert abs(rod["axis"]) < 5.0  # measured 3.4 deg from the horizontal (logged) axis
    before = sta.rod_offsets(images, rod["axis"]).std()
    after = sta.rod_offsets(aligned, rod["axis"]).std()
    assert before > 3.0 > 0.5 > after  # binned pixels: measured 6.5 and 0.04
    r0 = sta.wbp_slab(images, tilts, rod["axis"], rows=slice(60, 92), thickness=128)
    r1 = sta.wbp_slab(aligned, tilts, rod["axis"], rows=slice(60, 92), thickness=128)
    eo0 = sta.even_odd_correlation(r0["even"], r0["odd"])
    eo1 = sta.even_odd_correlation(r1["even"], r1["odd"])
    assert eo1 > eo0 + 0.05  # measured 0.73 -> 0.97 on the whole volume
