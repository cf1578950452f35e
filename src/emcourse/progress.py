"""Progress records: what each self-check said, kept on the learner's own machine.

Every check an exercise sheet runs appends one line of JSON to
``progress.jsonl`` in the progress folder::

    {"v": 1, "user": "alice", "task": "clem_landmark_fit", "check": "affine landmark fit",
     "status": "failed", "diagnosis": "the matrix looks transposed ...",
     "time": "2026-12-05T10:31:07Z"}

``task`` is the name of the check function, which stays the same when lessons
are renumbered; the sheet and the task's title come from the task map
(``tasks.json``, written by ``emcourse exercises build`` from ``solutions/``).
Nothing personal beyond the user name is written, and nothing leaves the
machine unless the learner runs ``emcourse submit``.

The folder is ``EMCOURSE_PROGRESS_DIR``, else ``$XDG_DATA_HOME/emcourse``, else
``~/.local/share/emcourse``. ``EMCOURSE_PROGRESS_DIR=off`` records nothing (the
book build sets it; the tests point it at a temporary folder). A folder that
cannot be written costs the learner one notice, never a failed check.
"""

from __future__ import annotations

import getpass
import json
import os
import sys
import time
from collections.abc import Iterable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any

__all__ = [
    "RECORD_FILE",
    "fit",
    "json_line",
    "parse_records",
    "progress_dir",
    "read_records",
    "record",
    "summary",
    "task_map",
    "user_name",
]

ENV = "EMCOURSE_PROGRESS_DIR"
RECORD_FILE = "progress.jsonl"
VERSION = 1
STATUSES = ("passed", "failed", "error", "not done")
_warned: set[str] = set()


def progress_dir() -> Path | None:
    """The progress folder, or None when recording is switched off."""
    value = os.environ.get(ENV, "").strip()
    if value.lower() in {"off", "0", "none"}:
        return None
    if value:
        return Path(value).expanduser()
    base = os.environ.get("XDG_DATA_HOME", "").strip() or Path.home() / ".local" / "share"
    return Path(base) / "emcourse"


def user_name() -> str:
    """The hub's user name where there is one, else the login name."""
    return os.environ.get("JUPYTERHUB_USER") or getpass.getuser()


def _warn_once(text: str) -> None:
    if text not in _warned:
        _warned.add(text)
        print(f"emcourse: {text}", file=sys.stderr)


def _private_folder(folder: Path) -> None:
    """Create ``folder`` (mode 700) or check that an existing one is ours and private."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    st = folder.lstat()
    if folder.is_symlink() or st.st_uid != os.getuid():
        raise PermissionError(f"{folder} is not a folder of yours")
    if st.st_mode & 0o022:
        raise PermissionError(f"{folder} can be written by other users")


def record(task: str, *, check: str, status: str, diagnosis: str = "") -> dict | None:
    """Append one outcome to the learner's record and return it (None when not written).

    Parameters
    ----------
    task : str
        The stable task name (the check function's name).
    check : str
        What the check calls the result, e.g. ``"affine landmark fit"``.
    status : str
        One of ``"passed"``, ``"failed"``, ``"error"``, ``"not done"``.
    diagnosis : str
        The typical mistake the check recognised, if any.
    """
    if status not in STATUSES:
        raise ValueError(f"status must be one of {STATUSES}, not {status!r}")
    folder = progress_dir()
    if folder is None:
        return None
    entry = {
        "v": VERSION,
        "user": user_name(),
        "task": task,
        "check": check,
        "status": status,
        "diagnosis": diagnosis,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    line = json_line(entry).encode("utf-8")
    try:
        _private_folder(folder)
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(folder / RECORD_FILE, flags, 0o600)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)
    except OSError as exc:
        _warn_once(
            f"progress is not recorded ({exc.strerror or exc}: {folder}). "
            f"Set {ENV} to a folder of yours, or to 'off'."
        )
        return None
    return entry


def json_line(entry: dict) -> str:
    """One record as a line of the record file."""
    return json.dumps(entry, ensure_ascii=False) + "\n"


def parse_records(lines: Iterable[str]) -> Iterator[dict]:
    """The well-formed records among ``lines``; anything else is skipped."""
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if (
            isinstance(entry, dict)
            and isinstance(entry.get("task"), str)
            and entry.get("status") in STATUSES
            and isinstance(entry.get("user", ""), str)
        ):
            entry.setdefault("diagnosis", "")
            if not isinstance(entry["diagnosis"], str):
                entry["diagnosis"] = ""
            yield entry


def read_records(folder: Path | None = None) -> list[dict]:
    """Every record of this learner, oldest first (empty when there are none)."""
    folder = progress_dir() if folder is None else folder
    path = None if folder is None else folder / RECORD_FILE
    if path is None or not path.is_file():
        return []
    with open(path, encoding="utf-8", errors="replace") as fh:
        return list(parse_records(fh))


def task_map() -> list[dict[str, Any]]:
    """Every task of the course in order: ``task``, ``title``, ``sheet``, ``sheet_title``."""
    text = resources.files("emcourse").joinpath("tasks.json").read_text(encoding="utf-8")
    return json.loads(text)


def summary(records: Iterable[dict]) -> dict[str, dict[str, Any]]:
    """Per task: ``attempts`` (checks run on an answer), ``passed``, ``last`` status and
    ``diagnoses`` (how often each fired). "Not done" runs of a stub are not attempts."""
    out: dict[str, dict[str, Any]] = {}
    for entry in records:
        s = out.setdefault(
            entry["task"], {"attempts": 0, "passed": False, "last": "", "diagnoses": {}}
        )
        s["last"] = entry["status"]
        if entry["status"] == "not done":
            continue
        s["attempts"] += 1
        s["passed"] |= entry["status"] == "passed"
        if entry["diagnosis"]:
            s["diagnoses"][entry["diagnosis"]] = s["diagnoses"].get(entry["diagnosis"], 0) + 1
    return out


def report(records: Iterable[dict], *, width: int = 100) -> str:
    """The learner's view: each sheet with its tasks done, tried or not started, and
    the next task to do."""
    per_task = summary(records)
    lines: list[str] = []
    next_task = None
    sheet = None
    done = total = 0
    for task in task_map():
        if task["sheet"] != sheet:
            sheet = task["sheet"]
            lines += [fit(task["sheet_title"], width), fit(f"  {sheet}", width)]
        s = per_task.get(task["task"])
        total += 1
        if s and s["passed"]:
            done += 1
            mark, note = "✔", "done"
        elif s and s["attempts"]:
            mark, note = "✘", f"tried {s['attempts']}x, not passed yet"
        else:
            mark, note = "·", "not started"
        if next_task is None and not (s and s["passed"]):
            next_task = task
        room = width - len(note) - 2
        lines.append(f"{fit(f'  {mark} ' + task['title'], room):<{room}}  {note}")
    head = f"{done} of {total} tasks done."
    if next_task is None:
        tail = ["Every task is done."]
    else:
        tail = [
            fit(f"Next: {next_task['title']}", width),
            fit(f"  in {next_task['sheet']}", width),
        ]
    return "\n".join([head, *lines, *tail])


def fit(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters, with an ellipsis where it was cut."""
    return text if len(text) <= width else text[: width - 1] + "…"
