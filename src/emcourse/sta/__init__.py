"""Subtomogram averaging: simulate, find, align, average and measure particles in tomograms.

Pure NumPy/SciPy functions on arrays; no files, no plots. The modules follow
the lessons:

=================  ==========================================================
``rotations``      Euler angles, random rotations, uniform coverings, Crowther's step
``sampling``       rotate, shift, bin, resample and low-pass volumes; masks; the
                   missing wedge
``tomography``     tilt schemes, the CTF, projection, weighted back-projection
``tiltseries``     a tilt series' metadata (order, dose, axis, defocus); a simulated
                   cryo tilt series with its truth
``dose``           the critical exposure, the exposure filter, a damage model of its own
``tsalign``        tilt-series alignment: cross-correlation, gold beads, the tilt axis
``tsrecon``        the axis of a rod, WBP and SIRT about any axis, sharpness
``rodseries``      a simulated HAADF tilt series of a needle (a stand-in)
``simulate``       the phantom molecule and simulated tomograms with ground truth
``matching``       template matching, peak picking, precision and recall, extraction
``alignment``      poses, alignment, averaging, gold-standard refinement, reference bias
``resolution``     Fourier shell correlation
``symmetry``       rotational symmetry about z: measure it, impose it
``pipeline``       the worked example end to end
``bench``          how close matching and alignment come to their FFT floor
``vlp``            virus-like particles on a real tomogram: shells, spheres, picks on them
``vlp_sim``        the real TS_01 tomogram's stand-in and the wedge and noise it mimics
=================  ==========================================================

Every public function is available here, e.g. ``sta.template_match`` and
``sta.simulate_tomogram``.

Conventions (read this once; every function follows it)
--------------------------------------------------------
* Arrays are indexed ``(z, y, x)``: plane, row, column. Positions and shifts are
  given in the same ``(z, y, x)`` order, in voxels.
* The centre of a box of edge ``n`` is voxel ``n // 2`` on each axis (the same
  point that :func:`numpy.fft.fftshift` puts the zero frequency on).
* Euler angles are RELION's ZYZ triple ``(rot, tilt, psi)`` in degrees, and
  :func:`euler_to_matrix` returns exactly RELION's matrix ``A``
  (``Euler_angles2matrix``). Rotation matrices act on column vectors in
  ``(x, y, z)`` order, as RELION's do: x is the column axis, y the row axis,
  z the plane axis.
* A rotation ``R`` is *active* and maps the reference onto the particle: a
  particle with pose ``(R, t)`` looks like ``particle(r) = reference(R.T @ (r - t))``
  (``r`` relative to the box centre). This is what RELION's projector does with
  ``A``; :func:`rotate_volume` applies it, and :func:`simulate_tomogram`
  stores the matrices it used this way.
* Tilts in a tilt series are rotations of the specimen about the y axis (the
  row axis), the missing wedge therefore lies around the ``k_z`` axis and is
  described by ``tilt_range = (min_tilt, max_tilt)`` in degrees.
* Voxel sizes are in angstrom; spatial frequencies in 1/angstrom.
"""

