"""Checks of the sheet 00-archives ("Explore the public EM archives")."""

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
from emcourse.checks._inputs import _test_array, _test_volume
from emcourse.checks._questions import choice, prediction
from emcourse.volume import Source, Volume

__all__ = [
    "box_size_angstrom",
    "central_slices",
    "centre_of_mass",
    "center_of_mass",
    "finest_detail_prediction",
    "projection",
    "sampling_choice",
    "threshold_for_volume",
]


def box_size_angstrom(fn: Callable[[Volume], Any]) -> CheckResult:
    """Check ``fn(vol) -> (z, y, x)``: the physical size of the box in angstrom.

    ``fn`` is called on two test volumes with different edge lengths, one
    with a single voxel size and one with a ``(z, y, x)`` voxel size.

    Sample solution::

        def box_size_angstrom(vol):
            return tuple(n * s for n, s in zip(vol.shape, vol.voxel_size_zyx))
    """
    name = "box size"
    hint = (
        "the header counts voxels; how many angstrom long is one voxel along each axis?",
        "pair each entry of `vol.shape` with the entry of `vol.voxel_size_zyx` for the same "
        "axis (`zip` walks two tuples side by side).",
    )

    def check(vs: float | tuple[float, float, float]) -> CheckResult:
        vol = _test_volume((20, 24, 28), voxel_size=vs)
        ref = np.array(vol.shape) * np.array(vol.voxel_size_zyx)
        diagnoses = [
            (
                np.array(vol.shape, dtype=float),
                "that is the box in voxels; multiply by the voxel size to get angstrom.",
            ),
            (ref[::-1], "arrays are indexed (z, y, x); return the sizes in that order."),
            (
                np.array(vol.shape) / np.array(vol.voxel_size_zyx),
                "the voxel size is angstrom per voxel: multiply, do not divide.",
            ),
            (ref / 10, "that is in nanometres; the box is asked in angstrom."),
        ]
        return check_function(
            fn,
            vol,
            name=name,
            expected=tuple(float(v) for v in ref),
            rtol=0,
            atol=1e-3,
            units="Å",
            diagnoses=diagnoses,
            hint=hint,
            show_result=False,
        )

    return show(
        _all_passed(
            name,
            (check(vs) for vs in (5.0, (4.0, 5.0, 6.0))),
            "your box sizes are right for a cubic and a non-cubic voxel, on a non-cubic box.",
        )
    )


