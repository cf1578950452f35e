"""The CLEM datasets: real bytes through a local mirror, the stand-in offline, same types."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import fixture_file

from emcourse import clem, data_clem

pytestmark = pytest.mark.usefixtures("data_env")

FIXTURE = {
    "cosem-clem-landmarks": ["clem-cosem-landmarks/clem-landmarks.csv"],
    "cosem-bigwarp-tcell-roi2": ["clem-cosem-landmarks/tcell_roi2_bigwarpLandmarks.csv"],
    "cosem-elastix-transforms": ["clem-cosem-landmarks/clem-transformations.zip"],
    "deepclem-s6": [
        "clem-deepclem/registered_pairs/EM/s6_ds.png",
        "clem-deepclem/registered_pairs/FM/s6_ds.png",
    ],
}


def _source(obj):
    return obj.source if hasattr(obj, "source") else obj["source"]


@pytest.mark.parametrize("name", sorted(data_clem.CLEM_DATASETS))
def test_offline_stand_in_is_announced_and_typed(name, monkeypatch, capsys):
    monkeypatch.setenv("EMCOURSE_OFFLINE", "1")
    obj = data_clem.load(name)
    assert not _source(obj).real
    assert "using the synthetic stand-in" in capsys.readouterr().out
    with pytest.raises(data_clem._data.DataUnavailableError):
        data_clem.load(name, standin=False)


@pytest.mark.parametrize("name", sorted(data_clem.CLEM_DATASETS))
def test_real_bytes_from_the_mirror(name, archive_server, capsys):
    entry = data_clem.CLEM_DATASETS[name]
    urls = [entry["url"]] + ([entry["url_lm"]] if "url_lm" in entry else [])
    for url, rel in zip(urls, FIXTURE[name], strict=True):
        archive_server.put(url, fixture_file(rel).read_bytes())
    obj = data_clem.load(name)
    assert _source(obj).real and "stand-in" not in capsys.readouterr().out
    standin = data_clem._standin(name, entry, "test")
    assert type(obj) is type(standin)
    if isinstance(obj, clem.ImagePair):
        assert obj.em.shape == standin.em.shape == (954, 1280)
        assert obj.lm.shape == standin.lm.shape and obj.unit == standin.unit == "px"
    if isinstance(obj, clem.Landmarks):
        assert obj.moving.shape == standin.moving.shape == (31, 3)
        assert sorted(obj.raters) == sorted(standin.raters)
        assert np.ptp(obj.moving[:, 0]) < 1000 and np.ptp(standin.moving[:, 0]) < 1000
