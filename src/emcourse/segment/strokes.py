"""Simulated annotation: brush strokes as people draw them in ilastik, and a correction loop.

A person training a pixel classifier does not label random voxels. On a few
slices they draw short strokes with a brush a few pixels wide: along the
inside of a mitochondrion's membrane, across its boundary from the cytoplasm
into the matrix, along the outside of the membrane and through the cytoplasm
next to it. Then they look at the prediction, paint the largest mistakes with
the right class, and train again. :func:`draw_strokes` simulates the first
pass from expert labels, :func:`correction_strokes` one round of corrections,
and :func:`correction_loop` the whole loop with a learning curve.

The simulated annotator is perfect: every painted pixel takes its class from
the expert labels (a real one mislabels a pixel or two at edges). Everything
works on 2D slices of ``(z, y, x)`` stacks; lengths and widths are in pixels.
Sparse labels follow :func:`emcourse.segment.scribbles`: 0 unlabelled,
1 background, 2 foreground.
"""

from __future__ import annotations

from collections import deque

import numpy as np
from scipy import ndimage as ndi

__all__ = [
    "STROKE_KINDS",
    "correction_loop",
    "correction_strokes",
    "draw_strokes",
    "merge_strokes",
    "next_strokes_trial",
    "paint",
    "score_sparse",
]

#: The strokes drawn per object, in this order (cycled when more are asked for).
STROKE_KINDS = ("across", "inside", "outside", "cytoplasm")


def _brush(width: int) -> np.ndarray:
    r = (int(width) - 1) / 2
    k = int(np.ceil(r))
    yy, xx = np.mgrid[-k : k + 1, -k : k + 1]
    return yy**2 + xx**2 <= r**2 + 0.5


def paint(shape: tuple[int, int], points: np.ndarray, *, width: int = 3) -> np.ndarray:
    """The pixels a brush of ``width`` pixels covers along a polyline of (row, col) points.

    Examples
    --------
    >>> m = paint((9, 9), np.array([[4, 1], [4, 7]]), width=3)
    >>> int(m.sum()), bool(m[3, 4] and m[5, 4]), bool(m[1, 4])
    (23, True, False)
    """
    from skimage.draw import line

    pts = np.rint(np.asarray(points, float)).astype(int)
    line_mask = np.zeros(shape, bool)
    for (r0, c0), (r1, c1) in zip(pts[:-1], pts[1:], strict=True):
        rr, cc = line(r0, c0, r1, c1)
        keep = (rr >= 0) & (rr < shape[0]) & (cc >= 0) & (cc < shape[1])
        line_mask[rr[keep], cc[keep]] = True
    if len(pts) == 1 and 0 <= pts[0, 0] < shape[0] and 0 <= pts[0, 1] < shape[1]:
        line_mask[pts[0, 0], pts[0, 1]] = True
    return ndi.binary_dilation(line_mask, _brush(width)) if width > 1 else line_mask


def _wobble(points: np.ndarray, rng, amount: float) -> np.ndarray:
    """A hand's tremor: a smooth random offset of about ``amount`` pixels along the line."""
    if len(points) < 3 or amount <= 0:
        return points
    noise = ndi.gaussian_filter1d(rng.normal(0, amount * 2.5, points.shape), 3, axis=0)
    return points + noise


def _arc(contour: np.ndarray, rng, length: float) -> np.ndarray:
    """A piece of a closed or open contour, ``length`` pixels long, from a random start."""
    step = np.linalg.norm(np.diff(contour, axis=0), axis=1)
    length = min(length, 0.6 * step.sum())  # a part of a small object's rim, not all of it
    n = len(contour)
    start = int(rng.integers(n))
    out, run, i = [contour[start]], 0.0, start
    while run < length and len(out) < n:
        run += step[i % (n - 1)] if n > 1 else length
        i = (i + 1) % n
        out.append(contour[i])
    return np.asarray(out)


def _contour_at(dist: np.ndarray, level: float) -> np.ndarray | None:
    from skimage.measure import find_contours

    found = find_contours(dist, level)
    return max(found, key=len) if found else None


