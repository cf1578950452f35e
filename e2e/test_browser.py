"""Every page of both built editions in headless Debian Chromium, with no network.

Each page is served from 127.0.0.1 and must load with no console error, no
page error, no failed or 4xx/5xx request, no image that did not decode and no
request to another host (every such request is blocked and fails the test).
Pages with maths must typeset with the MathJax served by the book; the first
"Show solution" of a solutions page must open; axe-core (from npm, injected
from disk) must report no serious or critical violation. Every same-site link
is fetched. A screenshot of the first lesson of each track is kept in
``_build/screenshots/`` as a build artefact.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urldefrag

import pytest
from e2e_support import AXE, BUILD, CHROMIUM, CHROMIUM_ARGS, toc_pages, track_of
from playwright import sync_api as playwright_sync

SCREENSHOTS = BUILD / "screenshots"
BAD_IMPACT = {"serious", "critical"}


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} missing: apt-get install -y chromium (make test-e2e does)")
    if not AXE.is_file():
        pytest.fail(f"{AXE} missing: npm ci --prefix tools/vendor (make test-e2e does)")
    with playwright_sync.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


def serve(html: Path):
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(html)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}/"


def check_edition(browser, html: Path, pages: list[str], *, screenshots: bool) -> dict:
    """Open every page of one edition; return what went wrong and what was measured."""
    httpd, base = serve(html)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    off_host: list[str] = []

    def route(r):
        if r.request.url.startswith(base) or r.request.url.startswith("data:"):
            r.continue_()
        else:
            off_host.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    problems: dict[str, list[str]] = defaultdict(list)
    links: set[str] = set()
    axe_counts: dict[str, int] = defaultdict(int)
    shot_tracks: set[str] = set()
    try:
        for docname in pages:
            page = context.new_page()
            errors = problems[docname]
            page.on(
                "console",
                lambda m, e=errors: (
                    e.append(f"console {m.type}: {m.text}") if m.type == "error" else None
                ),
            )
            page.on("pageerror", lambda exc, e=errors: e.append(f"page error: {exc}"))
            page.on("requestfailed", lambda r, e=errors: e.append(f"failed: {r.url}"))
            page.on(
                "response",
                lambda r, e=errors: (
                    e.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None
                ),
            )
            url = base + docname + ".html"
            response = page.goto(url, wait_until="load")
            assert response is not None and response.ok, url
            page.wait_for_load_state("networkidle")
            if page.locator(".math").count():
                page.wait_for_function(
                    "() => window.MathJax && MathJax.startup && MathJax.startup.promise",
                    timeout=30_000,
                )
                page.evaluate("() => MathJax.startup.promise")
                typeset = page.locator("mjx-container").count()
                if typeset < page.locator(".math").count():
                    errors.append(f"MathJax typeset {typeset} of {page.locator('.math').count()}")
            broken_images = page.evaluate(
                "() => Array.from(document.images)"
                ".filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src)"
            )
            errors += [f"image did not load: {src}" for src in broken_images]
            if docname.startswith("solutions/"):
                toggle = page.locator("details.hide").first
                code = toggle.locator(".cell_input")
                if code.is_visible():
                    errors.append("solution visible before 'Show solution' is clicked")
                toggle.locator("summary").click()
                page.evaluate("() => Promise.all(document.getAnimations().map(a => a.finished))")
                if not code.is_visible():
                    errors.append("'Show solution' did not show the solution")
            page.add_script_tag(path=str(AXE))
            result = page.evaluate(
                "async () => { const r = await axe.run(document, "
                "{resultTypes: ['violations']}); return r.violations.map(v => "
                "({id: v.id, impact: v.impact, nodes: v.nodes.length, "
                "target: v.nodes[0].target.join(' ')})); }"
            )
            for v in result:
                axe_counts[v["impact"]] += v["nodes"]
                if v["impact"] in BAD_IMPACT:
                    errors.append(f"axe {v['impact']} {v['id']} x{v['nodes']}: {v['target']}")
            hrefs = page.evaluate("() => Array.from(document.links).map(a => a.href)")
            links |= {urldefrag(h)[0] for h in hrefs if h.startswith(base)}
            track = track_of(docname)
            if screenshots and track and track not in shot_tracks:
                SCREENSHOTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(SCREENSHOTS / f"{track}.png"), full_page=False)
                page.evaluate("() => window.scrollTo(0, document.body.scrollHeight / 3)")
                page.screenshot(path=str(SCREENSHOTS / f"{track}-figure.png"))
                shot_tracks.add(track)
            page.close()
        for link in sorted(links):
            status = context.request.get(link).status
            if status != 200:
                problems["links"].append(f"HTTP {status}: {link}")
    finally:
        context.close()
        httpd.shutdown()
        httpd.server_close()
    return {
        "pages": len(pages),
        "links": len(links),
        "axe": dict(axe_counts),
        "off_host": off_host,
        "problems": {k: v for k, v in problems.items() if v},
        "tracks": sorted(shot_tracks),
    }


def _report(name: str, result: dict) -> None:
    BUILD.mkdir(exist_ok=True)
    (BUILD / f"browser-{name}.json").write_text(json.dumps(result, indent=1) + "\n")


def test_course_edition_in_chromium(browser, course_html):
    result = check_edition(browser, course_html, toc_pages("_toc.yml"), screenshots=True)
    _report("course", result)
    assert not result["off_host"], result["off_host"]
    assert not result["problems"], json.dumps(result["problems"], indent=1)
    tracks = {track_of(p) for p in toc_pages("_toc.yml")} - {None}
    assert set(result["tracks"]) == tracks
    for track in tracks:
        assert (SCREENSHOTS / f"{track}.png").stat().st_size > 10_000


def test_student_edition_in_chromium(browser, student_html):
    result = check_edition(browser, student_html, toc_pages("_toc_student.yml"), screenshots=False)
    _report("student", result)
    assert not result["off_host"], result["off_host"]
    assert not result["problems"], json.dumps(result["problems"], indent=1)


def test_the_route_block_catches_an_off_host_request(browser, tmp_path):
    """Guards the guard: a page that loads a CDN script is reported."""
    (tmp_path / "index.html").write_text(
        '<!doctype html><html lang="en"><head><title>t</title>'
        '<script src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js"></script>'
        "</head><body><main><h1>t</h1></main></body></html>"
    )
    result = check_edition(browser, tmp_path, ["index"], screenshots=False)
    assert result["off_host"] == ["https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js"]
