"""MRC, mdoc and STAR reading and writing."""

from __future__ import annotations

import gzip
import itertools
from datetime import datetime

import mrcfile
import numpy as np
import pytest
from conftest import fixture_file

from emcourse import io


@pytest.fixture
def volume():
    return np.random.default_rng(0).standard_normal((5, 6, 7)).astype(np.float32)


def test_real_emdb_maps_load_as_deposited():
    v = io.read_mrc(fixture_file("emdb/emd_3197.map.gz"))
    assert v.shape == (20, 20, 20) and v.data.dtype == np.float32
    assert v.voxel_size == pytest.approx(11.4)
    assert v.origin == pytest.approx((0.0, 0.0, -22.8))
    w = io.read_mrc(fixture_file("emdb/emd_1832.map.gz"))
    assert w.shape == (64, 64, 64) and w.voxel_size == pytest.approx(5.7)
    assert w.origin == pytest.approx((-32 * 5.7,) * 3, rel=1e-5)


def test_round_trip_plain_and_gzip(tmp_path, volume):
    for name in ("a.mrc", "a.map.gz"):
        io.write_mrc(tmp_path / name, volume, voxel_size=(3.0, 2.0, 1.0), origin=(30.0, 20.0, 10.0))
        v = io.read_mrc(tmp_path / name)
        np.testing.assert_array_equal(v.data, volume)
        assert v.voxel_size == (3.0, 2.0, 1.0) and v.origin == (30.0, 20.0, 10.0)
    assert (tmp_path / "a.map.gz").read_bytes()[:2] == b"\x1f\x8b"


@pytest.mark.parametrize("mapcrs", list(itertools.permutations((1, 2, 3))))
def test_axis_orders_are_reordered_to_zyx(tmp_path, volume, mapcrs):
    # stored array axes are (section, row, column) = (MAPS, MAPR, MAPC)
    zyx_axis = {3: 0, 2: 1, 1: 2}
    stored = np.transpose(volume, [zyx_axis[mapcrs[2]], zyx_axis[mapcrs[1]], zyx_axis[mapcrs[0]]])
    path = tmp_path / "perm.mrc"
    with mrcfile.new(path) as mrc:
        mrc.set_data(np.ascontiguousarray(stored))
        mrc.header.mapc, mrc.header.mapr, mrc.header.maps = mapcrs
        mrc.voxel_size = 2.0
        # starts per column, row, section: give X, Y, Z the starts -1, -2, -3
        starts = {1: -1, 2: -2, 3: -3}
        mrc.header.nxstart, mrc.header.nystart, mrc.header.nzstart = (starts[a] for a in mapcrs)
    v = io.read_mrc(path)
    np.testing.assert_array_equal(v.data, volume)
    assert v.origin == (-6.0, -4.0, -2.0)


def test_header_origin_wins_over_nstart(tmp_path, volume):
    path = tmp_path / "o.mrc"
    with mrcfile.new(path) as mrc:
        mrc.set_data(volume)
        mrc.voxel_size = 1.5
        mrc.header.nxstart = -4
        mrc.header.origin = (7.0, 8.0, 9.0)
    assert io.read_mrc(path).origin == (9.0, 8.0, 7.0)


def test_extended_header_is_skipped(tmp_path, volume):
    path = tmp_path / "ext.mrc"
    with mrcfile.new(path) as mrc:
        mrc.set_data(volume)
        mrc.set_extended_header(np.arange(100, dtype=np.int32))
        mrc.header.ispg = 1  # a symmetry-record style header
        mrc.voxel_size = 1.0
    header = io.read_mrc_header(path)
    assert header["nsymbt"] == 400 and header["data_offset"] == 1424
    np.testing.assert_array_equal(io.read_mrc(path).data, volume)


def test_integer_maps_become_float32_without_rescaling(tmp_path):
    data = np.arange(24, dtype=np.int16).reshape(2, 3, 4) * 100
    path = tmp_path / "i.mrc"
    with mrcfile.new(path) as mrc:
        mrc.set_data(data)
        mrc.voxel_size = 1.0  # mrcfile leaves the cell 0 (voxel size 0), which is refused
    v = io.read_mrc(path)
    assert v.data.dtype == np.float32
    np.testing.assert_array_equal(v.data, data)


def test_as_float_keeps_floats():
    x64 = np.zeros(3)
    assert io.as_float(x64) is x64
    assert io.as_float(np.zeros(3, np.uint8)).dtype == np.float32
    assert io.as_float(np.zeros(3, np.float16)).dtype == np.float32


def test_truncated_map_names_file_and_byte_counts(tmp_path, volume):
    path = tmp_path / "t.mrc"
    io.write_mrc(path, volume, voxel_size=1.0)
    path.write_bytes(path.read_bytes()[:1500])
    with pytest.raises(ValueError, match=r"t\.mrc.*promises 1,864 bytes.*has 1,500"):
        io.read_mrc(path)