def central_slices(fn: Callable[[np.ndarray], Any]) -> CheckResult:
    """Check ``fn(data) -> (z_slice, y_slice, x_slice)``: the three central planes.

    For ``data`` of shape ``(nz, ny, nx)`` the answer is
    ``data[nz // 2]`` (shape ``(ny, nx)``), ``data[:, ny // 2]`` (``(nz, nx)``)
    and ``data[:, :, nx // 2]`` (``(nz, ny)``). Tested on a non-cubic box.

    Sample solution::

        def central_slices(data):
            nz, ny, nx = data.shape
            return data[nz // 2], data[:, ny // 2], data[:, :, nx // 2]
    """
    name = "central slices"
    hint = (
        "a slice fixes one axis at one index and keeps the other two whole.",
        "`array[:, k]` fixes axis 1 (y) at index k; `:` keeps an axis whole; the middle "
        "index of an axis of length n is n // 2.",
    )
    data = _test_array((20, 24, 28))
    nz, ny, nx = data.shape
    ref = (data[nz // 2], data[:, ny // 2], data[:, :, nx // 2])
    diagnoses = [
        (
            (data[:, :, nx // 2], data[:, ny // 2], data[nz // 2]),
            "the order is (z, y, x): first the z slice `data[nz // 2]`.",
        ),
        (
            (data[nz // 2 - 1], data[:, ny // 2 - 1], data[:, :, nx // 2 - 1]),
            "those are the planes one before the middle ((n - 1) // 2 or n / 2 - 1); "
            "the task takes index n // 2.",
        ),
    ]
    return check_function(
        fn,
        data.copy(),
        name=name,
        expected=ref,
        rtol=0,
        atol=1e-6,
        what="slices",
        diagnoses=diagnoses,
        hint=hint,
    )


def projection(fn: Callable[..., Any], *, axis: int = 0) -> CheckResult:
    """Check ``fn(data) -> image``: the sum of the density along ``axis``.

    With ``axis=0`` (z) the answer has shape ``(ny, nx)``. A mean instead of a
    sum is accepted as wrong with a targeted hint.

    Sample solution::

        def project(data):
            return data.sum(axis=0)
    """
    name = f"projection along axis {axis}"
    hint = (
        "the beam crosses the whole volume along one axis: which axis is z in a (z, y, x) "
        "array, and what does the detector record of the density it crosses?",
        "NumPy's reductions (`sum`, `mean`, `max`) take `axis=`: reduce along that axis.",
    )
    data = _test_array((20, 24, 28), seed=1)
    ref = data.astype(np.float64).sum(axis=axis)
    diagnoses = [
        (data.mean(axis=axis), "that is the mean; the projection is the sum."),
        (
            data.max(axis=axis),
            "that is the maximum along the beam (a maximum-intensity projection); a "
            "transmission image records the sum of all the density the beam crosses.",
        ),
    ]
    diagnoses += [
        (data.sum(axis=a), f"that sums along axis {a}; sum along axis {axis}.")
        for a in range(3)
        if a != axis and data.sum(axis=a).shape == ref.shape
    ]
    return check_function(
        fn,
        data.copy(),
        name=name,
        expected=ref,
        rtol=1e-4,
        atol=1e-6,
        what="projection",
        diagnoses=diagnoses,
        hint=hint,
    )


def centre_of_mass(fn: Callable[[Volume], Any]) -> CheckResult:
    """Check ``fn(vol) -> (z, y, x)``: the centre of mass in angstrom.

    The answer is the density-weighted mean voxel position, converted to
    angstrom with the voxel size and shifted by ``vol.origin`` (the position of
    voxel (0, 0, 0) in Å). The test volume is positive, non-cubic, off-centre,
    with an origin that is not zero.

    Sample solution::

        def centre_of_mass(vol):
            com_voxels = scipy.ndimage.center_of_mass(vol.data)
            return tuple(o + c * s for o, c, s in
                         zip(vol.origin, com_voxels, vol.voxel_size_zyx))
    """
    from scipy import ndimage

    name = "centre of mass"
    hint = (
        "`ndi.center_of_mass` answers in voxel indices; the task wants angstrom, in the "
        "frame where voxel (0, 0, 0) is not at 0.",
        "an index times the voxel size is the distance from voxel (0, 0, 0), axis by axis; "
        "`vol.origin` says where voxel (0, 0, 0) itself is.",
    )
    data = _test_array((20, 24, 28), seed=2)
    data = np.roll(data, (3, -2, 4), axis=(0, 1, 2))
    vol = Volume(
        data,
        voxel_size=4.0,
        origin=(120.0, -40.0, 200.0),
        source=Source("emcourse-check", real=False),
    )
    com = np.array(ndimage.center_of_mass(data))
    vs = np.array(vol.voxel_size_zyx)
    org = np.array(vol.origin)
    ref = tuple(float(v) for v in org + com * vs)
    diagnoses = [
        (com, "that is in voxels; multiply by the voxel size and add the origin."),
        (com * vs, "that is relative to voxel (0, 0, 0); add `vol.origin`."),
        (org + com, "multiply the voxel position by the voxel size before adding the origin."),
        (com * vs - org, "the origin is where voxel (0, 0, 0) is: add it, do not subtract it."),
        (tuple(np.array(ref)[::-1]), "arrays are indexed (z, y, x); return that order."),
    ]
    return check_function(
        fn,
        vol,
        name=name,
        expected=ref,
        rtol=0,
        atol=0.05,
        units="Å",
        diagnoses=diagnoses,
        hint=hint,
    )


def threshold_for_volume(fn: Callable[[Volume, float], Any]) -> CheckResult:
    """Check ``fn(vol, target_A3) -> level``: an isosurface level enclosing a volume.

    Many levels are right; the check measures the volume the learner's level
    encloses, ``(vol.data >= level).sum() * voxel volume``, and requires it to
    be within 2 % of the target. Useful with the protein density rule of
    thumb, about 1.21 Å³ per dalton. The test volume has 2 Å voxels (8 Å³ each)
    and small targets, so that the typical mistakes are measured, not crashed
    on: the target taken as a number of voxels (8 times the volume), divided by
    the voxel edge instead of its volume (4 times), or the densities counted
    from the lowest (the box minus the target).

    Sample solution::

        def threshold_for_volume(vol, target_A3):
            voxel_A3 = np.prod(vol.voxel_size_zyx)
            n = int(round(target_A3 / voxel_A3))
            return np.sort(vol.data, axis=None)[::-1][n - 1]
    """
    name = "isosurface threshold"
    hint = (
        "the volume a level encloses is the number of voxels at or above it times the "
        "volume of one voxel.",
        "turn the target into a number of voxels n; then find the density that exactly n "
        "voxels reach or exceed (sorting the densities puts them in order).",
    )
    shape, edge = (24, 24, 24), 2.0
    data = _test_array(shape, seed=3)
    # break the ties of the clipped background, so that every count has its own level
    data = data + 1e-4 * np.random.default_rng(3).random(shape).astype(np.float32)
    vol = Volume(data, voxel_size=edge, source=Source("emcourse-check", real=False))
    voxel_a3 = float(np.prod(vol.voxel_size_zyx))
    box_a3 = data.size * voxel_a3
    mean, sd = float(data.mean()), float(data.std())

    def enclosed(level: Any) -> float:
        return float((vol.data >= float(np.asarray(level))).sum() * voxel_a3)

    def check(target: float) -> CheckResult:
        diagnoses = [
            (
                target * voxel_a3,
                f"your level encloses {voxel_a3:g} times the target, the volume of one voxel "
                "in Å³: you took the target in Å³ for a number of voxels. Divide it by the "
                "volume of one voxel.",
            ),
            (
                target * voxel_a3 / edge,
                f"your level encloses {voxel_a3 / edge:g} times the target: a voxel's volume "
                f"is its edge cubed ({voxel_a3:g} Å³ here), not its edge.",
            ),
            (
                box_a3 - target + voxel_a3,
                "your level encloses the box minus the target: you counted from the lowest "
                "density. The molecule is the densest part of the map.",
            ),
        ]
        diagnoses += [
            (
                enclosed(mean + k * sd),
                "your level comes from the map's statistics (its mean plus a multiple of its "
                "standard deviation), so it encloses the same volume whatever the target: "
                "it must depend on `target_volume`.",
            )
            for k in range(4)
        ]
        return check_function(
            fn,
            vol,
            target,
            name=name,
            expected=0.0,
            measure=enclosed,
            target=target,
            rtol=0.02,
            units="Å³",
            what="enclosed volume",
            diagnoses=diagnoses,
            hint=hint,
            show_result=False,
        )

    targets = (fraction * box_a3 for fraction in (0.02, 0.05))
    return show(
        _all_passed(
            name,
            (check(t) for t in targets),
            "your levels enclose the requested volumes within 2 %.",
        )
    )


# ------------------------------------------------------------------ questions


def finest_detail_prediction(guess: Any, vol: Volume) -> CheckResult:
    """Predict, then run: the finest detail (Å) a map with this voxel size can hold at all.

    The result is the Nyquist period, twice the largest voxel size of ``vol``
    (the map the sheet loaded), whatever resolution the entry reports.
    """
    spacing = float(max(vol.voxel_size_zyx))
    return prediction(
        "finest detail the map can hold",
        guess,
        lambda: 2.0 * spacing,
        rtol=0.1,
        units="Å",
        explanation="a wave needs at least two samples per period (Nyquist), so a map "
        "sampled every s Å cannot hold a period finer than 2 s, however good the data were. "
        "The voxel size sets this ceiling; the resolution an entry reports is measured "
        "(by FSC) and is usually coarser still.",
        diagnoses=[
            (
                spacing,
                "that is one voxel: the voxel size is the spacing of the samples, not the "
                "finest period they can hold.",
            ),
            (
                spacing / 2,
                "that is half a voxel: nothing finer than the sampling itself can be "
                "recorded, let alone half of it.",
            ),
        ],
    )


_SAMPLING_OPTIONS = {
    "a": "Map 1 has four times the resolution of map 2.",
    "b": "Map 1 covers four times as much space as map 2.",
    "c": "Both boxes are about 280 Å across; map 1 could hold detail down to 2.2 Å, "
    "map 2 only down to 8.8 Å, but their resolutions are what their FSCs say.",
    "d": "Map 2 is a crop of map 1.",
}


def sampling_choice(answer: Any) -> CheckResult:
    """Interpretation: what the voxel sizes of two archive maps of one molecule say."""
    return choice(
        "voxel size and resolution",
        answer,
        options=_SAMPLING_OPTIONS,
        correct="c",
        explanation="the box in Å is voxels times voxel size (256 x 1.1 and 64 x 4.4 are "
        "both about 282 Å); the voxel size sets only the finest period a map can hold (two "
        "voxels). Depositors often sample finer than the resolution, or bin a map for a "
        "quick look: read the resolution from the entry's FSC, not from the header.",
        why_not={
            "a": "the voxel size is not the resolution: it only caps it at two voxels; the "
            "resolution is measured by FSC and can be far coarser than the sampling.",
            "b": "both boxes are about 282 Å across (voxels times voxel size): map 1 has more, "
            "smaller voxels over the same space.",
            "d": "a crop keeps the voxel size and shrinks the box in Å; here the box in Å is "
            "the same and the voxel size differs: map 2 is binned (resampled), not cropped.",
        },
    )


sampling_choice.options = _SAMPLING_OPTIONS  # the sheet lists them; a test compares


# Keep the most common misspelling working.
center_of_mass = centre_of_mass
