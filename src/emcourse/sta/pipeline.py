"""The track's worked example in a few calls: a reference prepared, simulated, found and refined."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emcourse.sta.alignment import Poses, RefineResult, align, refine
from emcourse.sta.matching import extract_subtomograms
from emcourse.sta.rotations import angular_sampling
from emcourse.sta.sampling import lowpass, resample, soft_sphere
from emcourse.sta.simulate import simulate_tomogram


def prepare_reference(
    volume, *, voxel_size: float, new_voxel_size: float = 10.0, box: int = 32, radius: float = 12.0
) -> np.ndarray:
    """Bring a deposited map to the tomogram's voxel size and mask it with a soft sphere.

    :func:`resample` into a ``box``-voxel cube, then multiply by
    :func:`soft_sphere` of ``radius`` voxels (edge 3), so a map that fills its
    deposited box leaves room for its neighbours in a simulated tomogram.

    Examples
    --------
    >>> from emcourse.sta import phantom_map
    >>> ref = prepare_reference(phantom_map(box=20, voxel_size=11.4), voxel_size=11.4)
    >>> ref.shape, bool(ref[0, 0, 0] == 0.0)
    ((32, 32, 32), True)
    """
    ref = resample(volume, voxel_size=voxel_size, new_voxel_size=new_voxel_size, box=box)
    return ref * soft_sphere(box, radius, edge=3)


@dataclass(frozen=True)
class SimulatedAverage:
    """What :func:`average_simulated` returns: the simulation and every stage after it."""

    simulation: object
    centres: np.ndarray
    subtomos: np.ndarray
    global_poses: Poses
    result: RefineResult


def average_simulated(
    reference,
    *,
    voxel_size: float = 10.0,
    shape=(64, 256, 256),
    n_particles: int = 60,
    snr: float = 0.1,
    seed=0,
    search_step: float = 30.0,
    search_resolution_A: float = 40.0,
    iterations: int = 3,
    start_step: float | None = None,
    **simulation,
) -> SimulatedAverage:
    """The track's worked example in one call: simulate, extract, search, refine.

    Simulates a tomogram of ``reference`` (:func:`emcourse.sta.simulate_tomogram`),
    cuts subtomograms at the true centres rounded to whole voxels, finds first
    poses by a global search (``search_step`` degrees) against the reference
    low-passed to ``search_resolution_A``, then runs gold-standard
    :func:`refine` for ``iterations`` starting from the same low-passed map,
    with a first local range of ``start_step`` degrees (default
    ``search_step``). The lesson "Align and average subtomograms" takes these
    steps one by one (a 25 degree search, then a 30 degree first range). Further
    keyword arguments go to :func:`emcourse.sta.simulate_tomogram` (a real
    tilt table's ``tilt_angles``, ``defocus_um`` and ``exposure``, the
    ``amplitude_contrast``).
    """
    box = reference.shape[0]
    sim = simulate_tomogram(
        reference,
        voxel_size=voxel_size,
        shape=shape,
        n_particles=n_particles,
        snr=snr,
        seed=seed,
        **simulation,
    )
    centres = np.rint(sim.positions)
    subtomos = extract_subtomograms(sim.tomogram, centres, box=box)
    search_ref = lowpass(reference, search_resolution_A, voxel_size=voxel_size)
    found = align(
        subtomos,
        search_ref,
        angles=angular_sampling(search_step),
        max_shift=3,
        wedge=sim.tilt_range,
    )
    result = refine(
        subtomos,
        reference,
        poses=found,
        wedge=sim.tilt_range,
        voxel_size=voxel_size,
        iterations=iterations,
        start_step=search_step if start_step is None else start_step,
        initial_resolution_A=search_resolution_A,
    )
    return SimulatedAverage(sim, centres, subtomos, found, result)
