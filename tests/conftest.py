"""Shared fixtures: a local HTTP server in the archives' path layout, and an isolated cache.

Also ``toc_files``, the pages a table of contents of the book lists.

The data-layer tests never reach a real archive: ``data_env`` points every
proxy variable at a closed local port (so any request to a real host fails at
once, in this process and in subprocesses) and exempts 127.0.0.1.
"""

from __future__ import annotations

import gzip
import os
import re
import tempfile
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit

import numpy as np
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
# EMCOURSE_FIXTURES overrides the location (set it to a missing folder to check the skips).
FIXTURES = Path(os.environ.get("EMCOURSE_FIXTURES", REPO / ".." / "shared" / "fixtures")).resolve()
EMD_3197_URL = "https://ftp.ebi.ac.uk/pub/databases/emdb/structures/EMD-3197/map/emd_3197.map.gz"
EMD_1832_URL = "https://ftp.ebi.ac.uk/pub/databases/emdb/structures/EMD-1832/map/emd_1832.map.gz"
CLOSED_PORT_URL = "http://127.0.0.1:9"


def toc_files(name: str = "_toc.yml") -> set[str]:
    """Every page that the table of contents ``name`` (at the repository root) lists."""
    toc = yaml.safe_load((REPO / name).read_text())
    files = {toc["root"]}
    for part in toc["parts"]:
        files |= {chapter["file"] for chapter in part["chapters"]}
    return files


def skip_reason(what: str, why: str) -> str:
    """The one wording of every skip: what the test needs and why, and that it is not here.

    ``e2e/e2e_support.py`` words its skips the same way; ``test_skips_are_worded_one_way``
    (tests/test_cli.py) keeps every other test from calling ``pytest.skip`` itself.

    Examples
    --------
    >>> skip_reason("../shared/fixtures/emdb", "real archive files")
    'needs ../shared/fixtures/emdb (real archive files), not present'
    """
    return f"needs {what} ({why}), not present"


def needs(what: str, why: str) -> NoReturn:
    """Skip the calling test: it needs ``what`` (for ``why``), which is not here."""
    pytest.skip(skip_reason(what, why))


def shown(path: Path) -> str:
    """``path`` as a reader of the skip finds it: ``../shared/fixtures/...`` by default."""
    default = (REPO / ".." / "shared" / "fixtures").resolve()
    path = Path(path).resolve()
    return str(path).replace(str(default), "../shared/fixtures", 1)


def fixture_file(rel: str) -> Path:
    """A file of ../shared/fixtures, or skip the test when it is not there."""
    path = FIXTURES / rel
    if not path.is_file():
        needs(shown(path), "a real archive file")
    return path


def module(name: str, why: str):
    """Import ``name``, or skip the test that needs it (instead of ``pytest.importorskip``)."""
    import importlib

    try:
        return importlib.import_module(name)
    except ImportError:
        needs(name, why)


class _RangeHandler(SimpleHTTPRequestHandler):
    """Static files with single-range ``Range: bytes=a-b`` support and a request log."""

    def _fault(self) -> tuple | None:
        faults = self.server.faults
        return faults.get(urlsplit(self.path).path) or faults.get("*")

    def do_HEAD(self):  # noqa: N802 - http.server's naming
        if self._fault() and self._fault()[0] == "html":
            return self._html(head=True)
        return super().do_HEAD()

    def _html(self, *, head: bool = False) -> None:
        body = b"<!DOCTYPE html><html><body>Welcome to our portal</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _faulty_body(self, fault: tuple, path: str) -> None:
        """Serve ``path`` with a fault: drip, stall or cut (see :class:`ArchiveServer`)."""
        data = Path(path).read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        what, n = fault[0], int(fault[1])
        try:
            if what == "drip":  # n bytes every 0.1 s, until the client gives up
                for i in range(0, len(data), n):
                    if self.server.stopping.is_set():
                        return
                    self.wfile.write(data[i : i + n])
                    self.wfile.flush()
                    time.sleep(0.1)
            elif what in ("stall", "cut"):  # the first n bytes, then silence or a closed socket
                self.wfile.write(data[:n])
                self.wfile.flush()
                if what == "stall":
                    self.server.stopping.wait(fault[2] if len(fault) > 2 else 5.0)
        except OSError:  # the client hung up
            pass
        self.close_connection = True

    def do_GET(self):  # noqa: N802 - http.server's naming
        self.server.log.append((self.path, self.headers.get("Range")))
        if self.server.delay:
            time.sleep(self.server.delay)
        fault = self._fault()
        if fault and fault[0] == "html":
            return self._html()
        if fault and os.path.isfile(self.translate_path(self.path)):
            return self._faulty_body(fault, self.translate_path(self.path))
        rng = self.headers.get("Range")
        path = self.translate_path(self.path)
        if rng and os.path.isfile(path):
            m = re.fullmatch(r"bytes=(\d+)-(\d*)", rng.strip())
            data = Path(path).read_bytes()
            if not m or int(m[1]) >= len(data):
                self.send_error(416, "Requested Range Not Satisfiable")
                return
            first = int(m[1])
            last = min(int(m[2]) if m[2] else len(data) - 1, len(data) - 1)
            body = data[first : last + 1]
            self.send_response(206)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Range", f"bytes {first}-{last}/{len(data)}")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()

    def log_message(self, *args):  # keep test output quiet
        pass


