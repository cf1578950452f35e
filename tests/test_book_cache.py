"""The books' shared execution cache is emptied when what lessons run on changes.

jupyter-cache re-executes a notebook whose code cells changed; ``tools/book_cache.py``
(run by ``make book`` and ``make book-student`` before each build) covers the rest:
the package the lessons import, the installed packages and the data settings.
"""

import importlib.util
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("book_cache", ROOT / "tools/book_cache.py")
book_cache = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(book_cache)


def _package(root: Path, body: str) -> Path:
    (root / "src" / "pkg").mkdir(parents=True, exist_ok=True)
    (root / "src" / "pkg" / "science.py").write_text(body)
    (root / "pyproject.toml").write_text("[project]\nname = 'pkg'\n")
    return root


def test_the_key_follows_package_code_and_data_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("EMCOURSE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("EMCOURSE_OFFLINE", raising=False)
    root = _package(tmp_path / "repo", "ANSWER = 42\n")
    key = book_cache.inputs_key(root)
    assert book_cache.inputs_key(root) == key  # stable
    _package(root, "ANSWER = 41\n")
    assert book_cache.inputs_key(root) != key  # a changed function changes outputs
    key = book_cache.inputs_key(root)
    monkeypatch.setenv("EMCOURSE_OFFLINE", "1")
    assert book_cache.inputs_key(root) != key  # stand-ins instead of real data
    key = book_cache.inputs_key(root)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "emd_3197.map.gz").write_bytes(b"real")
    assert book_cache.inputs_key(root) != key  # a real file fetched since


def test_refresh_empties_a_cache_filled_under_another_key(tmp_path):
    cache = tmp_path / ".jupyter_cache"
    assert book_cache.refresh(cache, "a")  # new
    (cache / "global.db").write_text("executed lessons")
    assert not book_cache.refresh(cache, "a")  # same inputs: reused
    assert (cache / "global.db").exists()
    assert book_cache.refresh(cache, "b")  # inputs changed: emptied
    assert not (cache / "global.db").exists()


def test_both_editions_share_one_cache_that_the_makefile_refreshes():
    execute = yaml.safe_load((ROOT / "_config.yml").read_text())["execute"]
    assert execute["execute_notebooks"] == "cache"
    assert execute["allow_errors"] is False  # a failed run fails the build and is not cached
    makefile = (ROOT / "Makefile").read_text()
    assert f"EXEC_CACHE := {execute['cache']}" in makefile
    assert makefile.count("tools/book_cache.py $(EXEC_CACHE)") == 2  # book and book-student
