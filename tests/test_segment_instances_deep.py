"""The boundary network and its instances (segment.instances_deep): targets, watershed, the
two-output U-Net in NumPy and PyTorch, the shipped weights, and the F1 bar on the stand-in."""

import hashlib

import numpy as np
import pytest
from conftest import module

from emcourse import mito_instances
from emcourse.segment import instances_deep as deep
from emcourse.segment.metrics import match_instances
from emcourse.segment.predict import _tiny_params, predict_probability
from emcourse.segment.unet import unet_forward, unet_predict


def two_touching_squares():
    lab = np.zeros((12, 20), np.int32)
    lab[2:10, 2:10] = 1
    lab[2:10, 10:18] = 2
    return lab


def test_boundary_targets_put_a_wall_between_touching_objects():
    t = deep.boundary_targets(two_touching_squares())
    assert t.dtype == np.uint8 and set(np.unique(t)) == {0, 1, 2}
    assert (t[2:10, 9:11] == 2).all()  # the wall: two pixels, one of each object
    assert (t[3:9, 3:9] == 1).all() and (t[0] == 0).all()
    stack = deep.boundary_targets(np.stack([two_touching_squares()] * 3))
    assert stack.shape == (3, 12, 20) and np.array_equal(stack[1], t)


def test_objects_cut_by_the_image_edge_have_no_boundary_there():
    lab = np.zeros((6, 6), np.int32)
    lab[:, :3] = 1
    t = deep.boundary_targets(lab)
    assert (t[:, 0] == 1)[1:-1].all() and (t[:, 2] == 2).all()


def test_seeded_watershed_splits_what_components_merge():
    truth = two_touching_squares()
    t = deep.boundary_targets(truth)
    fg, bd = (t >= 1).astype(np.float32), (t == 2).astype(np.float32)
    labels = deep.seeded_watershed(fg, bd, min_seed=4)
    assert match_instances(truth, labels).f1 == 1.0
    methods = deep.instance_methods(fg, bd, voxel_size=15.0)
    assert methods["threshold + components"].max() == 1  # one blob
    scores = deep.compare_methods(truth, fg, bd, voxel_size=15.0)
    assert scores["boundary network + watershed"].f1 == 1.0
    # the blob matches at most one square (IoU 0.5 at best) and misses the other
    assert scores["threshold + components"].fn == 1 and scores["threshold + components"].f1 < 1


def test_specks_make_no_seeds():
    fg = np.zeros((10, 10), np.float32)
    fg[1:3, 1:3] = 1  # four pixels: below MIN_SEED
    assert deep.seeded_watershed(fg, np.zeros_like(fg)).max() == 0


def test_region_cuts_predictions():
    truth = two_touching_squares()
    t = deep.boundary_targets(truth)
    fg, bd = (t >= 1).astype(np.float32), (t == 2).astype(np.float32)
    region = np.zeros(truth.shape, bool)
    region[:, :10] = True
    s = deep.compare_methods(np.where(region, truth, 0), fg, bd, voxel_size=15.0, region=region)
    assert s["boundary network + watershed"].f1 == 1.0


def two_output(params):
    p = dict(params)
    rng = np.random.default_rng(0)
    p = {k: rng.normal(0, 0.3, v.shape).astype(np.float32) for k, v in p.items()}
    p["out.weight"] = rng.normal(0, 0.3, (2, *p["out.weight"].shape[1:])).astype(np.float32)
    p["out.bias"] = np.array([0.1, -0.2], np.float32)
    return p


def test_numpy_unet_with_two_outputs():
    p2 = two_output(_tiny_params())
    img = np.random.default_rng(1).random((8, 8)).astype(np.float32)
    logits = unet_forward(img, p2)
    assert logits.shape == (2, 8, 8)
    one = {**p2, "out.weight": p2["out.weight"][:1], "out.bias": p2["out.bias"][:1]}
    assert np.allclose(unet_forward(img, one), logits[0])  # one output: (H, W) as before
    vol = np.random.default_rng(2).random((3, 10, 9)).astype(np.float32)
    assert unet_predict(vol, p2).shape == (3, 2, 10, 9)
    assert predict_probability(vol[0] * 255, 10.0, p2).shape == (2, 10, 9)


