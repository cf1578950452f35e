"""Sphinx extension of the emcourse book (loaded from ``_config.yml``).

Three jobs, each for every page the table of contents lists, whatever the track:

* :func:`read_notebook`, MyST-NB's reader for ``.ipynb`` (``nb_custom_formats``):
  every code cell holding a ``### BEGIN SOLUTION`` block gets the ``hide-cell``
  tag with "Show solution" / "Hide solution" prompts (a native ``<details>``,
  no JavaScript, no kernel) and loses the two marker lines; every code cell
  followed by a caption (a markdown cell opening with an italic paragraph, as
  the style guide asks) gets that caption as the alt text of its images.
* :func:`retarget_launch` rewrites the theme's launch buttons (Binder and
  JupyterHub/nbgitpuller) so that they open the student copy: a page of
  ``solutions/`` launches ``exercises/`` and every link uses the branch
  ``launch_buttons.student_branch`` (a branch without ``solutions/``, made by
  ``make student-branch``).
* MathJax is served from the build: :func:`copy_vendor` copies MathJax 3 (es5
  components and fonts) from the Python package ``sphinx-mathjax-offline`` (a
  dependency of the course, so ``make book`` needs no Node) into
  ``_static/vendor/mathjax/es5/``, and ``mathjax_path`` in ``_config.yml``
  points there. A missing package stops the build instead of falling back to a
  CDN.
"""

from __future__ import annotations

import copy
import importlib.util
import re
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import nbformat
from sphinx.errors import ConfigError

from emcourse.exercises import BEGIN, END

SHOW, HIDE = "Show solution", "Hide solution"
HIDE_TAG = "hide-cell"
# MathJax 3 as the PyPI package sphinx-mathjax-offline ships it (its module name has
# hyphens, so it is found by name, never imported): <package>/static/mathjax/ holds the
# es5 build (tex-mml-chtml.js, output/chtml/fonts/woff-v2/...), copied to the place in
# the build that mathjax_path names.
MATHJAX_PACKAGE = "sphinx-mathjax-offline"
STYLESHEET = "emcourse.css"
MATHJAX_TARGET = Path("_static") / "vendor" / "mathjax" / "es5"

_EMPHASIS = re.compile(r"^\*(?!\*)")


def is_solution_cell(cell: Any) -> bool:
    """True for a code cell that holds a BEGIN SOLUTION block."""
    source = cell.source if isinstance(cell.source, str) else "".join(cell.source)
    return cell.cell_type == "code" and any(
        line.strip().startswith(BEGIN) for line in source.splitlines()
    )


def caption_of(cell: Any) -> str | None:
    """The caption a markdown cell opens with (an italic paragraph), as plain text."""
    if cell.cell_type != "markdown":
        return None
    paragraph = cell.source.strip().split("\n\n", 1)[0]
    if not _EMPHASIS.match(paragraph):
        return None
    text = re.sub(r"[*_`$]", "", paragraph)
    return " ".join(text.split()) or None


