"""Hint ladders and progress records: a hint per wrong attempt, each outcome recorded locally."""

from __future__ import annotations

import json
import os
import stat

import pytest

from emcourse import checks, progress
from emcourse.checks import _ladder, _questions


@pytest.fixture
def records(tmp_path, monkeypatch):
    """The progress folder of this test, and a reader of what it holds."""
    folder = tmp_path / "progress"
    monkeypatch.setenv(progress.ENV, str(folder))
    monkeypatch.delenv(checks.STRICT_ENV, raising=False)
    return lambda: progress.read_records(folder)


def _doubler_check(fn):
    """A task with a two-step ladder and one diagnosis, as a track module writes one."""
    return checks.check_function(
        fn,
        3.0,
        name="double",
        expected=6.0,
        hint=("how many times the input?", "multiply the input by a number"),
        diagnoses=[(1.5, "that is half: multiply, don't divide.")],
    )


double_task = _ladder.as_task(_doubler_check, "double_task")


def stub(x):
    raise NotImplementedError("Replace this line with your code")


def test_hints_come_one_step_per_wrong_attempt(records, capsys):
    first = double_task(stub)
    assert first.status == "not done" and "Hint" not in str(first)
    wrong = [double_task(lambda x: x + 1) for _ in range(3)]
    shown = [str(r) for r in wrong]
    assert "Hint 1 of 2: how many times the input?" in shown[0]
    assert "multiply" not in shown[0]
    assert "Hint 2 of 2: multiply the input by a number" in shown[1]
    assert "how many times" not in shown[1]  # each step said once, not repeated
    assert "Hint 2 of 2" in shown[2]  # the last step stays
    assert double_task(lambda x: 2 * x).passed
    again = double_task(lambda x: x)
    assert "Hint 1 of 2" in str(again)  # a pass starts the ladder again


def test_a_diagnosis_is_said_instead_of_a_hint_and_keeps_the_step(records, capsys):
    r = double_task(lambda x: x / 2)
    assert "Diagnosis: that is half" in str(r) and "Hint" not in str(r)
    assert "Hint 1 of 2" in str(double_task(lambda x: x + 1))


def test_each_check_is_recorded_under_its_task_name(records, capsys):
    double_task(stub)
    double_task(lambda x: x / 2)
    double_task(lambda x: 2 * x)
    got = records()
    assert [r["status"] for r in got] == ["not done", "failed", "passed"]
    assert {r["task"] for r in got} == {"double_task"}
    assert got[1]["diagnosis"] == "that is half: multiply, don't divide."
    assert set(got[0]) == {"v", "user", "task", "check", "status", "diagnosis", "time"}
    assert got[0]["user"] == progress.user_name()


def test_course_checks_are_tasks_named_after_the_function(records, capsys):
    checks.box_size_angstrom(stub)
    checks.center_of_mass(stub)  # the US spelling is the same task
    assert [r["task"] for r in records()] == ["box_size_angstrom", "centre_of_mass"]


def test_records_are_private_and_never_follow_a_planted_link(records, tmp_path, capsys):
    double_task(stub)
    folder = tmp_path / "progress"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / progress.RECORD_FILE).stat().st_mode) == 0o600
    (folder / progress.RECORD_FILE).unlink()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_text("")
    os.symlink(elsewhere, folder / progress.RECORD_FILE)
    double_task(stub)
    assert elsewhere.read_text() == ""
    assert "progress is not recorded" in capsys.readouterr().err


def test_a_folder_others_can_write_is_refused(records, tmp_path, capsys):
    folder = tmp_path / "progress"
    folder.mkdir(mode=0o777)
    folder.chmod(0o777)
    double_task(stub)
    assert records() == []
    assert "can be written by other users" in capsys.readouterr().err


