"""The CLEM dataset kinds: real bytes through a local mirror, the stand-in offline, same types."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import fixture_file

from emcourse import clem, data
from emcourse.data import kinds
from emcourse.data.registry import file_urls

pytestmark = pytest.mark.usefixtures("data_env")

# registry name -> {role: file under the fixtures folder}
FIXTURE = {
    "cosem-clem-landmarks": {"main": "clem-cosem-landmarks/clem-landmarks.csv"},
    "cosem-bigwarp-tcell-roi2": {"main": "clem-cosem-landmarks/tcell_roi2_bigwarpLandmarks.csv"},
    "cosem-elastix-transforms": {"main": "clem-cosem-landmarks/clem-transformations.zip"},
    "deepclem-s6": {
        "em": "clem-deepclem/registered_pairs/EM/s6_ds.png",
        "lm": "clem-deepclem/registered_pairs/FM/s6_ds.png",
    },
}


def _source(obj):
    return obj.source if hasattr(obj, "source") else obj["source"]


@pytest.mark.parametrize("name", sorted(FIXTURE))
def test_offline_stand_in_is_announced_and_typed(name, monkeypatch, capsys):
    monkeypatch.setenv("EMCOURSE_OFFLINE", "1")
    obj = data.load(name)
    assert not _source(obj).real
    assert "using the synthetic stand-in" in capsys.readouterr().out
    with pytest.raises(data.DataUnavailableError):
        data.load(name, standin=False)


@pytest.mark.parametrize("name", sorted(FIXTURE))
def test_real_bytes_from_the_mirror(name, archive_server, capsys):
    entry = data.registry()[name]
    for role, url in file_urls(entry).items():
        archive_server.put(url, fixture_file(FIXTURE[name][role]).read_bytes())
    obj = data.load(name, standin=False)
    assert _source(obj).real and "stand-in" not in capsys.readouterr().out
    standin = kinds.kind_of(entry).standin(entry, _source(obj))
    assert type(obj) is type(standin)
    if isinstance(obj, clem.ImagePair):
        assert obj.em.shape == standin.em.shape == (954, 1280)
        assert obj.lm.shape == standin.lm.shape and obj.unit == standin.unit == "px"
    if isinstance(obj, clem.Landmarks):
        assert obj.moving.shape == standin.moving.shape == (31, 3)
        assert sorted(obj.raters) == sorted(standin.raters)
        assert np.ptp(obj.moving[:, 0]) < 1000 and np.ptp(standin.moving[:, 0]) < 1000
    if isinstance(obj, dict) and "active" in obj:
        assert obj["moving"].shape == standin["moving"].shape == (23, 3)
        assert obj["active"].sum() == standin["active"].sum() == 22


def test_a_wrong_file_is_refused(archive_server):
    entry = data.registry()["deepclem-s6"]
    entry = entry | {"sha256": {}}  # unpinned: only the format check stands between
    urls = file_urls(entry)
    archive_server.put(urls["em"], b"not a png")
    archive_server.put(urls["lm"], fixture_file(FIXTURE["deepclem-s6"]["lm"]).read_bytes())
    with pytest.raises(ValueError, match="expected a PNG"):
        kinds.kind_of(entry).validate(archive_server.path_for(urls["em"]), entry, "em")