def test_torch_twin_and_a_short_training_agree_with_numpy():
    torch = module("torch", "PyTorch, for the boundary network's training")

    from emcourse.segment.training import make_unet, state_to_numpy

    torch.manual_seed(0)
    lab = np.zeros((2, 32, 32), np.int32)
    lab[:, 4:14, 4:14], lab[:, 4:14, 14:24] = 1, 2
    norm = np.where(lab > 0, 0.2, 0.8).astype(np.float32)
    model, losses = deep.train_boundary_unet(
        norm, deep.boundary_targets(lab), steps=3, batch=2, size=16, channels=(2, 4)
    )
    assert len(losses) == 3 and np.isfinite(losses).all()
    params = state_to_numpy(model)
    twin = make_unet((2, 4), outputs=2)
    twin.load_state_dict({k: torch.from_numpy(v) for k, v in params.items()})
    with torch.no_grad():
        want = torch.sigmoid(twin(torch.from_numpy(norm[:1, None])))[0].numpy()
    fg, bd = deep.predict_boundaries(norm[:1], params, limits=(0.0, 1.0))
    assert np.allclose(want[0], fg[0], atol=1e-5) and np.allclose(want[1], bd[0], atol=1e-5)


def test_he_init_gives_unit_gain_weights_and_zero_biases():
    torch = module("torch", "PyTorch, for the boundary network's training")
    from emcourse.segment.training import make_unet

    torch.manual_seed(0)
    model = make_unet((8, 16), outputs=2)
    deep.he_init(model)
    w = model.dec1[0].weight.detach().numpy()  # 16 inputs x 3 x 3 weights per filter
    he = np.sqrt(2 / w[0].size)  # He: variance 2 / fan_in
    assert abs(w.std() - he) < 0.1 * he, (w.std(), he)
    biases = [m.bias.detach().numpy() for m in model.modules() if hasattr(m, "bias")]
    assert biases and all((b == 0).all() for b in biases)


def test_methods_on_real_slices_score_the_one_way():
    from emcourse import mito_instances
    from emcourse.segment.hela2d import hela2d_standin
    from emcourse.segment.realslices import score_on_real_slices

    slices = hela2d_standin(size=96, z=(116,))
    windows = []
    params = mito_instances.read_boundary_unet()
    rows = deep.score_methods_on_real_slices(params, slices, zs=(116,), windows=windows)
    assert list(rows) == [
        "threshold + components",
        "threshold + distance watershed",
        "boundary network + watershed",
    ]
    assert len(windows) == 1 and windows[0]["fg"].shape == windows[0]["image"].shape
    for name, got in rows.items():  # the same rows as scoring each method's labels directly
        assert got == score_on_real_slices(lambda im, n=name: windows[0][n], slices, zs=(116,))


def test_shipped_weights_are_small_and_checked():
    raw = mito_instances.BOUNDARY_WEIGHTS.read_bytes()
    assert len(raw) < 2_000_000
    assert hashlib.sha256(raw).hexdigest() == mito_instances.BOUNDARY_SHA256
    params = mito_instances.read_boundary_unet()
    assert params["out.weight"].shape[0] == 2
    assert params["enc1.0.weight"].shape[0] == deep.BOUNDARY_CHANNELS[0]


@pytest.fixture(scope="module")
def held_out_scores():
    vol = mito_instances._standin()
    _, held = deep.standin_split(vol.labels, vol.em.shape[0])
    limits = np.percentile(vol.em, [1, 99])
    params = mito_instances.read_boundary_unet()
    fg, bd = deep.predict_boundaries(vol.em[held], params, limits=limits)
    return deep.compare_methods(vol.labels[held], fg, bd, voxel_size=deep.VOXEL_NM)


def test_the_weights_never_saw_the_lessons_volume():
    """Trained on another cell: same generator, another seed, so no slice of the scored volume."""
    assert deep.TRAIN_SEED != deep.STANDIN_SEED
    a, b = (mito_instances._standin(s) for s in (deep.STANDIN_SEED, deep.TRAIN_SEED))
    assert not np.array_equal(a.labels[:, ::8, ::8] > 0, b.labels[:, ::8, ::8] > 0)


def test_boundary_network_reaches_the_bar_on_the_held_out_block(held_out_scores):
    """The issue's bar: instance F1 >= 0.85 at IoU 0.5 on the stand-in's held-out block."""
    f1 = {k: s.f1 for k, s in held_out_scores.items()}
    assert f1["boundary network + watershed"] >= 0.85, f1
    assert f1["boundary network + watershed"] >= f1["threshold + components"], f1
    # the model card's and the lesson's numbers (components, distance watershed, network)
    assert np.allclose(list(f1.values()), [0.867, 0.917, 0.897], atol=0.01), f1
