"""Handing in records and the class report: write-only drop folder, ownership decides.

Files owned by other users are made with ``os.chown`` and need root (as CI runs);
the real two-user check, through a JupyterHub, is ``e2e/test_hub.py``.
"""

from __future__ import annotations

import json
import os
import pwd
import stat

import pytest
from conftest import skip_reason

from emcourse import checks, classroom, cli, progress
from emcourse.checks import _ladder

ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not ROOT, reason=skip_reason("root", "to own files as other users"))


@pytest.fixture
def learner(tmp_path, monkeypatch):
    """This user, with a progress folder and a drop folder in tmp_path."""
    monkeypatch.setenv(progress.ENV, str(tmp_path / "progress"))
    monkeypatch.delenv(checks.STRICT_ENV, raising=False)
    monkeypatch.delenv("JUPYTERHUB_USER", raising=False)
    drop = tmp_path / "drop"
    drop.mkdir()
    drop.chmod(0o3733)
    return drop


def _work(capsys):
    """Some checks: a wrong box in voxels (diagnosed), then a right one; a stub."""
    checks.box_size_angstrom(lambda v: tuple(float(n) for n in v.shape))
    checks.box_size_angstrom(
        lambda v: tuple(n * s for n, s in zip(v.shape, v.voxel_size_zyx, strict=True))
    )

    def stub(data):
        raise NotImplementedError

    checks.central_slices(stub)
    capsys.readouterr()


def _other_user() -> pwd.struct_passwd:
    return pwd.getpwnam("nobody")


def test_submit_writes_a_new_private_file_with_this_users_records(learner, capsys):
    _work(capsys)
    path = classroom.submit(learner)
    user = progress.user_name()
    assert path.parent == learner and path.name.startswith(f"{user}-")
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["status"] for r in records] == ["failed", "passed", "not done"]
    assert {r["user"] for r in records} == {user}
    assert classroom.submit(learner) != path  # a second hand-in is a new file


def test_submit_says_why_it_cannot(learner, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv(classroom.DROP_ENV, raising=False)
    with pytest.raises(classroom.SubmitError, match="no drop folder"):
        classroom.submit()
    with pytest.raises(classroom.SubmitError, match="nothing to hand in"):
        classroom.submit(learner)
    _work(capsys)
    with pytest.raises(classroom.SubmitError, match="cannot reach"):
        classroom.submit(tmp_path / "missing")
    monkeypatch.setenv(classroom.DROP_ENV, str(learner))
    assert cli.main(["submit"]) == 0
    assert "Handed in" in capsys.readouterr().out


@needs_root
def test_submit_refuses_a_drop_folder_others_can_list(learner, capsys):
    _work(capsys)
    os.chown(learner, _other_user().pw_uid, -1)
    learner.chmod(0o1777)
    with pytest.raises(classroom.SubmitError, match="chmod 3733"):
        classroom.submit(learner)
    learner.chmod(0o3733)
    assert classroom.submit(learner).exists()


def test_class_report_counts_learners_per_task_and_their_diagnoses(learner, capsys):
    _work(capsys)
    classroom.submit(learner)
    report = classroom.class_report(learner)
    user = progress.user_name()
    assert report.learners == [user] and report.refused == []
    box = next(t for t in report.tasks if t["task"] == "box_size_angstrom")
    assert (box["tried"], box["passed"]) == (1, 1)
    assert box["diagnoses"] == [(box["diagnoses"][0][0], 1)]
    assert "voxel" in box["diagnoses"][0][0]
    slices = next(t for t in report.tasks if t["task"] == "central_slices")
    assert slices["tried"] == 0  # a stub run is not an attempt
    text = report.text()
    assert "Task 1: how big is the box?: 1 of 1 passed" in text
    assert "1 of 1: " in text and max(map(len, text.splitlines())) <= 100
    page = classroom.render_html(report)
    assert "<table>" in page and "<script" not in page


def test_only_the_newest_submission_of_a_learner_counts(learner, capsys):
    _work(capsys)
    classroom.submit(learner)
    _ladder.reset()
    checks.central_slices(lambda d: None)  # a failure after the first hand-in
    capsys.readouterr()
    classroom.submit(learner)
    report = classroom.class_report(learner)
    slices = next(t for t in report.tasks if t["task"] == "central_slices")
    assert slices["tried"] == 1 and len(report.learners) == 1


@needs_root
def test_a_file_owned_by_one_user_and_named_for_another_is_refused(learner, capsys):
    _work(capsys)
    mine = classroom.submit(learner)
    user = progress.user_name()
    other = _other_user()
    # another learner pre-creates a file named as this user's: it forges nothing
    forged = learner / f"{user}-29991231T000000000000Z-00000000.jsonl"
    forged.write_text(mine.read_text().replace('"passed"', '"failed"'))
    os.chown(forged, other.pw_uid, -1)
    # and a file of their own that carries this user's records
    claims = learner / f"{other.pw_name}-20260101T000000000000Z-00000000.jsonl"
    claims.write_text(mine.read_text())
    os.chown(claims, other.pw_uid, -1)
    report = classroom.class_report(learner)
    assert report.learners == [user]
    box = next(t for t in report.tasks if t["task"] == "box_size_angstrom")
    assert box["passed"] == 1
    assert any(forged.name in r and f"owned by {other.pw_name}" in r for r in report.refused)
    assert any(claims.name in r and "records of another user" in r for r in report.refused)


def test_links_pipes_and_huge_files_are_refused_never_followed(learner, tmp_path, capsys):
    _work(capsys)
    mine = classroom.submit(learner)
    user = progress.user_name()
    secret = tmp_path / "secret.jsonl"
    secret.write_text(mine.read_text())
    (learner / f"{user}-29990101T000000000000Z-link.jsonl").symlink_to(secret)
    os.mkfifo(learner / f"{user}-29990102T000000000000Z-fifo.jsonl")
    (learner / f"{user}-29990103T000000000000Z-huge.jsonl").write_bytes(
        b" " * (classroom.MAX_BYTES + 1)
    )
    report = classroom.class_report(learner)
    # the newest file of the user (huge) is refused; the link and the pipe never count
    assert any("larger than" in r for r in report.refused)
    assert report.learners == []


def test_per_user_layout_takes_the_name_from_the_folder(tmp_path, learner, capsys):
    _work(capsys)
    mine = classroom.submit(learner)
    volume = tmp_path / "volume"
    for name in ("ada", "grace"):
        (volume / name).mkdir(parents=True)
        (volume / name / mine.name).write_text(mine.read_text())
    report = classroom.class_report(volume, layout="per-user")
    assert report.learners == ["ada", "grace"]
    box = next(t for t in report.tasks if t["task"] == "box_size_angstrom")
    assert (box["tried"], box["passed"]) == (2, 2)
    assert cli.main(["class-report", "--layout", "per-user", str(volume)]) == 0
    assert "2 learners handed in records: ada, grace" in capsys.readouterr().out


def test_progress_command_shows_done_and_next(learner, capsys):
    _work(capsys)
    assert cli.main(["progress"]) == 0
    out = capsys.readouterr().out
    following = progress.task_map()[1]["title"]
    assert "✔ Task 1: how big is the box?" in out and f"Next: {following}" in out