from emcourse.sta.alignment import (
    Poses,
    RefineResult,
    align,
    average,
    einstein_from_noise,
    half_sets,
    refine,
)
from emcourse.sta.dose import critical_exposure, exposure_filter
from emcourse.sta.matching import (
    extract_subtomograms,
    find_peaks,
    precision_recall,
    template_match,
)
from emcourse.sta.pipeline import SimulatedAverage, average_simulated, prepare_reference
from emcourse.sta.resolution import cross_half_neighbours, fsc, resolution_at
from emcourse.sta.rodseries import simulate_rod_series
from emcourse.sta.rotations import (
    angular_sampling,
    box_extent,
    covering_radius,
    crowther_step,
    euler_to_matrix,
    local_rotations,
    matrix_to_euler,
    neighbour_spacing,
    random_rotations,
    rotation_angle_between,
    swept_diameter,
)
from emcourse.sta.sampling import (
    WORKERS,
    bin_volume,
    lowpass,
    resample,
    rotate_volume,
    shift_volume,
    soft_sphere,
    subtract_radial_average,
    wedge_mask,
)
from emcourse.sta.simulate import SimulatedTomogram, phantom_map, simulate_tomogram, standin_map
from emcourse.sta.symmetry import subtract_cylindrical_average, symmetrize, symmetry_scores
from emcourse.sta.tiltseries import (
    SimulatedTiltSeries,
    acquisition_order,
    axial_difference,
    dose_per_tilt,
    missing_tilts,
    project_about_axis,
    rotate_plane,
    simulate_tilt_series,
    standin_tilt_table,
    tomogram_acquisition,
)
from emcourse.sta.tomography import (
    ctf_1d,
    ctf_2d,
    electron_wavelength,
    elongation,
    project,
    tilt_scheme,
    weighted_backprojection,
)
from emcourse.sta.tsalign import (
    apply_shifts,
    axis_scan,
    bead_model,
    bin_images,
    coarse_alignment,
    cross_correlation_shift,
    detect_beads,
    fit_tilt_axis,
    gauge_free_error,
    neighbour_shifts,
    track_beads,
)
from emcourse.sta.tsrecon import (
    even_odd_correlation,
    gradient_energy,
    rod_axis,
    rod_offsets,
    sirt,
    turn_axis_to_y,
    wbp_about_axis,
    wbp_slab,
)

__all__ = [
    "apply_shifts",
    "axis_scan",
    "bead_model",
    "bin_images",
    "coarse_alignment",
    "cross_correlation_shift",
    "detect_beads",
    "fit_tilt_axis",
    "gauge_free_error",
    "neighbour_shifts",
    "track_beads",
    "even_odd_correlation",
    "gradient_energy",
    "rod_axis",
    "rod_offsets",
    "sirt",
    "turn_axis_to_y",
    "wbp_about_axis",
    "wbp_slab",
    "simulate_rod_series",
    "SimulatedTiltSeries",
    "critical_exposure",
    "exposure_filter",
    "acquisition_order",
    "axial_difference",
    "dose_per_tilt",
    "missing_tilts",
    "project_about_axis",
    "rotate_plane",
    "simulate_tilt_series",
    "standin_tilt_table",
    "tomogram_acquisition",
    "WORKERS",
    "Poses",
    "RefineResult",
    "SimulatedAverage",
    "SimulatedTomogram",
    "align",
    "angular_sampling",
    "average",
    "average_simulated",
    "bin_volume",
    "box_extent",
    "covering_radius",
    "cross_half_neighbours",
    "crowther_step",
    "neighbour_spacing",
    "swept_diameter",
    "ctf_1d",
    "ctf_2d",
    "einstein_from_noise",
    "electron_wavelength",
    "elongation",
    "euler_to_matrix",
    "extract_subtomograms",
    "find_peaks",
    "fsc",
    "half_sets",
    "local_rotations",
    "lowpass",
    "matrix_to_euler",
    "phantom_map",
    "precision_recall",
    "prepare_reference",
    "project",
    "random_rotations",
    "refine",
    "resample",
    "resolution_at",
    "rotate_volume",
    "rotation_angle_between",
    "shift_volume",
    "simulate_tomogram",
    "soft_sphere",
    "standin_map",
    "subtract_cylindrical_average",
    "subtract_radial_average",
    "symmetrize",
    "symmetry_scores",
    "template_match",
    "tilt_scheme",
    "weighted_backprojection",
    "wedge_mask",
]

# the lesson "Pick particles on a real tomogram" (issue 17)
from emcourse.sta.classify import *  # noqa: E402, F403
from emcourse.sta.classify import __all__ as _classify_all  # noqa: E402
from emcourse.sta.vlp import *  # noqa: E402, F403
from emcourse.sta.vlp import __all__ as _vlp_all  # noqa: E402
from emcourse.sta.vlp_sim import *  # noqa: E402, F403
from emcourse.sta.vlp_sim import __all__ as _vlp_sim_all  # noqa: E402

__all__ += [*_classify_all, *_vlp_all, *_vlp_sim_all]
