"""What the CLEM lessons receive: a landmark table and a light/EM image pair.

Both the real datasets (opened by the data layer) and the synthetic stand-ins
(:mod:`emcourse.clem.standin`) return these types, so a lesson reads the same
on either.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from emcourse.volume import Source

__all__ = ["ImagePair", "Landmarks"]


@dataclass(frozen=True)
class Landmarks:
    """Paired landmarks: positions in the light image (moving) and in the EM (fixed).

    Parameters
    ----------
    moving : (n, K) ndarray
        Light-microscopy positions, physical units, ``(z, y, x)`` or ``(y, x)``.
    fixed : (n, K) ndarray
        The same landmarks in the EM, same units and axis order.
    unit : str
        ``"nm"`` (the course's unit for CLEM) or ``"px"`` where no calibration exists.
    raters : dict of str -> (n, K) ndarray
        Other placements of the fixed points (e.g. by a second person, or by an
        automatic method), same order as ``moving``.
    source : Source
        Provenance: accession, licence, citation.
    truth : dict
        Stand-ins only: ``matrix`` (the true moving -> fixed transform),
        ``sigma_moving``/``sigma_fixed`` (per-axis localisation errors),
        ``outlier`` (bool mask), ``targets`` (hidden points in moving space).
    """

    moving: np.ndarray
    fixed: np.ndarray
    unit: str = "nm"
    raters: dict = field(default_factory=dict)
    source: Source = field(default_factory=lambda: Source("unknown", real=False))
    truth: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.moving)

    @property
    def ndim(self) -> int:
        return int(np.shape(self.moving)[1])


@dataclass(frozen=True)
class ImagePair:
    """A light-microscopy image and an EM image of the same region.

    Parameters
    ----------
    em : (Y, X) ndarray
        The EM image (fixed).
    lm : (C, Y, X) ndarray
        The light image (moving), one plane per channel.
    em_pixel, lm_pixel : float
        Pixel sizes in ``unit`` (square pixels). Pixel ``(i, j)`` has its
        **centre** at ``(i * pixel, j * pixel)``.
    channels : tuple of str
        Names of the light channels.
    unit : str
        ``"nm"``, or ``"px"`` where the pixel size was not recorded.
    source : Source
        Provenance.
    truth : dict
        What is known exactly: ``matrix`` (light -> EM, physical (y, x)),
        and for stand-ins ``landmarks`` (a :class:`Landmarks`), ``targets``,
        ``labels`` of the EM objects.
    """

    em: np.ndarray
    lm: np.ndarray
    em_pixel: float = 1.0
    lm_pixel: float = 1.0
    channels: tuple = ()
    unit: str = "nm"
    source: Source = field(default_factory=lambda: Source("unknown", real=False))
    truth: dict = field(default_factory=dict)

    @property
    def em_extent(self) -> tuple[float, float]:
        """Height and width of the EM field of view in ``unit`` (pixel edges)."""
        return tuple(float(n * self.em_pixel) for n in self.em.shape)

    @property
    def lm_extent(self) -> tuple[float, float]:
        """Height and width of the light field of view in ``unit`` (pixel edges)."""
        return tuple(float(n * self.lm_pixel) for n in self.lm.shape[-2:])