def _one_object(obj: np.ndarray, kind: str, rng, *, length: float) -> np.ndarray | None:
    """The polyline of one stroke of ``kind`` for a 2D object mask (None if it does not fit)."""
    inside = ndi.distance_transform_edt(obj)
    outside = ndi.distance_transform_edt(~obj)
    if kind == "inside":
        depth = min(3.0, 0.5 * inside.max())
        c = _contour_at(inside, depth) if depth >= 1 else None
        return None if c is None else _arc(c, rng, length)
    if kind == "outside":
        c = _contour_at(outside, 3.0)
        return None if c is None else _arc(c, rng, length)
    if kind == "across":
        edge = _contour_at(inside - outside, 0.0)
        if edge is None:
            return None
        p = edge[int(rng.integers(len(edge)))]
        gy, gx = np.gradient(ndi.gaussian_filter(inside - outside, 1.0))
        n = np.array([gy[tuple(np.rint(p).astype(int))], gx[tuple(np.rint(p).astype(int))]])
        n /= max(np.linalg.norm(n), 1e-9)  # points into the object
        reach = min(length / 2, max(2.0, inside.max() - 1))
        t = np.linspace(-length / 2, reach, max(int(length / 2 + reach), 2))
        return p + t[:, None] * n
    # cytoplasm: a short, curving walk that starts 6-15 pixels out from the object
    ring = np.argwhere((outside > 6) & (outside < 15))
    if not len(ring):
        return None
    p = ring[int(rng.integers(len(ring)))].astype(float)
    heading = rng.uniform(0, 2 * np.pi)
    turns = np.cumsum(rng.normal(0, 0.15, int(length)))
    steps = np.c_[np.sin(heading + turns), np.cos(heading + turns)]
    return p + np.vstack([[0, 0], np.cumsum(steps, axis=0)])


def draw_strokes(
    labels: np.ndarray,
    *,
    strokes_per_object: int = 4,
    width: int = 3,
    length: float = 24.0,
    min_area: int = 30,
    max_strokes: int | None = None,
    seed: int = 0,
) -> tuple[np.ndarray, int]:
    """Strokes a person would draw on each object of each 2D slice, labelled from ``labels``.

    For each object profile (each label value in each z slice) of at least
    ``min_area`` pixels, ``strokes_per_object`` strokes of the kinds in
    :data:`STROKE_KINDS`, in that order: across its boundary from the cytoplasm
    into the object, along the inside of the boundary, along the outside, and
    through the cytoplasm near it. Each stroke is about ``length`` pixels long, drawn with a
    brush ``width`` pixels wide and a little tremor; every painted pixel takes
    its class from ``labels`` (1 background, 2 foreground). Objects are visited
    in a random order; with ``max_strokes`` the person stops after that many.

    Parameters
    ----------
    labels : ndarray of int, (y, x) or (z, y, x)
        Expert instance labels (0 background) of the slices the person annotates.

    Returns
    -------
    sparse : ndarray of uint8, the shape of ``labels``
        0 unlabelled, 1 background, 2 foreground.
    n_strokes : int
        How many strokes were drawn.

    Examples
    --------
    >>> lab = np.zeros((64, 64), int)
    >>> lab[20:44, 16:48] = 1
    >>> sparse, n = draw_strokes(lab, strokes_per_object=4, seed=0)
    >>> n, sorted(np.unique(sparse).tolist())
    (4, [0, 1, 2])
    """
    labels = np.asarray(labels)
    stack = labels[None] if labels.ndim == 2 else labels
    rng = np.random.default_rng(seed)
    out = np.zeros(stack.shape, np.uint8)
    n_strokes = 0
    todo = []
    for z, plane in enumerate(stack):
        boxes = ndi.find_objects(plane.astype(np.int64))
        todo += [
            (z, value, box)
            for value, box in enumerate(boxes, start=1)
            if box is not None and (plane[box] == value).sum() >= min_area
        ]
    limit = np.inf if max_strokes is None else max_strokes
    for i in rng.permutation(len(todo)):
        z, value, box = todo[i]
        plane = stack[z]
        pad = tuple(
            slice(max(s.start - 25, 0), min(s.stop + 25, n))
            for s, n in zip(box, plane.shape, strict=True)
        )
        obj = plane[pad] == value
        for k in range(strokes_per_object):
            if n_strokes >= limit:
                break
            kind = STROKE_KINDS[k % len(STROKE_KINDS)]
            line = _one_object(obj, kind, rng, length=length * rng.uniform(0.7, 1.3))
            if line is None:
                continue
            line = _wobble(line, rng, 0.6) + [pad[0].start, pad[1].start]
            m = paint(plane.shape, line, width=width)
            new = m & (out[z] == 0)
            out[z][new] = np.where(plane[new] > 0, 2, 1)
            n_strokes += 1
    return (out[0] if labels.ndim == 2 else out), n_strokes