def tag_notebook(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Return a copy of ``nb`` with solutions hidden and captions turned into alt text."""
    nb = copy.deepcopy(nb)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        meta = cell.setdefault("metadata", {})
        if is_solution_cell(cell):
            lines = cell.source.splitlines(keepends=True)
            kept = [ln for ln in lines if not ln.strip().startswith((BEGIN, END))]
            cell.source = "".join(kept).rstrip("\n")
            tags = meta.setdefault("tags", [])
            if HIDE_TAG not in tags:
                tags.append(HIDE_TAG)
            prompts = meta.setdefault("mystnb", {})
            prompts.setdefault("code_prompt_show", SHOW)
            prompts.setdefault("code_prompt_hide", HIDE)
        following = nb.cells[index + 1] if index + 1 < len(nb.cells) else None
        caption = caption_of(following) if following is not None else None
        if caption:
            meta.setdefault("mystnb", {}).setdefault("image", {}).setdefault("alt", caption)
    return nb


def read_notebook(text: str) -> nbformat.NotebookNode:
    """MyST-NB reader: a v4 notebook with :func:`tag_notebook` applied."""
    return tag_notebook(nbformat.reads(text, as_version=4))


# --------------------------------------------------------------------------
# Launch buttons
# --------------------------------------------------------------------------


def student_path(pagename: str) -> str:
    """The file a page's launch buttons open: ``solutions/X`` -> ``exercises/X.ipynb``."""
    if pagename.startswith("solutions/"):
        pagename = "exercises/" + pagename[len("solutions/") :]
    return f"{pagename}.ipynb"


def launch_urls(pagename: str, theme_options: dict[str, Any]) -> dict[str, str]:
    """The Binder and JupyterHub (nbgitpuller) URLs of a notebook page.

    Parameters
    ----------
    pagename : str
        Sphinx docname, e.g. ``solutions/00-archives/01-public-archives``.
    theme_options : dict
        ``html_theme_options`` (``repository_url``, ``repository_branch``,
        ``launch_buttons`` with ``binderhub_url``, ``jupyterhub_url``,
        ``notebook_interface`` and ``student_branch``).
    """
    launch = theme_options.get("launch_buttons", {})
    repo_url = theme_options["repository_url"].rstrip("/")
    org, repo = repo_url.split("/")[-2:]
    branch = launch.get("student_branch") or theme_options["repository_branch"]
    ui = {"classic": "tree", "jupyterlab": "lab/tree"}[launch.get("notebook_interface", "classic")]
    path = student_path(pagename)
    urls = {}
    if launch.get("binderhub_url"):
        binder = launch["binderhub_url"].rstrip("/")
        urls["Binder"] = f"{binder}/v2/gh/{org}/{repo}/{branch}?urlpath={ui}/{path}"
    if launch.get("jupyterhub_url"):
        hub = launch["jupyterhub_url"].rstrip("/")
        query = urlencode(
            {"repo": repo_url, "urlpath": f"{ui}/{repo}/{path}", "branch": branch}, safe="/"
        )
        urls["JupyterHub"] = f"{hub}/hub/user-redirect/git-pull?{query}"
    return urls


def retarget_launch(app, pagename, templatename, context, doctree) -> None:
    """Point the theme's launch buttons at the student copy on the student branch."""
    groups = [g for g in context.get("header_buttons", []) if g.get("label") == "launch-buttons"]
    if not groups:
        return
    urls = launch_urls(pagename, app.config.html_theme_options)
    for group in groups:
        for button in group.get("buttons", []):
            if button.get("text") in urls:
                button["url"] = urls[button["text"]]
            elif "url" in button:  # any other provider: never a solutions/ file
                button["url"] = button["url"].replace(f"{pagename}.ipynb", student_path(pagename))


# --------------------------------------------------------------------------
# Vendored front-end files
# --------------------------------------------------------------------------


def mathjax_source() -> Path:
    """The folder of MathJax 3's es5 build inside the installed sphinx-mathjax-offline."""
    spec = importlib.util.find_spec(MATHJAX_PACKAGE)
    folder = Path(spec.origin).parent / "static" / "mathjax" if spec and spec.origin else None
    if folder is None or not (folder / "tex-mml-chtml.js").is_file():
        raise ConfigError(
            f"{MATHJAX_PACKAGE} is not installed: the book serves MathJax itself (no CDN). "
            f"Run `pip install {MATHJAX_PACKAGE}` (make book installs it with the course)."
        )
    return folder


def check_vendor(app, config) -> None:
    """Stop the build when MathJax is missing or would come from a remote address."""
    mathjax_source()
    if "://" in config.mathjax_path or config.mathjax_path.startswith("//"):
        raise ConfigError(f"mathjax_path is a remote URL ({config.mathjax_path}); use vendor/...")


def copy_vendor(app, exception) -> None:
    """Copy MathJax into ``_static/vendor/mathjax/es5/`` of an HTML build."""
    if exception is not None or app.builder.format != "html":
        return
    shutil.copytree(mathjax_source(), Path(app.outdir) / MATHJAX_TARGET, dirs_exist_ok=True)


# --------------------------------------------------------------------------
# Theme fixes: no console error, no serious axe violation
# --------------------------------------------------------------------------


def theme_defaults(app, config) -> None:
    """Our templates first; a valid colour mode so the theme logs no console error; our
    stylesheet (book/_static/emcourse.css: long lines and wide tables are never cut off)."""
    book = Path(__file__).resolve().parent.parent
    config.templates_path.insert(0, str(book / "_templates"))
    config.html_context.setdefault("default_mode", "auto")
    config.html_static_path.append(str(book / "_static"))
    app.add_css_file(STYLESHEET)


def drop_thebe(app, pagename, templatename, context, doctree) -> None:
    """Remove sphinx-thebe's scripts: the course has no live-code button, and JB1 adds
    its inline configuration twice (a page error) with a CDN address in it."""
    kept = []
    for script in context.get("script_files", []):
        body = getattr(script, "attributes", {}).get("body", "")
        if "THEBE_JS_URL" in body or str(getattr(script, "filename", script)).endswith(
            "sphinx-thebe.js"
        ):
            continue
        kept.append(script)
    context["script_files"] = kept


def name_toggles_by_their_text(app, pagename, templatename, context, doctree) -> None:
    """MyST-NB labels each hidden cell's summary "Toggle hidden content", which does not
    contain its visible "Show solution" (axe: label-content-name-mismatch, serious);
    without the label the summary's name is what it shows."""
    if "body" in context:
        context["body"] = context["body"].replace(
            '<summary aria-label="Toggle hidden content">', "<summary>"
        )


def setup(app):
    app.connect("config-inited", check_vendor)
    app.connect("config-inited", theme_defaults)
    app.connect("html-page-context", drop_thebe, priority=900)
    app.connect("html-page-context", name_toggles_by_their_text, priority=900)
    # after sphinx-book-theme's add_launch_buttons (priority 501)
    app.connect("html-page-context", retarget_launch, priority=900)
    app.connect("build-finished", copy_vendor)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


# --------------------------------------------------------------------------
# The student edition's table of contents
# --------------------------------------------------------------------------

STUDENT_TOC_HEADER = """\
# GENERATED from _toc.yml by `make exercises` (solutions/ -> exercises/): do not edit.
# The student edition (`make book-student`): lessons and exercise sheets, no solutions.
"""
# Pages for instructors and hub admins only (they name solutions/): not in the student edition.
INSTRUCTOR_PAGES = ("book/instructor-guide", "book/hub")


def student_toc(course_toc: str) -> str:
    """The student edition's ``_toc_student.yml`` text from the course's ``_toc.yml``."""
    body = [
        ln
        for ln in course_toc.splitlines()
        if not ln.lstrip().startswith("#")
        and not any(ln.strip() == f"- file: {page}" for page in INSTRUCTOR_PAGES)
    ]
    text = "\n".join(body).replace("file: solutions/", "file: exercises/")
    return STUDENT_TOC_HEADER + text.strip("\n") + "\n"


# --------------------------------------------------------------------------
# The start page: what `make lab` and the hub and Binder links open
# --------------------------------------------------------------------------

START_PAGE = "start-here.ipynb"
START_INTRO = """\
# Start here

This is the course *3D electron microscopy from public archives*. Each part
below has lessons (`notebooks/`), which explain and compute, and exercise
sheets (`exercises/`), where you write small functions and a check after each
task tells you how far off you are. Open a lesson, run it from the top
(**Run > Run All Cells**), then open its exercise sheet. Click a link to open
it here in JupyterLab.

Before the first lesson, check your set-up in a terminal (**File > New >
Terminal**): `emcourse doctor` prints one line per check and the command that
fixes each problem. Lessons use real archive data when they can fetch them and
say so when they use a synthetic stand-in instead.

A check gives no hint until you have tried, then one more step of a hint at
each wrong attempt. It keeps a record on this machine only: `emcourse progress`
shows what you have done and what comes next, and on a hub `emcourse submit`
hands it in to your instructor.
"""
START_OUTRO = """\
The course book (the same lessons with their outputs, and the pages on set-up,
data and licences) is built with `make book`; the set-up page is
[book/setup.md](book/setup.md), the data and licences page
[book/data.md](book/data.md).
"""


def _title(path: Path) -> str:
    """A notebook's ``#`` title (its first heading), or its file name."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return path.stem


def start_page(course_toc: str, root: Path) -> str:
    """The text of ``start-here.ipynb``: every lesson of ``_toc.yml`` and its exercise sheet.

    The sheets are linked in ``exercises/`` (the student copies, on every branch),
    never ``solutions/``, so the same page works on the student branch.
    """
    import yaml

    toc = yaml.safe_load(course_toc)
    parts = []
    for part in toc["parts"]:
        lessons = [c["file"] for c in part["chapters"] if c["file"].startswith("notebooks/")]
        if not lessons:
            continue
        rows = ["| Lesson | Exercise sheet |", "| --- | --- |"]
        for lesson in lessons:
            sheet = "exercises/" + lesson.removeprefix("notebooks/") + ".ipynb"
            name, short = f"{lesson}.ipynb", sheet.removeprefix("exercises/")
            rows.append(f"| [{_title(root / name)}]({name}) | [{short}]({sheet}) |")
        parts.append(f"## {part['caption']}\n\n" + "\n".join(rows) + "\n")
    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": {
            "display_name": "Python 3 (ipykernel)",
            "language": "python",
            "name": "python3",
        },
        "language_info": {"name": "python"},
    }
    sources = [START_INTRO, *parts, START_OUTRO]
    nb.cells = [
        nbformat.v4.new_markdown_cell(text.rstrip("\n"), id=str(i))  # as nbstripout numbers
        for i, text in enumerate(sources)
    ]
    return nbformat.writes(nb) + "\n"


if __name__ == "__main__":  # python book/_ext/emcourse_book.py: the files made from _toc.yml
    root = Path(__file__).resolve().parents[2]
    course_toc = (root / "_toc.yml").read_text()
    (root / "_toc_student.yml").write_text(student_toc(course_toc))
    print("wrote _toc_student.yml from _toc.yml")
    (root / START_PAGE).write_text(start_page(course_toc, root))
    print(f"wrote {START_PAGE} from _toc.yml")
