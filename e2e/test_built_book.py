"""The two built editions, read as files: solutions, launch links, offline assets, a11y, links.

* course edition (``_build/html``): every solution collapsed behind a native
  "Show solution" ``<details>``; the solution code is in the page.
* student edition (``_build/student/_build/html``): none of the solution code,
  no BEGIN SOLUTION, no ``solutions/`` path, in the pages, ``_sources`` or the
  search index. The same solution lines are looked for in the course edition,
  so the grep is known to find them where they are.
* every launch link: Binder or nbgitpuller, the student branch, a file that
  exists in the repository, ``exercises/`` never ``solutions/``.
* no ``src``/stylesheet from another host; every image has alt text that is
  not a file name and is followed by a caption; headings in order;
  every internal link and ``#anchor`` resolves.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import nbformat
import pytest
import yaml
from bs4 import BeautifulSoup
from e2e_support import REPO, toc_pages

from emcourse.exercises import BEGIN, END

CONFIG = yaml.safe_load((REPO / "_config.yml").read_text())
STUDENT_BRANCH = CONFIG["launch_buttons"]["student_branch"]
HASH_NAME = re.compile(r"(^|/)[0-9a-f]{64}\.(png|jpe?g|svg|gif)$")
REMOTE = re.compile(r"^(https?:)?//", re.I)


def soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def page_html(html: Path, page: str) -> Path:
    return html / f"{page}.html"


def compact(text: str) -> str:
    """Text without any whitespace: highlighted code puts spaces between tokens."""
    return re.sub(r"\s+", "", text)


def text_of(path: Path) -> str:
    return compact(soup(path).get_text(""))


def solution_lines() -> dict[str, list[str]]:
    """Per solution sheet: the answer lines (inside BEGIN/END, not hints, not in the stub,
    not in any lesson, whose pages show such code legitimately)."""
    lessons = "\n".join(p.read_text() for p in (REPO / "notebooks").rglob("*.ipynb"))
    out = {}
    for path in sorted((REPO / "solutions").rglob("*.ipynb")):
        rel = path.relative_to(REPO / "solutions").with_suffix("").as_posix()
        stub = (REPO / "exercises" / path.relative_to(REPO / "solutions")).read_text()
        lines, inside = [], False
        for cell in nbformat.read(path, as_version=4).cells:
            for line in cell.source.splitlines():
                s = line.strip()
                if s.startswith(BEGIN):
                    inside = True
                elif s.startswith(END):
                    inside = False
                elif (
                    inside
                    and len(s) > 12
                    and not s.startswith("#")
                    and s not in stub
                    and json.dumps(s)[1:-1] not in lessons
                ):
                    lines.append(s)
        out[rel] = lines
    return out


SOLUTION_LINES = solution_lines()


def test_solution_lines_were_found():
    assert SOLUTION_LINES and all(SOLUTION_LINES.values()), SOLUTION_LINES


@pytest.mark.parametrize("sheet", sorted(SOLUTION_LINES))
def test_course_edition_collapses_each_solution(course_html, sheet):
    path = page_html(course_html, f"solutions/{sheet}")
    page = soup(path)
    toggles = page.select("details.hide")
    assert toggles, f"{path}: no collapsed cell"
    for details in toggles:
        assert details.get("open") is None, "a solution is expanded by default"
        summary = details.find("summary").get_text(" ", strip=True)
        assert "Show solution" in summary, summary
    hidden = "".join(compact(d.get_text("")) for d in toggles)
    for line in SOLUTION_LINES[sheet]:
        assert compact(line) in hidden, f"{sheet}: {line!r} is not behind a toggle"
    assert BEGIN not in path.read_text()


def _student_files(student_html: Path) -> list[Path]:
    return [
        p
        for p in student_html.rglob("*")
        if p.is_file()
        and p.suffix in {".html", ".ipynb", ".js", ".txt", ".md", ".json"}
        and "_static" not in p.relative_to(student_html).parts
    ]


def test_student_edition_has_no_solution_anywhere(student_html):
    files = _student_files(student_html)
    assert any(p.name == "searchindex.js" for p in files)
    assert any(p.suffix == ".ipynb" for p in files), "no _sources notebooks to check"
    assert not (student_html / "solutions").exists()
    for path in files:
        raw = path.read_text(encoding="utf-8", errors="replace")
        assert BEGIN not in raw and END not in raw, path
        assert "solutions/" not in raw, f"{path} names solutions/"
        text = text_of(path) if path.suffix == ".html" else compact(raw)
        for sheet, lines in SOLUTION_LINES.items():
            for line in lines:
                assert compact(line) not in text, f"{path}: answer of {sheet}: {line!r}"


def test_student_edition_shows_every_exercise_stub(student_html):
    for sheet in SOLUTION_LINES:
        text = text_of(page_html(student_html, f"exercises/{sheet}"))
        assert "NotImplementedError" in text, sheet


def _repo_files(ref: str = "HEAD") -> set[str]:
    out = subprocess.run(
        ["git", "ls-tree", "-r", "--name-only", ref],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    return set(out.stdout.splitlines())


@pytest.mark.parametrize("edition", ["course", "student"])
def test_every_launch_link_opens_a_student_file_on_the_student_branch(edition, request):
    html = request.getfixturevalue(f"{edition}_html")
    toc = "_toc.yml" if edition == "course" else "_toc_student.yml"
    student_tree = {f for f in _repo_files() if not f.startswith("solutions/")}
    repo_url = CONFIG["repository"]["url"]
    repo = repo_url.rstrip("/").split("/")[-1]
    hub = CONFIG["launch_buttons"]["jupyterhub_url"].rstrip("/")
    binder = CONFIG["launch_buttons"]["binderhub_url"].rstrip("/")
    checked = 0
    for page in toc_pages(toc):
        if not (REPO / f"{page}.ipynb").exists():
            continue
        links = [a["href"] for a in soup(page_html(html, page)).select("a[href]")]
        hub_links = [u for u in links if u.startswith(f"{hub}/hub/user-redirect/git-pull?")]
        binder_links = [u for u in links if u.startswith(f"{binder}/v2/")]
        assert len(hub_links) == 1 and len(binder_links) == 1, f"{page}: {links}"
        query = parse_qs(urlsplit(hub_links[0]).query)
        assert query["branch"] == [STUDENT_BRANCH] and query["repo"] == [repo_url], page
        hub_file = query["urlpath"][0].removeprefix(f"lab/tree/{repo}/")
        b = urlsplit(binder_links[0])
        assert b.path.endswith(f"/{repo}/{STUDENT_BRANCH}"), binder_links[0]
        binder_file = parse_qs(b.query)["urlpath"][0].removeprefix("lab/tree/")
        for f in (hub_file, binder_file):
            assert f in student_tree, f"{page}: {f} not in the repository's student tree"
            assert not f.startswith("solutions/") and "solutions" not in unquote(f)
        if page.startswith("solutions/"):
            assert hub_file == f"exercises/{page.removeprefix('solutions/')}.ipynb"
        checked += 1
    assert checked >= 2


def _all_pages(html: Path) -> list[Path]:
    return sorted(p for p in html.rglob("*.html") if "_static" not in p.parts)


@pytest.mark.parametrize("edition", ["course", "student"])
def test_no_page_loads_anything_from_another_host(edition, request):
    html = request.getfixturevalue(f"{edition}_html")
    remote = []
    for path in _all_pages(html):
        page = soup(path)
        for tag, attr in (("script", "src"), ("img", "src"), ("iframe", "src"), ("source", "src")):
            remote += [(path, t[attr]) for t in page.find_all(tag) if REMOTE.match(t.get(attr, ""))]
        for link in page.find_all("link", href=True):
            rel = set(link.get("rel", []))
            if rel & {"stylesheet", "preload", "modulepreload", "icon"} and REMOTE.match(
                link["href"]
            ):
                remote.append((path, link["href"]))
        imports = re.findall(r"@import\s+url\(['\"]?(https?:[^)'\"]+)", str(page))
        remote += [(path, m) for m in imports]
    assert not remote, remote[:10]


def test_mathjax_is_in_the_build(course_html):
    math_pages = [p for p in _all_pages(course_html) if soup(p).select(".math")]
    assert math_pages, "no page with maths: the MathJax check would be vacuous"
    for path in math_pages:
        srcs = [s["src"] for s in soup(path).find_all("script", src=True)]
        mathjax = [s for s in srcs if "tex-mml-chtml.js" in s]
        assert mathjax, path
        assert (path.parent / mathjax[0].split("?")[0]).resolve().is_file(), mathjax[0]
    fonts = list((course_html / "_static/vendor/mathjax/es5/output/chtml/fonts/woff-v2").glob("*"))
    assert len(fonts) > 10


@pytest.mark.parametrize("edition", ["course", "student"])
def test_every_figure_has_alt_text_and_a_caption(edition, request):
    html = request.getfixturevalue(f"{edition}_html")
    problems, figures = [], 0
    for page in toc_pages("_toc.yml" if edition == "course" else "_toc_student.yml"):
        path = page_html(html, page)
        for img in soup(path).select("article img, main img"):
            if "_static/images/logo_" in img["src"]:
                continue  # launch-button logos carry the theme's alt text
            figures += 1
            alt = (img.get("alt") or "").strip()
            if not alt or HASH_NAME.search(alt) or alt in img["src"] or "Figure size" in alt:
                problems.append(f"{page}: image {img['src']} has alt {alt!r}")
                continue
            # the caption: the markdown cell right after the output, opening in italics
            cell = img.find_parent(class_="cell")
            caption = cell.find_next_sibling() if cell else None
            first = caption.find(True) if caption is not None and caption.name == "p" else None
            if (
                first is None
                or first.name != "em"
                # letters only: the page has smart quotes and dashes where the alt has plain ones
                or re.sub(r"\W+", "", alt[:30]) not in re.sub(r"\W+", "", caption.get_text(""))
            ):
                problems.append(f"{page}: image {img['src']} has no caption after it")
    assert figures > 5
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("edition", ["course", "student"])
def test_headings_are_in_order(edition, request):
    html = request.getfixturevalue(f"{edition}_html")
    problems = []
    for page in toc_pages("_toc.yml" if edition == "course" else "_toc_student.yml"):
        article = soup(page_html(html, page)).select_one("article")
        levels = [int(h.name[1]) for h in article.find_all(re.compile(r"^h[1-6]$"))]
        if levels[:1] != [1] or levels.count(1) != 1:
            problems.append(f"{page}: headings {levels} (one h1 first)")
        for a, b in zip(levels, levels[1:], strict=False):
            if b > a + 1:
                problems.append(f"{page}: h{a} followed by h{b}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("edition", ["course", "student"])
def test_every_internal_link_and_anchor_resolves(edition, request):
    html = request.getfixturevalue(f"{edition}_html")
    ids: dict[Path, set[str]] = {}

    def ids_of(path: Path) -> set[str]:
        if path not in ids:
            ids[path] = {t["id"] for t in soup(path).find_all(id=True)}
        return ids[path]

    broken, checked = [], 0
    for path in _all_pages(html):
        page = soup(path)
        refs = [(a["href"], "a") for a in page.find_all("a", href=True)]
        refs += [(t["src"], t.name) for t in page.find_all(["img", "script"], src=True)]
        refs += [(t["href"], "link") for t in page.find_all("link", href=True)]
        for ref, tag in refs:
            if REMOTE.match(ref) or ref.startswith(("mailto:", "javascript:", "data:")):
                continue
            target, _, anchor = ref.partition("#")
            target = unquote(target.split("?")[0])
            file = (path.parent / target).resolve() if target else path
            if file.is_dir():
                file = file / "index.html"
            checked += 1
            if not file.exists():
                broken.append(f"{path.relative_to(html)}: {tag} {ref} (no file)")
            elif anchor and file.suffix == ".html" and unquote(anchor) not in ids_of(file):
                broken.append(f"{path.relative_to(html)}: {ref} (no #{anchor})")
    assert checked > 100
    assert not broken, "\n".join(broken[:30])


def test_external_links_are_listed_and_checked_when_online(course_html):
    """Every external link goes to _build/external-links.txt; with
    EMCOURSE_CHECK_EXTERNAL_LINKS=1 (a machine with a network) each must answer."""
    import os

    import requests

    links = set()
    for path in _all_pages(course_html):
        for a in soup(path).find_all("a", href=True):
            if REMOTE.match(a["href"]) and "/hub/user-redirect/" not in a["href"]:
                links.add(a["href"].split("#")[0])
    launch = (CONFIG["launch_buttons"]["binderhub_url"], CONFIG["repository"]["url"])
    links = sorted(u for u in links if not u.startswith(launch))  # the branch may be unpushed
    assert links, "no external link found: the listing is broken"
    (REPO / "_build" / "external-links.txt").write_text("\n".join(links) + "\n")
    if os.environ.get("EMCOURSE_CHECK_EXTERNAL_LINKS") != "1":
        return
    broken = []
    with requests.Session() as s:
        s.headers["User-Agent"] = "emcourse-linkcheck"
        for url in links:
            try:
                r = s.get(url, timeout=30, stream=True, allow_redirects=True)
                if r.status_code in (404, 410) or r.status_code >= 500:
                    broken.append(f"{r.status_code} {url}")
            except requests.exceptions.RequestException as exc:
                broken.append(f"{type(exc).__name__} {url}")
    assert not broken, "\n".join(broken)