def test_truncated_gzip_map(tmp_path, volume):
    path = tmp_path / "t.map.gz"
    io.write_mrc(path, volume, voxel_size=1.0)
    path.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(ValueError, match=r"t\.map\.gz"):
        io.read_mrc(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"hello", "header needs 1024 bytes, the file has 5"),
        (b"\x00" * 2048, "expected the text 'MAP '"),
        (gzip.compress(b"<html>" * 400), "expected the text 'MAP '"),
        # gzip magic, then a broken deflate stream (zlib.error, neither OSError nor EOFError)
        (gzip.compress(b"x" * 4096)[:12] + bytes(range(256)) * 4, "gzip stream broken"),
    ],
)
def test_not_an_mrc_gives_clear_error(tmp_path, content, message):
    path = tmp_path / "junk.map"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message) as err:
        io.read_mrc(path)
    assert "junk.map" in str(err.value)


MDOC = """PixelSpacing = 5.4
ImageFile = TS_01.mrc

[T = SerialEM: Digitized on EMBL Krios]

[ZValue = 0]
TiltAngle = 0.001
ExposureDose = 3.0
Defocus = -2.5
PixelSpacing = 5.4
DateTime = 30-Nov-15  15:21:38

[ZValue = 1]
TiltAngle = 3.0
ExposureDose = 3.0
Defocus = -2.6
StagePosition = 20.79 155.26
DateTime = 30-Nov-15  15:22:37
"""


def test_read_mdoc_inline_text():
    sections = io.read_mdoc(MDOC)
    assert [s["ZValue"] for s in sections] == [0, 1]
    assert sections[1]["TiltAngle"] == 3.0 and sections[1]["StagePosition"] == [20.79, 155.26]
    assert sections[1]["PixelSpacing"] == 5.4  # global key
    assert sections[0]["ImageFile"] == "TS_01.mrc"
    assert sections[0]["Titles"] == ["SerialEM: Digitized on EMBL Krios"]
    assert sections[0]["DateTime"] == "30-Nov-15  15:21:38"


def test_read_mdoc_rejects_other_text(tmp_path):
    path = tmp_path / "x.mdoc"
    path.write_text("not = an mdoc\n")
    with pytest.raises(ValueError, match="ZValue"):
        io.read_mdoc(path)


def test_read_real_mdoc_dose_symmetric():
    sections = io.read_mdoc(fixture_file("tilt-metadata/TS_01.mrc.mdoc"))
    assert len(sections) == 41
    angles = np.array([s["TiltAngle"] for s in sections])
    assert angles.min() == pytest.approx(-60, abs=0.1) and angles.max() == pytest.approx(
        60, abs=0.1
    )
    when = [
        datetime.strptime(" ".join(s["DateTime"].split()), "%d-%b-%y %H:%M:%S") for s in sections
    ]
    order = np.argsort(when, kind="stable")
    acquired = angles[order]
    assert abs(acquired[0]) < 0.5
    signs = np.sign(np.round(acquired[1:]))
    assert signs[0] != signs[1] and len(np.flatnonzero(np.diff(signs))) >= 10  # alternates


def test_star_round_trip(tmp_path):
    rng = np.random.default_rng(3)
    pos = rng.uniform(0, 50, (7, 3))
    eul = rng.uniform(-180, 180, (7, 3))
    names = ["TS_01"] * 4 + ["TS_02"] * 3
    path = tmp_path / "particles.star"
    io.write_particles_star(
        path, pos, eul, voxel_size=10.0, tomo_name=names, tomo_shape=(40, 60, 60)
    )
    back = io.read_particles_star(path)
    np.testing.assert_allclose(back["positions"], pos, atol=1e-5)
    np.testing.assert_allclose(back["eulers_deg"], eul, atol=1e-5)
    assert list(back["tomo_names"]) == names and back["voxel_size"] == 10.0
    df = back["particles"]
    for col in ("rlnTomoName", "rlnCoordinateX", "rlnAngleRot", "rlnCenteredCoordinateZAngst"):
        assert col in df
    np.testing.assert_allclose(df["rlnCenteredCoordinateXAngst"], (pos[:, 2] - 30) * 10, atol=1e-3)


def test_star_relion5_centred_coordinates_only(tmp_path):
    import starfile

    pos = np.array([[10.0, 20.0, 30.0]])
    path = tmp_path / "p.star"
    io.write_particles_star(path, pos, voxel_size=5.0, tomo_name="TS", tomo_shape=(20, 40, 60))
    blocks = starfile.read(path, always_dict=True)
    blocks["particles"] = blocks["particles"].drop(
        columns=["rlnCoordinateX", "rlnCoordinateY", "rlnCoordinateZ"]
    )
    starfile.write(blocks, path, overwrite=True)
    with pytest.raises(ValueError, match="tomo_shape"):
        io.read_particles_star(path)
    back = io.read_particles_star(path, tomo_shape=(20, 40, 60))
    np.testing.assert_allclose(back["positions"], pos)
