"""Classify aligned subtomograms: a masked, wedge-filled stack, PCA by SVD, picks against truth.

The lesson "Clean the picks by 3D classification" takes these steps: bring every
picked subtomogram into the reference frame with its pose, fill the missing
wedge it lacks from a common volume (so that no class forms around the
direction of the wedge), mask and low-pass, then PCA and k-means.
"""

from __future__ import annotations

import numpy as np
import scipy.fft as sfft

from emcourse.sta.alignment import Poses, _band, _wedge_for
from emcourse.sta.sampling import WORKERS, _unrotate

__all__ = ["aligned_stack", "pca_svd", "pick_kinds"]


def aligned_stack(
    subtomos,
    poses: Poses,
    *,
    mask,
    wedge=None,
    fill=None,
    resolution_A=None,
    voxel_size=None,
) -> np.ndarray:
    """Subtomograms brought into the reference frame, wedge-filled, low-passed, masked.

    Each particle is rotated and shifted back with its pose (as
    :func:`emcourse.sta.average` does). Where its own missing wedge (``wedge``,
    rotated with the pose) leaves Fourier space empty, the Fourier components
    of ``fill`` are put in, so every particle has data at every frequency and
    differences between particles do not follow the orientation of their wedge.
    Then frequencies beyond ``resolution_A`` are removed and ``mask`` is applied.

    Parameters
    ----------
    subtomos : ndarray (n, b, b, b)
    poses : Poses
    mask : ndarray (b, b, b)
        Real-space mask (e.g. a soft sphere around the particle).
    wedge : (float, float), optional
        Tilt range; without it nothing is filled.
    fill : ndarray (b, b, b), optional
        Volume whose Fourier components fill each wedge (e.g. the average of all picks).
    resolution_A, voxel_size : float, optional
        Low-pass limit in angstrom.

    Returns
    -------
    ndarray of float32, shape (n, b, b, b)

    Examples
    --------
    >>> from emcourse.sta import phantom_map, random_rotations, rotate_volume, soft_sphere
    >>> ref = phantom_map(box=16, voxel_size=15.0)
    >>> R = random_rotations(2, seed=0)
    >>> subs = np.stack([rotate_volume(ref, r, order=3) for r in R])
    >>> st = aligned_stack(subs, Poses(R, np.zeros((2, 3)), np.zeros(2)), mask=soft_sphere(16, 7))
    >>> bool(np.corrcoef(st[1].ravel(), (ref * soft_sphere(16, 7)).ravel())[0, 1] > 0.95)
    True
    """
    subtomos = np.asarray(subtomos, dtype=np.float32)
    shape = subtomos.shape[1:]
    if len(poses) != len(subtomos):
        raise ValueError(f"{len(subtomos)} subtomograms but {len(poses)} poses.")
    band = _band(shape, voxel_size, resolution_A)
    F_fill = None if fill is None or wedge is None else sfft.rfftn(fill, workers=WORKERS)
    out = np.empty(subtomos.shape, np.float32)
    for i, (s, R, t) in enumerate(zip(subtomos, poses.rotations, poses.shifts, strict=True)):
        F = sfft.rfftn(_unrotate(s, R, t), workers=WORKERS)
        if F_fill is not None:
            w = _wedge_for(shape, wedge, R)
            F = F * w + F_fill * (1 - w)
        out[i] = sfft.irfftn(F * band, s=shape, workers=WORKERS) * mask
    return out


def pca_svd(X, n_components: int):
    """Principal component analysis by the singular value decomposition, written out.

    Rows of ``X`` are samples (one flattened subtomogram each). Centre the
    columns, ``X - mean = U S Vt``; the components are the first rows of ``Vt``,
    each sample's scores ``U S``, and the explained variance ``S**2 / (n - 1)``,
    as :class:`sklearn.decomposition.PCA` computes them (up to the sign of each
    component).

    Returns
    -------
    scores : ndarray (n, k)
    components : ndarray (k, features)
    explained_variance_ratio : ndarray (k,)

    Examples
    --------
    >>> X = np.array([[0.0, 0.0], [2.0, 2.5], [4.0, 4.0]])
    >>> scores, comps, ratio = pca_svd(X, 1)
    >>> round(float(ratio[0]), 4)
    0.9949
    """
    X = np.asarray(X, dtype=np.float64).reshape(len(X), -1)
    Xc = X - X.mean(axis=0)
    U, S, Vt = np.linalg.svd(Xc, full_matrices=False)
    var = S**2
    k = int(n_components)
    return U[:, :k] * S[:k], Vt[:k], var[:k] / var.sum()


def pick_kinds(picks, positions, decoy_positions, *, tolerance: float) -> np.ndarray:
    """What each pick is: ``"particle"``, ``"decoy"`` or ``"noise"`` (near neither).

    A pick is a particle (decoy) when it lies within ``tolerance`` voxels of a
    true particle (decoy) centre; nearest wins.

    Examples
    --------
    >>> pick_kinds([[0, 0, 0], [9, 9, 9], [50, 0, 0]], [[0, 0, 1]], [[9, 9, 8]], tolerance=3)
    array(['particle', 'decoy', 'noise'], dtype='<U8')
    """
    picks = np.asarray(picks, dtype=np.float64).reshape(-1, 3)
    out = np.full(len(picks), "noise", dtype="<U8")
    best = np.full(len(picks), np.inf)
    for kind, truth in (("particle", positions), ("decoy", decoy_positions)):
        truth = np.asarray(truth, dtype=np.float64).reshape(-1, 3)
        if len(truth) == 0:
            continue
        d = np.linalg.norm(picks[:, None] - truth[None], axis=-1).min(axis=1)
        near = (d <= tolerance) & (d < best)
        out[near] = kind
        best = np.where(near, d, best)
    return out
