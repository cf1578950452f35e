"""Every pytest run, whatever it collects (tests, notebooks, solutions, src doctests):
progress records go to a fresh temporary folder, never to the developer's home, and
hint ladders start from their first step in each test."""

import os
import tempfile

import pytest

_PROGRESS = tempfile.TemporaryDirectory(prefix="emcourse-progress-")
os.environ["EMCOURSE_PROGRESS_DIR"] = _PROGRESS.name


@pytest.fixture(autouse=True)
def _fresh_hint_ladders():
    from emcourse.checks import _ladder

    _ladder.reset()
