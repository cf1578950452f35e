"""The exercise pipeline: solutions/ -> exercises/ stubs, in sync, and runnable.

Unit tests use small notebooks written in a temp dir. The repository tests are
parametrized over the real ``solutions/``: ``exercises/`` must be exactly what
the generator makes, every solution's checks pass under
``EMCOURSE_CHECKS_STRICT=1``, and every stub's check says "not done yet".
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat
import pytest

from emcourse import exercises
from emcourse.exercises import (
    GENERIC_HINT,
    SolutionMarkupError,
    build,
    build_all,
    check_all,
    stub_source,
)

REPO = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted(
    p for p in (REPO / "solutions").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts
)
SOLUTION_IDS = [p.relative_to(REPO / "solutions").as_posix() for p in SOLUTIONS]

FUNCTION_SOLUTION = """\
import numpy as np

def double(x):
    \"\"\"Twice x.\"\"\"
    ### BEGIN SOLUTION
    y = 2 * x
    return y
    ### END SOLUTION
"""

SHEET_CELLS = [
    ("markdown", "# Double a number\n\nWrite `double`.", {}),
    ("code", "from emcourse import checks\nimport numpy as np", {}),
    ("code", FUNCTION_SOLUTION.rstrip("\n"), {}),
    (
        "code",
        'checks.check_function(double, 3.0, name="double", expected=6.0, hint="x + x works")',
        {},
    ),
    ("markdown", "Why does it work?", {}),
    ("markdown", "Because multiplication **distributes**.", {"tags": ["solution"]}),
    (
        "code",
        "def halve(x):\n    ### BEGIN SOLUTION\n    return x / 2\n    ### END SOLUTION",
        {"tags": ["keep-me"], "collapsed": True},
    ),
    ("code", 'checks.check_function(halve, 3.0, name="halve", expected=1.5)', {}),
    (
        "code",
        "def box_size_angstrom(vol):\n    ### BEGIN SOLUTION\n"
        "    return tuple(n * s for n, s in zip(vol.shape, vol.voxel_size_zyx))\n"
        "    ### END SOLUTION",
        {},
    ),
    ("code", "checks.box_size_angstrom(box_size_angstrom);", {}),
]


def make_notebook(cells=SHEET_CELLS) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python", "version": "3.11.7"},
        "widgets": {"state": {}},
        "toc-autonumbering": True,
    }
    for i, (kind, source, meta) in enumerate(cells):
        new = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
        cell = new(source)
        cell.id = f"c{i}"
        cell.metadata = dict(meta)
        if kind == "code":
            cell.execution_count = 7
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="old\n")]
        nb.cells.append(cell)
    return nb


@pytest.fixture
def course(tmp_path):
    """A course root with one solution notebook."""
    path = tmp_path / "solutions" / "00-test" / "01-double.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(make_notebook(), path)
    return tmp_path


# -- the stub -------------------------------------------------------------------


def test_stub_keeps_indentation():
    out = stub_source(FUNCTION_SOLUTION)
    assert out == (
        "import numpy as np\n\ndef double(x):\n"
        '    """Twice x."""\n'
        f'    raise NotImplementedError("{GENERIC_HINT}")\n'
    )
    assert "2 * x" not in out


def test_several_blocks_and_no_trailing_newline():
    src = (
        "def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n\n"
        "class A:\n    def g(self):\n        ### BEGIN SOLUTION\n"
        "        pass\n        ### END SOLUTION"
    )
    out = stub_source(src)
    assert f'    raise NotImplementedError("{GENERIC_HINT}")\n' in out
    assert out.endswith(f'        raise NotImplementedError("{GENERIC_HINT}")')
    compile(out, "<stub>", "exec")


def test_a_hint_in_a_solution_is_refused_it_belongs_to_the_check():
    src = "def f():\n    ### BEGIN SOLUTION\n    # HINT: use np.sum\n    ### END SOLUTION\n"
    with pytest.raises(SolutionMarkupError, match="line 3: '# HINT:'.*ladder"):
        stub_source(src, where="cell")


def test_a_committed_answer_becomes_an_unset_name():
    src = (
        "### BEGIN SOLUTION\nmy_guess = 0.33\nchoice = 'b'\n### END SOLUTION\nchecks.q(my_guess)\n"
    )
    out = stub_source(src)
    assert out == "my_guess = ...  # your answer\nchoice = ...  # your answer\nchecks.q(my_guess)\n"
    # anything but plain assignments, or inside a function, stays a raising stub
    for src in (
        "### BEGIN SOLUTION\nx = 1\nprint(x)\n### END SOLUTION\n",
        "def f():\n    ### BEGIN SOLUTION\n    x = 1\n    ### END SOLUTION\n",
    ):
        assert "raise NotImplementedError" in stub_source(src)


@pytest.mark.parametrize(
    ("src", "words"),
    [
        ("### END SOLUTION\n", "without a matching"),
        ("### BEGIN SOLUTION\nx = 1\n", "has no '### END SOLUTION'"),
        ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION\n", "inside the block"),
    ],
)
def test_bad_markers_are_named(src, words):
    with pytest.raises(SolutionMarkupError, match=words) as info:
        stub_source(src, where="solutions/x.ipynb, cell 3")
    assert "solutions/x.ipynb, cell 3" in str(info.value)


# -- whole notebooks ------------------------------------------------------------


def test_build_writes_a_clean_student_copy(course):
    changed = build_all(course)
    target = course / "exercises" / "00-test" / "01-double.ipynb"
    assert changed == [target]
    text = target.read_text(encoding="utf-8")
    assert text.endswith("}\n") and text.startswith('{\n "cells": [\n  {\n')  # indent=1
    nb = nbformat.read(target, as_version=4)
    nbformat.validate(nb)
    assert set(nb.metadata) == {"kernelspec", "language_info"}
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code)
    assert all(set(c.metadata) <= {"tags"} for c in nb.cells)
    assert [c.id for c in nb.cells] == [f"c{i}" for i in range(len(SHEET_CELLS))]
    assert f'raise NotImplementedError("{GENERIC_HINT}")' in nb.cells[2].source
    assert "y = 2 * x" not in text and "distributes" not in text
    assert nb.cells[5].source == exercises.MARKDOWN_ANSWER and nb.cells[5].metadata == {}
    assert nb.cells[6].metadata == {"tags": ["keep-me"]}
    assert nb.cells[0].source == SHEET_CELLS[0][1]  # untouched cells stay as they are


def test_build_is_deterministic_and_idempotent(course, tmp_path):
    build_all(course)
    target = course / "exercises" / "00-test" / "01-double.ipynb"
    first = target.read_bytes()
    mtime = target.stat().st_mtime_ns
    assert build_all(course) == []  # nothing to do, file not rewritten
    assert target.read_bytes() == first and target.stat().st_mtime_ns == mtime
    # a fresh build elsewhere gives the same bytes
    again = tmp_path / "again.ipynb"
    assert build(course / "solutions" / "00-test" / "01-double.ipynb", again)
    assert again.read_bytes() == first
    # the generator leaves a student copy unchanged (nothing left to stub)
    twice = tmp_path / "twice.ipynb"
    build(target, twice)
    assert twice.read_bytes() == first


def test_markdown_answer_blocks_are_cut():
    nb = make_notebook(
        [("markdown", "Question?\n### BEGIN SOLUTION\nThe answer.\n### END SOLUTION", {})]
    )
    out = exercises.make_exercise(nb)
    assert out.cells[0].source == f"Question?\n{exercises.MARKDOWN_ANSWER}"


def test_cells_that_call_an_unfinished_function_are_tagged_to_raise():
    stub = "def {}(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION"
    cells = [
        ("code", stub.format("f"), {}),
        ("code", "checks.check_function(f, 1.0, name='f', expected=1.0)", {}),  # passed, not called
        ("code", "y = f(1)", {}),  # called
        ("code", "def g(x):\n    return f(x) + 1", {}),  # a finished function that calls f
        ("code", "for v in (1, 2):\n    print(g(v))", {}),  # called through g
        ("code", "def h(x):\n    return 2 * x\n\nh(3)", {}),  # unrelated
        ("code", "%timeit f(1)", {}),  # not plain Python: left alone
        ("code", "print(f)", {"tags": ["keep-me"]}),
        ("code", "def f(x):\n    return x\n\nf(2)", {}),  # the learner's own, finished f
        ("code", "### BEGIN SOLUTION\nprint(42)\n### END SOLUTION", {}),  # a top-level stub
        ("code", "### BEGIN SOLUTION\nanswer = 42\n### END SOLUTION", {}),  # committed answer
    ]
    out = exercises.make_exercise(make_notebook(cells))
    tags = [c.metadata.get("tags", []) for c in out.cells]
    raising = [i for i, t in enumerate(tags) if exercises.RAISES_TAG in t]
    assert raising == [2, 4, 9]
    assert tags[7] == ["keep-me"]


def test_check_all_finds_missing_changed_and_stale(course):
    assert any("is missing" in p for p in check_all(course))
    build_all(course)
    assert check_all(course) == []
    target = course / "exercises" / "00-test" / "01-double.ipynb"
    target.write_text(target.read_text().replace(exercises.GENERIC_HINT, "hand edit"))
    assert any("differs" in p for p in check_all(course))
    stale = course / "exercises" / "00-test" / "02-gone.ipynb"
    stale.write_text(target.read_text())
    assert any("02-gone.ipynb has no solutions/" in p for p in check_all(course))
    changed = build_all(course)
    assert stale in changed and not stale.exists() and check_all(course) == []


def test_empty_course_builds_nothing(tmp_path):
    assert build_all(tmp_path) == [] and check_all(tmp_path) == []


# -- the repository's own sheets ------------------------------------------------


def test_exercises_folder_matches_solutions():
    lessons = [
        p for p in (REPO / "notebooks").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts
    ]
    if lessons:  # once the course has lessons it has exercise sheets
        assert SOLUTIONS, "notebooks/ has lessons but solutions/ has no exercise sheet"
    assert check_all(REPO) == []


def test_docstring_examples():
    import doctest

    assert doctest.testmod(exercises).failed == 0


@pytest.mark.parametrize("solution", SOLUTIONS, ids=SOLUTION_IDS)
def test_each_solution_has_its_generated_exercise(solution):
    rel = solution.relative_to(REPO / "solutions")
    exercise = REPO / "exercises" / rel
    assert exercise.is_file(), f"exercises/{rel} missing: run `emcourse exercises build`"
    nb = nbformat.read(solution, as_version=4)
    sources = "".join(c.source for c in nb.cells if c.cell_type == "code")
    assert exercises.BEGIN in sources, f"solutions/{rel} has no '{exercises.BEGIN}' block"
    assert "checks." in sources, f"solutions/{rel} calls no check"


# -- executing sheets -----------------------------------------------------------


def _text(outputs) -> str:
    parts = []
    for out in outputs:
        if out.output_type == "stream":
            parts.append(out.text)
        elif out.output_type in {"display_data", "execute_result"}:
            parts.append(out.data.get("text/plain", ""))
        elif out.output_type == "error":
            parts.append(f"{out.ename}: {out.evalue}")
    return "\n".join(parts)


def execute(path: Path, monkeypatch, tmp_path, *, strict: bool) -> nbformat.NotebookNode:
    """Run a notebook in a fresh kernel, offline and static; keep going on errors."""
    from nbclient import NotebookClient

    monkeypatch.setenv("EMCOURSE_OFFLINE", "1")
    monkeypatch.setenv("EMCOURSE_STATIC", "1")
    monkeypatch.setenv("EMCOURSE_DATA_DIR", str(tmp_path / "data"))
    if strict:
        monkeypatch.setenv("EMCOURSE_CHECKS_STRICT", "1")
    else:
        monkeypatch.delenv("EMCOURSE_CHECKS_STRICT", raising=False)
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=300,
        kernel_name="python3",
        allow_errors=not strict,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute(env=dict(os.environ))
    return nb


PREDICT = "Commit your prediction first"
CHOOSE = "Choose an option first"


def assert_exercise_runs_and_reports_not_done(nb: nbformat.NotebookNode, name: str) -> None:
    """Cells before the first stub run; every check after a stub says "not done yet" and
    gives no hint (a hint comes only after a wrong attempt); a stub's message is never a
    hint; the sheet asks at least one predict-then-run and one interpretation question,
    whose checks refuse to show anything before an answer is committed."""
    seen_stub = False
    n_checks = 0
    asked = set()
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        text = _text(cell.outputs)
        errored = any(o.output_type == "error" for o in cell.outputs)
        # the generator tags exactly the cells that raise (else the student book fails)
        tagged = exercises.RAISES_TAG in cell.metadata.get("tags", [])
        assert tagged == errored, (
            f"{name}, cell {index + 1}: raised {errored}, tagged {exercises.RAISES_TAG} {tagged}"
        )
        assert not tagged or "NotImplementedError" in text, (name, index + 1, text)
        if "raise NotImplementedError(" in cell.source:
            seen_stub = True
            messages = re.findall(r"raise NotImplementedError\((.*)\)", cell.source)
            assert set(messages) == {f'"{exercises.GENERIC_HINT}"'}, (name, index + 1, messages)
        if "= ...  # your answer" in cell.source:
            seen_stub = True
        if not seen_stub:
            assert not errored, f"{name}, cell {index + 1} (before the first stub) failed:\n{text}"
        elif "checks." in cell.source:
            n_checks += 1
            assert "not done yet" in text, (
                f"{name}, cell {index + 1}: the check should say 'not done yet', got:\n{text}"
            )
            assert "Hint" not in text, f"{name}, cell {index + 1}: a hint before any attempt"
            asked |= {q for q in (PREDICT, CHOOSE) if q in text}
            assert "Traceback" not in text and not errored, (
                f"{name}, cell {index + 1}: a check must not raise on a stub:\n{text}"
            )
    assert seen_stub, f"{name} has no stub"
    assert n_checks, f"{name} has no check cell after a stub"
    assert PREDICT in asked, f"{name} asks no predict-then-run question"
    assert CHOOSE in asked, f"{name} asks no interpretation question"


@pytest.mark.notebook
def test_generated_sheet_runs_end_to_end(course, monkeypatch, tmp_path):
    """The helper above, on the small sheet: stubs report, the solution passes."""
    build_all(course)
    exercise = course / "exercises" / "00-test" / "01-double.ipynb"
    nb = execute(exercise, monkeypatch, tmp_path, strict=False)
    with pytest.raises(AssertionError, match="asks no predict-then-run question"):
        assert_exercise_runs_and_reports_not_done(nb, "01-double")
    assert "`double` still raises NotImplementedError" in _text(nb.cells[3].outputs)
    solved = execute(
        course / "solutions" / "00-test" / "01-double.ipynb", monkeypatch, tmp_path, strict=True
    )
    assert "✔ double: passed" in _text(solved.cells[3].outputs)
    # a solution whose check fails fails the strict run (and so nbval)
    from nbclient.exceptions import CellExecutionError

    wrong = make_notebook(
        [(k, src.replace("y = 2 * x", "y = 3 * x"), m) for k, src, m in SHEET_CELLS]
    )
    wrong_path = tmp_path / "wrong.ipynb"
    nbformat.write(wrong, wrong_path)
    with pytest.raises(CellExecutionError, match="CheckFailed"):
        execute(wrong_path, monkeypatch, tmp_path, strict=True)


@pytest.mark.notebook
@pytest.mark.parametrize("solution", SOLUTIONS, ids=SOLUTION_IDS)
def test_exercise_stubs_report_not_done(solution, monkeypatch, tmp_path):
    rel = solution.relative_to(REPO / "solutions")
    nb = execute(REPO / "exercises" / rel, monkeypatch, tmp_path, strict=False)
    assert_exercise_runs_and_reports_not_done(nb, f"exercises/{rel.as_posix()}")


@pytest.mark.notebook
@pytest.mark.parametrize("solution", SOLUTIONS, ids=SOLUTION_IDS)
def test_solution_passes_its_checks(solution, monkeypatch, tmp_path):
    # strict: a failing check raises CheckFailed, which fails the execution
    execute(solution, monkeypatch, tmp_path, strict=True)
