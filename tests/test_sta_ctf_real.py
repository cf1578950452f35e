"""The CTF fit on a real micrograph (fitted zeros on the observed Thon minima) and its kind.

``../shared/fixtures/cryoem-micrograph/Ucsf_stack_1142_DW.mrc`` (MicrographCleaner's test
micrograph) has no recorded pixel size or defocus, so the fit runs in cycles per pixel
(``pixel_size=1``, ``cs=0``) and only the zeros' positions can be checked: each fitted zero
inside the band must land within one frequency sample (1/256 cycles per pixel) of a
minimum found in the radial profile without any model.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import fixture_file

from emcourse import io
from emcourse.data import kinds
from emcourse.data.registry import registry
from emcourse.sta import ctf
from emcourse.sta.ctf_fit import (
    clean_tile_centres,
    fit_ctf,
    nearest_minimum,
    power_spectrum,
    thon_minima,
)
from emcourse.sta.ctf_sim import standin_micrograph

ENTRY = "micrograph-cleaner-ucsf-1142"
TILE, BAND = 256, (0.2, 0.5)  # cycles per pixel


def _zeros_and_minima(image):
    centres = clean_tile_centres(image, TILE, step=64)
    ps = power_spectrum(image, tile=TILE, centres=centres)
    fit = fit_ctf(ps, 1.0, band=BAND, defocus_range=(100, 3000), cs=0.0)
    z = ctf.ctf_zeros(4, defocus=fit.defocus, cs=0.0)
    z = z[(z >= BAND[0]) & (z <= BAND[1])]
    return fit, z, thon_minima(ps, 1.0, band=BAND), len(centres)


def test_real_micrograph_zeros_land_on_its_thon_minima():
    path = fixture_file("cryoem-micrograph/Ucsf_stack_1142_DW.mrc")
    img = io.read_mrc(path).data[0].astype(np.float64)
    fit, zeros, minima, n = _zeros_and_minima(img)
    assert n < 121  # the contamination's tiles are left out
    assert len(zeros) == 2  # two zeros inside 0.2-0.5 cycles per pixel
    assert (nearest_minimum(zeros, minima) <= 1.0 / TILE).all()
    assert 400 < fit.defocus < 560  # defocus / pixel^2 in A per px^2 at 300 kV (measured 477)


def test_standin_micrograph_zeros_and_truth():
    entry = registry()[ENTRY]
    img = standin_micrograph(
        tuple(entry["shape"]),
        pixel_size=entry["standin_pixel_size"],
        defocus=entry["standin_defocus"],
        mean=entry["standin_mean"],
        std=entry["standin_std"],
    ).astype(np.float64)
    fit, zeros, minima, n = _zeros_and_minima(img)
    assert n < 121
    assert (nearest_minimum(zeros, minima) <= 1.0 / TILE).all()
    u, v, _ = entry["standin_defocus"]
    truth = 0.5 * (u + v) / entry["standin_pixel_size"] ** 2  # 475 A per px^2
    assert fit.defocus == pytest.approx(truth, rel=0.02)


def test_micrograph_kind_refuses_a_stack_and_a_blank(tmp_path):
    import mrcfile

    entry = dict(registry()[ENTRY], name=ENTRY)
    kind = kinds.KINDS["micrograph"]
    stack = tmp_path / "stack.mrc"
    with mrcfile.new(stack) as m:
        m.set_data(np.random.default_rng(0).normal(size=(2, 16, 16)).astype(np.float32))
        m.voxel_size = 1.0
    with pytest.raises(ValueError, match="one micrograph"):
        kind.validate(stack, entry, "main")
    blank = tmp_path / "blank.mrc"
    with mrcfile.new(blank) as m:
        m.set_data(np.zeros((16, 16), np.float32))
        m.voxel_size = 1.0
    with pytest.raises(ValueError, match="constant"):
        kind.validate(blank, entry, "main")
    wrong = tmp_path / "wrong.mrc"
    with mrcfile.new(wrong) as m:
        m.set_data(np.random.default_rng(0).normal(size=(16, 16)).astype(np.float32))
        m.voxel_size = 1.0
    with pytest.raises(ValueError, match="927, 959"):
        kind.validate(wrong, entry, "main")


def test_micrograph_standin_has_the_real_shape_and_dtype(monkeypatch):
    from emcourse import data

    monkeypatch.setenv("EMCOURSE_OFFLINE", "1")
    vol = data.load(ENTRY)
    assert vol.data.shape == (1, 927, 959) and vol.data.dtype == np.float32
    assert not vol.source.real
