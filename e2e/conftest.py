"""End-to-end tests (``make test-e2e``): the built books, a browser, JupyterLab, a hub.

They need what ``make test-e2e`` prepares and fail (never skip) when it is
missing: both books built (``make book book-student``), Debian's Chromium at
``/usr/bin/chromium``, ``tools/vendor/node_modules`` (``npm ci --prefix
tools/vendor``), and for the hub test root, ``/opt/emcourse-hub`` and the
system users that ``e2e/hub/setup.sh`` makes. The hub test fills its shared
data folder from ``../shared/fixtures`` (``EMCOURSE_FIXTURES`` to point
elsewhere) and skips, with the reason, where that folder does not exist.
External links are listed in ``_build/external-links.txt`` and fetched only
with ``EMCOURSE_CHECK_EXTERNAL_LINKS=1`` (a machine with a network).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from e2e_support import COURSE_HTML, STUDENT_HTML, built


@pytest.fixture(scope="session")
def course_html() -> Path:
    return built(COURSE_HTML, "book")


@pytest.fixture(scope="session")
def student_html() -> Path:
    return built(STUDENT_HTML, "book-student")
