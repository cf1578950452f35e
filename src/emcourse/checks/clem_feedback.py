"""How the CLEM checks score a learner's matrix: TRE on hidden targets, and the slip it shows.

Moved out of :mod:`emcourse.checks.clem` (which the sheets' tasks fill):
:func:`transform_feedback` refuses a matrix that is not homogeneous (its last
row must be ``0 ... 0 1``: a zero last row maps every point correctly yet
cannot be composed or inverted), scores the rest by RMS TRE, and names a known
slip (transposed, inverted, pixels, axes swapped, a row missing).
"""

from __future__ import annotations

import numpy as np

from emcourse.checks._core import CheckResult, _validate, show

SLIPS = {
    "transposed": "your matrix looks transposed: rows and columns swapped. With points as rows, "
    "`fixed = moving @ A.T + t`: what a least-squares solver returns for points as rows is "
    "laid out the other way round from the matrix that maps a column vector.",
    "inverse": "your transform runs the wrong way: it maps EM onto light. Swap the roles of "
    "moving and fixed (or invert the matrix).",
    "pixels": "your transform is in pixels: convert the pixel indices to nanometres (index * "
    "pixel size) before fitting, so that the matrix maps nm to nm.",
    "axes": "your x and y (and z) are swapped: the course's points are (z, y, x) / (y, x) "
    "columns, and so is the matrix. Reverse the column order only when writing files "
    "for other tools.",
}

# A matrix of the wrong shape that a known slip explains, by (rows, columns) - (K, K).
SHAPE_SLIPS = {
    (0, 0): "your matrix has no translation: it is the linear part only. A homogeneous matrix "
    "has one more row and column than the points have coordinates.",
    (1, 0): "that looks like the least-squares solution itself, one row per input coordinate "
    "and the constant: it is not yet laid out as the matrix that maps a point.",
    (0, 1): "the bottom row of the homogeneous matrix is missing: it keeps the constant 1 of a "
    "point as 1, so that matrices compose and invert.",
}


NOT_HOMOGENEOUS = (
    "the bottom row of your homogeneous matrix is not 0 ... 0 1: it maps points as before, but "
    "the matrix can no longer be inverted or composed with another. Append the row that keeps a "
    "point's constant 1."
)

SAME_PIXEL = (
    "your points were converted with one pixel size (or the two swapped): the light and the EM "
    "images have pixels of different sizes, and each point set needs its own."
)


def _rms(e) -> float:
    return float(np.sqrt(np.mean(np.square(e))))


def _tre(matrix, truth, targets) -> float:
    from emcourse import clem

    return _rms(clem.target_errors(matrix, truth, targets))


def _variants(m: np.ndarray, pixel_fix=None) -> dict:
    from emcourse import clem

    k = m.shape[0] - 1
    out = {"transposed": m.T.copy()}
    lin_t = m.copy()
    lin_t[:k, :k] = m[:k, :k].T
    out["transposed (linear part)"] = lin_t
    try:
        out["inverse"] = np.linalg.inv(m)
    except np.linalg.LinAlgError:
        pass
    out["axes"] = clem.matrix_xyz(m)
    if pixel_fix is not None:
        out["pixels"] = pixel_fix(m)
    return out


def transform_feedback(
    name: str,
    matrix,
    truth,
    targets,
    *,
    reference_tre: float,
    rel: float = 1.1,
    slack: float = 5.0,
    unit: str = "nm",
    hint: str = "",
    pixel_fix=None,
    fixes=(),
    show_result: bool = True,
) -> CheckResult:
    """Score a learner's matrix by RMS TRE on hidden targets and name a known slip.

    Passes when the TRE is at most ``max(rel * reference_tre, reference_tre +
    slack)``. The matrix must be ``(K+1, K+1)`` with finite numbers.
    ``fixes`` is a sequence of ``(function, hint)``: when ``function(matrix)``
    would pass, ``hint`` is given (tried before the standard slips).
    """
    k = np.shape(targets)[1]
    like = np.eye(k + 1)
    problem = _validate(matrix, like, name=name, hint=hint, subject="your matrix")
    if problem is not None:
        shape = np.shape(matrix) if isinstance(matrix, np.ndarray) else ()
        if len(shape) == 2:
            problem.diagnosis = SHAPE_SLIPS.get((shape[0] - k, shape[1] - k), "")
    else:
        m = np.asarray(matrix, dtype=np.float64)
        tol = max(rel * reference_tre, reference_tre + slack)
        tre = _tre(m, truth, targets)
        if tre <= tol and np.allclose(m[k], np.eye(k + 1)[k]):
            problem = CheckResult(
                True,
                name,
                value=tre,
                tolerance=tol,
                hint=hint,
                message=f"your transform puts the hidden targets within {tre:.4g} {unit} RMS of "
                f"where they belong (reference fit {reference_tre:.4g} {unit}).",
            )
        else:
            slip = ""
            candidates = [(fix(m), text) for fix, text in fixes]
            candidates += [(v, SLIPS[s.split(" ")[0]]) for s, v in _variants(m, pixel_fix).items()]
            with np.errstate(all="ignore"):  # a slip's variant may overflow: it is not the slip
                for fixed, text in candidates:
                    if _tre(fixed, truth, targets) <= tol and np.allclose(fixed[k], like[k]):
                        slip = text
                        break
            homogeneous = np.allclose(m[k], np.eye(k + 1)[k])
            last = np.array2string(m[k], precision=3)
            problem = CheckResult(
                False,
                name,
                value=tre,
                tolerance=tol,
                hint=hint,
                diagnosis=slip or ("" if homogeneous else NOT_HOMOGENEOUS),
                message=f"your transform misses the hidden targets by {tre:.4g} {unit} RMS; "
                f"a least-squares fit reaches {reference_tre:.4g} {unit} "
                f"(tolerance {tol:.4g} {unit})."
                if homogeneous
                else f"the last row of your matrix is {last}; a homogeneous matrix ends with "
                f"the row {np.eye(k + 1, dtype=int)[k].tolist()}.",
            )
    return show(problem) if show_result else problem
