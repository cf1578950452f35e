"""Checks of the subtomogram-averaging sheet 10-09 (resolution and comparison).

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
    check_function,
    show,
)
from emcourse.checks._inputs import _test_array

__all__ = [
    "fsc_curve",
    "fsc_on_half_maps",
    "lowpass_to_resolution",
    "resolution_at_threshold",
]


# ------------------------------------------------------------------ sheet 10-09


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
        "each Fourier coefficient belongs to one shell, by its distance from the origin; "
        "the three sums of the formula run over a shell, not over single coefficients.",
        '`np.meshgrid` of `np.fft.fftfreq(n)` on each axis (indexing="ij") gives |k| of '
        "every coefficient; `np.bincount(shell, weights, minlength=n // 2 + 1)` sums any "
        "quantity per shell.",
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
            (np.ones_like(expected), "every shell is 1: did you correlate a volume with itself?"),
            (_fsc_variant(a, b, shells=np.floor), _FLOOR),
            (_fsc_variant(a, b, magnitude=True), _MAGNITUDE),
        ],
        hint=hint,
    )


_FLOOR = (
    "your shells are truncated, not rounded: `astype(int)` alone moves every coefficient "
    "up to a shell inward. Round first (`np.rint`)."
)
_MAGNITUDE = (
    "you summed |Fa conj(Fb)|; the numerator is its real part, which keeps its sign, so "
    "that noise cancels instead of adding up."
)


def _fsc_variant(a, b, *, shells=np.rint, magnitude: bool = False) -> np.ndarray:
    """The FSC with a typical slip: truncated shell indices, or the magnitude of the product."""
    n = a.shape[0]
    fa, fb = np.fft.fftn(a), np.fft.fftn(b)
    k = np.fft.fftfreq(n)
    kz, ky, kx = np.meshgrid(k, k, k, indexing="ij")
    shell = shells(n * np.sqrt(kz**2 + ky**2 + kx**2)).astype(int).ravel()
    keep = shell <= n // 2
    cross = fa * np.conj(fb)
    cross = np.abs(cross) if magnitude else cross.real

    def per_shell(x):
        return np.bincount(shell[keep], x.ravel()[keep], minlength=n // 2 + 1)

    return per_shell(cross) / np.sqrt(per_shell(np.abs(fa) ** 2) * per_shell(np.abs(fb) ** 2))


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
        "does your `fsc_curve` pass the check of task 1? This one runs the same function "
        "on larger maps.",
        "try it on cases you know: a volume with itself gives 1 in every shell, two "
        "independent noise volumes about 0.",
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
    diagnosis = ""
    for variant, words in (({"shells": np.floor}, _FLOOR), ({"magnitude": True}, _MAGNITUDE)):
        if np.abs(curve - _fsc_variant(a, b, **variant)).max() <= 0.01:
            diagnosis = words
    return show(
        CheckResult(
            False,
            name,
            value=res_got,
            tolerance=0.01,
            diagnosis=diagnosis,
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
        "the curve crosses the threshold between two shells: which two?",
        "take the first shell after shell 0 that is below the threshold and the shell "
        "before it; interpolate the frequency linearly between them at the threshold.",
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
                (
                    float(1 / expected),
                    "that is a frequency, in 1/Å; the resolution is its inverse, in Å.",
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
        "work in Fourier space: a resolution of d Å keeps the coefficients with |k| up to "
        "1 / d, with k in 1/Å.",
        "`np.fft.fftfreq(n, d=voxel_size)` gives k in 1/Å along an axis of n voxels; build "
        "|k| for every coefficient, zero those beyond the cutoff, and keep the real part of "
        "the inverse FFT.",
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

            def measured(out: Any, res: float = res, F0=F0, kk=kk, scale=scale):
                F = np.fft.fftn(np.asarray(out, dtype=np.float64))
                high = kk > 1.15 / res
                low = kk < 0.85 / res
                left = float(np.abs(F[high]).max() / scale) if high.any() else 0.0
                changed = float(np.abs(F[low] - F0[low]).max() / scale)
                return left, changed

            seen: list = []

            def errors(out: Any, measured=measured, seen=seen) -> tuple[float, float]:
                seen.append(out)
                return measured(out)

            result = check_function(
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
            if not result.passed and seen:
                out = np.asarray(seen[-1], dtype=np.float64)
                if max(measured(out, res * vs)) <= 0.01:
                    result.diagnosis = (
                        "your cutoff is 1 / resolution in cycles per voxel, so it is a voxel "
                        "size too low: give `np.fft.fftfreq` the voxel size (`d=`) to get k "
                        "in 1/Å."
                    )
                elif max(measured(vol - out)) <= 0.01:
                    result.diagnosis = (
                        "you kept the fine detail and removed the coarse: a low-pass filter "
                        "keeps |k| up to the cutoff."
                    )
            yield result

    return show(
        _all_passed(
            name,
            runs(),
            "your filter removes what lies beyond the resolution and keeps "
            "what lies inside it, for a cubic and a non-cubic volume.",
        )
    )