class ArchiveServer:
    """A mirror on 127.0.0.1 whose paths are ``/<archive host>/<archive path>``.

    ``faults`` injects failures by request path (or ``"*"`` for every path):
    ``("html",)`` answers every path with an HTML page and status 200;
    ``("drip", n)`` sends n bytes every 0.1 s; ``("stall", n[, seconds])`` sends
    n bytes and then nothing (5 s by default); ``("cut", n)`` sends n bytes of a
    longer promised length and closes the connection.
    """

    def __init__(self, root: Path):
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        handler = partial(_RangeHandler, directory=str(root))
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.log = []
        self.httpd.delay = 0.0
        self.httpd.faults = {}
        self.httpd.stopping = threading.Event()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def log(self) -> list:
        return self.httpd.log

    @property
    def faults(self) -> dict:
        return self.httpd.faults

    def fault(self, archive_url: str, *spec) -> None:
        """Serve ``archive_url`` with the fault ``spec`` (see the class docstring)."""
        self.httpd.faults["/" + self.path_for(archive_url).relative_to(self.root).as_posix()] = spec

    @property
    def delay(self) -> float:
        return self.httpd.delay

    @delay.setter
    def delay(self, seconds: float) -> None:
        self.httpd.delay = seconds

    def path_for(self, archive_url: str) -> Path:
        parts = urlsplit(archive_url)
        return self.root / (parts.hostname + parts.path)

    def put(self, archive_url: str, content: bytes) -> Path:
        """Serve ``content`` where the mirror serves ``archive_url``."""
        path = self.path_for(archive_url)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        return path

    def stop(self) -> None:
        self.httpd.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def data_env(tmp_path, monkeypatch):
    """An empty cache in a temp dir, no mirror, online, and no way to reach real hosts."""
    from emcourse.data import cache as caches
    from emcourse.data import messages

    cache = tmp_path / "cache"
    monkeypatch.setenv("EMCOURSE_DATA_DIR", str(cache))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    # the last-resort cache lives in the temp folder: keep it inside the test too
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    monkeypatch.delenv("EMCOURSE_MIRROR", raising=False)
    monkeypatch.delenv("EMCOURSE_OFFLINE", raising=False)
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
        monkeypatch.setenv(var, CLOSED_PORT_URL)
    for var in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(var, "127.0.0.1,localhost")
    monkeypatch.setattr(messages, "_announced", set())
    monkeypatch.setattr(caches, "_hash_ok", {})
    monkeypatch.setattr(caches, "_format_ok", set())
    for var in ("EMCOURSE_STALL_TIMEOUT", "EMCOURSE_MIN_RATE"):
        monkeypatch.delenv(var, raising=False)
    return cache


@pytest.fixture
def archive_server(tmp_path, monkeypatch, data_env):
    """A local mirror (Range-capable) set as EMCOURSE_MIRROR."""
    server = ArchiveServer(tmp_path / "mirror")
    monkeypatch.setenv("EMCOURSE_MIRROR", server.url)
    yield server
    server.stop()


def synthetic_map_gz(tmp_path: Path, *, shape=(20, 20, 20), voxel_size=11.4, nxstart=-2) -> bytes:
    """A gzipped MRC map written with mrcfile (stand-in for an EMDB file)."""
    import mrcfile

    rng = np.random.default_rng(0)
    path = tmp_path / f"synthetic-{shape[0]}.mrc"
    with mrcfile.new(path, overwrite=True) as mrc:
        mrc.set_data(rng.standard_normal(shape).astype(np.float32))
        mrc.voxel_size = voxel_size
        mrc.header.nxstart = nxstart
    return gzip.compress(path.read_bytes())


@pytest.fixture(params=["real", "synthetic"])
def emd_3197_bytes(request, tmp_path) -> bytes:
    """EMD-3197 as the archive ships it: the real fixture, or a synthetic twin."""
    if request.param == "real":
        return fixture_file("emdb/emd_3197.map.gz").read_bytes()
    return synthetic_map_gz(tmp_path)
