"""Checks of the subtomogram-averaging sheet "Clean the picks by 3D classification".

Every task check calls the learner's function on its own seeded synthetic data
(a phantom molecule and its mirror image in random poses, plus noise) and
compares with :mod:`emcourse.sta`'s answer, without showing it; the two
questions are computed from the data the sheet passes in.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import numpy as np

from emcourse.checks._core import CheckResult, _all_passed, check_function, show
from emcourse.checks._questions import choice, prediction, unset

__all__ = [
    "aligned_masked_stack",
    "component_count_prediction",
    "decoy_class_choice",
    "keep_particle_class",
    "pca_by_svd",
]

_BOX = 16


@cache
def _mixture(n_particles: int = 12, n_decoys: int = 12, noise: float = 0.6, seed: int = 5):
    """Particles and their mirror images in random poses with noise: (subs, R, kind, ref)."""
    from emcourse import sta

    ref = sta.phantom_map(box=_BOX, voxel_size=16.0, diameter=200.0)
    mirror = np.roll(ref[:, :, ::-1], 1, axis=2)
    R = sta.random_rotations(n_particles + n_decoys, seed=seed)
    rng = np.random.default_rng(seed)
    kind = np.array([1] * n_particles + [0] * n_decoys)
    rng.shuffle(kind)
    subs = np.stack(
        [sta.rotate_volume(ref if k else mirror, r, order=3) for k, r in zip(kind, R, strict=True)]
    )
    subs = subs + noise * ref.std() * rng.standard_normal(subs.shape).astype(np.float32)
    return subs.astype(np.float32), R, kind, ref


def _rotate_back(subs, R, mask):
    from emcourse import sta

    return np.stack([sta.rotate_volume(s, r.T) for s, r in zip(subs, R, strict=True)]) * mask


def aligned_masked_stack(fn: Callable[[np.ndarray, np.ndarray, np.ndarray], Any]) -> CheckResult:
    """Check ``fn(subtomos, rotations, mask) -> stack``: every particle back in the reference frame.

    Particle ``i`` is the reference rotated by ``rotations[i]``
    (``sta.rotate_volume(reference, rotations[i])``) plus noise; the answer
    rotates each back (by the transpose) and multiplies it by ``mask``.
    Compared voxel by voxel, relative tolerance 2 % of the largest value
    (interpolation orders 1 and 3 differ by less).

    Sample solution::

        def aligned_masked_stack(subtomos, rotations, mask):
            back = [sta.rotate_volume(s, R.T) for s, R in zip(subtomos, rotations)]
            return np.stack(back) * mask
    """
    from emcourse import sta

    name = "aligned, masked stack"
    hint = (
        "to compare particles voxel by voxel, each must first be turned back into the "
        "reference's frame, and only the particle, not its surroundings, may count.",
        "`sta.rotate_volume(s, R.T)` undoes a rotation by R (a rotation matrix's inverse is "
        "its transpose); stack the results and multiply by `mask`.",
    )
    subs, R, _, _ = _mixture()
    mask = sta.soft_sphere(_BOX, 6.0, edge=2.0)
    expected = _rotate_back(subs, R, mask).astype(np.float64)
    scale = float(np.abs(expected).max())
    diagnoses = [
        (
            subs * mask,
            "these are the subtomograms as cut out, not aligned: every particle sits in its "
            "own orientation, so a classification would sort orientations, not structures. "
            "Rotate each back by its pose first.",
        ),
        (
            _rotate_back(subs, R, 1.0),
            "the particles are aligned but not masked: the noise and neighbours around each "
            "particle then take part in the comparison. Multiply by `mask`.",
        ),
        (
            _rotate_back(subs, np.transpose(R, (0, 2, 1)), mask),
            "you rotated by R, which turns each particle further away; undo it with R.T.",
        ),
    ]
    return check_function(
        fn,
        subs.copy(),
        R.copy(),
        mask.copy(),
        name=name,
        expected=expected,
        rtol=0,
        atol=0.02 * scale,
        what="stack",
        diagnoses=diagnoses,
        hint=hint,
    )


def _signed_like(scores, expected):
    """Flip each column of ``scores`` to agree in sign with ``expected`` (PCA's sign is free)."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.shape != expected.shape:
        return scores
    s = np.sign(np.sum(scores * expected, axis=0))
    return scores * np.where(s == 0, 1, s)


def pca_by_svd(fn: Callable[[np.ndarray, int], Any]) -> CheckResult:
    """Check ``fn(X, k) -> scores``: each row's coordinates on the first ``k`` principal components.

    ``scores = U[:, :k] * S[:k]`` from the SVD of the column-centred ``X``, as
    :meth:`sklearn.decomposition.PCA.fit_transform` returns. The sign of each
    component is free: each column is flipped to agree with the answer before
    comparing (relative tolerance 1e-4 of the largest score).

    Sample solution::

        def pca_by_svd(X, k):
            Xc = X - X.mean(axis=0)
            U, S, Vt = np.linalg.svd(Xc, full_matrices=False)
            return U[:, :k] * S[:k]
    """
    from emcourse import sta

    name = "PCA by SVD"
    hint = (
        "PCA describes how the rows vary about their mean; the SVD of the centred matrix "
        "gives the directions (rows of Vt) and how far each row goes along them.",
        "subtract the column means, `U, S, Vt = np.linalg.svd(Xc, full_matrices=False)`, "
        "return `U[:, :k] * S[:k]`.",
    )
    subs, R, _, _ = _mixture()

    def runs():
        for k, offset in ((3, 0.0), (5, 2.0)):
            X = subs.reshape(len(subs), -1).astype(np.float64) + offset
            expected = sta.pca_svd(X, k)[0]
            U, S, Vt = np.linalg.svd(X, full_matrices=False)
            Xc = X - X.mean(axis=0)
            Uc, Sc, _ = np.linalg.svd(Xc, full_matrices=False)
            diagnoses = [
                (
                    _signed_like(U[:, :k] * S[:k], expected),
                    "the columns were not centred: without subtracting the mean, the first "
                    "component points at the mean itself, not along the differences.",
                ),
                (
                    _signed_like(Uc[:, :k], expected),
                    "that is U alone: scale each column by its singular value (U * S).",
                ),
            ]
            yield check_function(
                lambda X, k, expected=expected: _signed_like(fn(X, k), expected),
                X.copy(),
                k,
                name=name,
                expected=expected,
                rtol=0,
                atol=1e-4 * float(np.abs(expected).max()),
                what="scores",
                diagnoses=diagnoses,
                hint=hint,
                show_result=False,
            )

    return show(_all_passed(name, runs(), "your scores are PCA's, for two data sets and k."))


def _reference_keep(Z, stack, reference, k, seed):
    from sklearn.cluster import KMeans

    labels = KMeans(n_clusters=2, n_init=10, random_state=seed).fit_predict(Z[:, :k])
    cc = [
        np.corrcoef(stack[labels == c].mean(axis=0).ravel(), reference.ravel())[0, 1]
        for c in (0, 1)
    ]
    return labels == int(np.argmax(cc)), labels


def _rates(keep, kind):
    keep = np.asarray(keep, dtype=bool).ravel()
    tp = float(np.sum(keep & (kind == 1)))
    return (tp / max(keep.sum(), 1), tp / max((kind == 1).sum(), 1))


def keep_particle_class(fn: Callable[..., Any]) -> CheckResult:
    """Check ``fn(Z, stack, reference, k, seed) -> keep``: the picks of the particle's class.

    ``Z`` holds every pick's PCA scores (all components), ``stack`` the
    aligned, masked subtomograms, ``reference`` the particle. k-means with two
    classes on the first ``k`` columns of ``Z`` (``random_state=seed``); the
    class whose average correlates best with ``reference`` is kept. Measured:
    precision and recall of ``keep`` against the truth (particles among a
    larger number of mirror-image decoys), both within 0.1 of the right answer's.

    Sample solution::

        def keep_particle_class(Z, stack, reference, k, seed):
            labels = KMeans(n_clusters=2, n_init=10, random_state=seed).fit_predict(Z[:, :k])
            cc = [np.corrcoef(stack[labels == c].mean(axis=0).ravel(), reference.ravel())[0, 1]
                  for c in (0, 1)]
            return labels == np.argmax(cc)
    """
    from emcourse import sta

    name = "keep the particle's class"
    hint = (
        "k-means gives two classes but does not say which is the particle; the reference does.",
        "cluster `Z[:, :k]` with `KMeans(n_clusters=2, n_init=10, random_state=seed)`, "
        "average `stack` over each class, and keep the class whose average has the higher "
        "`np.corrcoef` with `reference`.",
    )
    subs, R, kind, ref = _mixture(n_particles=10, n_decoys=18)  # the bigger class: decoys
    mask = sta.soft_sphere(_BOX, 6.0, edge=2.0)
    stack = _rotate_back(subs, R, mask).astype(np.float32)
    Z = sta.pca_svd(stack.reshape(len(stack), -1), len(stack))[0]
    k, seed = 2, 0
    keep, _ = _reference_keep(Z, stack, ref * mask, k, seed)
    expected = _rates(keep, kind)
    diagnoses = [
        (
            _rates(~keep, kind),
            "you kept the decoys' class (here the larger one: decoys can outnumber the "
            "particles). Keep the class whose average correlates *best* with the reference, "
            "whatever its size.",
        ),
    ]
    return check_function(
        lambda *a: _rates(fn(*a), kind),
        Z.copy(),
        stack.copy(),
        (ref * mask).astype(np.float32),
        k,
        seed,
        name=name,
        expected=expected,
        rtol=0,
        atol=0.1,
        what="(precision, recall)",
        diagnoses=diagnoses,
        hint=hint,
    )


def component_count_prediction(guess: Any, X) -> CheckResult:
    """Predict, then run: how many principal components of ``X`` are not zero.

    ``X`` is the sheet's stack, one flattened subtomogram per row; the result
    is the rank of the column-centred ``X``: ``n - 1`` when there are fewer
    subtomograms than voxels.
    """
    name = "principal components that are not zero"
    if unset(guess):
        return prediction(name, guess, 0.0, explanation="")
    X = np.asarray(X, dtype=np.float64).reshape(len(X), -1)
    n, voxels = X.shape
    return prediction(
        name,
        guess,
        lambda: float(np.linalg.matrix_rank(X - X.mean(axis=0))),
        rtol=0,
        atol=0.5,
        explanation=f"{n} subtomograms of {voxels:,} voxels span at most {n} directions, and "
        "subtracting their mean removes one: n - 1 components, however many voxels. Most of "
        "them describe noise; only the first few carry the differences between kinds, which "
        "is why k-means is run on a handful of them.",
        diagnoses=[
            (
                float(voxels),
                "there are as many *directions* as voxels, but n points span at "
                "most n - 1 of them after centring.",
            ),
            (float(n), "centring removes one: the deviations from the mean sum to zero."),
        ],
    )


_DECOY_OPTIONS = {
    "a": "Every decoy was aligned to the reference, so its average takes on some of the "
    "reference's features (reference bias), on top of sharing its size and mass.",
    "b": "The decoys are the particle after all: the classification failed.",
    "c": "The missing wedge makes every average look like every other.",
    "d": "k-means put half the particles into the decoy class.",
}


def decoy_class_choice(answer: Any) -> CheckResult:
    """Interpretation: why the decoys' class average still correlates well with the reference."""
    return choice(
        "the decoys' class average",
        answer,
        options=_DECOY_OPTIONS,
        correct="a",
        explanation="each decoy was moved to the pose where it best matches the reference, so "
        "the decoys' average resembles it more than the decoy itself would (the same effect "
        "as aligned noise); it shares the size and mass as well. That is why the particle's "
        "class is the one that correlates *best*, and why a class's resemblance to the "
        "reference alone proves little.",
        why_not={
            "b": "the lesson counted the classes against the truth: the decoys' class held "
            "decoys, not particles.",
            "c": "each class average is wedge-weighted, with particles in many orientations: "
            "together they fill Fourier space.",
            "d": "measured, every particle was in the kept class; the decoys' class held "
            "no particle.",
        },
    )


decoy_class_choice.options = _DECOY_OPTIONS
