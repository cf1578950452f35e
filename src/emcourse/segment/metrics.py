"""Segmentation metrics: semantic overlap, instance matching, split and merge errors.

Conventions (they differ between tools, so every number in the course says which):

- :func:`dice` and :func:`iou` are *hard* scores of boolean masks (not the
  "soft Dice" of a network's loss). Two empty masks agree perfectly: 1.0.
- :func:`match_instances` pairs ground-truth and predicted objects one to one,
  highest intersection over union first, and counts a pair as a true positive
  when its IoU is at least ``threshold`` (0.5 by default, StarDist's and the
  CellMap challenge's convention).
- :func:`average_precision` is the mean over IoU thresholds 0.5, 0.55, ...,
  0.95 of TP / (TP + FP + FN) (the Data Science Bowl 2018 definition).
- :func:`variation_of_information` returns the split and merge parts in bits,
  :func:`adapted_rand_error` the error, precision and recall as in
  ``skimage.metrics.adapted_rand_error`` (label 0 of the ground truth ignored).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "InstanceScores",
    "adapted_rand_error",
    "average_precision",
    "contingency",
    "dice",
    "iou",
    "match_instances",
    "variation_of_information",
]


def _masks(a, b) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        raise ValueError(f"masks differ in shape: {a.shape} and {b.shape}")
    return a.astype(bool), b.astype(bool)


def dice(truth, pred) -> float:
    """Dice coefficient 2|A∩B| / (|A| + |B|) of two masks (non-zero = foreground).

    Examples
    --------
    >>> dice([1, 1, 0, 0], [1, 0, 0, 0])
    0.6666666666666666
    """
    a, b = _masks(truth, pred)
    total = a.sum() + b.sum()
    return 1.0 if total == 0 else float(2.0 * (a & b).sum() / total)


def iou(truth, pred) -> float:
    """Intersection over union (Jaccard index) |A∩B| / |A∪B| of two masks.

    Examples
    --------
    >>> iou([1, 1, 0, 0], [1, 0, 0, 0])
    0.5
    """
    a, b = _masks(truth, pred)
    union = (a | b).sum()
    return 1.0 if union == 0 else float((a & b).sum() / union)


def contingency(truth, pred) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Overlap counts of every pair of labels that meet.

    Returns
    -------
    t_ids, p_ids, counts : ndarray
        One entry per (truth label, predicted label) pair that shares voxels
        (label 0 included), with the number of shared voxels.
    sizes : tuple of dict-like arrays
        Not returned; use ``np.unique`` on each image for object sizes.
    """
    t = np.asarray(truth).ravel().astype(np.int64)
    p = np.asarray(pred).ravel().astype(np.int64)
    if t.shape != p.shape:
        raise ValueError(f"label images differ in size: {np.shape(truth)} and {np.shape(pred)}")
    if t.min(initial=0) < 0 or p.min(initial=0) < 0:
        raise ValueError("label images must hold non-negative integers")
    base = int(p.max(initial=0)) + 1
    pairs, counts = np.unique(t * base + p, return_counts=True)
    return pairs // base, pairs % base, counts, np.array(t.size)


@dataclass(frozen=True)
class InstanceScores:
    """Result of :func:`match_instances`."""

    tp: int
    fp: int
    fn: int
    threshold: float
    matched_iou: np.ndarray

    @property
    def precision(self) -> float:
        n = self.tp + self.fp
        return 1.0 if n == 0 else self.tp / n

    @property
    def recall(self) -> float:
        n = self.tp + self.fn
        return 1.0 if n == 0 else self.tp / n

    @property
    def f1(self) -> float:
        n = 2 * self.tp + self.fp + self.fn
        return 1.0 if n == 0 else 2 * self.tp / n

    def __str__(self) -> str:
        return (
            f"IoU >= {self.threshold:g}: TP {self.tp}, FP {self.fp}, FN {self.fn}; "
            f"precision {self.precision:.3f}, recall {self.recall:.3f}, F1 {self.f1:.3f}"
        )


def _pair_ious(truth, pred):
    t_ids, p_ids, counts, _ = contingency(truth, pred)
    t_size = np.bincount(np.asarray(truth).ravel().astype(np.int64))
    p_size = np.bincount(np.asarray(pred).ravel().astype(np.int64))
    keep = (t_ids > 0) & (p_ids > 0)
    t_ids, p_ids, counts = t_ids[keep], p_ids[keep], counts[keep]
    ious = counts / (t_size[t_ids] + p_size[p_ids] - counts)
    n_t = int(np.count_nonzero(t_size[1:]))
    n_p = int(np.count_nonzero(p_size[1:]))
    return t_ids, p_ids, ious, n_t, n_p


def _greedy(t_ids, p_ids, ious, threshold):
    order = np.argsort(-ious, kind="stable")
    used_t, used_p, matched = set(), set(), []
    for k in order:
        if ious[k] < threshold:
            break
        if t_ids[k] in used_t or p_ids[k] in used_p:
            continue
        used_t.add(t_ids[k])
        used_p.add(p_ids[k])
        matched.append(ious[k])
    return np.array(matched, dtype=float)


