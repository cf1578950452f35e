"""Shared constants and helpers of the end-to-end tests (fixtures are in conftest.py)."""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
BUILD = REPO / "_build"
COURSE_HTML = Path(os.environ.get("EMCOURSE_COURSE_HTML", BUILD / "html"))
STUDENT_HTML = Path(os.environ.get("EMCOURSE_STUDENT_HTML", BUILD / "student" / "_build" / "html"))
CHROMIUM = "/usr/bin/chromium"
# Chromium flags that work on a machine without a network (see the delivery notes).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE = REPO / "tools" / "vendor" / "node_modules" / "axe-core" / "axe.min.js"


def needs(what: str, why: str):
    """Skip the calling test: it needs ``what`` (for ``why``), not here.

    Worded as every skip of the course's tests (``skip_reason`` in tests/conftest.py).
    """
    pytest.skip(f"needs {what} ({why}), not present")


def toc_pages(toc: str) -> list[str]:
    """Every page a table of contents lists (docnames, in book order)."""
    data = yaml.safe_load((REPO / toc).read_text())
    pages = [data["root"]]
    for part in data["parts"]:
        pages += [chapter["file"] for chapter in part["chapters"]]
    return pages


def built(html: Path, what: str) -> Path:
    if not (html / "index.html").is_file():
        pytest.fail(f"{what} is not built at {html}: run `make {what}` first")
    return html


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def track_of(page: str) -> str | None:
    match = re.match(r"notebooks/([^/]+)/", page)
    return match.group(1) if match else None
