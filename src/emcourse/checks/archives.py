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
from emcourse.volume import Source, Volume

__all__ = [
    "box_size_angstrom",
    "central_slices",
    "centre_of_mass",
    "center_of_mass",
    "projection",
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
        "multiply the number of voxels along each axis (`vol.shape`) by the voxel size "
        "along that axis (`vol.voxel_size_zyx`)."
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
        "index the middle plane along each axis: `data[nz // 2]`, `data[:, ny // 2]`, "
        "`data[:, :, nx // 2]`."
    )
    data = _test_array((20, 24, 28))
    nz, ny, nx = data.shape
    ref = (data[nz // 2], data[:, ny // 2], data[:, :, nx // 2])
    diagnoses = [
        (
            (data[:, :, nx // 2], data[:, ny // 2], data[nz // 2]),
            "the order is (z, y, x): first the z slice `data[nz // 2]`.",
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
    hint = f"sum the density along axis {axis}: `data.sum(axis={axis})`."
    data = _test_array((20, 24, 28), seed=1)
    ref = data.astype(np.float64).sum(axis=axis)
    diagnoses = [(data.mean(axis=axis), "that is the mean; the projection is the sum.")]
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
        "`scipy.ndimage.center_of_mass(vol.data)` gives voxels (z, y, x); multiply by "
        "`vol.voxel_size_zyx` and add `vol.origin`."
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
    thumb, about 1.21 Å³ per dalton.

    Sample solution::

        def threshold_for_volume(vol, target_A3):
            voxel_A3 = np.prod(vol.voxel_size_zyx)
            n = int(round(target_A3 / voxel_A3))
            return np.sort(vol.data, axis=None)[::-1][n - 1]
    """
    name = "isosurface threshold"
    hint = (
        "divide the target volume by the volume of one voxel to get a number of voxels n; "
        "the level is the n-th largest density (`np.sort(vol.data, axis=None)[::-1]`)."
    )
    vol = _test_volume((24, 24, 24), voxel_size=5.0, seed=3)
    voxel_a3 = float(np.prod(vol.voxel_size_zyx))

    def enclosed(level: Any) -> float:
        return float((vol.data >= float(np.asarray(level))).sum() * voxel_a3)

    def check(target: float) -> CheckResult:
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
            hint=hint,
            show_result=False,
        )

    targets = (fraction * vol.data.size * voxel_a3 for fraction in (0.05, 0.12))
    return show(
        _all_passed(
            name,
            (check(t) for t in targets),
            "your levels enclose the requested volumes within 2 %.",
        )
    )


# Keep the most common misspelling working.
center_of_mass = centre_of_mass
