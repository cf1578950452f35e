"""Self-checks for exercise sheets: quantitative feedback without the answer.

An exercise asks the learner to write a function; the next cell hands that
function to a check, which calls it on its own synthetic data and reports
**passed** or not, with the value measured and the tolerance (never the
expected value). A stub that still raises ``NotImplementedError`` is "not done
yet", with no hint; a wrong answer gets the next step of the check's hint
ladder, or the diagnosis of a typical mistake (:mod:`._ladder`); an exception,
``None``, a wrong shape, dtype or NaNs get one plain line, not a traceback.

Every check displays its :class:`CheckResult` (a coloured box in a notebook,
text elsewhere), records it in the learner's progress (:mod:`emcourse.progress`)
and returns it. With ``EMCOURSE_CHECKS_STRICT=1`` (the tests set it for solution
notebooks) a check that does not pass raises :class:`CheckFailed`.

Writing a new check
-------------------
Build the reference on synthetic data and let :func:`check_function` do the
rest; give the hint as steps, from a nudge to the method::

    def my_check(fn):
        data = _test_array((12, 14, 16))
        return check_function(fn, data, name="mean density",
                              expected=float(data.mean()), rtol=1e-6,
                              hint=("one number for the whole volume",
                                    "NumPy arrays have a method for it"))

The checks of each track live in a module of this package and are
re-exported (as tasks) by ``checks/__init__``.
"""

from __future__ import annotations

import html
import os
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from emcourse import progress
from emcourse.checks import _ladder
from emcourse.checks._format import CODE as _CODE
from emcourse.checks._format import _fmt, _shape
from emcourse.volume import Volume

__all__ = [
    "CheckFailed",
    "CheckResult",
    "check_close",
    "check_function",
    "check_value",
    "show",
]

NOT_DONE = "Not done yet"
_HUGE = 1e100  # larger than any answer in the course; squaring it would overflow float64
STRICT_ENV = "EMCOURSE_CHECKS_STRICT"


class CheckFailed(AssertionError):
    """Raised by a check that did not pass when ``EMCOURSE_CHECKS_STRICT=1``."""


@dataclass
class CheckResult:
    """The outcome of one check.

    Parameters
    ----------
    passed : bool
        True when the learner's answer is within tolerance.
    name : str
        What was checked, e.g. ``"box size"``.
    value : object
        What was measured on the learner's answer (their value or its error).
    tolerance : object
        The largest error accepted, or None where it does not apply.
    hint : str or tuple of str
        The hint ladder: steps from a nudge to the method, never the answer.
    message : str
        One or two sentences for the learner.
    status : str
        ``"passed"``, ``"failed"``, ``"not done"`` or ``"error"``.
    diagnosis : str
        The typical mistake recognised in the answer, said instead of a hint.
    hint_step : int or None
        Which step of the ladder is shown (set by :func:`show`); None for none.
    """

    passed: bool
    name: str
    value: Any = None
    tolerance: Any = None
    hint: str | tuple[str, ...] = ""
    message: str = ""
    status: str = ""
    diagnosis: str = ""
    hint_step: int | None = None
    _shown_in: Any = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.status:
            self.status = "passed" if self.passed else "failed"

    def __bool__(self) -> bool:
        return bool(self.passed)

    def __str__(self) -> str:
        mark = "✔" if self.passed else ("…" if self.status == "not done" else "✘")
        head = {
            "passed": "passed",
            "failed": "not yet right",
            "not done": NOT_DONE.lower(),
            "error": "your code raised an error",
        }.get(self.status, self.status)
        lines = [f"{mark} {self.name}: {head}"]
        if self.message:
            lines.append(f"  {self.message}")
        if not self.passed and self.diagnosis:
            lines.append(f"  Diagnosis: {self.diagnosis}")
        elif not self.passed and self.hint_step is not None:
            steps = _ladder.hint_steps(self.hint)
            if steps:
                k = min(self.hint_step, len(steps) - 1)
                label = f"Hint {k + 1} of {len(steps)}" if len(steps) > 1 else "Hint"
                lines.append(f"  {label}: {steps[k]}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        colours = {
            "passed": ("#e6f4ea", "#1e7e34"),
            "not done": ("#fff8e1", "#a06a00"),
        }
        bg, fg = colours.get(self.status, ("#fdecea", "#b00020"))
        text = _CODE.sub(r"<code>\1</code>", html.escape(str(self))).replace("\n", "<br>")
        return (
            f'<div class="emcourse-check emcourse-check-{self.status.replace(" ", "-")}" '
            f'style="border-left: 6px solid {fg}; background: {bg}; color: #222; '
            f"padding: 0.5em 0.8em; margin: 0.3em 0; font-family: sans-serif; "
            f'line-height: 1.4">{text}</div>'
        )

    def _ipython_display_(self) -> None:
        # A check already displayed this result in the current cell: do not echo
        # it a second time when the check call is also the cell's last line.
        shell = _ipython()
        count = getattr(shell, "execution_count", None)
        if self._shown_in is not None and self._shown_in == count:
            return
        from IPython.display import display

        display({"text/plain": str(self), "text/html": self._repr_html_()}, raw=True)


