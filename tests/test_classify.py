"""3D classification of picks: the simulator's decoys, the aligned stack, PCA by SVD, and the
sheet's checks (right answers pass, the typical mistakes fail with their diagnosis)."""

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA

from emcourse import checks, sta


@pytest.fixture
def not_strict(monkeypatch):
    monkeypatch.delenv(checks.STRICT_ENV, raising=False)


def stub(*args):
    raise NotImplementedError("Replace this line with your code")


# ----------------------------------------------------------------- the package


def test_decoys_are_placed_apart_and_the_default_tomogram_is_unchanged():
    ref = sta.phantom_map(box=16, voxel_size=20.0)
    kw = {"voxel_size": 20.0, "shape": (32, 96, 96), "n_particles": 3, "seed": 4}
    plain = sta.simulate_tomogram(ref, **kw)
    again = sta.simulate_tomogram(ref, **kw, decoy=ref, n_decoys=0)
    assert np.array_equal(plain.tomogram, again.tomogram)
    assert plain.decoy_positions.shape == (0, 3)
    mixed = sta.simulate_tomogram(ref, **kw, decoy=ref[:, :, ::-1], n_decoys=2)
    assert mixed.positions.shape == (3, 3) and mixed.decoy_positions.shape == (2, 3)
    assert mixed.decoy_rotations.shape == (2, 3, 3)
    both = np.concatenate([mixed.positions, mixed.decoy_positions])
    d = np.linalg.norm(both[:, None] - both[None], axis=-1) + 1e9 * np.eye(5)
    assert d.min() > 8  # at least a particle's diameter apart
    with pytest.raises(ValueError, match="differ in box"):
        sta.simulate_tomogram(ref, **kw, decoy=ref[:8, :8, :8], n_decoys=1)


def test_aligned_stack_undoes_the_poses_and_fills_the_wedge():
    ref = sta.phantom_map(box=16, voxel_size=15.0)
    R = sta.random_rotations(3, seed=2)
    subs = np.stack([sta.rotate_volume(ref, r, order=3) for r in R])
    mask = sta.soft_sphere(16, 7)
    poses = sta.Poses(R, np.zeros((3, 3)), np.zeros(3))
    stack = sta.aligned_stack(subs, poses, mask=mask)
    for s in stack:
        assert np.corrcoef(s.ravel(), (ref * mask).ravel())[0, 1] > 0.95
    # a wedge-filtered particle, filled with the truth, comes back whole
    wedged = np.stack(
        [
            np.fft.irfftn(
                np.fft.rfftn(s) * sta.wedge_mask(s.shape, tilt_range=(-45, 45)),
                s=s.shape,
                axes=(0, 1, 2),
            )
            for s in subs
        ]
    ).astype(np.float32)
    bare = sta.aligned_stack(wedged, poses, mask=mask, wedge=(-45, 45))
    filled = sta.aligned_stack(wedged, poses, mask=mask, wedge=(-45, 45), fill=ref)
    cc = [np.corrcoef(a.ravel(), (ref * mask).ravel())[0, 1] for a in (bare[0], filled[0])]
    assert cc[1] > cc[0] and cc[1] > 0.95, cc
    with pytest.raises(ValueError, match="poses"):
        sta.aligned_stack(subs, poses.take([0, 1]), mask=mask)


def test_pca_svd_is_sklearns_pca():
    X = np.random.default_rng(0).normal(size=(30, 50)) @ np.diag(np.linspace(3, 0.1, 50))
    scores, comps, ratio = sta.pca_svd(X, 4)
    skl = PCA(4, svd_solver="full").fit(X)
    signs = np.sign(np.sum(scores * skl.transform(X), axis=0))
    assert np.allclose(scores * signs, skl.transform(X), atol=1e-10)
    assert np.allclose(comps * signs[:, None], skl.components_, atol=1e-10)
    assert np.allclose(ratio, skl.explained_variance_ratio_, atol=1e-12)


