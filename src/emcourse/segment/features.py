"""A trainable pixel classifier: multiscale features per slice, a random forest, sparse labels.

Features are computed **per z slice** in 2D (intensity, edges and texture at
scales sigma 1-8): in 3D at 256^3 they would take about 1.7 GB. The classifier
is scikit-learn's random forest, as in ilastik and scikit-image's "trainable
segmentation" example.
"""

from __future__ import annotations

from functools import partial

import numpy as np

__all__ = [
    "feature_stack",
    "predict_proba",
    "predict_volume",
    "scribbles",
    "train_forest",
]


def feature_stack(
    volume: np.ndarray, *, sigma_max: float = 8.0, limits: tuple[float, float] | None = None
) -> np.ndarray:
    """Per-slice multiscale features, shape (z, y, x, n_features), float32.

    Uses ``skimage.feature.multiscale_basic_features`` (intensity, edges,
    texture at sigmas 1 to ``sigma_max``) on each z slice of the volume after
    mapping its 1st and 99th percentiles (or ``limits``) to 0 and 1, so that
    features of different volumes compare.
    """
    from skimage.feature import multiscale_basic_features

    volume = np.asarray(volume, np.float32)
    lo, hi = np.percentile(volume, [1, 99]) if limits is None else limits
    volume = (volume - lo) / max(float(hi - lo), 1e-6)
    fn = partial(multiscale_basic_features, sigma_min=1.0, sigma_max=sigma_max, workers=1)
    first = fn(volume[0]).astype(np.float32)
    out = np.empty((volume.shape[0], *first.shape), np.float32)
    out[0] = first
    for z in range(1, volume.shape[0]):
        out[z] = fn(volume[z])
    return out


def scribbles(
    labels: np.ndarray,
    *,
    n_per_class: int,
    seed: int = 0,
    exclude_edges_nm: float = 0.0,
    voxel_size: float = 1.0,
) -> np.ndarray:
    """Sparse training labels drawn from dense ones: 1 = background, 2 = foreground, 0 = none.

    Picks ``n_per_class`` random voxels of each class, as a person's scribbles
    would cover a few thousand voxels. With ``exclude_edges_nm`` voxels that
    close to a boundary are not picked (people scribble inside objects).
    """
    from scipy import ndimage as ndi

    fg = np.asarray(labels) > 0
    rng = np.random.default_rng(seed)
    out = np.zeros(fg.shape, np.uint8)
    for value, region in ((1, ~fg), (2, fg)):
        if exclude_edges_nm:
            region = ndi.distance_transform_edt(region) * voxel_size > exclude_edges_nm
        idx = np.flatnonzero(region)
        pick = rng.choice(idx, size=min(n_per_class, idx.size), replace=False)
        out.flat[pick] = value
    return out


def train_forest(
    features: np.ndarray,
    sparse: np.ndarray,
    *,
    n_estimators: int = 50,
    max_depth: int | None = 12,
    seed: int = 0,
):
    """Fit a random forest on the voxels where ``sparse`` > 0 (classes 1, 2, ...)."""
    from sklearn.ensemble import RandomForestClassifier

    sparse = np.asarray(sparse)
    if features.shape[:-1] != sparse.shape:
        raise ValueError(f"features {features.shape[:-1]} and labels {sparse.shape} differ")
    mask = sparse > 0
    if len(np.unique(sparse[mask])) < 2:
        raise ValueError("training labels must hold at least two classes (e.g. 1 and 2)")
    clf = RandomForestClassifier(
        n_estimators=n_estimators, max_depth=max_depth, n_jobs=1, random_state=seed
    )
    clf.fit(features[mask], sparse[mask])
    return clf


def predict_proba(clf, features: np.ndarray, *, cls: int = 2) -> np.ndarray:
    """Probability of class ``cls`` for every voxel, slice by slice (float32, features' shape)."""
    k = list(clf.classes_).index(cls)
    out = np.empty(features.shape[:-1], np.float32)
    for z in range(features.shape[0]):
        f = features[z].reshape(-1, features.shape[-1])
        out[z] = clf.predict_proba(f)[:, k].reshape(features.shape[1:-1])
    return out


def predict_volume(
    clf, volume: np.ndarray, *, chunk: int = 16, sigma_max: float = 8.0, cls: int = 2
) -> np.ndarray:
    """Foreground probability of a whole volume, computing features ``chunk`` slices at a time.

    Keeps memory to one chunk's features (16 slices of 256^2 with 16 features:
    67 MB) instead of the whole stack.
    """
    volume = np.asarray(volume)
    lo, hi = np.percentile(volume, [1, 99])
    out = np.empty(volume.shape, np.float32)
    for z0 in range(0, volume.shape[0], chunk):
        # scaled with the whole volume's percentiles, as feature_stack would
        feats = feature_stack(volume[z0 : z0 + chunk], sigma_max=sigma_max, limits=(lo, hi))
        out[z0 : z0 + chunk] = predict_proba(clf, feats, cls=cls)
    return out
