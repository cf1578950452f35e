"""The book's tables of contents, its extension and generated pages stay in step with the sources.

The course book (``_toc.yml``) shows lessons and exercise sheets with their
solutions collapsed; the student edition (``_toc_student.yml``, generated)
shows lessons and the stubs of ``exercises/``. The checks on the built HTML are
in ``e2e/`` (``make test-e2e``).
"""

import importlib.util
import json
import re
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import nbformat
import pytest
import yaml
from conftest import needs, toc_files

from emcourse import data
from emcourse.exercises import BEGIN, END

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("emcourse_book", ROOT / "book/_ext/emcourse_book.py")
book_ext = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(book_ext)


def notebooks_in(*folders: str) -> set[str]:
    return {
        str(p.relative_to(ROOT).with_suffix(""))
        for folder in folders
        for p in (ROOT / folder).rglob("*.ipynb")
        if ".ipynb_checkpoints" not in p.parts
    }


def book_config() -> dict:
    return yaml.safe_load((ROOT / "_config.yml").read_text())


def test_every_lesson_and_solution_sheet_is_in_the_course_book():
    notebooks = notebooks_in("notebooks", "solutions")
    assert notebooks, "no lessons found"
    assert notebooks <= toc_files()
    assert not {f for f in toc_files() if f.startswith("exercises/")}, (
        "_toc.yml lists solutions/<track>/<sheet> (shown with 'Show solution'); the student "
        "edition gets exercises/ from it: run `make exercises`"
    )


def test_student_edition_lists_lessons_and_exercises_and_no_solution():
    student = toc_files("_toc_student.yml")
    assert notebooks_in("notebooks", "exercises") <= student
    assert not {f for f in student if f.startswith("solutions/")}


def test_student_toc_is_generated_from_the_course_toc():
    expected = book_ext.student_toc((ROOT / "_toc.yml").read_text())
    assert (ROOT / "_toc_student.yml").read_text() == expected, (
        "_toc_student.yml is out of date: run `make exercises`"
    )


@pytest.mark.parametrize("toc", ["_toc.yml", "_toc_student.yml"])
def test_doc_links_point_at_pages_of_the_same_edition(toc):
    # the student edition leaves out the instructor pages: a {doc} link to one
    # from a page it keeps fails its build (unknown document)
    listed = toc_files(toc)
    for entry in listed:
        page = ROOT / f"{entry}.md"
        if not page.exists():
            continue
        for target in re.findall(r"\{doc\}`(?:[^`<]*<)?([^`>]+)>?`", page.read_text()):
            resolved = (
                target.lstrip("/") if target.startswith("/") else f"{Path(entry).parent}/{target}"
            )
            assert resolved in listed, f"{entry}.md links to {target}, not in {toc}"


@pytest.mark.parametrize("toc", ["_toc.yml", "_toc_student.yml"])
def test_every_toc_entry_exists(toc):
    for entry in toc_files(toc):
        assert any((ROOT / f"{entry}{ext}").exists() for ext in (".md", ".ipynb")), entry


SOLUTIONS = sorted((ROOT / "solutions").rglob("*.ipynb"))


@pytest.mark.parametrize("path", SOLUTIONS, ids=[p.name for p in SOLUTIONS])
def test_every_solution_cell_is_collapsed_behind_show_solution(path):
    """The book's reader tags every BEGIN-SOLUTION cell hide-cell and drops the markers."""
    original = nbformat.read(path, as_version=4)
    read = book_ext.read_notebook(path.read_text())
    solution_cells = [i for i, c in enumerate(original.cells) if book_ext.is_solution_cell(c)]
    assert solution_cells, f"{path.name} has no BEGIN SOLUTION cell"
    for i, (before, after) in enumerate(zip(original.cells, read.cells, strict=True)):
        tags = after.metadata.get("tags", [])
        if i in solution_cells:
            assert "hide-cell" in tags, f"cell {i}"
            assert after.metadata["mystnb"]["code_prompt_show"] == "Show solution"
            assert after.metadata["mystnb"]["code_prompt_hide"] == "Hide solution"
            assert BEGIN not in after.source and END not in after.source
            assert after.source.strip(), f"cell {i}: the solution itself was lost"
        else:
            assert "hide-cell" not in tags and after.source == before.source, f"cell {i}"


def test_reader_turns_a_caption_into_alt_text_and_keeps_author_alt():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("viewers.orthoslices(vol);"),
        nbformat.v4.new_markdown_cell("*Central slices; the *density* is $\\rho$.*\n\nMore."),
        nbformat.v4.new_code_cell("plot(a);"),
        nbformat.v4.new_markdown_cell("**Prerequisites**: none"),
        nbformat.v4.new_code_cell("plot(b);", metadata={"mystnb": {"image": {"alt": "own"}}}),
        nbformat.v4.new_markdown_cell("*A caption the author overrode.*"),
    ]
    cells = book_ext.tag_notebook(nb).cells
    assert cells[0].metadata["mystnb"]["image"]["alt"] == "Central slices; the density is \\rho."
    assert "mystnb" not in cells[2].metadata  # bold is not a caption
    assert cells[4].metadata["mystnb"]["image"]["alt"] == "own"