def test_pick_kinds():
    kinds = sta.pick_kinds(
        [[0, 0, 0], [10, 10, 10], [5, 5, 5], [30, 0, 0]],
        [[0, 0, 1], [5, 5, 7]],
        [[10, 10, 9], [5, 5, 4]],
        tolerance=2.5,
    )
    assert kinds.tolist() == ["particle", "decoy", "decoy", "noise"]  # nearest wins
    assert sta.pick_kinds([[0, 0, 0]], [[0, 0, 1]], np.zeros((0, 3)), tolerance=2).tolist() == [
        "particle"
    ]


# ----------------------------------------------------------------- the sheet's checks


def aligned_masked_stack(subtomos, rotations, mask):
    back = [sta.rotate_volume(s, R.T) for s, R in zip(subtomos, rotations, strict=True)]
    return np.stack(back) * mask


def test_aligned_masked_stack(not_strict):
    assert checks.aligned_masked_stack(aligned_masked_stack).passed
    r = checks.aligned_masked_stack(lambda s, R, m: s * m)
    assert not r.passed and "not aligned" in r.diagnosis
    r = checks.aligned_masked_stack(lambda s, R, m: aligned_masked_stack(s, R, 1.0))
    assert not r.passed and "not masked" in r.diagnosis
    r = checks.aligned_masked_stack(
        lambda s, R, m: aligned_masked_stack(s, np.transpose(R, (0, 2, 1)), m)
    )
    assert not r.passed and "R.T" in r.diagnosis
    assert checks.aligned_masked_stack(stub).status == "not done"


def pca_by_svd(X, k):
    U, S, _ = np.linalg.svd(X - X.mean(axis=0), full_matrices=False)
    return U[:, :k] * S[:k]


def test_pca_by_svd(not_strict):
    assert checks.pca_by_svd(pca_by_svd).passed
    assert checks.pca_by_svd(lambda X, k: -pca_by_svd(X, k)).passed  # the sign is free
    assert checks.pca_by_svd(lambda X, k: PCA(k, svd_solver="full").fit_transform(X)).passed

    def uncentred(X, k):
        U, S, _ = np.linalg.svd(X, full_matrices=False)
        return U[:, :k] * S[:k]

    assert "not centred" in checks.pca_by_svd(uncentred).diagnosis

    def u_only(X, k):
        return np.linalg.svd(X - X.mean(axis=0), full_matrices=False)[0][:, :k]

    assert "U alone" in checks.pca_by_svd(u_only).diagnosis
    assert checks.pca_by_svd(stub).status == "not done"


def keep_particle_class(Z, stack, reference, k, seed):
    labels = KMeans(n_clusters=2, n_init=10, random_state=seed).fit_predict(Z[:, :k])
    cc = [np.corrcoef(stack[labels == c].mean(0).ravel(), reference.ravel())[0, 1] for c in (0, 1)]
    return labels == np.argmax(cc)


def test_keep_particle_class(not_strict):
    assert checks.keep_particle_class(keep_particle_class).passed

    def bigger(Z, stack, reference, k, seed):
        labels = KMeans(n_clusters=2, n_init=10, random_state=seed).fit_predict(Z[:, :k])
        return labels == np.bincount(labels).argmax()

    r = checks.keep_particle_class(bigger)
    assert not r.passed and "larger one" in r.diagnosis
    r = checks.keep_particle_class(lambda *a: ~keep_particle_class(*a))
    assert not r.passed and "decoys' class" in r.diagnosis
    assert checks.keep_particle_class(stub).status == "not done"


def test_component_count_prediction_is_the_rank(not_strict):
    X = np.random.default_rng(1).normal(size=(12, 200))
    assert checks.component_count_prediction(..., X).status == "not done"
    r = checks.component_count_prediction(11, X)
    assert r.passed and "the result is 11" in r.message
    assert "n - 1" in checks.component_count_prediction(200, X).diagnosis
    assert "centring removes one" in checks.component_count_prediction(12, X).diagnosis
