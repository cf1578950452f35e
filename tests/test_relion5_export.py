"""STAR export in RELION 5's conventions, checked against the real RELION 5 tutorial files.

Real bytes: ``../shared/fixtures/sta-relion5-hiv/`` (the RELION 5 tutorial's
particles and tomograms tables for EMPIAR-10164); those tests skip without the
fixtures. RELION 5's programs are not installable here: these are checks
against its files (blocks, columns, units, origin), not against its programs.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import fixture_file

from emcourse import io

R5 = "sta-relion5-hiv"
XYZ = ["rlnCenteredCoordinateXAngst", "rlnCenteredCoordinateYAngst", "rlnCenteredCoordinateZAngst"]
TS01_AT_10A = (270, 540, 540)  # 2000 x 4000 x 4000 pixels of 1.35 A, binned to 10 A


def _real():
    particles = io.read_star(fixture_file(f"{R5}/R5_tutorial_run_data.star"))
    tomograms = io.read_star(fixture_file(f"{R5}/R5_tutorial_run_tomograms.star"))
    return particles, tomograms["global"]


def _in_order(ours: list[str], theirs: list[str]) -> bool:
    """``ours`` is a subset of ``theirs``, in the same relative order."""
    return all(c in theirs for c in ours) and [c for c in theirs if c in ours] == ours


def test_real_particles_map_into_their_tomograms_and_back(tmp_path):
    blocks, tomograms = _real()
    every, shapes = io.relion5_voxels(blocks["particles"], tomograms, 10.0)
    names = blocks["particles"]["rlnTomoName"].to_numpy()
    for name, shape in shapes.items():  # origin at the centre: every particle inside its box
        assert np.allclose(shape, TS01_AT_10A, atol=1e-3)
        here = every[names == name]
        assert (here > 0).all() and (here < np.array(shape)).all(), name
    ts01 = blocks["particles"][names == "TS_01"].reset_index(drop=True)
    pos = every[names == "TS_01"]
    path = tmp_path / "particles.star"
    io.write_relion5_particles(
        path,
        pos,
        ts01[["rlnAngleRot", "rlnAngleTilt", "rlnAnglePsi"]].to_numpy(),
        voxel_size=10.0,
        tomo_shape=TS01_AT_10A,
        tomo_name="TS_01",
        tilt_series_pixel_size=1.35,
        half_sets=ts01["rlnRandomSubset"],
    )
    ours = io.read_star(path)
    assert list(ours) == list(blocks)  # general, optics, particles
    for name in ("optics", "particles"):
        assert _in_order(list(ours[name].columns), list(blocks[name].columns)), name
    assert ours["general"] == blocks["general"]
    # the same units and origin: the real angstrom come back to within the printed digits
    assert np.abs(ours["particles"][XYZ].to_numpy() - ts01[XYZ].to_numpy()).max() < 1e-5
    assert ours["optics"]["rlnTomoTiltSeriesPixelSize"].tolist() == [1.35]
    assert (ours["particles"]["rlnRandomSubset"] == ts01["rlnRandomSubset"]).all()


def test_tomograms_table_is_the_real_ts01_row(tmp_path):
    _, tomograms = _real()
    path = tmp_path / "tomograms.star"
    io.write_relion5_tomograms(
        path,
        "TS_01",
        tomo_shape=TS01_AT_10A,
        voxel_size=10.0,
        tilt_series_pixel_size=1.35,
        original_pixel_size=0.675,
    )
    ours = io.read_star(path)["global"]
    real = tomograms[tomograms["rlnTomoName"] == "TS_01"].reset_index(drop=True)
    assert _in_order(list(ours.columns), list(real.columns))
    for column in ours.columns:
        if ours[column].dtype.kind in "if":
            assert np.allclose(ours[column], real[column], atol=1e-6), column
        else:
            assert ours[column].tolist() == real[column].tolist(), column
    assert list(real.columns[~real.columns.isin(ours.columns)]) == [
        "rlnTomoTiltSeriesStarFile",
        "rlnEtomoDirectiveFile",
        "rlnTomoReconstructedTomogramHalf1",
        "rlnTomoReconstructedTomogramHalf2",
    ]  # RELION's own files, which a course export has none of


def test_starfile_round_trip_and_back_to_voxels(tmp_path):
    import starfile

    rng = np.random.default_rng(0)
    shape, voxel = (64, 256, 256), 10.0
    pos = rng.uniform(5, 59, (20, 3)) * [1, 4, 4]
    eul = rng.uniform(-180, 180, (20, 3))
    io.write_relion5_particles(
        tmp_path / "p.star", pos, eul, voxel_size=voxel, tomo_shape=shape, tomo_name="sim",
        half_sets=rng.integers(1, 3, 20),
    )  # fmt: skip
    io.write_relion5_tomograms(tmp_path / "t.star", "sim", tomo_shape=shape, voxel_size=voxel)
    for name in ("p.star", "t.star"):
        ours, theirs = (
            io.read_star(tmp_path / name),
            starfile.read(tmp_path / name, always_dict=True),
        )
        assert list(ours) == list(theirs)
        for block, table in theirs.items():
            if hasattr(table, "columns"):
                assert ours[block].equals(table), (name, block)
            else:
                assert ours[block] == table
    particles = io.read_star(tmp_path / "p.star")["particles"]
    tomograms = io.read_star(tmp_path / "t.star")["global"]
    back, shapes = io.relion5_voxels(particles, tomograms, voxel)
    assert np.allclose(back, pos, atol=1e-5) and shapes == {"sim": shape}
    assert np.allclose(particles[["rlnAngleRot", "rlnAngleTilt", "rlnAnglePsi"]], eul, atol=1e-5)
    assert "rlnCoordinateX" not in particles  # RELION 5 writes centred angstrom only
    # binned from a finer tilt series: the same angstrom, sizes in unbinned pixels
    io.write_relion5_tomograms(
        tmp_path / "b.star", "sim", tomo_shape=shape, voxel_size=voxel, tilt_series_pixel_size=2.5
    )
    binned = io.read_star(tmp_path / "b.star")["global"]
    assert binned[["rlnTomoSizeZ", "rlnTomoSizeY", "rlnTomoSizeX"]].iloc[0].tolist() == [
        256,
        1024,
        1024,
    ]
    assert np.allclose(io.relion5_voxels(particles, binned, voxel)[0], pos, atol=1e-5)


def test_a_cut_export_is_refused_naming_file_and_field(tmp_path):
    pos = np.full((30, 3), 12.345678)
    path = tmp_path / "p.star"
    io.write_relion5_particles(path, pos, voxel_size=10.0, tomo_shape=(32, 32, 32), tomo_name="a")
    text = path.read_text()
    path.write_text(text[: text.rstrip().rindex("\t")])  # cut inside the last row
    with pytest.raises(
        ValueError,
        match=r"p\.star: block data_particles, row 30.*CoordinateZAngst is missing",
    ):
        io.read_star(path)


def test_unknown_tomogram_and_missing_columns_are_refused():
    import pandas as pd

    particles = pd.DataFrame({"rlnTomoName": ["b"], **{c: [0.0] for c in XYZ}})
    tomograms = pd.DataFrame(
        {"rlnTomoName": ["a"], "rlnTomoTiltSeriesPixelSize": [1.0],
         "rlnTomoSizeX": [10], "rlnTomoSizeY": [10], "rlnTomoSizeZ": [10]}
    )  # fmt: skip
    with pytest.raises(ValueError, match="tomogram 'b'.*does not list"):
        io.relion5_voxels(particles, tomograms, 1.0)
    with pytest.raises(ValueError, match="no column rlnCenteredCoordinateZAngst"):
        io.relion5_voxels(particles.drop(columns=XYZ[2]), tomograms, 1.0)


def test_random_half_sets_of_the_real_lattice_share_boxes():
    """The lesson "Measure resolution and compare with the archive" states these for TS_01."""
    from emcourse import sta

    blocks, _ = _real()
    ts01 = blocks["particles"][blocks["particles"]["rlnTomoName"] == "TS_01"]
    box = float(
        blocks["optics"]["rlnImageSize"].iloc[0] * blocks["optics"]["rlnImagePixelSize"].iloc[0]
    )
    got = sta.cross_half_neighbours(ts01[XYZ].to_numpy(), ts01["rlnRandomSubset"].to_numpy(), box)
    assert box == pytest.approx(259.2)
    assert got["nearest"] == pytest.approx(72.0, abs=2.0)  # the Gag lattice's spacing
    assert 0.45 < got["nearest_other_half"] < 0.56  # a random split: about half
    assert got["particles"] > 0.99  # nearly every particle shares its box with the other half
