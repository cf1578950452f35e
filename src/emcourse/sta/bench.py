"""How close template matching and alignment come to the FFT work they cannot avoid.

``measure()`` times :func:`emcourse.sta.template_match` and
:func:`emcourse.sta.align` on a representative problem, and in the same run the
"FFT floor": for template matching, one forward and one inverse ``rfftn`` of
the tomogram's size per rotation; for alignment, one forward and one inverse
``rfftn`` of the box size per (particle, rotation) pair, done the fastest way
(batched, as many at once as ``align`` batches). The ratios time / floor and
the milliseconds per rotation are what ``make bench`` reports; the course aims
for at most 1.5 (template matching, which transforms only part of each padded
template and reuses one transform for four rotations, comes in below 1).

:func:`match_peers` times matching on the peer benchmark problem of
``../shared/peers`` (the comparison with pyTME); ``python -m emcourse.bench
--peers DIR`` reads its files and runs it. Run ``python -m emcourse.sta.bench``
to print the table of :func:`measure`.
"""

from __future__ import annotations

import time

import numpy as np
import scipy.fft as sfft

from emcourse import sta


def _paired_times(fn, floor, repeats: int):
    """Median times of ``fn`` and ``floor``, run alternately so that load drifts hit both."""
    a, b = [], []
    for _ in range(repeats):
        for f, out in ((fn, a), (floor, b)):
            t = time.perf_counter()
            f()
            out.append(time.perf_counter() - t)
    ratios = np.array(a) / np.array(b)
    return float(np.median(a)), float(np.median(b)), float(np.median(ratios))


def measure(
    *,
    tomogram_shape=(32, 128, 128),
    box: int = 16,
    tm_step: float = 30.0,
    n_particles: int = 30,
    align_step: float = 30.0,
    repeats: int = 3,
    seed: int = 0,
) -> dict:
    """Time template matching and alignment against their FFT floor.

    Parameters
    ----------
    tomogram_shape : tuple of 3 int
        Tomogram for template matching (the lessons match on a 2x binned
        64 x 256 x 256 tomogram: 32 x 128 x 128).
    box : int
        Template edge for matching (16 at 20 A voxels).
    tm_step : float
        Angular step of the matching search (degrees).
    n_particles, align_step :
        Alignment problem: ``n_particles`` boxes of 32 voxels against a global
        search at ``align_step`` degrees.
    repeats : int
        Each timing is the median of this many runs; each ratio the median of
        the per-run ratios (method and floor run alternately).

    Returns
    -------
    dict
        ``tm_s``, ``tm_floor_s``, ``tm_ratio``, ``tm_rotations``, ``align_s``,
        ``align_floor_s``, ``align_ratio``, ``align_pairs``, and the sizes.
    """
    rng = np.random.default_rng(seed)
    ref = sta.phantom_map(box=box, voxel_size=20.0)
    tomo = rng.normal(size=tomogram_shape).astype(np.float32)
    angles = sta.angular_sampling(tm_step)

    def tm():
        sta.template_match(tomo, ref, angles=angles, wedge=(-60, 60))

    def tm_floor():
        buf = np.zeros(tomogram_shape, np.float32)
        for _ in range(len(angles)):
            F = sfft.rfftn(buf, workers=sta.WORKERS)
            sfft.irfftn(F, s=tomogram_shape, workers=sta.WORKERS, overwrite_x=True)

    tm_s, tm_floor_s, tm_ratio = _paired_times(tm, tm_floor, repeats)

    abox = 32
    aref = sta.phantom_map(box=abox, voxel_size=10.0)
    subs = np.stack(
        [sta.rotate_volume(aref, R) for R in sta.random_rotations(n_particles, seed=seed)]
    )
    subs += rng.normal(scale=0.5, size=subs.shape).astype(np.float32)
    a_angles = sta.angular_sampling(align_step)

    def align():
        sta.align(subs, aref, angles=a_angles, max_shift=3, wedge=(-60, 60))

    pairs = n_particles * len(a_angles)
    chunk = 64

    def align_floor():
        stack = np.zeros((chunk, abox, abox, abox), np.float32)
        for _ in range(int(np.ceil(pairs / chunk))):
            F = sfft.rfftn(stack, axes=(1, 2, 3), workers=sta.WORKERS)
            sfft.irfftn(F, s=stack.shape[1:], axes=(1, 2, 3), workers=sta.WORKERS)

    align_s, align_floor_s, align_ratio = _paired_times(align, align_floor, repeats)
    return {
        "tomogram_shape": tuple(tomogram_shape),
        "tm_rotations": len(angles),
        "tm_ms_per_rotation": 1000 * tm_s / len(angles),
        "tm_s": tm_s,
        "tm_floor_s": tm_floor_s,
        "tm_ratio": tm_ratio,
        "align_box": abox,
        "align_pairs": pairs,
        "align_s": align_s,
        "align_floor_s": align_floor_s,
        "align_ratio": align_ratio,
    }