def _longest_path(component: np.ndarray) -> np.ndarray:
    """A long path through a 2D component: along its skeleton, between two far-apart ends."""
    from skimage.morphology import skeletonize

    skel = skeletonize(component)
    pts = np.argwhere(skel) if skel.any() else np.argwhere(component)
    index = {tuple(p): i for i, p in enumerate(pts)}
    moves = [(a, b) for a in (-1, 0, 1) for b in (-1, 0, 1) if a or b]

    def bfs(start):
        parent = {start: -1}
        queue = deque([start])
        last = start
        while queue:
            last = queue.popleft()
            p = pts[last]
            for a, b in moves:
                j = index.get((p[0] + a, p[1] + b))
                if j is not None and j not in parent:
                    parent[j] = last
                    queue.append(j)
        return last, parent

    end_a, _ = bfs(0)
    end_b, parent = bfs(end_a)
    path = [end_b]
    while parent[path[-1]] != -1:
        path.append(parent[path[-1]])
    # a blob's skeleton is a dot: then a line through its middle, along its long axis
    coords = np.argwhere(component).astype(float)
    centre = coords.mean(0)
    evals, evecs = np.linalg.eigh(np.cov(coords.T) if len(coords) > 2 else np.eye(2))
    half = 2 * np.sqrt(max(evals[-1], 0.0)) * 0.8
    if len(path) >= half:
        return pts[path].astype(float)
    t = np.linspace(-half, half, max(int(2 * half), 2))
    return centre + t[:, None] * evecs[:, -1]


def correction_strokes(
    prediction: np.ndarray,
    labels: np.ndarray,
    *,
    n_strokes: int,
    width: int = 3,
    length: float = 40.0,
    min_area: int = 10,
    existing: np.ndarray | None = None,
    seed: int = 0,
) -> tuple[np.ndarray, int]:
    """One round of corrections: a stroke through each of the largest mistakes.

    The simulated annotator compares the classifier's ``prediction`` (a
    foreground mask) with the expert ``labels`` of the *same* slices, finds the
    connected regions it gets wrong in each 2D slice (missed foreground and
    false foreground apart), and paints a stroke of up to ``length`` pixels
    along each of the ``n_strokes`` largest (at least ``min_area`` pixels), with
    the class the labels give. Pixels already in ``existing`` are left alone.

    Returns
    -------
    sparse : ndarray of uint8
        The new strokes only (0, 1 background, 2 foreground).
    n_strokes : int
        How many were drawn (fewer when fewer mistakes are large enough).

    Examples
    --------
    >>> lab = np.zeros((40, 40), int)
    >>> lab[10:30, 10:30] = 1
    >>> pred = np.zeros((40, 40), bool)  # the classifier missed the object
    >>> sparse, n = correction_strokes(pred, lab, n_strokes=3)
    >>> n, int((sparse == 2).sum()) > 20, int((sparse == 1).sum())
    (1, True, 0)
    """
    labels = np.asarray(labels)
    pred = np.asarray(prediction, bool)
    truth = labels > 0
    flat = labels.ndim == 2
    if flat:
        labels, pred, truth = labels[None], pred[None], truth[None]
    taken = np.zeros(truth.shape, bool) if existing is None else np.asarray(existing) > 0
    if flat and taken.ndim == 2:
        taken = taken[None]
    candidates = []  # (area, z, class, slices, component id)
    for z in range(truth.shape[0]):
        for cls, wrong in ((2, truth[z] & ~pred[z]), (1, ~truth[z] & pred[z])):
            comp, n = ndi.label(wrong)
            if not n:
                continue
            areas = np.bincount(comp.ravel())[1:]
            for i, box in enumerate(ndi.find_objects(comp)):
                if areas[i] >= min_area:
                    candidates.append((int(areas[i]), z, cls, box, i + 1, comp))
    rng = np.random.default_rng(seed)
    order = sorted(range(len(candidates)), key=lambda k: (-candidates[k][0], rng.random()))
    out = np.zeros(truth.shape, np.uint8)
    drawn = 0
    for k in order[:n_strokes]:
        _, z, cls, box, i, comp = candidates[k]
        path = _longest_path(comp[box] == i)
        run = np.r_[0, np.cumsum(np.linalg.norm(np.diff(path, axis=0), axis=1))]
        path = path[run <= length] + [box[0].start, box[1].start]
        m = paint(truth[z].shape, _wobble(path, rng, 0.4), width=width)
        m &= (truth[z] if cls == 2 else ~truth[z]) & ~taken[z] & (out[z] == 0)
        out[z][m] = cls
        drawn += 1
    return (out[0] if flat else out), drawn


def merge_strokes(*sparse: np.ndarray) -> np.ndarray:
    """Combine sparse label images; an earlier one wins where two label the same pixel.

    Examples
    --------
    >>> merge_strokes(np.array([0, 1, 0]), np.array([2, 2, 0])).tolist()
    [2, 1, 0]
    """
    out = np.zeros(np.shape(sparse[0]), np.uint8)
    for s in sparse[::-1]:
        s = np.asarray(s)
        out[s > 0] = s[s > 0]
    return out


