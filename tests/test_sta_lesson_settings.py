"""The STA lessons that simulate tomograms use the same data and the same search settings.

Issue 17: no lesson may simulate with a CTF that cannot matter (the old 2 um,
whose first zero sat at the Nyquist frequency of 10 A voxels) or a dose of 0,
and a lesson that says it repeats another's search must search the same
rotations. These read the notebooks' code, so they run in a second.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
STA = "10-subtomogram-averaging"
SIMULATING = [
    f"notebooks/{STA}/06-tomograms-and-the-missing-wedge.ipynb",
    f"notebooks/{STA}/07-finding-particles.ipynb",
    f"notebooks/{STA}/08-aligning-and-averaging.ipynb",
    f"notebooks/{STA}/09-resolution-and-comparison.ipynb",
    f"solutions/{STA}/09-resolution-and-comparison.ipynb",
]


def _code(rel: str) -> str:
    nb = nbformat.read(REPO / rel, as_version=4)
    return "\n".join(c.source for c in nb.cells if c.cell_type == "code")


def _number(pattern: str, text: str) -> float:
    found = re.findall(pattern, text)
    assert len(found) == 1, (pattern, found)
    return float(found[0])


@pytest.mark.parametrize("rel", SIMULATING)
def test_simulations_use_the_tilt_table(rel):
    """Every simulated tomogram takes TS_01's tilts, defocus and dose, and the tutorial's A."""
    code = _code(rel)
    assert 'data.load("empiar-10164-ts-01-tilt-table")' in code
    assert "sta.tomogram_acquisition(table)" in code and "amplitude_contrast=0.1" in code
    calls = re.findall(r"sta\.(?:simulate_tomogram|average_simulated)\((.*?)\n\)", code, re.S)
    assert calls and all("**TS01" in call for call in calls), calls
    assert "defocus_um=2" not in code and "dose_per_tilt=0" not in code


def test_resolution_lesson_repeats_the_alignment_lessons_search():
    """10-09 says it repeats 10-08's steps: the same global step and first local range."""
    align = _code(f"notebooks/{STA}/08-aligning-and-averaging.ipynb")
    global_08 = _number(r"angles = sta\.angular_sampling\(([\d.]+)\)", align)
    local_08 = _number(r"start_step=([\d.]+)", align)
    for rel in (
        f"notebooks/{STA}/09-resolution-and-comparison.ipynb",
        f"solutions/{STA}/09-resolution-and-comparison.ipynb",
    ):
        code = _code(rel)
        assert _number(r"search_step=([\d.]+)", code) == global_08, rel
        assert _number(r"start_step=([\d.]+)", code) == local_08, rel
    assert (global_08, local_08) == (25.0, 30.0)


def test_average_simulated_passes_its_settings_on(monkeypatch):
    """start_step reaches the refinement and the simulation's keywords the simulator."""
    from emcourse.sta import pipeline

    seen = {}

    def fake_sim(reference, **kw):
        seen["sim"] = kw
        raise RuntimeError("stop")

    monkeypatch.setattr(pipeline, "simulate_tomogram", fake_sim)
    with pytest.raises(RuntimeError, match="stop"):
        pipeline.average_simulated(np.zeros((4, 4, 4)), start_step=30.0, amplitude_contrast=0.1)
    assert seen["sim"]["amplitude_contrast"] == 0.1

    class Sim:
        positions = [[8.0, 8.0, 8.0]]
        tomogram = None
        tilt_range = (-57.0, 60.0)

    monkeypatch.setattr(pipeline, "simulate_tomogram", lambda reference, **kw: Sim())
    monkeypatch.setattr(pipeline, "extract_subtomograms", lambda *a, **kw: None)
    monkeypatch.setattr(pipeline, "lowpass", lambda *a, **kw: None)
    monkeypatch.setattr(pipeline, "align", lambda *a, **kw: None)
    monkeypatch.setattr(pipeline, "refine", lambda *a, **kw: seen.setdefault("refine", kw))
    ref = np.zeros((4, 4, 4))
    pipeline.average_simulated(ref, search_step=25.0, start_step=30.0)
    assert seen["refine"]["start_step"] == 30.0
    seen.pop("refine")
    pipeline.average_simulated(ref, search_step=25.0)
    assert seen["refine"]["start_step"] == 25.0  # the default: the global step
