"""The book's table of contents and generated pages stay in step with the sources."""

from pathlib import Path

import yaml

from emcourse import data

ROOT = Path(__file__).resolve().parents[1]


def toc_files() -> set[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = {toc["root"]}
    for part in toc["parts"]:
        files |= {chapter["file"] for chapter in part["chapters"]}
    return files


def test_every_lesson_and_exercise_sheet_is_in_the_book():
    notebooks = {
        str(p.relative_to(ROOT).with_suffix(""))
        for folder in ("notebooks", "exercises")
        for p in (ROOT / folder).rglob("*.ipynb")
        if ".ipynb_checkpoints" not in p.parts
    }
    assert notebooks, "no lessons found"
    assert notebooks <= toc_files()


def test_every_toc_entry_exists():
    for entry in toc_files():
        assert any((ROOT / f"{entry}{ext}").exists() for ext in (".md", ".ipynb")), entry


def test_every_lesson_has_an_exercise_sheet():
    lessons = {p.relative_to(ROOT / "notebooks") for p in (ROOT / "notebooks").rglob("*.ipynb")}
    sheets = {p.relative_to(ROOT / "solutions") for p in (ROOT / "solutions").rglob("*.ipynb")}
    assert lessons == sheets


def test_data_page_is_generated_from_the_registry():
    committed = (ROOT / "book" / "data-table.md").read_text()
    assert committed.strip() == data.registry_markdown().strip(), (
        "book/data-table.md is out of date: run `make exercises`"
    )


def test_book_states_the_licences():
    config = (ROOT / "_config.yml").read_text()
    assert "BSD-3-Clause" in config and "CC BY 4.0" in config
    assert "only_build_toc_files: true" in config
