"""Questions that test understanding: predict, then run; and interpret a result.

Both are helpers for a track's check (the question's numbers, options and
explanations live in the check, not in the sheet). In the sheet the learner
commits an answer to a variable that the student copy leaves as ``...``::

    my_guess = ...            # the student copy; the solution holds a number
    checks.wedge_prediction(my_guess)

:func:`prediction` computes and shows the result only once a guess is set, so
the cell that shows the result refuses to run before a prediction exists;
:func:`choice` checks one option of a multiple-choice question and explains
the right one, or says why the chosen one is wrong.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from emcourse.checks._core import CheckResult, _diagnose, _fmt, show

__all__ = ["choice", "prediction", "unset"]


def unset(answer: Any) -> bool:
    """True for an answer the learner has not given yet (``...`` or None)."""
    return answer is None or answer is Ellipsis


def _as_is(result: CheckResult) -> CheckResult:
    return result


def _not_yet(name: str, what: str) -> CheckResult:
    return CheckResult(
        False,
        name,
        status="not done",
        message=f"{what} first: replace the `...` in the cell above, run that cell, "
        "then run this one.",
    )


def prediction(
    name: str,
    guess: Any,
    actual: float | Callable[[], float],
    *,
    explanation: str,
    rtol: float = 0.25,
    atol: float = 0.0,
    units: str = "",
    diagnoses: Sequence[tuple[float, str]] = (),
    show_result: bool = True,
) -> CheckResult:
    """Reveal ``actual`` next to the learner's committed ``guess``, with the explanation.

    Parameters
    ----------
    name : str
        What is predicted, e.g. ``"fraction of Fourier space the wedge removes"``.
    guess : number
        The learner's prediction; ``...`` or None refuse to reveal anything.
    actual : number or callable
        The result, or a function computing it (called only once a guess is set).
    explanation : str
        Why the result is what it is: shown with the result, whatever the guess.
    rtol, atol : float
        How close counts as a good prediction (recorded as passed).
    units : str
        Units of the value.
    diagnoses : sequence of (value, str)
        Typical wrong predictions and what they suggest.
    show_result : bool
        Display the result (and raise in strict mode); False to only return it.

    Examples
    --------
    >>> r = prediction("answer", ..., 42.0, explanation="six times seven", show_result=False)
    >>> print(r)  # doctest: +ELLIPSIS
    … answer: not done yet
      Commit your prediction first: ...
    >>> print(prediction("answer", 40, 42.0, explanation="six times seven", show_result=False))
    ✔ answer: passed
      you predicted 40; the result is 42. That is within 25 %: six times seven
    """
    out = show if show_result else _as_is
    if unset(guess):
        return out(_not_yet(name, "Commit your prediction"))
    try:
        value = float(guess)
    except (TypeError, ValueError):
        return out(
            CheckResult(
                False,
                name,
                status="failed",
                message=f"your prediction is a {type(guess).__name__}; give one number.",
            )
        )
    result = float(actual() if callable(actual) else actual)
    error, tol = abs(value - result), atol + rtol * abs(result)
    close = bool(error <= tol)
    within = f"{rtol:.0%}".replace("%", " %") if not atol else _fmt(tol, units)
    verdict = f"That is within {within}" if close else f"That is off by {_fmt(error, units)}"
    return out(
        CheckResult(
            close,
            name,
            value=value,
            tolerance=tol,
            message=f"you predicted {_fmt(value, units)}; the result is {_fmt(result, units)}. "
            f"{verdict}: {explanation}",
            diagnosis="" if close else _diagnose(np.asarray(value), diagnoses, tol),
        )
    )


def choice(
    name: str,
    answer: Any,
    *,
    options: Mapping[str, str],
    correct: str,
    explanation: str,
    why_not: Mapping[str, str],
    show_result: bool = True,
) -> CheckResult:
    """Check one option of a multiple-choice question.

    ``options`` maps a letter to its text; ``why_not`` says, for each wrong
    letter, what is wrong with it (recorded as the diagnosis, so that a class
    report shows how many chose it); ``explanation`` is shown with the right one.

    Examples
    --------
    >>> opts = {"a": "red", "b": "blue"}
    >>> print(choice("sky", "a", options=opts, correct="b", explanation="Rayleigh",
    ...              why_not={"a": "that is the sunset"}, show_result=False))
    ✘ sky: not yet right
      (a) is not it.
      Diagnosis: that is the sunset
    """
    if set(why_not) != set(options) - {correct}:
        raise ValueError("why_not must explain every wrong option, and only those")
    out = show if show_result else _as_is
    if unset(answer):
        return out(_not_yet(name, "Choose an option"))
    letter = str(answer).strip().strip("()").lower()
    if letter not in options:
        listed = ", ".join(f'"{k}"' for k in options)
        return out(
            CheckResult(
                False, name, status="failed", message=f"answer with one of {listed}, as a string."
            )
        )
    if letter == correct:
        return out(CheckResult(True, name, message=f"({letter}) is right: {explanation}"))
    return out(
        CheckResult(False, name, message=f"({letter}) is not it.", diagnosis=why_not[letter])
    )