def test_an_unwritable_folder_costs_one_notice_never_a_check(tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv(progress.ENV, str(blocker / "progress"))
    progress._warned.clear()
    for _ in range(3):
        assert double_task(lambda x: 2 * x).passed
    assert capsys.readouterr().err.count("progress is not recorded") == 1


def test_recording_can_be_switched_off(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv(checks.STRICT_ENV, raising=False)
    monkeypatch.setenv(progress.ENV, "off")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert progress.progress_dir() is None
    double_task(stub)
    assert list(tmp_path.iterdir()) == []


def test_default_folder_is_in_the_users_data_home(monkeypatch, tmp_path):
    monkeypatch.delenv(progress.ENV)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert progress.progress_dir() == tmp_path / "emcourse"


def test_the_tests_never_write_to_the_developers_home():
    folder = progress.progress_dir()
    assert folder is not None and not folder.resolve().is_relative_to(os.path.expanduser("~"))


def test_malformed_lines_are_skipped(records, tmp_path, capsys):
    double_task(stub)
    path = tmp_path / "progress" / progress.RECORD_FILE
    with open(path, "a") as fh:
        fh.write("not json\n" + json.dumps({"task": 3, "status": "passed"}) + "\n{\n")
    assert len(records()) == 1


def test_summary_and_report_follow_the_task_map(records, capsys):
    checks.box_size_angstrom(lambda v: (1.0, 2.0, 3.0))
    checks.box_size_angstrom(
        lambda v: tuple(n * s for n, s in zip(v.shape, v.voxel_size_zyx, strict=True))
    )
    checks.central_slices(lambda d: None)
    s = progress.summary(records())
    assert s["box_size_angstrom"]["passed"] and s["box_size_angstrom"]["attempts"] == 2
    assert not s["central_slices"]["passed"]
    text = progress.report(records())
    assert "✔ Task 1: how big is the box?" in text
    assert "✘ Task 2: central slices" in text and "tried 1x" in text
    following = progress.task_map()[1]  # the next task after the box, in the sheet's order
    assert f"Next: {following['title']}\n  in {following['sheet']}" in text
    assert max(map(len, text.splitlines())) <= 100


def test_every_task_of_the_map_is_a_course_check():
    tasks = {t["task"] for t in progress.task_map()}
    assert tasks <= set(checks.TASKS)
    assert {getattr(checks, n).task for n in checks.TASKS} <= tasks


# -- predict, then run; interpretation -----------------------------------------


def test_a_prediction_refuses_to_reveal_before_a_guess(records, capsys):
    computed = []

    def actual():
        computed.append(1)
        return 0.33

    for guess in (..., None):
        r = _questions.prediction("wedge", guess, actual, explanation="why")
        assert r.status == "not done" and "0.33" not in str(r) and not computed
    r = _questions.prediction("wedge", 0.3, actual, explanation="why")
    assert r.passed and "the result is 0.33" in str(r) and "why" in str(r)
    r = _questions.prediction(
        "wedge", 0.5, actual, explanation="why", diagnoses=[(0.5, "half a sphere?")]
    )
    assert not r.passed and "Diagnosis: half a sphere?" in str(r) and "why" in str(r)
    r = _questions.prediction("wedge", "a third", actual, explanation="why")
    assert not r.passed and "give one number" in r.message


def test_a_choice_explains_the_right_option_and_diagnoses_a_wrong_one(records, capsys):
    ask = dict(
        options={"a": "A", "b": "B", "c": "C"},
        correct="b",
        explanation="because",
        why_not={"a": "not a", "c": "not c"},
    )
    assert _questions.choice("q", ..., **ask).status == "not done"
    r = _questions.choice("q", "(c)", **ask)
    assert not r.passed and r.diagnosis == "not c" and "because" not in str(r)
    assert _questions.choice("q", "B", **ask).passed
    assert "one of" in _questions.choice("q", "d", **ask).message
    with pytest.raises(ValueError, match="every wrong option"):
        _questions.choice("q", "a", **{**ask, "why_not": {"a": "x"}})


def test_feedback_renders_code_without_backticks():
    r = checks.CheckResult(False, "x", message="use `np.sum` here")
    assert "<code>np.sum</code>" in r._repr_html_() and "`" not in r._repr_html_()


def test_no_first_hint_repeats_the_stub_or_the_message(records, capsys):
    """Every check that takes one function, given an answer of None: the first hint is
    neither the stub's message nor a repeat of the check's own message."""
    import difflib
    import inspect

    from emcourse.exercises import GENERIC_HINT

    seen = 0
    for name in checks.TASKS:
        task = getattr(checks, name)
        required = [
            p
            for p in inspect.signature(task).parameters.values()
            if p.default is p.empty and p.kind is p.POSITIONAL_OR_KEYWORD
        ]
        if len(required) != 1:
            continue
        result = task(lambda *args, **kwargs: None)
        lines = str(result).splitlines()
        hints = [line.split(": ", 1)[1] for line in lines if line.strip().startswith("Hint")]
        if not hints:
            continue
        seen += 1
        hint = hints[0]
        for other in (GENERIC_HINT, result.message):
            ratio = difflib.SequenceMatcher(None, hint.lower(), other.lower()).ratio()
            assert ratio < 0.6 and hint not in other, (name, hint, other)
    capsys.readouterr()
    assert seen >= 20, seen
