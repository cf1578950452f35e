"""The real-data pass: every lesson, solution and exercise sheet on real archive bytes.

The first pass of ``make test`` runs the notebooks offline on the synthetic
stand-ins. This second pass (``pytest -m realdata``) runs each of them again in
a fresh kernel that is online, but only to a mirror on 127.0.0.1 serving the
real files of ``realdata.REAL_FILES`` in their archives' path layout, from an
empty cache. A stand-in announced for a dataset the mirror serves fails the
test: the real file was not used. Datasets without a real file here (the
cryoET Data Portal tomogram) still get their announced stand-in.

Without the fixtures folder every test here skips, saying why.
"""

from __future__ import annotations

import time
from pathlib import Path

import nbformat
import pytest
from conftest import ArchiveServer
from realdata import (
    REAL_FILES,
    build_mirror,
    real_pass_env,
    require_fixtures,
    standins_announced,
)
from test_exercises import _text, execute

REPO = Path(__file__).resolve().parents[1]


def _notebooks(folder: str) -> list[Path]:
    return sorted(
        p for p in (REPO / folder).rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts
    )


def _ids(paths: list[Path]) -> list[str]:
    return [p.relative_to(REPO).as_posix() for p in paths]


LESSONS, SOLUTIONS, EXERCISES = (_notebooks(f) for f in ("notebooks", "solutions", "exercises"))

# Lessons known to fail on the real files, with the reason (strict xfail: a fix must remove them).
KNOWN_FAILING: dict[str, str] = {}


def _params(paths: list[Path]) -> list:
    return [
        pytest.param(
            p,
            id=rel,
            marks=[pytest.mark.xfail(reason=KNOWN_FAILING[rel], strict=True)]
            if rel in KNOWN_FAILING
            else [],
        )
        for p, rel in zip(paths, _ids(paths), strict=True)
    ]


@pytest.fixture(scope="session")
def real_mirror(tmp_path_factory):
    """The fixtures served on 127.0.0.1 in the archives' layout (skips without them)."""
    require_fixtures()
    root = tmp_path_factory.mktemp("real-mirror")
    build_mirror(root)
    server = ArchiveServer(root)
    yield server
    server.stop()


def _served_name_urls() -> dict[str, str]:
    from emcourse import data
    from emcourse.data.registry import file_urls

    return {  # an entry of several files (a [NAME.files] table) is served when one of them is
        name: url
        for name, e in data.registry().items()
        for url in file_urls(e).values()
        if url in REAL_FILES
    }


def run_on_real_data(path: Path, server: ArchiveServer, home: Path, *, strict: bool):
    """Execute ``path`` in a fresh kernel against the mirror; return the notebook and its text.

    ``strict``: a cell error (a failed assertion or check) fails at once;
    otherwise errors are kept in the outputs (exercise stubs raise by design).
    Then no stand-in may have been announced for a dataset the mirror serves.
    """
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    env = real_pass_env(server.url, home, strict_checks=strict)
    first = len(server.log)
    start = time.perf_counter()
    client = NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        allow_errors=not strict,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute(env=env)
    text = _text(out for cell in nb.cells for out in cell.get("outputs", []))
    served = _served_name_urls()
    wrong = [name for name in standins_announced(text) if name in served]
    assert not wrong, (
        f"{path.name}: a stand-in was announced for {wrong}, which the mirror serves "
        f"({[served[n] for n in wrong]}): the real file was not used."
    )
    fetched = sorted({p for p, _ in server.log[first:]})
    print(f"{path.relative_to(REPO)}: {time.perf_counter() - start:.0f} s, fetched {fetched}")
    return nb, text


@pytest.mark.realdata
@pytest.mark.notebook
@pytest.mark.parametrize("lesson", _params(LESSONS))
def test_lesson_on_real_data(lesson, real_mirror, tmp_path):
    run_on_real_data(lesson, real_mirror, tmp_path, strict=True)


@pytest.mark.realdata
@pytest.mark.notebook
@pytest.mark.parametrize("solution", _params(SOLUTIONS))
def test_solution_on_real_data(solution, real_mirror, tmp_path):
    # EMCOURSE_CHECKS_STRICT=1: a failing check raises, and strict execution fails
    run_on_real_data(solution, real_mirror, tmp_path, strict=True)