def _ipython() -> Any:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is always there with Jupyter
        return None
    return get_ipython()


def _strict() -> bool:
    return os.environ.get(STRICT_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def show(result: CheckResult) -> CheckResult:
    """Choose the hint step, record the outcome, display the result and return it.

    Inside a task's check (:func:`._ladder.as_task`) the outcome is appended to
    the learner's progress record.

    Raises
    ------
    CheckFailed
        When ``EMCOURSE_CHECKS_STRICT=1`` and the result did not pass.
    """
    task = _ladder.current()
    result.hint_step = _ladder.next_step(task, result.status, diagnosed=bool(result.diagnosis))
    if task is not None:
        progress.record(task, check=result.name, status=result.status, diagnosis=result.diagnosis)
    shell = _ipython()
    if shell is not None and getattr(shell, "display_pub", None) is not None:
        from IPython.display import display

        display({"text/plain": str(result), "text/html": result._repr_html_()}, raw=True)
        result._shown_in = getattr(shell, "execution_count", None)
    else:
        print(result)
    if _strict() and not result.passed:
        raise CheckFailed(str(result))
    return result


# --------------------------------------------------------------------------
# Generic machinery
# --------------------------------------------------------------------------


def _learner_line(exc: BaseException, fn: Callable) -> str:
    """' (line N of `name`)' for the deepest frame inside the learner's function."""
    code = getattr(fn, "__code__", None)
    line = None
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        if code is not None and frame.f_code is code:
            line = lineno
    if line is None:
        return ""
    first = getattr(code, "co_firstlineno", 1)
    return f" (line {line - first + 1} of `{getattr(fn, '__name__', 'your function')}`)"


def _call(fn: Callable, args: tuple, *, name: str, hint: str) -> tuple[Any, CheckResult | None]:
    """Call the learner's function; turn stubs and exceptions into results."""
    if not callable(fn):
        return None, CheckResult(
            False,
            name,
            hint=hint,
            status="error",
            message=f"expected a function to check, but got {type(fn).__name__}. Pass the "
            "function itself, without calling it: `check(my_function)`, not "
            "`check(my_function())`.",
        )
    try:
        return fn(*args), None
    except NotImplementedError:
        fname = getattr(fn, "__name__", "your function")
        return None, CheckResult(
            False,
            name,
            hint=hint,
            status="not done",
            message=f"`{fname}` still raises NotImplementedError: write its body in place of "
            "that line, run its cell, then run this check again.",
        )
    except Exception as exc:  # noqa: BLE001 - the learner's code may raise anything
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        detail = detail[:200]
        return None, CheckResult(
            False,
            name,
            hint=hint,
            status="error",
            message=f"your function raised {type(exc).__name__}"
            + (f": {detail}" if detail else "")
            + _learner_line(exc, fn)
            + ". Run it on its own in a new cell to see the full traceback.",
        )


def _validate(
    value: Any, like: Any, *, name: str, hint: str, subject: str = ""
) -> CheckResult | None:
    """Friendly messages for a value that cannot be compared with ``like``.

    ``like`` is the reference value: a number, an array, or a tuple/list of them.
    ``subject`` names the value in the message ("your box size"); by default
    "your answer" or "your array". Returns None when the value has the right
    type, shape and finite numbers.
    """

    def bad(message: str) -> CheckResult:
        return CheckResult(False, name, hint=hint, status="failed", message=message)

    if not subject:
        subject = "your array" if isinstance(value, np.ndarray) and value.ndim else "your answer"
    if value is None:
        return bad(f"{subject} is None. Did you forget the `return` line in your function?")
    if isinstance(like, (tuple, list)):
        if isinstance(value, np.ndarray) and value.ndim >= 1:
            value = list(value)
        if not isinstance(value, (tuple, list)):
            return bad(
                f"{subject} is a {type(value).__name__} but {len(like)} values were expected, "
                f"e.g. `return a, b{', c' if len(like) > 2 else ''}`."
            )
        if len(value) != len(like):
            return bad(f"{subject} has {len(value)} values but {len(like)} were expected.")
        for i, (v, ref) in enumerate(zip(value, like, strict=True)):
            problem = _validate(
                v, ref, name=name, hint=hint, subject=f"value {i + 1} of {len(like)} in {subject}"
            )
            if problem is not None:
                return problem
        return None
    if isinstance(value, Volume):
        return bad(f"{subject} is a Volume; return its `.data` array (or a number) instead.")
    if isinstance(value, (str, bytes, dict, set)) or callable(value):
        return bad(f"{subject} is a {type(value).__name__}, but numbers were expected.")
    try:
        arr = np.asarray(value)
    except Exception:  # noqa: BLE001 - ragged lists and odd objects
        return bad(f"{subject} is not an array of numbers (a ragged list?).")
    ref_shape = np.shape(like)
    if arr.dtype == object:
        return bad(
            f"{subject} is an array of Python objects (dtype=object), not numbers. "
            "Ragged lists or None inside a list cause this."
        )
    if arr.dtype.kind in "SUV":
        return bad(f"{subject} is text (dtype {arr.dtype}), but numbers were expected.")
    if arr.dtype.kind == "c":
        return bad(f"{subject} has complex numbers; take `.real` or `np.abs(...)` first.")
    if arr.dtype.kind == "b" and np.asarray(like).dtype.kind != "b":
        return bad(f"{subject} is True/False values (dtype bool), but numbers were expected.")
    if arr.shape != ref_shape:
        if arr.size == 1 and len(ref_shape) == 0:
            arr = arr.reshape(())
        else:
            got = "is a single number" if arr.ndim == 0 else f"has shape {_shape(arr.shape)}"
            want = (
                "a single number"
                if len(ref_shape) == 0
                else f"a {_shape(ref_shape)} "
                + {1: "array", 2: "image", 3: "volume"}.get(len(ref_shape), "array")
            )
            return bad(f"{subject} {got} but {want} was expected.")
    bad_mask = ~np.isfinite(arr)
    if bad_mask.any():
        n_nan = int(np.isnan(arr).sum())
        n_inf = int(bad_mask.sum()) - n_nan
        parts = [f"{n_nan:,} NaN" if n_nan else "", f"{n_inf:,} infinite" if n_inf else ""]
        where = ""
        if arr.ndim:
            where = f" (the first at index {tuple(int(i) for i in np.argwhere(bad_mask)[0])})"
        return bad(
            f"{subject} contains {' and '.join(p for p in parts if p)} "
            f"value{'s' if bad_mask.sum() > 1 else ''}{where}. NaN usually comes from 0/0 or "
            "from a NaN in the input; inf from dividing by zero."
        )
    if arr.size and arr.dtype.kind == "f" and float(np.max(np.abs(arr))) > _HUGE:
        return bad(
            f"{subject} holds a value as large as {float(np.max(np.abs(arr))):.3g}: no answer "
            "here is near that size, and arithmetic on it overflows. Check the units and for a "
            "division that became a multiplication."
        )
    return None


def check_close(
    name: str,
    value: Any,
    expected: Any,
    *,
    rtol: float = 1e-6,
    atol: float = 0.0,
    hint: str = "",
    units: str = "",
    what: str = "",
    diagnoses: Sequence[tuple[Any, str]] = (),
    show_result: bool = True,
) -> CheckResult:
    """Compare a value with the reference and report, without revealing it.

    Shape, dtype and NaN problems are reported first, in plain words. Then the
    error is ``max |value - expected|`` and the tolerance is
    ``atol + rtol * max |expected|``; the message names the learner's value
    (numbers and short tuples only), the error and the tolerance.

    Parameters
    ----------
    name : str
        What is checked, e.g. ``"box size"``.
    value, expected : number, array or tuple of them
        The learner's answer and the reference (never shown).
    rtol, atol : float
        Relative and absolute tolerance.
    hint : str
        Shown when the check does not pass.
    units : str
        Units of the value, e.g. ``"Å"``.
    what : str
        How to call the value in the message; defaults to ``name``.
    diagnoses : sequence of (value, str)
        Typical wrong answers and the hint to give when the learner's value
        matches one of them, e.g. ``[(in_voxels, "multiply by the voxel size")]``.
    show_result : bool
        Display the result (and raise in strict mode); False to only return it.

    Returns
    -------
    CheckResult

    Examples
    --------
    >>> r = check_close("shift", 3.2, 0.0, atol=1.0, units="voxels", show_result=False)
    >>> print(r.message)
    your shift is 3.2 voxels, which is off by 3.2 voxels (tolerance 1 voxels).
    """
    what = what or name
    problem = _validate(value, expected, name=name, hint=hint, subject=f"your {what}")
    if problem is None:
        got = _as_float(value, like=expected)
        ref = _as_float(expected)
        error = float(np.max(np.abs(got - ref))) if ref.size else 0.0
        tol = float(atol + rtol * (np.max(np.abs(ref)) if ref.size else 0.0))
        passed = bool(error <= tol)
        e, t = _fmt(error, units), _fmt(tol, units)
        if passed:
            message = f"right: the error is {e} (tolerance {t})."
        elif isinstance(value, (tuple, list)) and any(np.ndim(v) > 0 for v in value):
            message = (
                f"the shapes of your {what} are right, but the values differ from the "
                f"reference by up to {e} (tolerance {t})."
            )
        elif got.ndim == 0 or (got.ndim == 1 and got.size <= 6):
            shown = _fmt(got.item() if got.ndim == 0 else got, units)
            message = f"your {what} is {shown}, which is off by {e} (tolerance {t})."
        else:
            message = (
                f"the shape of your {what} is right, but its values differ from the "
                f"reference by up to {e} (tolerance {t})."
            )
        problem = CheckResult(
            passed,
            name,
            value=error,
            tolerance=tol,
            hint=hint,
            message=message,
            diagnosis="" if passed else _diagnose(got, diagnoses, tol),
        )
    else:
        _diagnose_invalid(problem, value, diagnoses, atol)
    return show(problem) if show_result else problem


def _diagnose(got: np.ndarray, diagnoses: Sequence[tuple[Any, str]], tol: float) -> str:
    """The diagnosis of the first known mistake that ``got`` matches, else ""."""
    for alternative, diagnosis in diagnoses:
        try:
            alt = _as_float(alternative)
        except (TypeError, ValueError):
            continue
        if alt.shape == got.shape and np.max(np.abs(got - alt), initial=0) <= max(tol, 1e-9):
            return diagnosis
    return ""


def _diagnose_invalid(
    problem: CheckResult, value: Any, diagnoses: Sequence[tuple[Any, str]], atol: float
) -> None:
    """A wrong shape or type that is a known mistake (slices in x, y, z order) is named."""
    if not diagnoses:
        return
    try:
        problem.diagnosis = _diagnose(_as_float(value), diagnoses, atol)
    except (TypeError, ValueError):
        pass


def _as_float(x: Any, like: Any = None) -> np.ndarray:
    """``x`` as float64; flattened item by item where ``like`` (default ``x``) is a
    tuple or list holding arrays, so it compares with such a reference."""
    like = x if like is None else like
    if isinstance(like, (tuple, list)) and any(np.ndim(v) > 0 for v in like):
        return np.concatenate([np.ravel(np.asarray(v, dtype=np.float64)) for v in x])
    return np.asarray(x, dtype=np.float64)


def check_function(
    fn: Callable,
    *args: Any,
    name: str,
    expected: Any = None,
    measure: Callable[[Any], Any] | None = None,
    target: Any = None,
    rtol: float = 1e-6,
    atol: float = 0.0,
    hint: str = "",
    units: str = "",
    what: str = "",
    diagnoses: Sequence[tuple[Any, str]] = (),
    show_result: bool = True,
) -> CheckResult:
    """Call the learner's function on ``args`` and compare its answer.

    Order of feedback: the stub's ``NotImplementedError`` becomes "not done
    yet", without a hint; any other exception a one-line message (type, message and
    the line in the learner's function); a wrong type, shape, dtype or NaNs a
    plain-words message; only then are values compared with
    :func:`check_close`.

    Parameters
    ----------
    fn : callable
        The learner's function.
    *args
        Passed to ``fn``. Give it copies if ``fn`` must not change your data.
    name : str
        What is checked.
    expected : number, array or tuple of them
        The reference answer; its type and shape are also what ``fn`` must return.
    measure : callable, optional
        For tasks with many right answers: ``measure(answer)`` is compared with
        ``target`` instead of comparing the answer with ``expected``, which then
        only sets the expected type and shape (e.g. a threshold whose enclosed
        volume is measured).
    target : number or array, optional
        What ``measure(answer)`` should be.
    rtol, atol, hint, units, what, diagnoses, show_result
        As in :func:`check_close`.

    Returns
    -------
    CheckResult

    Examples
    --------
    >>> def double(x):
    ...     raise NotImplementedError("multiply by two")
    >>> r = check_function(double, 2.0, name="double", expected=4.0, show_result=False)
    >>> r.status, r.message.split(":")[0]
    ('not done', '`double` still raises NotImplementedError')
    >>> r = check_function(lambda x: [x, x], 2.0, name="double", expected=4.0,
    ...                    show_result=False)
    >>> print(r.message)
    your answer has shape (2,) but a single number was expected.
    """
    value, problem = _call(fn, args, name=name, hint=hint)
    if problem is None:
        problem = _validate(value, expected, name=name, hint=hint)
        if problem is not None:
            _diagnose_invalid(problem, value, diagnoses, atol)
    if problem is None and measure is not None:
        try:
            value, expected = measure(value), target
        except Exception as exc:  # noqa: BLE001
            problem = CheckResult(
                False,
                name,
                hint=hint,
                status="failed",
                message=f"your answer could not be used ({type(exc).__name__}: {exc}).",
            )
    if problem is None:
        problem = check_close(
            name,
            value,
            expected,
            rtol=rtol,
            atol=atol,
            hint=hint,
            units=units,
            what=what,
            diagnoses=diagnoses,
            show_result=False,
        )
    return show(problem) if show_result else problem


def check_value(
    name: str,
    value: Any,
    expected: Any,
    *,
    rtol: float = 1e-6,
    atol: float = 0.0,
    hint: str = "",
    units: str = "",
) -> CheckResult:
    """Check a value the learner computed in a cell (not a function).

    Same as :func:`check_close` with display; kept as the name notebooks use.
    """
    return check_close(name, value, expected, rtol=rtol, atol=atol, hint=hint, units=units)


def _all_passed(name: str, results: Iterable[CheckResult], message: str) -> CheckResult:
    """The first result that did not pass, or one passed result for all of them.

    ``results`` may be a generator: nothing after the first failure is run.
    """
    last = None
    for last in results:
        if not last.passed:
            return last
    return CheckResult(
        True,
        name,
        value=getattr(last, "value", None),
        tolerance=getattr(last, "tolerance", None),
        message=message,
    )


def _run_cases(name: str, cases, message: str) -> CheckResult:
    """Run the case callables in order, stopping at the first that fails; show the result."""
    return show(_all_passed(name, (case() for case in cases), message))
