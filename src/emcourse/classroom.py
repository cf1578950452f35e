"""Hand in progress records, and turn a class's records into a report for the instructor.

**The drop folder.** ``emcourse submit`` copies the learner's progress record
into the folder ``EMCOURSE_DROP_DIR`` (or ``--to``) as a new file
``<user>-<UTC time>-<random>.jsonl``: created exclusively (never through an
existing file or link), mode 640, so the learner can neither read nor replace
anyone else's. Two set-ups are supported:

* **A hub with system users** (or any shared Linux machine): one folder owned by
  the instructor and a group of instructors, mode ``3733`` (setgid, sticky,
  no read for others)::

      install -d -m 3733 -o instructor -g instructors /srv/emcourse-drop

  Learners can create files in it but cannot list it, read others' files (mode
  640, group ``instructors``) or remove or rename them (sticky). The class
  report trusts the file system, not the file: a file counts for the user who
  *owns* it, and one whose name or records claim someone else is refused.
  ``submit`` refuses a folder whose files other learners could read.
* **Zero to JupyterHub** (every pod runs as the same uid): ownership means
  nothing, so isolation comes from the mounts. Give each learner their own
  sub-folder of a shared volume, mounted by KubeSpawner with
  ``subPath: "{username}"`` (see ``deploy/z2jh-drop.yaml``); the instructor's
  pod mounts the whole volume read-only and runs
  ``emcourse class-report --layout per-user DIR``, which takes the user name
  from the sub-folder (set by the hub from its own login, never by the learner)
  and ignores the names inside.

**The report.** ``emcourse class-report DIR`` keeps each learner's newest
submission and shows, per task, how many tried and how many passed, and the
most common diagnoses ("12 of 30: that is in radians; return degrees."): what
to explain again. ``--html FILE`` writes the same as a page.
"""

from __future__ import annotations

import html
import os
import pwd
import secrets
import stat
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from emcourse import progress

__all__ = ["DROP_ENV", "ClassReport", "SubmitError", "class_report", "render_html", "submit"]

DROP_ENV = "EMCOURSE_DROP_DIR"
MAX_BYTES = 2_000_000  # a record of a whole course is a few hundred kB at most


class SubmitError(RuntimeError):
    """The record could not be handed in; the message says why and what to do."""


def _drop_dir(to: str | os.PathLike | None) -> Path:
    value = to or os.environ.get(DROP_ENV, "")
    if not str(value).strip():
        raise SubmitError(
            f"no drop folder: set {DROP_ENV} (your instructor gives it) or pass --to DIR."
        )
    return Path(value).expanduser()


def submit(to: str | os.PathLike | None = None) -> Path:
    """Hand in this learner's progress record; return the file written.

    Raises
    ------
    SubmitError
        No drop folder, no records, or a folder whose files other learners
        could read.
    """
    drop = _drop_dir(to)
    try:
        st = drop.stat()
    except OSError as exc:
        raise SubmitError(f"cannot reach the drop folder {drop}: {exc.strerror}.") from exc
    if not stat.S_ISDIR(st.st_mode):
        raise SubmitError(f"the drop folder {drop} is not a folder.")
    if st.st_uid != os.getuid() and st.st_mode & stat.S_IROTH:
        raise SubmitError(
            f"the drop folder {drop} can be listed by every user, so learners could read "
            "each other's records. Ask your instructor to make it `chmod 3733` "
            "(see `emcourse submit --help`)."
        )
    folder = progress.progress_dir()
    records = progress.read_records(folder) if folder is not None else []
    if not records:
        raise SubmitError("there is nothing to hand in yet: run a check of an exercise sheet.")
    user = progress.user_name()
    body = "".join(
        progress.json_line({**r, "user": user}) for r in records if r.get("user", user) == user
    )
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    target = drop / f"{_safe(user)}-{stamp}-{secrets.token_hex(4)}.jsonl"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(target, flags, 0o640)
    except OSError as exc:
        raise SubmitError(f"cannot write into the drop folder {drop}: {exc.strerror}.") from exc
    try:
        os.write(fd, body.encode("utf-8"))
    finally:
        os.close(fd)
    return target


def _safe(user: str) -> str:
    return "".join(c if c.isalnum() or c in "._" else "_" for c in user) or "user"


@dataclass
class ClassReport:
    """What a drop folder says about a class."""

    learners: list[str] = field(default_factory=list)
    tasks: list[dict] = field(default_factory=list)  # task, title, sheet, tried, passed, top
    refused: list[str] = field(default_factory=list)  # one line per refused file

    def text(self, *, width: int = 100, top: int = 3) -> str:
        n = len(self.learners)
        lines = [f"{n} learner{'s' * (n != 1)} handed in records: {', '.join(self.learners)}"]
        sheet = None
        for t in self.tasks:
            if t["sheet"] != sheet:
                sheet = t["sheet"]
                lines.append(sheet)
            score = f"{t['passed']} of {t['tried']} passed" if t["tried"] else "nobody tried yet"
            lines.append(progress.fit(f"  {t['title']}: {score}", width))
            for text, count in t["diagnoses"][:top]:
                lines.append(progress.fit(f"      {count} of {t['tried']}: {text}", width))
        lines += [progress.fit(f"refused: {r}", width) for r in self.refused]
        return "\n".join(lines)


