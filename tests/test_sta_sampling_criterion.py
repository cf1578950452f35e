"""The angular-sampling numbers of "Find particles by template matching", and cross-references.

On the real EMD-1832 (``../shared/fixtures/emdb/``; skipped without it): the
masked template's extent D, Crowther's step for d = 40 A, the rotations that
step asks for, and the ratio to the set the lesson searches. Spacing and
covering radius are measured on the sets themselves.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from conftest import fixture_file

from emcourse import io, sta

ROOT = Path(__file__).resolve().parents[1]


def _real_reference():
    vol = io.read_mrc(fixture_file("emdb/emd_1832.map.gz"))
    return sta.prepare_reference(vol.data, voxel_size=vol.voxel_size, new_voxel_size=10.0, box=32)


def test_criterion_on_the_real_map():
    ref = _real_reference()
    molecule = sta.box_extent(ref, voxel_size=10.0, fraction=0.2)
    diameter = sta.swept_diameter(ref, voxel_size=10.0, fraction=0.05)
    # the molecule is about 180 A across; the masked template sweeps 270 A (the mask's extent)
    assert 170 <= molecule.max() <= 190, molecule
    assert diameter == pytest.approx(270.0, abs=3.0)
    step = sta.crowther_step(diameter, 40.0)
    assert step == pytest.approx(8.5, abs=0.05)
    assert len(sta.angular_sampling(step)) == 12648
    assert len(sta.angular_sampling(sta.crowther_step(diameter, 20.0))) == 113976
    used = sta.angular_sampling(16.29)
    assert len(used) == 1992
    cover = sta.covering_radius(used)
    assert cover == pytest.approx(16.29, abs=0.1)  # Karney's tabulated radius, measured
    assert 1.85 < cover / step < 2.0  # "about twice as coarse", not "a little"
    spacing = float(np.median(sta.neighbour_spacing(used)))
    assert spacing == pytest.approx(15.56, abs=0.05)
    assert 1.75 < spacing / step < 1.9


def test_spacing_is_not_the_covering_radius():
    # the 12,648-rotation set (covering radius 8.17 deg, Karney): neighbours 9.3 deg apart
    fine = sta.angular_sampling(8.5)
    spacing = sta.neighbour_spacing(fine)
    assert len(fine) == 12648 and float(np.median(spacing)) == pytest.approx(9.3, abs=0.05)
    # the 600-cell's 60 vertices: 72 deg apart, every rotation within 44.48 deg of one
    cell = sta.angular_sampling(45.0)
    assert np.allclose(sta.neighbour_spacing(cell), 72.0)
    assert sta.covering_radius(cell, probes=4000) == pytest.approx(44.48, abs=0.2)


def _titles() -> set[str]:
    titles = set()
    for path in (ROOT / "notebooks").glob("*/*.ipynb"):
        first = "".join(json.loads(path.read_text())["cells"][0]["source"]).splitlines()[0]
        titles.add(first.lstrip("# ").strip())
    return titles


STA = sorted((ROOT / "notebooks" / "10-subtomogram-averaging").glob("*.ipynb"))
STA += sorted((ROOT / "solutions" / "10-subtomogram-averaging").glob("*.ipynb"))


@pytest.mark.parametrize("path", STA, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_prerequisites_and_next_name_real_lessons(path):
    """Every capitalised quoted title in a Prerequisites or Next paragraph is a real lesson."""
    titles = _titles()
    text = "\n".join(
        "".join(c["source"])
        for c in json.loads(path.read_text())["cells"]
        if c["cell_type"] == "markdown"
    )
    paragraphs = [p for p in text.split("\n\n") if "**Prerequisites**" in p or "**Next**" in p]
    assert paragraphs, path.name
    for quoted in re.findall(r'"([^"]+)"', " ".join(paragraphs).replace("\n", " ")):
        if quoted[:1].isupper():
            assert quoted in titles, (path.name, quoted)


@pytest.mark.parametrize(("asked", "n", "radius"), [(30.0, 360, 27.78), (25.0, 648, 20.83)])
def test_the_global_search_sets_the_lessons_name(asked, n, radius):
    """ "Align and average..." searches angular_sampling(25), "Measure resolution..." (30)."""
    rotations = sta.angular_sampling(asked)
    assert len(rotations) == n
    assert sta.covering_radius(rotations, probes=5000) == pytest.approx(radius, abs=0.1)
