"""The type a segmentation lesson receives: an EM volume, its labels, voxel size and provenance."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emcourse.volume import Source

__all__ = ["VemVolume"]


@dataclass(frozen=True)
class VemVolume:
    """A volume-EM image with (optional) instance labels.

    Attributes
    ----------
    em : ndarray (z, y, x)
        The image as shipped (uint8 for the FIB-SEM volumes of this course).
    labels : ndarray of int or None
        Instance labels, 0 = background (or boundary, for the GALA neuron
        labels); None where the dataset has none.
    voxel_size : float or tuple of float
        **Nanometres** per voxel, from the registry (never from the file's
        calibration tags, which are wrong for EMPIAR-10982).
    source : Source
        Where the data came from; ``source.real`` is False for a stand-in.
    clean : ndarray or None
        The noise-free image, known only for a stand-in.
    file_voxel_size : tuple or None
        What the file's own calibration claims (for the reading-EM lesson).
    """

    em: np.ndarray
    labels: np.ndarray | None
    voxel_size: float | tuple[float, float, float]
    source: Source
    clean: np.ndarray | None = None
    file_voxel_size: tuple | None = None

    @property
    def shape(self) -> tuple[int, ...]:
        return self.em.shape

    def __repr__(self) -> str:
        kind = "real" if self.source.real else "stand-in"
        lab = "no labels" if self.labels is None else f"{int(self.labels.max())} labels"
        return (
            f"VemVolume({self.source.accession}, {kind}, shape {self.em.shape}, "
            f"{self.em.dtype}, {self.voxel_size} nm voxels, {lab})"
        )