def _read(path: Path) -> list[dict] | str:
    """The records of one submitted file, or why it is refused."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | os.O_NONBLOCK)
    except OSError as exc:
        return f"cannot be opened ({exc.strerror})"
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            return "not a plain file"
        raw = fh.read(MAX_BYTES + 1)
    if len(raw) > MAX_BYTES:
        return f"larger than {MAX_BYTES:,} bytes"
    return list(progress.parse_records(raw.decode("utf-8", errors="replace").splitlines()))


def _owner(path: Path) -> str | None:
    try:
        return pwd.getpwuid(path.lstat().st_uid).pw_name
    except KeyError:
        return None


def _submissions(drop: Path, layout: str) -> tuple[dict[str, Path], list[str]]:
    """The newest submission of each learner, and the files refused."""
    newest: dict[str, Path] = {}
    refused: list[str] = []
    if layout == "per-user":
        candidates = [
            (d.name, f)
            for d in sorted(drop.iterdir())
            if d.is_dir() and not d.is_symlink()
            for f in sorted(d.glob("*.jsonl"))
        ]
    else:
        candidates = []
        for f in sorted(drop.iterdir()):
            if f.suffix != ".jsonl":
                continue
            claimed, owner = f.name.split("-", 1)[0], _owner(f)
            if owner is None or _safe(owner) != claimed:
                refused.append(f"{f.name}: owned by {owner or 'an unknown user'}, named {claimed}")
                continue
            candidates.append((owner, f))
    for user, f in candidates:
        if user not in newest or f.name > newest[user].name:
            newest[user] = f
    return newest, refused


def class_report(drop: str | os.PathLike, *, layout: str = "owner") -> ClassReport:
    """Read a drop folder: each learner's newest submission, summarised per task.

    Parameters
    ----------
    drop : path
        The drop folder.
    layout : {"owner", "per-user"}
        ``"owner"``: files side by side, each counted for the user who owns it
        (a hub with system users). ``"per-user"``: a sub-folder per learner,
        named by the hub (Zero to JupyterHub with a per-user ``subPath``).
    """
    if layout not in {"owner", "per-user"}:
        raise ValueError(f"layout must be 'owner' or 'per-user', not {layout!r}")
    drop = Path(drop)
    newest, refused = _submissions(drop, layout)
    per_learner: dict[str, dict] = {}
    for user, path in sorted(newest.items()):
        records = _read(path)
        if isinstance(records, str):
            refused.append(f"{path.name}: {records}")
            continue
        if layout == "owner" and any(r.get("user", user) != user for r in records):
            refused.append(f"{path.name}: owned by {user}, holds records of another user")
            continue
        per_learner[user] = progress.summary(records)
    report = ClassReport(learners=sorted(per_learner), refused=refused)
    for task in progress.task_map():
        seen = [s[task["task"]] for s in per_learner.values() if task["task"] in s]
        tried = [s for s in seen if s["attempts"]]
        diagnoses: Counter[str] = Counter()
        for s in tried:
            diagnoses.update({d: 1 for d in s["diagnoses"]})  # learners, not attempts
        report.tasks.append(
            {
                **task,
                "tried": len(tried),
                "passed": sum(s["passed"] for s in tried),
                "diagnoses": diagnoses.most_common(),
            }
        )
    return report


def render_html(report: ClassReport) -> str:
    """The report as a small self-contained page."""
    rows = []
    for t in report.tasks:
        top = "<br>".join(f"{c} of {t['tried']}: {html.escape(d)}" for d, c in t["diagnoses"][:3])
        rows.append(
            f"<tr><td>{html.escape(t['sheet_title'])}</td><td>{html.escape(t['title'])}</td>"
            f"<td>{t['tried']}</td><td>{t['passed']}</td><td>{top}</td></tr>"
        )
    refused = "".join(f"<li>{html.escape(r)}</li>" for r in report.refused)
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<title>emcourse class report</title><style>body{font-family:sans-serif}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;"
        "vertical-align:top}</style></head><body><h1>Class report</h1>"
        f"<p>{len(report.learners)} learners: {html.escape(', '.join(report.learners))}</p>"
        "<table><thead><tr><th>Sheet</th><th>Task</th><th>Tried</th><th>Passed</th>"
        "<th>Most common diagnoses</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
        + (f"<h2>Refused files</h2><ul>{refused}</ul>" if refused else "")
        + "</body></html>\n"
    )
