"""The STAR reader on real RELION files: the in-situ Chlamydomonas particle poses.

``../shared/fixtures/sta-chlamy-in-situ/*.star`` are RELION-3 particle files as
deposited (Waltz et al. 2025, CC0): one unnamed ``data_`` block, no optics
table, coordinates in unbinned 1.96 A pixels of the EMPIAR-11830 tomograms,
and the mitoribosome file has ``rlnTomoName`` and ``rlnParticleName`` in the
other order. The reader must go by the header, not by column position. Each
test compares it with the file's own text, split by the ``_rln... #N`` header
lines; it skips without the fixtures.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import fixture_file

from emcourse import io, sta

# file -> (particles, tomograms), as the fixtures README states them
REAL_STAR = {
    "atpase.star": (933, 1),
    "hsp60.star": (27, 1),
    "mitoribosome.star": (228, 37),
}


def _columns_and_rows(text: str) -> tuple[dict[str, int], list[list[str]]]:
    """The loop's header (label -> 0-based column from ``#N``) and its data rows."""
    columns, rows = {}, []
    for line in text.splitlines():
        words = line.split()
        if not words or words[0].startswith("#") or words[0] in ("data_", "loop_"):
            continue
        if words[0].startswith("_rln"):
            columns[words[0][1:]] = int(words[1].lstrip("#")) - 1
        else:
            rows.append(words)
    return columns, rows


@pytest.mark.parametrize("name", sorted(REAL_STAR))
def test_real_relion_star_read_by_its_header(name):
    path = fixture_file(f"sta-chlamy-in-situ/{name}")
    columns, rows = _columns_and_rows(path.read_text())
    n_particles, n_tomograms = REAL_STAR[name]
    assert len(rows) == n_particles

    star = io.read_particles_star(path)

    def col(label):
        return np.array([r[columns[label]] for r in rows], dtype=float)

    expected_zyx = np.stack([col(f"rlnCoordinate{a}") for a in "ZYX"], axis=1)
    expected_eulers = np.stack([col(f"rlnAngle{a}") for a in ("Rot", "Tilt", "Psi")], axis=1)
    assert star["positions"].shape == (n_particles, 3)
    np.testing.assert_allclose(star["positions"], expected_zyx, rtol=0, atol=1e-6)
    np.testing.assert_allclose(star["eulers_deg"], expected_eulers, rtol=0, atol=1e-6)
    tomos = [r[columns["rlnTomoName"]] for r in rows]
    assert list(star["tomo_names"]) == tomos
    assert len(set(star["tomo_names"])) == n_tomograms
    # RELION-3 files carry no pixel size: the reader says so instead of guessing
    assert star["voxel_size"] is None
    # angles are RELION's ZYZ Euler angles in degrees: every one becomes a rotation
    rot = sta.euler_to_matrix(star["eulers_deg"])
    np.testing.assert_allclose(np.linalg.det(rot), 1.0, atol=1e-9)


def test_real_star_files_differ_in_column_order():
    """What makes the header matter: the same labels at different positions."""
    orders = {}
    for name in REAL_STAR:
        columns, _ = _columns_and_rows(fixture_file(f"sta-chlamy-in-situ/{name}").read_text())
        orders[name] = sorted(columns, key=columns.get)
    assert orders["atpase.star"] != orders["mitoribosome.star"]
    assert set(orders["atpase.star"]) == set(orders["mitoribosome.star"])


def test_relion3_file_naming_tomograms_by_micrograph(tmp_path):
    """RELION-3 subtomogram files name the tomogram rlnMicrographName, no optics block."""
    path = tmp_path / "relion3.star"
    path.write_text(
        "data_\n\nloop_\n_rlnMicrographName #1\n_rlnAngleTilt #2\n_rlnCoordinateZ #3\n"
        "_rlnCoordinateX #4\n_rlnCoordinateY #5\n_rlnAngleRot #6\n_rlnAnglePsi #7\n"
        "tomo_01.mrc 90.0 30.0 10.0 20.0 5.0 -5.0\n"
        "tomo_02.mrc 45.0 31.0 11.0 21.0 6.0 -6.0\n"
    )
    star = io.read_particles_star(path)
    np.testing.assert_allclose(star["positions"], [[30, 20, 10], [31, 21, 11]])
    np.testing.assert_allclose(star["eulers_deg"], [[5, 90, -5], [6, 45, -6]])
    assert list(star["tomo_names"]) == ["tomo_01.mrc", "tomo_02.mrc"]
    assert star["voxel_size"] is None