@pytest.mark.realdata
@pytest.mark.notebook
@pytest.mark.parametrize("exercise", _params(EXERCISES))
def test_exercise_stubs_on_real_data(exercise, real_mirror, tmp_path):
    from test_exercises import assert_exercise_runs_and_reports_not_done

    nb, _ = run_on_real_data(exercise, real_mirror, tmp_path, strict=False)
    assert_exercise_runs_and_reports_not_done(nb, exercise.relative_to(REPO).as_posix())


def page_banner(nb: nbformat.NotebookNode) -> dict[str, str]:
    """The executed page's data banner (after every update) as ``{dataset: status}``, in order."""
    (text,) = [
        out.data["text/plain"]
        for cell in nb.cells
        for out in cell.get("outputs", [])
        if out.get("output_type") == "display_data"
        and "emcourse-data-banner" in out.get("data", {}).get("text/html", "")
    ]
    prefix = "Data on this page: "
    assert text.startswith(prefix), text
    items = [item.rsplit(" (", 1) for item in text.removeprefix(prefix).split(" · ")]
    return {label: status.removesuffix(")") for label, status in items}


@pytest.mark.realdata
@pytest.mark.notebook
def test_the_offline_and_the_real_pass_show_different_banners(real_mirror, tmp_path, monkeypatch):
    """One lesson, run offline and then on the real files: its banner follows the data.

    A dataset the mirror serves is a stand-in ("offline") in the first run and
    real ("from the mirror") in the second; one it lacks is a stand-in in
    both, for different reasons.
    """
    from emcourse import data
    from emcourse.data.provenance import Record

    lesson = REPO / "notebooks" / "00-archives" / "01-public-archives.ipynb"
    offline = page_banner(execute(lesson, monkeypatch, tmp_path / "offline", strict=True))
    real_nb, _ = run_on_real_data(lesson, real_mirror, tmp_path / "real", strict=True)
    real = page_banner(real_nb)
    assert list(offline) == list(real), (offline, real)  # the same datasets, in the same order
    entries = data.registry()
    served = {Record(n, entries[n]["accession"]).label for n in _served_name_urls()}
    assert served & set(real), f"{lesson.name} loads no dataset the mirror serves: {real}"
    for label in real:
        assert offline[label] == "synthetic stand-in: offline", offline
        if label in served:
            assert real[label].startswith("real, ") and real[label].endswith("from the mirror")
        else:
            assert real[label] == "synthetic stand-in: not on the mirror", real


# -- the mechanism itself (no fixtures needed) ------------------------------------


def test_every_real_file_is_a_registry_dataset():
    """A typo in a REAL_FILES URL would leave the real file unserved: keys are registry URLs."""
    from emcourse import data
    from emcourse.data.registry import file_urls

    urls = {u for e in data.registry().values() for u in file_urls(e).values()}
    assert sorted(set(REAL_FILES) - urls) == []


def test_the_notice_pattern_matches_what_data_load_prints(data_env, monkeypatch, capsys):
    """The pass detects stand-ins by their announcement: it must match the real one."""
    from emcourse import data

    monkeypatch.setenv("EMCOURSE_OFFLINE", "1")
    data.load("empiar-10164-ts-01-mdoc")
    data.emdb_map(3197)
    assert standins_announced(capsys.readouterr().out) == ["empiar-10164-ts-01-mdoc", "emd-3197"]


def test_mirror_serves_the_fixtures_in_archive_layout(tmp_path):
    """build_mirror + ArchiveServer give the fixture's bytes at the archive path."""
    import urllib.request

    require_fixtures()
    build_mirror(tmp_path / "mirror")
    server = ArchiveServer(tmp_path / "mirror")
    try:
        url = next(iter(REAL_FILES))
        local = server.url + "/" + url.split("://", 1)[1]
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(local, timeout=10) as r:
            body = r.read()
        from conftest import FIXTURES

        assert body == (FIXTURES / REAL_FILES[url]).read_bytes()
    finally:
        server.stop()


def test_every_served_dataset_loads_as_real(real_mirror, data_env, monkeypatch):
    """Each REAL_FILES entry passes the data layer's checks and opens as real data."""
    from emcourse import data

    monkeypatch.setenv("EMCOURSE_MIRROR", real_mirror.url)
    for name in _served_name_urls():
        loaded = data.load(name, standin=False)
        source = loaded["source"] if isinstance(loaded, dict) else getattr(loaded, "source", None)
        assert source is None or source.real, name