def _git_files(ref: str = "HEAD") -> set[str]:
    out = subprocess.run(
        ["git", "ls-tree", "-r", "--name-only", ref], cwd=ROOT, capture_output=True, text=True
    )
    if out.returncode:
        needs("a git checkout", "the test compares the book's files with git's")
    return set(out.stdout.splitlines())


def test_launch_links_open_the_student_copy_on_the_student_branch():
    """Every notebook page's Binder and hub URLs, as the extension writes them."""
    config = book_config()
    launch = config["launch_buttons"]
    assert config["repository"]["branch"] == "main"  # JB1 and the theme default to master
    branch = launch["student_branch"]
    theme = {
        "repository_url": config["repository"]["url"],
        "repository_branch": config["repository"]["branch"],
        "launch_buttons": launch,
    }
    # what `make student-branch` keeps: every tracked file but solutions/
    student_tree = {f for f in _git_files() if not f.startswith("solutions/")}
    listed = toc_files() | toc_files("_toc_student.yml")
    pages = [p for p in listed if (ROOT / f"{p}.ipynb").exists()]
    assert pages
    repo = config["repository"]["url"].rstrip("/").split("/")[-1]
    for page in pages:
        urls = book_ext.launch_urls(page, theme)
        assert set(urls) == {"Binder", "JupyterHub"}, page
        binder = urlsplit(urls["Binder"])
        assert binder.path.endswith(f"/{branch}"), urls["Binder"]
        binder_file = parse_qs(binder.query)["urlpath"][0].removeprefix("lab/tree/")
        hub = parse_qs(urlsplit(urls["JupyterHub"]).query)
        assert hub["branch"] == [branch] and hub["repo"] == [config["repository"]["url"]]
        hub_file = hub["urlpath"][0].removeprefix(f"lab/tree/{repo}/")
        assert binder_file == hub_file
        assert hub_file in student_tree, f"{page}: {hub_file} is not in the repository"
        assert not hub_file.startswith("solutions/"), page
        if page.startswith("solutions/"):
            assert hub_file == page.replace("solutions/", "exercises/", 1) + ".ipynb"


def test_mathjax_is_served_from_the_book_from_a_python_package():
    mathjax = book_config()["sphinx"]["config"]["mathjax_path"]
    assert mathjax.startswith("vendor/mathjax/es5/") and "//" not in mathjax
    assert str(book_ext.MATHJAX_TARGET).endswith(str(Path(mathjax).parent))
    source = book_ext.mathjax_source()  # sphinx-mathjax-offline, installed with the course
    script = (source / Path(mathjax).name).read_text()
    assert 'VERSION="3.' in script  # Sphinx 7 loads MathJax 3
    assert len(list((source / "output/chtml/fonts/woff-v2").glob("*.woff"))) > 10
    # make book needs only Python: Node's packages are for the e2e tests alone
    assert (
        "mathjax"
        not in json.loads((ROOT / "tools/vendor/package.json").read_text())["dependencies"]
    )


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


def test_hub_values_mount_shared_data_read_only_a_private_drop_and_pull_the_student_branch():
    from emcourse import bench

    config = book_config()
    values = yaml.safe_load((ROOT / "deploy/values.yaml").read_text())
    user = values["singleuser"]
    mounts = {m["name"]: m for m in user["storage"]["extraVolumeMounts"]}
    volumes = {v["name"]: v for v in user["storage"]["extraVolumes"]}
    mount, volume = mounts["emcourse-data"], volumes["emcourse-data"]
    assert mount["readOnly"] is True and volume["persistentVolumeClaim"]["readOnly"] is True
    assert user["extraEnv"]["EMCOURSE_DATA_DIR"] == mount["mountPath"]
    # the drop folder: each learner's pod sees only its own sub-folder (one uid for all pods)
    drop = mounts["emcourse-drop"]
    assert drop["subPath"] == "{username}" and not drop.get("readOnly")
    assert user["extraEnv"]["EMCOURSE_DROP_DIR"] == drop["mountPath"]
    command = user["lifecycleHooks"]["postStart"]["exec"]["command"]
    assert command[:3] == [
        "gitpuller",
        config["repository"]["url"],
        config["launch_buttons"]["student_branch"],
    ]
    units = {"G": 2**30, "M": 2**20}
    guarantee = float(user["memory"]["guarantee"][:-1]) * units[user["memory"]["guarantee"][-1]]
    assert guarantee >= bench.BUDGET_BYTES  # every lesson stays within the bench budget
    assert "deploy/values.yaml" in (ROOT / "book/hub.md").read_text()


