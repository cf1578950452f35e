"""A real JupyterLab on 127.0.0.1, driven in headless Chromium: an exercise sheet runs.

The Lab is the one of this environment, with the settings the course installs
(``jupyter-config/``, put into ``etc/jupyter`` and ``share/jupyter/lab/settings``
by ``pip install``) and an empty user configuration. The exercise sheet
``exercises/00-archives/01-public-archives.ipynb`` is opened, "Run All Cells"
is pressed, and when the kernel is idle again: a widget (the slice viewer's
slider) is on the page, a figure is, every check cell printed its feedback
("not done yet" for the stubs), no cell has an error output, nothing was
written to stderr except the announced stand-in, and no news pop-up came up.
A control run with the course's Lab settings directory swapped for an empty
one shows the news question, so the pop-up check can fail.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from e2e_support import CHROMIUM, CHROMIUM_ARGS, REPO, free_port
from playwright import sync_api as playwright_sync

SHEET = "exercises/00-archives/01-public-archives.ipynb"
NEWS_QUESTION = "official Jupyter news"
SHIPPED = {
    REPO / "jupyter-config/jupyter_server_config.d/emcourse.json": Path(sys.prefix)
    / "etc/jupyter/jupyter_server_config.d/emcourse.json",
    REPO / "jupyter-config/lab-settings/overrides.d/emcourse.json": Path(sys.prefix)
    / "share/jupyter/lab/settings/overrides.d/emcourse.json",
}


def start_lab(tmp: Path, *, app_settings_dir: Path | None = None):
    """Start ``jupyter lab`` on a free loopback port; return (process, base URL, token)."""
    port, token = free_port(), secrets.token_hex(16)
    root = tmp / "root"
    (root / SHEET).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / SHEET, root / SHEET)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "EMCOURSE_STATIC"))}
    env.update(
        JUPYTER_CONFIG_DIR=str(tmp / "config"),  # no user configuration
        JUPYTERLAB_SETTINGS_DIR=str(tmp / "user-settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"),
        JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
        EMCOURSE_OFFLINE="1",
        EMCOURSE_DATA_DIR=str(tmp / "data"),
        PYTHONPATH=os.pathsep.join([str(REPO / "src"), env.get("PYTHONPATH", "")]).strip(
            os.pathsep
        ),
    )
    cmd = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--LabApp.expose_app_in_browser=True",
    ]
    if app_settings_dir is not None:
        cmd.append(f"--LabApp.app_settings_dir={app_settings_dir}")
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    log = open(tmp / "lab.log", "w")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=root)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError((tmp / "lab.log").read_text()[-3000:])
        try:
            if requests.get(f"{base}/api/status?token={token}", timeout=2).ok:
                return proc, base, token, log
        except requests.ConnectionError:
            pass
        time.sleep(0.5)
    proc.terminate()
    raise RuntimeError("JupyterLab did not start in 120 s:\n" + (tmp / "lab.log").read_text())


def stop_lab(proc, log) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log.close()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} missing: apt-get install -y chromium (make test-e2e does)")
    with playwright_sync.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


def open_lab(browser, base: str, token: str, path: str):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    local = (base, base.replace("http://", "ws://"), "data:", "blob:")
    off_host: list[str] = []

    def route(r):
        if r.request.url.startswith(local):
            r.continue_()
        else:
            off_host.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    context.off_host = off_host
    page = context.new_page()
    page.goto(f"{base}/lab/tree/{path}?token={token}")
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell", timeout=120_000)
    return context, page


def news_toasts(page) -> list[str]:
    return [t for t in page.locator(".Toastify__toast").all_inner_texts() if NEWS_QUESTION in t]


def test_shipped_lab_settings_are_installed():
    for source, installed in SHIPPED.items():
        assert installed.is_file(), f"{installed} missing: `pip install -e .` installs it"
        assert json.loads(installed.read_text()) == json.loads(source.read_text())


def test_exercise_sheet_runs_in_jupyterlab(browser, tmp_path):
    test_shipped_lab_settings_are_installed()
    proc, base, token, log = start_lab(tmp_path)
    try:
        context, page = open_lab(browser, base, token, SHEET)
        page.wait_for_function(
            "() => window.jupyterapp.shell.currentWidget?.sessionContext?.session?.kernel"
            "?.status === 'idle'",
            timeout=120_000,
        )
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        page.wait_for_function(
            """() => { const p = window.jupyterapp.shell.currentWidget;
              const cells = Array.from(p.content.model.cells).filter(c => c.type === 'code');
              const pending = cells.some(c => c.sharedModel.getSource().trim().length > 0
                                              && c.executionCount === null);
              return !pending && p.sessionContext.session.kernel.status === 'idle'; }""",
            timeout=300_000,
        )
        outputs = page.evaluate(
            """() => Array.from(window.jupyterapp.shell.currentWidget.content.model.cells)
                 .filter(c => c.type === 'code')
                 .map(c => ({source: c.sharedModel.getSource(), outputs: c.outputs.toJSON()}))"""
        )
        errors = [o for c in outputs for o in c["outputs"] if o["output_type"] == "error"]
        assert not errors, [f"{e['ename']}: {e['evalue']}" for e in errors]
        stderr = [
            o["text"]
            for c in outputs
            for o in c["outputs"]
            if o["output_type"] == "stream" and o["name"] == "stderr"
        ]
        unexpected = [t for t in stderr if "stand-in" not in t and "not done yet" not in t]
        assert not unexpected, unexpected
        checks = [c for c in outputs if c["source"].lstrip().startswith("checks.")]
        assert len(checks) >= 5
        for c in checks:
            text = json.dumps(c["outputs"])
            assert "not done yet" in text, (c["source"], text[:500])
        slider = ".jupyter-widgets .widget-slider, .jupyter-widgets input[type=range]"
        page.locator(slider).first.wait_for(state="visible", timeout=60_000)
        figures = page.locator('.jp-OutputArea-output[data-mime-type="image/png"] img')
        assert figures.count() >= 1
        assert figures.first.evaluate("i => i.naturalWidth") > 100
        time.sleep(3)  # the news question is asked a moment after start-up
        assert not news_toasts(page)
        assert not context.off_host, context.off_host
        page.screenshot(path=str(tmp_path / "lab.png"))
        shots = REPO / "_build" / "screenshots"
        shots.mkdir(parents=True, exist_ok=True)
        shutil.copy(tmp_path / "lab.png", shots / "jupyterlab-exercise.png")
        context.close()
    finally:
        stop_lab(proc, log)


def test_without_the_course_settings_lab_asks_about_news(browser, tmp_path):
    """Control: the same Lab with an empty settings directory pops the question up."""
    empty = tmp_path / "no-course-settings"
    empty.mkdir()
    proc, base, token, log = start_lab(tmp_path, app_settings_dir=empty)
    try:
        context, page = open_lab(browser, base, token, SHEET)
        page.locator(".Toastify__toast", has_text=NEWS_QUESTION).first.wait_for(timeout=60_000)
        assert news_toasts(page)
        context.close()
    finally:
        stop_lab(proc, log)