def match_peers(
    tomogram,
    template,
    positions,
    *,
    step: float = 16.29,
    wedge=(-60.0, 60.0),
    min_distance: float = 12.0,
    tolerance: float = 3.0,
) -> dict:
    """Template matching on the peer benchmark problem: time, FFT floor and particles found.

    The problem of ``../shared/peers`` (a 128^3 tomogram with 20 copies of a
    32^3 template, a +-60 deg wedge): :func:`emcourse.sta.template_match` with
    ``angular_sampling(step)`` (1,992 rotations at 16.29 deg, pyTME's ``-a 15``
    set), then greedy peaks (:func:`emcourse.sta.find_peaks`, ``min_distance``
    voxels apart, as many as there are particles) scored against the true
    ``positions`` within ``tolerance`` voxels. The FFT floor is one forward and
    one inverse real FFT of the tomogram per rotation, timed on a sample.

    Returns
    -------
    dict
        ``rotations``, ``seconds``, ``ms_per_rotation``, ``floor_ms_per_rotation``,
        ``ratio`` (seconds over the floor), ``found`` and ``particles``.
    """
    tomogram = np.asarray(tomogram, dtype=np.float32)
    positions = np.asarray(positions, dtype=np.float64).reshape(-1, 3)
    angles = sta.angular_sampling(step)
    start = time.perf_counter()
    scores, _ = sta.template_match(tomogram, template, angles=angles, wedge=wedge)
    seconds = time.perf_counter() - start
    picks = sta.find_peaks(scores, min_distance=min_distance, n=len(positions))
    _, recall = sta.precision_recall(picks, positions, tolerance=tolerance)
    buf = np.zeros(tomogram.shape, np.float32)
    sample = 40
    start = time.perf_counter()
    for _ in range(sample):
        F = sfft.rfftn(buf, workers=sta.WORKERS)
        sfft.irfftn(F, s=buf.shape, workers=sta.WORKERS, overwrite_x=True)
    floor = (time.perf_counter() - start) / sample
    return {
        "rotations": len(angles),
        "seconds": seconds,
        "ms_per_rotation": 1000 * seconds / len(angles),
        "floor_ms_per_rotation": 1000 * floor,
        "ratio": seconds / (floor * len(angles)),
        "found": int(round(recall * len(positions))),
        "particles": len(positions),
    }


def main() -> None:
    r = measure()
    print(f"{'step':<18}{'time (s)':>10}{'FFT floor (s)':>15}{'ratio':>8}")
    print(
        f"{'template_match':<18}{r['tm_s']:>10.2f}{r['tm_floor_s']:>15.2f}{r['tm_ratio']:>8.2f}"
        f"   {r['tm_rotations']} rotations ({r['tm_ms_per_rotation']:.1f} ms each), "
        f"tomogram {r['tomogram_shape']}"
    )
    print(
        f"{'align':<18}{r['align_s']:>10.2f}{r['align_floor_s']:>15.2f}"
        f"{r['align_ratio']:>8.2f}   {r['align_pairs']} particle x rotation pairs, box 32"
    )


if __name__ == "__main__":
    main()
