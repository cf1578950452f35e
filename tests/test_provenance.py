"""The provenance records behind each page's banner, and the banner itself.

What the banner says is driven by real loads: offline, through a local mirror
(the archive's path layout on 127.0.0.1), from the cache, from a mirror that
lacks the file. That the offline and the real-data pass show different
banners on a real lesson is tested in ``tests/test_real_pass.py``.
"""

from __future__ import annotations

import os

import nbformat
import pytest
from conftest import EMD_3197_URL, synthetic_map_gz

from emcourse import data
from emcourse.data import provenance


@pytest.fixture
def fresh(monkeypatch, data_env):
    """No dataset recorded and no banner shown yet in this process."""
    monkeypatch.setattr(provenance, "_records", {})
    monkeypatch.setattr(provenance, "_displays", [])
    return data_env


def test_a_record_says_real_with_archive_and_tier_or_standin_with_why():
    real = provenance.Record("emd-1832", "EMD-1832", "EMDB", real=True, tiers=("cache",))
    assert str(real) == "EMD-1832 (real, EMDB, from the cache)"
    both = provenance.Record("x", "EMD-1", "EMDB", real=True, tiers=("cache", "mirror"))
    assert both.status == "real, EMDB, from the cache and mirror"
    fake = provenance.Record("empiar-10982-hela-cell", "EMPIAR-10982 hela_cell", "EMPIAR", False)
    assert str(fake) == "EMPIAR-10982 hela_cell (synthetic stand-in: unavailable)"


def test_a_long_accession_is_shown_by_its_registry_name():
    rec = provenance.Record("gala-fib25-test", "gala FIB-SEM example, test block", "GitHub (x/y)")
    assert rec.label == "gala-fib25-test"
    assert rec.status == "real, GitHub"  # the archive without its parenthesis


def test_offline_load_records_the_standin_and_why(fresh, monkeypatch, capsys):
    monkeypatch.setenv("EMCOURSE_OFFLINE", "1")
    data.emdb_map(1832)
    data.load("empiar-10164-ts-01-mdoc")
    capsys.readouterr()
    assert [str(r) for r in provenance.records()] == [
        "EMD-1832 (synthetic stand-in: offline)",
        "EMPIAR-10164 (synthetic stand-in: offline)",
    ]
    assert not data.loaded("emd-1832").real


def test_mirror_then_cache_are_recorded_as_such(fresh, archive_server, tmp_path):
    archive_server.put(EMD_3197_URL, synthetic_map_gz(tmp_path))
    data.load("emd-3197")
    assert str(data.loaded("emd-3197")) == "EMD-3197 (real, EMDB, from the mirror)"
    data.load("emd-3197")  # now in the cache
    assert str(data.loaded("emd-3197")) == "EMD-3197 (real, EMDB, from the cache)"
    assert len(provenance.records()) == 1  # one entry per dataset, the latest load


def test_a_mirror_without_the_file_is_the_reason_not_offline(fresh, archive_server, capsys):
    data.emdb_map(1832)  # the mirror lacks it; the archive is unreachable (closed proxy)
    capsys.readouterr()
    assert data.loaded("emd-1832").why == "not on the mirror"
    assert "offline" not in provenance.banner_text()


def test_loaded_names_what_was_loaded_when_asked_for_something_else(fresh):
    with pytest.raises(KeyError, match=r"'emd-1832' has not been loaded.*data.load\('emd-1832'\)"):
        data.loaded("emd-1832")


def test_banner_text_and_html(fresh, monkeypatch, capsys):
    assert provenance.banner_text() == "Data on this page: no archive dataset loaded"
    monkeypatch.setenv("EMCOURSE_OFFLINE", "1")
    data.emdb_map(1832)
    capsys.readouterr()
    provenance.record(data.registry()["emd-3197"], real=True, tiers=["mirror"])
    text = provenance.banner_text()
    assert text == (
        "Data on this page: EMD-1832 (synthetic stand-in: offline) · "
        "EMD-3197 (real, EMDB, from the mirror)"
    )
    page = provenance.banner_html()
    assert page.startswith('<div class="emcourse-data-banner"') and "\n" not in page
    assert "EMD-3197</span> <span" in page and "(real, EMDB, from the mirror)" in page


def test_banner_html_escapes_what_it_shows(fresh):
    provenance.record({"name": "x", "accession": "<b>A&B</b>", "archive": "Z"}, real=True)
    page = provenance.banner_html()
    assert "<b>A&B</b>" not in page and "&lt;b&gt;A&amp;B&lt;/b&gt;" in page


def test_outside_a_kernel_the_banner_prints_once(fresh, monkeypatch, capsys):
    data.banner()
    assert capsys.readouterr().out == "Data on this page: no archive dataset loaded\n"
    monkeypatch.setenv("EMCOURSE_OFFLINE", "1")
    data.emdb_map(1832)
    assert "Data on this page" not in capsys.readouterr().out  # later loads print no banner


@pytest.mark.notebook
def test_in_a_kernel_later_loads_update_the_banner_at_the_top(tmp_path, data_env):
    """The banner shown before any load ends up listing every load, in the executed notebook."""
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("from emcourse import data\n\ndata.banner()"),
        nbformat.v4.new_code_cell('vol = data.emdb_map(1832)\nsmall = data.load("emd-3197")'),
        nbformat.v4.new_code_cell('data.load("emd-3197");'),  # again: nothing changes
    ]
    env = dict(os.environ, EMCOURSE_OFFLINE="1")
    NotebookClient(nb, timeout=120, kernel_name="python3").execute(env=env)
    (out,) = nb.cells[0].outputs
    assert out.output_type == "display_data"
    assert out.data["text/plain"] == (
        "Data on this page: EMD-1832 (synthetic stand-in: offline) · "
        "EMD-3197 (synthetic stand-in: offline)"
    )
    assert 'class="emcourse-data-banner"' in out.data["text/html"]
    assert not any(o.get("output_type") == "display_data" for o in nb.cells[2].outputs)
