"""Checks of the subtomogram-averaging sheet 10-08 (align and average).

Every check calls the learner's function on its own seeded synthetic data and
compares with :mod:`emcourse.sta`'s answer, without showing it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from emcourse.checks._core import (
    CheckResult,
    _all_passed,
    check_function,
    show,
)
from emcourse.checks._inputs import _test_array

__all__ = [
    "aligned_average",
    "find_shift",
    "gold_standard_halves",
    "rotation_error",
]


# ------------------------------------------------------------------ sheet 10-08


def find_shift(fn: Callable[[np.ndarray, np.ndarray], Any]) -> CheckResult:
    """Check ``fn(reference, moved) -> (dz, dy, dx)``: the shift found by FFT cross-correlation.

    ``moved`` is ``np.roll(reference, shift, axis=(0, 1, 2))`` plus noise, on a
    non-cubic box, for shifts with positive and negative components, some of
    them more than a quarter of the box. Passes when every component is
    within 1 voxel.

    Sample solution::

        def find_shift(reference, moved):
            cc = np.fft.ifftn(np.fft.fftn(moved) * np.conj(np.fft.fftn(reference))).real
            peak = np.array(np.unravel_index(np.argmax(cc), cc.shape))
            n = np.array(cc.shape)
            return tuple(np.where(peak > n // 2, peak - n, peak))
    """
    name = "shift by cross-correlation"
    hint = (
        "the cross-correlation is a volume that peaks where `moved` lines up with "
        "`reference`: where is its largest value?",
        "take the real part of the inverse FFT of the product the task gives, find its "
        "argmax as (z, y, x) with `np.unravel_index`; on an axis of length n, an index "
        "past n // 2 stands for a negative shift.",
    )
    shape = (20, 24, 28)

    def runs():
        for seed, shift in ((11, (3, -5, 2)), (12, (-7, 9, -11)), (13, (0, 1, -1))):
            ref = _test_array(shape, seed=seed)
            rng = np.random.default_rng(seed)
            moved = np.roll(ref, shift, axis=(0, 1, 2))
            moved = moved + 0.3 * ref.std() * rng.standard_normal(shape).astype(np.float32)
            expected = tuple(float(s) for s in shift)
            wrapped = tuple(float(s % n) for s, n in zip(shift, shape, strict=True))
            diagnoses = [
                (
                    tuple(-s for s in expected),
                    "the sign is flipped: you found how to move "
                    "`moved` back onto `reference`. Swap which transform is conjugated.",
                ),
            ]
            if expected[::-1] != expected:
                diagnoses.append(
                    (
                        expected[::-1],
                        "that is (dx, dy, dz); return the shift in the array's axis order, "
                        "(dz, dy, dx).",
                    )
                )
            if wrapped != expected:
                diagnoses.append(
                    (
                        wrapped,
                        "indices past the middle of an axis are negative shifts: "
                        "subtract the axis length from them.",
                    )
                )
            yield check_function(
                fn,
                ref.copy(),
                moved,
                name=name,
                expected=expected,
                rtol=0,
                atol=1.0,
                units="voxels",
                what="shift",
                diagnoses=diagnoses,
                hint=hint,
                show_result=False,
            )

    return show(
        _all_passed(name, runs(), "your shifts are right within 1 voxel, in both directions.")
    )


def aligned_average(fn: Callable[[np.ndarray, np.ndarray], Any]) -> CheckResult:
    """Check ``fn(subtomos, shifts) -> average``: undo known integer shifts, then average.

    ``subtomos[i]`` is ``np.roll(reference, shifts[i], axis=(0, 1, 2))`` plus
    noise. The answer is the mean of the subtomograms rolled back by
    ``-shifts[i]``; a Fourier shift gives the same for integer shifts.

    Sample solution::

        def aligned_average(subtomos, shifts):
            back = [np.roll(s, -np.asarray(t, int), axis=(0, 1, 2))
                    for s, t in zip(subtomos, shifts)]
            return np.mean(back, axis=0)
    """
    name = "aligned average"
    hint = (
        "before averaging, every particle must be back where the reference is.",
        "`np.roll(s, shift, axis=(0, 1, 2))` moves a volume by whole voxels per axis; "
        "which shift undoes `shifts[i]`? Then average over the particle axis.",
    )
    shape = (18, 20, 22)
    ref = _test_array(shape, seed=21)
    rng = np.random.default_rng(21)
    shifts = rng.integers(-5, 6, size=(12, 3))
    subs = np.stack([np.roll(ref, tuple(s), axis=(0, 1, 2)) for s in shifts])
    subs = subs + 0.5 * ref.std() * rng.standard_normal(subs.shape).astype(np.float32)
    expected = np.mean(
        [np.roll(s, tuple(-t), axis=(0, 1, 2)) for s, t in zip(subs, shifts, strict=True)], axis=0
    ).astype(np.float64)
    diagnoses = [
        (subs.mean(axis=0), "that is the average without undoing the shifts."),
        (
            np.mean(
                [np.roll(s, tuple(t), axis=(0, 1, 2)) for s, t in zip(subs, shifts, strict=True)],
                axis=0,
            ),
            "you shifted by +shift: move each particle back by -shift.",
        ),
        (
            expected * len(subs),
            "that is the sum; divide by the number of particles.",
        ),
        (
            np.mean(
                [
                    np.roll(s, tuple(-t[::-1]), axis=(0, 1, 2))
                    for s, t in zip(subs, shifts, strict=True)
                ],
                axis=0,
            ),
            "each shift is (dz, dy, dx), in the array's axis order; you read it as (x, y, z).",
        ),
    ]
    return check_function(
        fn,
        subs.copy(),
        shifts.copy(),
        name=name,
        expected=expected,
        rtol=1e-3,
        atol=1e-5,
        what="average",
        diagnoses=diagnoses,
        hint=hint,
    )


def gold_standard_halves(fn: Callable[[int, int], Any]) -> CheckResult:
    """Check ``fn(n, seed) -> (half_a, half_b)``: a random split of 0..n-1 into two halves.

    Measured: how many indices are in both halves, how many in neither (or
    out of range), how unbalanced the sizes are (more than 1 apart counts),
    and whether different seeds give different splits that are not simply
    the first and the second half of the list. All must be 0.

    Sample solution::

        def split_halves(n, seed):
            perm = np.random.default_rng(seed).permutation(n)
            return np.sort(perm[: (n + 1) // 2]), np.sort(perm[(n + 1) // 2 :])
    """
    name = "gold-standard halves"
    hint = (
        "which random operation on the indices 0 .. n-1 keeps each of them exactly once?",
        "shuffle the indices with a generator made from `seed` inside your function, then "
        "cut the shuffled list in two (the first half one longer when n is odd).",
    )
    results = []
    for n in (40, 31):

        def problems(answer: Any, n: int = n) -> tuple[float, float, float]:
            a, b = (np.asarray(h, dtype=np.int64).ravel() for h in answer)
            both = len(np.intersect1d(a, b)) + (len(a) - len(np.unique(a)))
            both += len(b) - len(np.unique(b))
            covered = np.union1d(a, b)
            missing = n - int(np.isin(np.arange(n), covered).sum()) + int((covered >= n).sum())
            missing += int((covered < 0).sum())
            imbalance = max(abs(len(a) - len(b)) - 1, 0)
            return float(both), float(missing), float(imbalance)

        def measured(n: int, seed: int, problems=problems) -> tuple[float, float, float]:
            return problems(fn(n, seed))

        r = check_function(
            measured,
            n,
            7,
            name=name,
            expected=(0.0, 0.0, 0.0),
            rtol=0,
            atol=0,
            what="(indices in both halves, indices in neither, size imbalance)",
            hint=hint,
            show_result=False,
        )
        results.append(r)
        if not r.passed:
            if r.status == "failed" and r.diagnosis == "":
                r.diagnosis = _halves_diagnosis(fn, n)
            return show(r)
    # a random split: not the first and second half of the list, and seeded
    a1, _ = (np.sort(np.asarray(h).ravel()) for h in fn(40, 1))
    a2, _ = (np.sort(np.asarray(h).ravel()) for h in fn(40, 2))
    a1b, _ = (np.sort(np.asarray(h).ravel()) for h in fn(40, 1))
    ordered = {tuple(range(20)), tuple(range(20, 40)), tuple(range(0, 40, 2))}
    ordered.add(tuple(range(1, 40, 2)))
    if tuple(a1.tolist()) in ordered:
        return show(
            CheckResult(
                False,
                name,
                hint=hint,
                message="every particle is in one half, and the halves are balanced.",
                diagnosis="your halves follow the order of the list; assign particles at "
                "random, so that a trend along the list (e.g. dose or position) is in both "
                "halves.",
            )
        )
    if np.array_equal(a1, a2) or not np.array_equal(a1, a1b):
        return show(
            CheckResult(
                False,
                name,
                hint=hint,
                message="every particle is in one half, and the halves are balanced.",
                diagnosis="the split must depend on the seed, and be the same for the same "
                "seed: make the generator from it (`np.random.default_rng(seed)`).",
            )
        )
    return show(
        _all_passed(
            name,
            results,
            "every particle is in exactly one half, the halves are balanced "
            "and random, and the split is reproducible from the seed.",
        )
    )


def _halves_diagnosis(fn: Callable[[int, int], Any], n: int) -> str:
    """Name the usual ways a split goes wrong: drawing with replacement, or a coin per particle."""
    try:
        a, b = (np.asarray(h, dtype=np.int64).ravel() for h in fn(n, 7))
    except Exception:  # noqa: BLE001 - the check already reported what went wrong
        return ""
    both = np.concatenate([a, b])
    if len(np.unique(both)) < len(both):
        return (
            "some indices are drawn twice: drawing at random with replacement (`rng.choice` "
            "without `replace=False`, `rng.integers`) repeats indices. Shuffle them instead."
        )
    if len(both) == n and abs(len(a) - len(b)) > 1:
        return (
            "every particle is in one half, but the sizes are unbalanced: a coin flip per "
            "particle does not give halves of equal size. Shuffle, then cut in the middle."
        )
    return ""


def rotation_error(fn: Callable[[np.ndarray, np.ndarray], Any]) -> CheckResult:
    """Check ``fn(R1, R2) -> degrees``: the angle of the rotation that takes R1 to R2.

    Tested on pairs of random rotation matrices, including a pair 180 degrees
    apart and identical ones; tolerance 0.01 degree.

    Sample solution::

        def rotation_error(R1, R2):
            c = (np.trace(R1.T @ R2) - 1) / 2
            return np.degrees(np.arccos(np.clip(c, -1, 1)))
    """
    from emcourse import sta

    name = "rotation error"
    hint = (
        "the rotation that takes R1 to R2 is one rotation by one angle; the trace of its "
        "matrix tells that angle.",
        "solve trace = 1 + 2 cos(w) for w. Rounding can push the cosine slightly past 1: "
        "clip it to [-1, 1] before `np.arccos`, and answer in degrees.",
    )
    R = sta.random_rotations(6, seed=31)
    flip = sta.euler_to_matrix([0.0, 180.0, 0.0])
    pairs = [(R[0], R[1]), (R[2], R[3]), (R[4], R[4]), (R[5], R[5] @ flip)]

    def runs():
        for R1, R2 in pairs:
            expected = float(sta.rotation_angle_between(R1, R2))
            yield check_function(
                fn,
                R1.copy(),
                R2.copy(),
                name=name,
                expected=expected,
                rtol=0,
                atol=0.01,
                units="degrees",
                what="angle",
                diagnoses=[
                    (np.deg2rad(expected), "that is in radians; return degrees."),
                    (
                        float(sta.rotation_angle_between(np.eye(3), R1 @ R2)),
                        "that is the angle of R1 @ R2; the rotation between them is R1.T @ R2 "
                        "(the inverse of a rotation matrix is its transpose).",
                    ),
                ],
                hint=hint,
                show_result=False,
            )

    return show(_all_passed(name, runs(), "your angles are right, for 0 and 180 degrees as well."))
