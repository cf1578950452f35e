"""Checks of the subtomogram-averaging sheets 10-03 (align and average) and 10-04 (resolution).

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
    _call,
    _test_array,
    check_function,
    show,
)

__all__ = [
    "aligned_average",
    "find_shift",
    "fsc_curve",
    "fsc_on_half_maps",
    "gold_standard_halves",
    "lowpass_to_resolution",
    "resolution_at_threshold",
    "rotation_error",
    "truth_fsc_from_halves",
]


# ------------------------------------------------------------------ sheet 10-03


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
        "multiply the FFT of `moved` by the complex conjugate of the FFT of `reference`, "
        "inverse-transform, find the argmax; indices past the middle of an axis are "
        "negative shifts (subtract the axis length)."
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
        "roll each subtomogram back by minus its shift (`np.roll(s, -shift, axis=(0, 1, 2))`) "
        "and take the mean over particles."
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
        "every particle must land in exactly one half, and the sizes may differ by at most 1. "
        "A random reordering of the indices still contains each index exactly once: what could "
        "you do with it? Make the random generator from `seed` inside your function."
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
                message="your halves follow the order of the list; assign particles at random, "
                "so that a trend along the list (e.g. dose or position) is in both halves.",
            )
        )
    if np.array_equal(a1, a2) or not np.array_equal(a1, a1b):
        return show(
            CheckResult(
                False,
                name,
                hint=hint,
                message="the split must depend on the seed, and be the same for the same seed "
                "(use `np.random.default_rng(seed)`).",
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
        "the rotation from R1 to R2 is `R1.T @ R2`; its angle w satisfies "
        "trace = 1 + 2 cos(w). Clip the cosine to [-1, 1] before `np.arccos`."
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
                diagnoses=[(np.deg2rad(expected), "that is in radians; return degrees.")],
                hint=hint,
                show_result=False,
            )

    return show(_all_passed(name, runs(), "your angles are right, for 0 and 180 degrees as well."))


# ------------------------------------------------------------------ sheet 10-04


def fsc_curve(fn: Callable[[np.ndarray, np.ndarray], Any]) -> CheckResult:
    """Check ``fn(a, b) -> curve``: the Fourier shell correlation of two cubic volumes.

    Shells as in :func:`emcourse.sta.fsc`: a coefficient at frequency ``k``
    (cycles per voxel, ``np.fft.fftfreq``) of an ``n``-box is in shell
    ``round(n * |k|)``; shells ``0 .. n // 2`` are returned. Tested on two
    noisy copies of a test volume (the curve falls from 1 towards 0);
    tolerance 0.01 per shell.

    Sample solution::

        def fsc_curve(a, b):
            n = a.shape[0]
            Fa, Fb = np.fft.fftn(a), np.fft.fftn(b)
            k = np.fft.fftfreq(n)
            kz, ky, kx = np.meshgrid(k, k, k, indexing="ij")
            shell = np.rint(n * np.sqrt(kz**2 + ky**2 + kx**2)).astype(int).ravel()
            keep = shell <= n // 2
            def per_shell(x):
                return np.bincount(shell[keep], x.ravel()[keep], minlength=n // 2 + 1)
            num = per_shell((Fa * np.conj(Fb)).real)
            return num / np.sqrt(per_shell(np.abs(Fa) ** 2) * per_shell(np.abs(Fb) ** 2))
    """
    from emcourse import sta

    name = "FSC curve"
    hint = (
        "FFT both volumes; give every coefficient its shell `round(n * |k|)` with "
        "`np.fft.fftfreq(n)`; per shell, sum Re(Fa conj(Fb)) and divide by "
        "sqrt(sum |Fa|^2 * sum |Fb|^2) (`np.bincount` with weights sums per shell)."
    )
    n = 24
    base = _test_array((n, n, n), seed=41)
    rng = np.random.default_rng(41)
    a = base + 0.6 * base.std() * rng.standard_normal(base.shape).astype(np.float32)
    b = base + 0.6 * base.std() * rng.standard_normal(base.shape).astype(np.float32)
    _, expected = sta.fsc(a, b, voxel_size=1.0)
    return check_function(
        fn,
        a.copy(),
        b.copy(),
        name=name,
        expected=expected,
        rtol=0,
        atol=0.01,
        what="FSC curve",
        diagnoses=[
            (np.ones_like(expected), "every shell is 1: did you correlate a volume with itself?")
        ],
        hint=hint,
    )


def fsc_on_half_maps(
    fn: Callable[[np.ndarray, np.ndarray], Any], half_a, half_b, *, voxel_size: float
) -> CheckResult:
    """Check ``fn(a, b) -> curve`` on real half maps: does it give the same resolution?

    Unlike the other checks this one runs the learner's FSC on the half maps
    the sheet passes in (the lesson's gold-standard half maps), reads both the
    learner's curve and :func:`emcourse.sta.fsc` at 0.143 with
    :func:`emcourse.sta.resolution_at`, and reports where the learner's curve
    crosses. It passes when the two crossings agree within 1 % and the curves
    within 0.01 per shell; the course's own crossing is never shown.
    """
    from emcourse import sta

    name = "your FSC on the lesson's half maps"
    hint = (
        "run your function on two small volumes you know the answer for (a volume with "
        "itself gives 1 in every shell; two independent noise volumes about 0), and compare "
        "the shells you assign with `np.fft.fftfreq` and rounding, as in task 1."
    )
    a = np.array(half_a, dtype=np.float32)
    b = np.array(half_b, dtype=np.float32)
    if a.shape != b.shape or a.ndim != 3 or len(set(a.shape)) != 1:
        raise ValueError(
            f"fsc_on_half_maps needs two cubic half maps of the same shape; got {a.shape} and "
            f"{b.shape}. Pass the two half maps of the refinement (`result.half_maps`)."
        )
    got, problem = _call(fn, (a.copy(), b.copy()), name=name, hint=hint)
    if problem is not None:
        return show(problem)
    freq, expected = sta.fsc(a, b, voxel_size=voxel_size)
    try:
        curve = np.asarray(got, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        curve = np.array([])
    if curve.shape != expected.shape or not np.all(np.isfinite(curve)):
        return show(
            CheckResult(
                False,
                name,
                hint=hint,
                message=f"expected {expected.size} finite values, one per shell 0 .. "
                f"{a.shape[0] // 2} of these {a.shape[0]}-voxel maps; got {curve.size} "
                f"values{'' if np.all(np.isfinite(curve)) else ' with NaN or inf among them'}.",
            )
        )
    res_got = sta.resolution_at(freq, curve, 0.143)
    res_ref = sta.resolution_at(freq, expected, 0.143)
    worst = float(np.abs(curve - expected).max())
    if abs(res_got - res_ref) <= 0.01 * res_ref and worst <= 0.01:
        return show(
            CheckResult(
                True,
                name,
                value=res_got,
                message=f"your curve crosses 0.143 at {res_got:.1f} Å, where the course's "
                "`sta.fsc` crosses too: you measured the gold-standard resolution of the "
                "lesson's average yourself.",
            )
        )
    return show(
        CheckResult(
            False,
            name,
            value=res_got,
            tolerance=0.01,
            hint=hint,
            message=f"your curve crosses 0.143 at {res_got:.1f} Å, but the course's `sta.fsc` "
            f"on the same half maps does not cross there (your curve differs from it by up to "
            f"{worst:.2f} in a shell).",
        )
    )


def resolution_at_threshold(fn: Callable[[np.ndarray, np.ndarray, float], Any]) -> CheckResult:
    """Check ``fn(freq, curve, threshold) -> resolution``: where the curve first drops below.

    Linear interpolation between the last shell at or above the threshold and
    the first below it (shell 0 skipped); ``1 / frequency`` in angstrom; a
    curve that never drops below gives the Nyquist resolution ``1 / freq[-1]``.
    Tested on smooth and bumpy curves and both usual thresholds; tolerance 0.5 %.

    Sample solution::

        def resolution_at_threshold(freq, curve, threshold):
            below = np.nonzero(curve[1:] < threshold)[0]
            if len(below) == 0:
                return 1 / freq[-1]
            i = below[0] + 1
            t = (threshold - curve[i - 1]) / (curve[i] - curve[i - 1])
            return 1 / (freq[i - 1] + t * (freq[i] - freq[i - 1]))
    """
    from emcourse import sta

    name = "resolution at a threshold"
    hint = (
        "find the first shell (after shell 0) whose FSC is below the threshold; interpolate "
        "the frequency linearly between it and the shell before; return 1 / frequency."
    )
    freq = np.arange(17) / (32 * 10.0)  # a 32-box at 10 A per voxel
    x = np.arange(17) / 16
    smooth = 1 / (1 + np.exp((x - 0.55) * 14))
    bumpy = np.clip(np.exp(-3 * x) + 0.25 * np.sin(9 * x) * x, -0.1, 1)
    cases = [(smooth, 0.143), (smooth, 0.5), (bumpy, 0.143), (np.ones(17) * 0.9, 0.143)]

    def runs():
        for curve, thr in cases:
            expected = sta.resolution_at(freq, curve, thr)
            i = 1 + int(np.nonzero(curve[1:] < thr)[0][0]) if (curve[1:] < thr).any() else 16
            diagnoses = [
                (
                    1 / freq[i],
                    "that is the first shell below the threshold: interpolate between "
                    "it and the shell before.",
                ),
                (
                    1 / freq[max(i - 1, 1)],
                    "that is the last shell above the threshold: "
                    "interpolate between it and the next one.",
                ),
            ]
            yield check_function(
                fn,
                freq.copy(),
                curve.copy(),
                thr,
                name=name,
                expected=float(expected),
                rtol=0.005,
                units="Å",
                what="resolution",
                diagnoses=diagnoses,
                hint=hint,
                show_result=False,
            )

    return show(
        _all_passed(
            name,
            runs(),
            "your resolutions are right for both thresholds, a bumpy curve and "
            "a curve that never drops below the threshold.",
        )
    )


def lowpass_to_resolution(fn: Callable[[np.ndarray, float, float], Any]) -> CheckResult:
    """Check ``fn(volume, resolution_A, voxel_size) -> filtered``: a low-pass filter.

    Measured on the Fourier transforms of the learner's output and the input:
    the largest amplitude left beyond ``1.15 / resolution`` (relative to the
    input's largest) and the largest relative change of a coefficient below
    ``0.85 / resolution``. Both must be below 1 %, so a hard or a soft
    (raised-cosine, up to 15 % wide) edge passes.

    Sample solution::

        def lowpass(volume, resolution_A, voxel_size):
            k = [np.fft.fftfreq(n, d=voxel_size) for n in volume.shape]
            kz, ky, kx = np.meshgrid(*k, indexing="ij")
            keep = np.sqrt(kz**2 + ky**2 + kx**2) <= 1 / resolution_A
            return np.fft.ifftn(np.fft.fftn(volume) * keep).real
    """
    name = "low-pass filter"
    hint = (
        "work in Fourier space: you need |k| in 1/Å for every coefficient (what does the "
        "second argument of `np.fft.fftfreq` do?), then decide which coefficients survive. "
        "The result must be a real volume of the input's shape."
    )

    def runs():
        for shape, res, vs in (((24, 24, 24), 40.0, 10.0), ((20, 24, 28), 12.0, 4.0)):
            vol = _test_array(shape, seed=51)
            rng = np.random.default_rng(51)
            vol = vol + 0.5 * vol.std() * rng.standard_normal(shape).astype(np.float32)
            k = [np.fft.fftfreq(n, d=vs) for n in shape]
            kz, ky, kx = np.meshgrid(*k, indexing="ij")
            kk = np.sqrt(kz**2 + ky**2 + kx**2)
            F0 = np.fft.fftn(vol)
            scale = float(np.abs(F0).max())

            def errors(out: Any, F0=F0, kk=kk, res=res, scale=scale) -> tuple[float, float]:
                F = np.fft.fftn(np.asarray(out, dtype=np.float64))
                high = kk > 1.15 / res
                low = kk < 0.85 / res
                left = float(np.abs(F[high]).max() / scale) if high.any() else 0.0
                changed = float(np.abs(F[low] - F0[low]).max() / scale)
                return left, changed

            yield check_function(
                fn,
                vol.copy(),
                res,
                vs,
                name=name,
                expected=vol,
                measure=errors,
                target=(0.0, 0.0),
                rtol=0,
                atol=0.01,
                what="(amplitude left beyond the cutoff, change below it)",
                hint=hint,
                show_result=False,
            )

    return show(
        _all_passed(
            name,
            runs(),
            "your filter removes what lies beyond the resolution and keeps "
            "what lies inside it, for a cubic and a non-cubic volume.",
        )
    )


def truth_fsc_from_halves(fn: Callable[[np.ndarray], Any]) -> CheckResult:
    """Check ``fn(fsc_half) -> c_ref``: Rosenthal & Henderson's ``sqrt(2 F / (1 + F))``.

    The FSC between the full map (both halves) and the truth, predicted from
    the half-map FSC ``F``; 0 where ``F <= 0``. Tested on values from -0.2
    to 1; tolerance 1e-4.

    Sample solution::

        def truth_fsc(fsc_half):
            f = np.clip(fsc_half, 0, None)
            return np.sqrt(2 * f / (1 + f))
    """
    name = "FSC against the truth"
    hint = (
        "C_ref = sqrt(2 FSC / (1 + FSC)) (Rosenthal & Henderson 2003); clip negative FSC "
        "values to 0 first."
    )
    f = np.linspace(-0.2, 1.0, 25)
    fc = np.clip(f, 0, None)
    expected = np.sqrt(2 * fc / (1 + fc))
    diagnoses = [
        (
            np.sqrt(fc),
            "that is sqrt(FSC); the full map averages twice as many particles: "
            "sqrt(2 FSC / (1 + FSC)).",
        ),
        (2 * fc / (1 + fc), "that is the full-map FSC; take the square root."),
    ]
    return check_function(
        fn,
        f.copy(),
        name=name,
        expected=expected,
        rtol=0,
        atol=1e-4,
        what="curve",
        diagnoses=diagnoses,
        hint=hint,
    )