def match_instances(truth, pred, *, threshold: float = 0.5) -> InstanceScores:
    """Match objects of two label images one to one by intersection over union.

    Parameters
    ----------
    truth, pred : ndarray of int
        Label images of the same shape, 0 = background.
    threshold : float
        Smallest IoU that counts a pair as a match.

    Returns
    -------
    InstanceScores
        True positives, false positives (unmatched predictions), false
        negatives (unmatched true objects), with precision, recall and F1.

    Examples
    --------
    >>> t = np.array([1, 1, 0, 2, 2, 0]); p = np.array([3, 3, 0, 0, 0, 4])
    >>> s = match_instances(t, p)
    >>> s.tp, s.fp, s.fn
    (1, 1, 1)
    """
    t_ids, p_ids, ious, n_t, n_p = _pair_ious(truth, pred)
    matched = _greedy(t_ids, p_ids, ious, threshold)
    tp = len(matched)
    return InstanceScores(tp, n_p - tp, n_t - tp, float(threshold), matched)


def average_precision(truth, pred, *, thresholds=None) -> float:
    """Mean over IoU thresholds (default 0.5:0.95:0.05) of TP / (TP + FP + FN).

    Two images without objects score 1.0.
    """
    if thresholds is None:
        thresholds = np.linspace(0.5, 0.95, 10)
    t_ids, p_ids, ious, n_t, n_p = _pair_ious(truth, pred)
    if n_t == 0 and n_p == 0:
        return 1.0
    scores = []
    for thr in thresholds:
        tp = len(_greedy(t_ids, p_ids, ious, thr))
        scores.append(tp / (n_t + n_p - tp))
    return float(np.mean(scores))


def variation_of_information(truth, pred) -> tuple[float, float]:
    """Split and merge parts of the variation of information, in bits.

    The **split** part is the conditional entropy H(pred | truth): it grows when
    a true object is cut into several predicted ones. The **merge** part,
    H(truth | pred), grows when a predicted object covers several true ones.
    Their sum is the variation of information (Meila 2007); both are 0 for
    identical segmentations. Every voxel counts, label 0 included, as in
    ``skimage.metrics.variation_of_information``.

    Examples
    --------
    >>> split, merge = variation_of_information([1, 1, 2, 2], [1, 1, 1, 1])
    >>> round(split, 6), round(merge, 6)
    (0.0, 1.0)
    """
    _, _, counts, n = contingency(truth, pred)
    n = float(n)
    if n == 0:
        return 0.0, 0.0
    pij = counts / n
    t_ids, p_ids, _, _ = contingency(truth, pred)
    pt = np.bincount(t_ids, weights=pij)[t_ids]
    pp = np.bincount(p_ids, weights=pij)[p_ids]
    split = float(-np.sum(pij * np.log2(pij / pt)))
    merge = float(-np.sum(pij * np.log2(pij / pp)))
    return abs(split), abs(merge)


def adapted_rand_error(truth, pred) -> tuple[float, float, float]:
    """Adapted Rand error, precision and recall (SNEMI3D; ground-truth label 0 ignored).

    Counted over pairs of distinct voxels inside true objects: precision is the
    fraction of pairs the prediction puts together that the truth also puts
    together (it falls with merges), recall the fraction of pairs the truth
    puts together that the prediction keeps together (it falls with splits).
    The error is ``1 - F``, F their harmonic mean. The error agrees with
    ``skimage.metrics.adapted_rand_error``, which returns precision and recall
    the other way round (scikit-image 0.26 divides by the true segments' pairs
    for its "precision").

    Examples
    --------
    >>> err, prec, rec = adapted_rand_error([1, 1, 2, 2], [1, 1, 2, 2])
    >>> float(err), float(prec), float(rec)
    (0.0, 1.0, 1.0)
    """
    t = np.asarray(truth).ravel().astype(np.int64)
    p = np.asarray(pred).ravel().astype(np.int64)
    keep = t > 0
    t_ids, p_ids, counts, _ = contingency(t[keep], p[keep])
    if counts.size == 0:
        return 0.0, 1.0, 1.0
    c = counts.astype(float)
    a = np.bincount(t_ids, weights=c)
    b = np.bincount(p_ids, weights=c)
    # pairs of distinct voxels: together in both, together in truth, together in prediction
    sum_ij = c @ c - c.sum()
    sum_a, sum_b = a @ a - a.sum(), b @ b - b.sum()
    precision = 1.0 if sum_b == 0 else sum_ij / sum_b
    recall = 1.0 if sum_a == 0 else sum_ij / sum_a
    if precision + recall == 0:
        return 1.0, 0.0, 0.0
    f = 2 * precision * recall / (precision + recall)
    return float(1 - f), float(precision), float(recall)
