"""Rotational symmetry about z: measure it, impose it.

Pure NumPy/SciPy on arrays. The symmetry axis is the z axis through the box
centre (voxel ``n // 2``), as RELION and EMDB maps of symmetric complexes have it.
"""

from __future__ import annotations

import numpy as np

from emcourse.sta.rotations import euler_to_matrix
from emcourse.sta.sampling import rotate_volume, soft_sphere

__all__ = ["subtract_cylindrical_average", "symmetrize", "symmetry_scores"]


def subtract_cylindrical_average(volume) -> np.ndarray:
    """``volume`` minus its average over rotations about the z axis through the box centre.

    What is left is the part of each plane that depends on the angle around z:
    the signature of a rotational symmetry about z, without the ring or
    cylinder that every such complex also is.

    Examples
    --------
    >>> yy, xx = np.indices((9, 9)) - 4
    >>> disc = np.broadcast_to((np.rint(np.hypot(yy, xx)) <= 2).astype(float), (3, 9, 9))
    >>> bool(np.abs(subtract_cylindrical_average(disc)).max() < 1e-12)
    True
    """
    vol = np.asarray(volume, dtype=np.float64)
    cy, cx = vol.shape[1] // 2, vol.shape[2] // 2
    yy, xx = np.indices(vol.shape[1:])
    r = np.rint(np.hypot(yy - cy, xx - cx)).astype(int).ravel()
    counts = np.bincount(r)
    out = np.empty_like(vol)
    for z, plane in enumerate(vol):
        profile = np.bincount(r, plane.ravel(), minlength=len(counts)) / np.maximum(counts, 1)
        out[z] = plane - profile[r].reshape(plane.shape)
    return out


def symmetry_scores(volume, orders=range(2, 10), *, radius=None) -> dict[int, float]:
    """How well ``volume`` matches itself turned by 360/n degrees about z, for each order n.

    The correlation, inside a sphere, between the two after subtracting each
    one's cylindrical average (:func:`subtract_cylindrical_average`), so that
    a ring does not score for every order. A complex with n-fold symmetry
    about z scores close to 1 at n (and its divisors), lower elsewhere.

    Parameters
    ----------
    volume : ndarray, shape (n, n, n)
        A map with its candidate symmetry axis along z, centred in the box.
    orders : iterable of int
        The orders to try.
    radius : float, optional
        Radius of the sphere in voxels (default: half the box minus 2).

    Returns
    -------
    dict
        Order -> correlation.

    Examples
    --------
    >>> from emcourse.sta.simulate import phantom_map
    >>> p = phantom_map(box=24, voxel_size=10.0)
    >>> c3 = symmetrize(p, 3)
    >>> s = symmetry_scores(c3, orders=(2, 3, 4))
    >>> max(s, key=s.get)
    3
    """
    vol = np.asarray(volume, dtype=np.float64)
    box = vol.shape[0]
    inside = soft_sphere(box, box // 2 - 2 if radius is None else radius) > 0.5
    ref = subtract_cylindrical_average(vol)[inside]
    scores = {}
    for n in orders:
        turned = rotate_volume(vol, euler_to_matrix((360.0 / n, 0.0, 0.0)))
        scores[int(n)] = float(np.corrcoef(ref, subtract_cylindrical_average(turned)[inside])[0, 1])
    return scores


def symmetrize(volume, order: int) -> np.ndarray:
    """Average ``volume`` over the ``order`` rotations of 360/order degrees about z (Cn).

    Examples
    --------
    >>> from emcourse.sta.simulate import phantom_map
    >>> c2 = symmetrize(phantom_map(box=16, voxel_size=10.0), 2)
    >>> turned = rotate_volume(c2, euler_to_matrix((180.0, 0.0, 0.0)))
    >>> bool(np.corrcoef(c2.ravel(), turned.ravel())[0, 1] > 0.99)
    True
    """
    vol = np.asarray(volume, dtype=np.float32)
    turns = [
        rotate_volume(vol, euler_to_matrix((360.0 * k / order, 0.0, 0.0))) for k in range(order)
    ]
    return np.mean(turns, axis=0).astype(np.float32)
