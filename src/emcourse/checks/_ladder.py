"""Tasks and their hint ladders: which task a check belongs to, and which hint it has earned.

Every public check of a track module is a *task*, named by the check
function (``clem_landmark_fit``); ``checks/__init__`` wraps each one with
:func:`as_task`. While a task's check runs, :func:`current` names it, and
:func:`show <emcourse.checks._core.show>` asks :func:`next_step` which hint to
give and :func:`emcourse.progress.record` writes the outcome.

A check's ``hint`` is a ladder: one string, or a tuple of steps from a nudge
towards the idea to the method, never the answer. A stub that has not been
written yet gets no hint; the first wrong answer gets the first step, each
further wrong answer the next one, the last step staying once reached. A
recognised mistake (a *diagnosis*: units, transposed, swapped) is said instead
and does not use up a step. The count is kept per kernel and starts again
after a pass.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable
from typing import Any

__all__ = ["as_task", "current", "hint_steps", "next_step", "reset"]

_task: contextvars.ContextVar[str | None] = contextvars.ContextVar("emcourse_task", default=None)
_wrong: dict[str, int] = {}


def as_task(check: Callable, name: str | None = None) -> Callable:
    """Wrap ``check`` so that what it shows is recorded under the task ``name``
    (default: the function's own name)."""
    task = name or check.__name__

    @functools.wraps(check)
    def run(*args: Any, **kwargs: Any) -> Any:
        token = _task.set(task)
        try:
            return check(*args, **kwargs)
        finally:
            _task.reset(token)

    run.task = task  # type: ignore[attr-defined]
    return run


def current() -> str | None:
    """The task whose check is running, or None outside one."""
    return _task.get()


def hint_steps(hint: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """The steps of a hint ladder (an empty hint has none)."""
    if isinstance(hint, str):
        return (hint,) if hint else ()
    return tuple(h for h in hint if h)


def next_step(task: str | None, status: str, *, diagnosed: bool = False) -> int | None:
    """The index of the hint step to show for this outcome, or None for no step.

    Passing resets the task's count; "not done" and a diagnosed mistake leave it
    as it is.
    """
    if status == "passed":
        _wrong.pop(task or "", None)
        return None
    if status == "not done" or diagnosed:
        return None
    key = task or ""
    step = _wrong.get(key, 0)
    _wrong[key] = step + 1
    return step


def reset() -> None:
    """Forget every count (a new kernel; the tests)."""
    _wrong.clear()