# ---------------------------------------------------------------------------
# True words: what the pages say is there, and links that stay in their edition
# ---------------------------------------------------------------------------

NOT_THERE = re.compile(
    r"in preparation|coming soon|not yet (?:in|part of) the (?:book|course)", re.I
)


def _tracks() -> dict[str, set[str]]:
    """Each track of the course book (a part with lessons): the names it goes by."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    tracks = {}
    for part in toc["parts"]:
        folders = {
            c["file"].split("/")[1] for c in part["chapters"] if c["file"].startswith("notebooks/")
        }
        for folder in folders:
            slug = folder.split("-", 1)[1]
            tracks[folder] = {folder, slug, slug.replace("-", " "), part["caption"]}
            tracks[folder] |= {part["caption"].split()[0]}  # "Segmentation", "CLEM", ...
    return tracks


def _prose_pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "book").glob("*.md"))]


def test_no_track_of_the_table_of_contents_is_called_in_preparation():
    tracks = _tracks()
    assert {"20-segmentation", "30-clem"} <= set(tracks)
    for page in _prose_pages():
        for paragraph in re.split(r"\n\s*\n", page.read_text()):
            if not NOT_THERE.search(paragraph):
                continue
            text = paragraph.lower()
            named = [f for f, names in tracks.items() if any(n.lower() in text for n in names)]
            vague = re.search(r"\btracks?\b|\bthe others?\b|\bskills?\b", text)
            assert not named and not vague, (
                f"{page.relative_to(ROOT)} says a track is not there yet, but the book has "
                f"{named or sorted(tracks)}:\n{paragraph.strip()}"
            )


MD_LINK = re.compile(r"\]\(([^)\s#]+\.(?:md|ipynb))(?:#[^)\s]*)?\)")


def _page_text(entry: str) -> str | None:
    if (ROOT / f"{entry}.md").exists():
        return (ROOT / f"{entry}.md").read_text()
    if (ROOT / f"{entry}.ipynb").exists():
        nb = nbformat.read(ROOT / f"{entry}.ipynb", as_version=4)
        return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    return None


@pytest.mark.parametrize("toc", ["_toc.yml", "_toc_student.yml"])
def test_markdown_links_point_at_pages_of_the_same_edition(toc):
    listed = toc_files(toc)
    for entry in listed:
        text = _page_text(entry)
        for target in MD_LINK.findall(text or ""):
            if "://" in target:
                continue
            resolved = (ROOT / Path(entry).parent / target).resolve()
            docname = str(resolved.relative_to(ROOT).with_suffix(""))
            assert docname in listed, f"{entry} links {target}, a page {toc} leaves out"


def test_md_link_pattern_sees_relative_and_anchored_links():
    text = "[a](../notebooks/x/01-y.ipynb) [b](setup.md#pip) [c](https://e.org/z.md) [d](x.py)"
    assert MD_LINK.findall(text) == ["../notebooks/x/01-y.ipynb", "setup.md", "https://e.org/z.md"]


def test_readme_and_setup_page_launch_the_start_page_on_the_student_branch():
    config = book_config()
    theme = {
        "repository_url": config["repository"]["url"],
        "repository_branch": config["repository"]["branch"],
        "launch_buttons": config["launch_buttons"],
    }
    urls = book_ext.launch_urls(Path(book_ext.START_PAGE).stem, theme)
    for page in (ROOT / "README.md", ROOT / "book/setup.md"):
        text = page.read_text()
        for name, url in urls.items():
            assert f"[{name}]({url})" in text, f"{page.name}: its {name} link is not {url}"
        assert "jupyter lab notebooks" not in text  # the file browser would hide exercises/


def test_the_book_stylesheet_wraps_outputs_and_lets_wide_tables_scroll():
    css = (ROOT / "book/_static" / book_ext.STYLESHEET).read_text()
    assert "white-space: pre-wrap" in css  # long output lines wrap
    assert "overflow-x: auto" in css  # wide tables and long code lines scroll in the column


def test_headings_never_skip_a_level():
    """A page's headings go down one level at a time (the book build warns, and fails, on
    H1 -> H3); checked here so that `make test` finds it before the build."""
    skips = []
    for rel in sorted(toc_files() | toc_files("_toc_student.yml")):
        path = ROOT / f"{rel}.ipynb"
        if not path.exists():
            continue
        level = 0
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type != "markdown":
                continue
            for line in cell.source.splitlines():
                m = re.match(r"(#{1,6}) ", line)
                if m:
                    if len(m[1]) > level + 1:
                        skips.append(f"{rel}: {line}")
                    level = len(m[1])
    assert not skips, skips
