"""Look at volumes: orthogonal slices, projections, isosurfaces and slice viewers.

The only module of the package that imports matplotlib and ipywidgets, and
only inside the functions that need them.

Every function accepts a :class:`~emcourse.volume.Volume` (voxel size and
origin are taken from it) or a bare ``(z, y, x)`` array (give ``voxel_size``
in angstrom for axes in Å; without it the axes count voxels). Intensities are
never changed: the contrast limits are display settings (by default the 0.1st
and 99.9th percentiles of the slices shown).

Figures are closed in pyplot before they are returned. In a notebook each
figure is displayed once, when it is made, whether or not the line ends with
``;`` or assigns the figure; ``fig`` alone in a later cell shows it again.
Widgets behave the same way. The interactive viewers
(:func:`slice_viewer`, :func:`series_viewer`) return an ipywidgets widget; with
``EMCOURSE_STATIC=1`` (set by the book build, which has no kernel) they return
a static figure instead: a montage of slices, or a row of central slices.

Modules: ``_core`` (figure handling, static fallbacks), ``volumes`` (views of
one volume, every track), ``sta`` (subtomogram-averaging figures), ``clem``
(light/EM pairs, landmarks, TRE maps, overlays, the landmark picker), ``segment``
(segmentation: label overlays, panels, 3D renderings; ``viewers.segment.panels``).
"""

from emcourse.viewers import segment  # noqa: F401 (viewers.segment.panels, ...)
from emcourse.viewers._core import STATIC_ENV, static_mode  # noqa: F401 (STATIC_ENV: for tests)
from emcourse.viewers.clem import (
    clouds_figure,
    landmark_picker,
    landmarks_figure,
    overlay_figure,
    pair_figure,
    ratio_figure,
    tre_map,
)
from emcourse.viewers.clem_localise import chromatic_figure, precision_figure, spots_figure
from emcourse.viewers.clem_nonlinear import displacement_figure, images_figure
from emcourse.viewers.segment_strokes import strokes_figure
from emcourse.viewers.sta import series_viewer
from emcourse.viewers.volumes import isosurface, orthoslices, projection, slice_viewer

__all__ = [
    "chromatic_figure",
    "clouds_figure",
    "displacement_figure",
    "images_figure",
    "isosurface",
    "landmark_picker",
    "landmarks_figure",
    "overlay_figure",
    "pair_figure",
    "precision_figure",
    "ratio_figure",
    "tre_map",
    "orthoslices",
    "projection",
    "series_viewer",
    "slice_viewer",
    "spots_figure",
    "static_mode",
    "strokes_figure",
]
