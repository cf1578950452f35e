"""One place to start: `make lab` opens JupyterLab at the course root on start-here.ipynb.

The start page is generated from ``_toc.yml`` by ``make exercises``
(``book/_ext/emcourse_book.py``); these tests check that it is in step, that it
links every lesson and its exercise sheet (``exercises/``, never ``solutions/``,
which the student branch leaves out), and, in a real JupyterLab started the way
``make lab`` starts it (as root too), that the page opens and every link resolves.
"""

from __future__ import annotations

import importlib.util
import os
import re
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
import requests
from conftest import toc_files

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("emcourse_book", ROOT / "book/_ext/emcourse_book.py")
book_ext = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(book_ext)

START = ROOT / book_ext.START_PAGE
LINK = re.compile(r"\]\(([^)\s]+)\)")


def start_links() -> list[str]:
    nb = nbformat.read(START, as_version=4)
    return [link for cell in nb.cells for link in LINK.findall(cell.source)]


def test_start_page_is_generated_from_the_course_toc():
    expected = book_ext.start_page((ROOT / "_toc.yml").read_text(), ROOT)
    assert START.read_text() == expected, f"{START.name} is out of date: run `make exercises`"


def test_start_page_links_every_lesson_and_its_exercise_sheet_and_no_solution():
    links = start_links()
    lessons = {f for f in toc_files() if f.startswith("notebooks/")}
    assert lessons, "no lessons in _toc.yml"
    for lesson in lessons:
        assert f"{lesson}.ipynb" in links, lesson
        sheet = lesson.replace("notebooks/", "exercises/", 1) + ".ipynb"
        assert sheet in links, sheet
    assert not [link for link in links if link.startswith("solutions/")]
    for link in links:
        assert (ROOT / link).is_file(), f"{START.name} links {link}, which does not exist"


def test_make_lab_opens_the_start_page_at_the_course_root():
    out = subprocess.run(
        ["make", "-n", "-o", ".venv/.installed", "-o", ".venv/.installed-torch", "lab"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    (command,) = [line for line in out.splitlines() if "jupyter lab" in line and "echo" not in line]
    assert command.split()[-1] == book_ext.START_PAGE  # a file at the root: the root is served
    assert ("--allow-root" in command) == (os.geteuid() == 0)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def lab(tmp_path):
    """``jupyter lab`` as `make lab` runs it (--allow-root as root), headless, on loopback."""
    port, token = _free_port(), secrets.token_hex(16)
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER")}
    env.update(
        JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
        JUPYTERLAB_SETTINGS_DIR=str(tmp_path / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "workspaces"),
        JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
    )
    root_args = ["--allow-root"] if os.geteuid() == 0 else []
    cmd = [sys.executable, "-m", "jupyterlab", *root_args, book_ext.START_PAGE]
    cmd += ["--no-browser", "--ip=127.0.0.1", f"--port={port}", f"--IdentityProvider.token={token}"]
    log = (tmp_path / "lab.log").open("w")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    session = requests.Session()
    session.headers["Authorization"] = f"token {token}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"jupyter lab exited: {(tmp_path / 'lab.log').read_text()[-2000:]}")
            try:
                if session.get(f"{base}/api/status", timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"jupyter lab did not start: {(tmp_path / 'lab.log').read_text()}")
            time.sleep(0.5)
        yield base, session
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


@pytest.mark.notebook
def test_in_a_real_jupyterlab_the_start_page_opens_and_every_link_resolves(lab):
    base, session = lab
    page = session.get(f"{base}/lab/tree/{book_ext.START_PAGE}", timeout=30)
    assert page.status_code == 200
    assert session.get(f"{base}/api/contents/{book_ext.START_PAGE}", timeout=30).ok
    # a link in a notebook's markdown opens the file relative to the notebook: the root
    for link in start_links():
        reply = session.get(f"{base}/api/contents/{link}", params={"content": 0}, timeout=30)
        assert reply.status_code == 200, f"{link}: {reply.status_code} in JupyterLab"
        assert reply.json()["type"] in {"notebook", "file"}
    assert session.get(f"{base}/api/contents/solutions-do-not-exist", timeout=30).status_code == 404