def score_sparse(
    features: np.ndarray,
    sparse: np.ndarray,
    eval_features: np.ndarray,
    eval_truth: np.ndarray,
    *,
    n_estimators: int = 30,
    seed: int = 0,
) -> float:
    """Train the lesson's random forest on ``sparse`` and return its Dice on the held-out slices."""
    from emcourse.segment.features import predict_proba, train_forest
    from emcourse.segment.metrics import dice

    forest = train_forest(features, sparse, n_estimators=n_estimators, seed=seed)
    return float(dice(np.asarray(eval_truth) > 0, predict_proba(forest, eval_features) > 0.5))


def correction_loop(
    features: np.ndarray,
    labels: np.ndarray,
    start: np.ndarray,
    eval_features: np.ndarray,
    eval_truth: np.ndarray,
    *,
    rounds: int,
    strokes_per_round: int,
    n_start: int = 0,
    n_estimators: int = 30,
    seed: int = 0,
    width: int = 3,
) -> tuple[np.ndarray, list[dict]]:
    """Train, look at the mistakes on the annotated slices, paint them, train again.

    ``features`` and ``labels`` are those of the annotated training slices only:
    the annotator never sees ``eval_truth``, which is used only to score each
    round's forest. ``start`` holds the first strokes (``n_start`` of them).

    Returns
    -------
    sparse : ndarray of uint8
        All strokes after the last round.
    history : list of dict
        Per forest trained (the start, then after each round; fewer than
        ``rounds`` + 1 when no mistake is left to paint): ``strokes``
        (cumulative count), ``pixels`` (labelled pixels) and ``dice`` on the
        held-out slices.
    """
    from emcourse.segment.features import predict_proba, train_forest
    from emcourse.segment.metrics import dice

    sparse, n, history = np.asarray(start, np.uint8), int(n_start), []
    truth_eval = np.asarray(eval_truth) > 0
    for r in range(rounds + 1):
        forest = train_forest(features, sparse, n_estimators=n_estimators, seed=seed)
        d = dice(truth_eval, predict_proba(forest, eval_features) > 0.5)
        history.append({"strokes": n, "pixels": int((sparse > 0).sum()), "dice": float(d)})
        if r == rounds:
            break
        pred = predict_proba(forest, features) > 0.5  # the annotator looks at training slices
        new, drawn = correction_strokes(
            pred, labels, n_strokes=strokes_per_round, existing=sparse, seed=seed + r, width=width
        )
        if not drawn:  # no mistake left that is large enough to paint: the annotator stops
            break
        sparse, n = merge_strokes(sparse, new), n + drawn
    return sparse, history


def next_strokes_trial(
    features: np.ndarray,
    labels: np.ndarray,
    sparse: np.ndarray,
    eval_features: np.ndarray,
    eval_truth: np.ndarray,
    *,
    n_strokes: int = 8,
    n_estimators: int = 30,
    seed: int = 0,
) -> dict[str, tuple[int, float]]:
    """Where do the next strokes help most? Add them three ways and score each forest.

    Starting from ``sparse`` on the annotated slices (``features``, ``labels``),
    adds ``n_strokes`` strokes ``"mistakes"`` (on the largest mistakes of the
    current forest, :func:`correction_strokes`), ``"boundaries"`` (more strokes
    along and across the boundaries of objects, :func:`draw_strokes`) or
    ``"random"`` (as many random voxels from the labels as the mistakes'
    strokes hold, half per class). Returns, for ``"start"`` and each way,
    ``(pixels added, Dice on the held-out slices)``.
    """
    from emcourse.segment.features import predict_proba, scribbles, train_forest
    from emcourse.segment.metrics import dice

    sparse = np.asarray(sparse, np.uint8)
    forest = train_forest(features, sparse, n_estimators=n_estimators, seed=seed)
    seen = predict_proba(forest, features) > 0.5
    fixes, _ = correction_strokes(seen, labels, n_strokes=n_strokes, existing=sparse, seed=seed)
    more, _ = draw_strokes(labels, strokes_per_object=2, max_strokes=n_strokes, seed=seed + 1)
    more[sparse > 0] = 0
    budget = int((fixes > 0).sum())
    dots = scribbles(labels, n_per_class=budget // 2, seed=seed)
    dots[sparse > 0] = 0
    truth = np.asarray(eval_truth) > 0
    out = {"start": (0, float(dice(truth, predict_proba(forest, eval_features) > 0.5)))}
    for name, new in (("mistakes", fixes), ("boundaries", more), ("random", dots)):
        merged = merge_strokes(sparse, new)
        added = int((merged > 0).sum() - (sparse > 0).sum())
        out[name] = (added, score_sparse(features, merged, eval_features, eval_truth, seed=seed))
    return out
