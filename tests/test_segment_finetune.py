"""python -m emcourse.mito (fine-tuning): refuses the stand-in unless asked; scored on real data."""

import json

import numpy as np
import pytest
from test_hela2d import _serve_real

from emcourse import mito as finetune
from emcourse.mito import predict_mito
from emcourse.mito import read_weights as load_weights
from emcourse.segment.finetune import DEFAULTS

pytestmark = pytest.mark.usefixtures("data_env")


def test_without_real_data_it_refuses_and_says_how(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("EMCOURSE_OFFLINE", "1")
    out = tmp_path / "w.npz"
    assert finetune.main(["--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "emcourse data fetch hela-mito2d" in err and "--standin" in err
    assert not out.exists()


def test_on_the_standin_when_asked(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("EMCOURSE_OFFLINE", "1")
    out = tmp_path / "w.npz"
    args = ["--out", str(out), "--standin", "--steps", "4", "--size", "64", "--batch", "2"]
    assert finetune.main(args) == 0
    record = json.loads(out.with_name("w.npz.json").read_text())
    assert record["data"] == "hela-mito2d STAND-IN" and record["training_z"] == [1, 30, 60]
    assert set(record["test"]["finetuned"]) == {"116", "150"}  # scored on the test slices only
    params = load_weights(out)  # the shipped format: predict_mito runs it
    assert set(params) == set(load_weights(None))
    assert predict_mito(np.zeros((16, 16)), 10.0, weights=out).shape == (16, 16)
    assert "stand-in" in capsys.readouterr().out


def test_2d_instances_keep_mitochondrion_sized_objects():
    """A typical real mitochondrion in 2D (260 x 600 nm at 10 nm) is kept; a ball rule drops it."""
    from skimage.draw import ellipse

    from emcourse.segment.classical import instances_from_mask

    mask = np.zeros((120, 200), bool)
    mask[ellipse(60, 50, 13, 30)] = True  # ~1,200 px, the median first-pass object
    mask[ellipse(60, 140, 13, 30)] = True
    mask[10:14, 10:14] = True  # debris, smaller than a 200 nm disc (315 px)
    labels = instances_from_mask(mask, voxel_size=10.0)  # one 2D slice
    assert len(np.unique(labels)) - 1 == 2 and labels[12, 12] == 0
    # the slice as a volume: the ball's 4,189 voxels demanded in pixels, both objects lost
    assert instances_from_mask(mask[None], voxel_size=10.0).max() == 0


def test_the_cleaned_mask_fills_holes_and_drops_specks_in_2d_and_3d():
    from skimage.morphology import remove_small_holes, remove_small_objects

    from emcourse.segment.classical import clean_mask

    rng = np.random.default_rng(0)
    mask = rng.random((200, 200)) > 0.93  # specks of a few pixels
    mask[40:100, 40:100] = True
    mask[60:70, 60:70] = False  # a hole
    mask[150:190, 150:190] = True  # a second object, 400 x 400 nm at 10 nm
    cleaned = clean_mask(mask, voxel_size=10.0)  # a 200 nm disc: 314 px at 10 nm
    assert cleaned[65, 65] and cleaned[160, 160] and not cleaned[:30].any()
    # the library's calls: holes up to 10,000 px (the background is larger), the disc in px
    holes = remove_small_holes(mask, max_size=10_000)
    assert np.array_equal(cleaned, remove_small_objects(holes, max_size=314))
    # in 3D each slice's holes are filled, the smallest piece a 200 nm ball (4,189 voxels)
    vol = np.stack([mask] * 3)
    assert np.array_equal(clean_mask(vol, voxel_size=10.0), np.stack([cleaned] * 3))
    assert not clean_mask(vol[:, 150:, 150:][:, :30, :30], voxel_size=10.0).any()  # 2,700


def test_scores_of_the_cleaned_mask_differ_in_dice_only():
    from emcourse.segment.hela2d import MitoSlices
    from emcourse.segment.predict import score_mito

    truth = np.zeros((120, 120), np.int32)
    truth[20:60, 20:60], truth[70:110, 70:110] = 1, 2
    one = MitoSlices(
        images=np.zeros((1, 120, 120), np.uint8), first=truth[None], revised=truth[None],
        z=(1,), pixel_nm=10.0, cell=np.ones((1, 120, 120), bool),
    )  # fmt: skip
    prob = (truth > 0).astype(np.float32)
    prob[35:40, 35:40] = 0.1  # a hole in the first
    prob[5:9, 100:104] = 0.9  # a speck of 16 px, under a 200 nm disc
    raw = score_mito(prob, one, 1, threshold=0.4)
    clean = score_mito(prob, one, 1, threshold=0.4, clean=True)
    assert clean["dice"] == 1.0 and raw["dice"] < 1.0
    assert clean["f1"] == raw["f1"] == 1.0  # the instances were cut from the cleaned mask
    assert clean["marked"] != raw["marked"]


def test_a_widened_network_predicts_what_it_was_grown_from():
    from emcourse.segment.finetune import widen
    from emcourse.segment.training import make_unet, state_to_numpy
    from emcourse.segment.unet import unet_forward

    shipped = load_weights(None)
    fresh = state_to_numpy(make_unet((16, 32, 64, 128)))
    wide = widen(shipped, fresh)
    assert {k: v.shape for k, v in wide.items()} == {k: v.shape for k, v in fresh.items()}
    image = np.random.default_rng(0).random((48, 40), np.float32)
    same = unet_forward(image, wide) - unet_forward(image, shipped)
    assert np.abs(same).max() < 1e-4
    assert np.abs(wide["enc1.0.weight"][8:]).max() > 0  # the new channels are not dead
    # one planted mistake: the decoder's skip channels not moved to their wide place
    wrong = dict(wide)
    wrong["dec1.0.weight"] = wide["dec1.0.weight"].copy()
    wrong["dec1.0.weight"][:8, 8:16] = shipped["dec1.0.weight"][:, 8:]
    wrong["dec1.0.weight"][:8, 16:24] = 0
    assert np.abs(unet_forward(image, wrong) - unet_forward(image, shipped)).max() > 1e-2


@pytest.mark.realdata
def test_the_command_clears_the_bar_on_the_real_test_slices(archive_server, capsys):
    """The command with its default settings, on the real slices served by a mirror.

    About 880 s of CPU on the earlier sessions' machine (one thread; 14.5 min of wall time at
    load 15), about 330 s on a quiet later one. The default learns from the revised pass on all
    cell rows at threshold 0.4 and scores the Dice of the cleaned mask (model card). Measured on
    the later machine, seeds 0, 1, 2: Dice 0.864 / 0.801, 0.845 / 0.794, 0.857 / 0.772 on
    z 116 / 150 (0.861 / 0.796, 0.845 / 0.790, 0.855 / 0.778 uncleaned), instance F1 0.849 /
    0.684, 0.806 / 0.684, 0.784 / 0.537 (shipped network 0.296 / 0.253, F1 0). The same seed
    gives other weights on another machine (the earlier default's seed 0 scored z 150 0.797
    on one machine and 0.759 on another). The floors sit under the lowest of these runs by
    about 0.08 (Dice 0.70) and 0.09 (F1 0.45: z 150 has 15 mitochondria, one more or fewer
    matched moves F1 by about 0.06), far above the shipped network, so that they hold on any
    machine and still catch a fine-tuning that does not work. The issue's bar, 0.80 on both
    slices, is reported as an expected failure
    (XFAIL) where it does not hold; it is not lowered. Seed 0 clears it on the later machine by
    0.001 on z 150, seeds 1 and 2 do not: on another machine expect either outcome.
    """
    _serve_real(archive_server)
    assert finetune.main([]) == 0  # default --out: the data cache's derived/ folder
    path = finetune.cached_path()
    record = json.loads(path.with_name(path.name + ".json").read_text())
    print(json.dumps(record["test"], indent=1), record["train_seconds"])
    assert record["data"] == "hela-mito2d real" and record["settings"]["steps"] > 0
    defaults = json.loads(json.dumps(DEFAULTS))  # the settings as the .json records them
    assert {k: record["settings"][k] for k in defaults} == defaults
    assert record["threshold"] == DEFAULTS["threshold"]  # set, not picked on validation
    scores = record["test"]["finetuned"]
    for z in ("116", "150"):
        assert scores[z]["dice"] >= 0.70, (z, scores[z])  # the floor (see the bar below)
        assert scores[z]["f1"] >= 0.45, (z, scores[z])  # 2D sizes as areas (0.22 when as volumes)
        assert scores[z]["dice"] <= scores[z]["dice_passes"] + 0.02  # below the ceiling
    mtime = path.stat().st_mtime
    assert finetune.finetuned_weights() == path and path.stat().st_mtime == mtime  # cached
    below = {z: scores[z]["dice"] for z in ("116", "150") if scores[z]["dice"] < 0.80}
    if below:  # the bar, not lowered: reported as an expected failure until it holds
        pytest.xfail(f"issue 16's bar, test Dice >= 0.80, not reached on z {below}")


def _d4_symmetric(params):
    """Weights whose every kernel is the mean of its 8 flips and quarter turns: an
    equivariant network (on sizes divisible by 8 the poolings' grid maps onto itself)."""
    out = {}
    for key, w in params.items():
        w = np.asarray(w, np.float32)
        if w.ndim == 4 and w.shape[-1] > 1:
            views = [np.rot90(w, k, axes=(2, 3)) for k in range(4)]
            views += [v[..., ::-1] for v in views]
            w = np.mean(views, axis=0)
        out[key] = w
    return out


def test_flip_and_turn_averaging_undoes_each_view():
    from emcourse.segment.finetune import dihedral_mean

    image = np.random.default_rng(1).random((6, 10))
    assert np.allclose(dihedral_mean(lambda a: a, image), image, atol=1e-6)  # each view undone
    # a map that is not equivariant: the first row of each view, everywhere; its mean is the
    # mean of the image's four borders (each border is some view's first row, twice)
    border = np.mean([image[0].mean(), image[-1].mean(), image[:, 0].mean(), image[:, -1].mean()])
    got = dihedral_mean(lambda a: np.broadcast_to(a[:1].mean(), a.shape), image)
    assert np.allclose(got, border, atol=1e-6) and got.shape == image.shape
    # the planted mistake: views predicted but not turned back
    wrong = np.mean([np.rot90(image, k)[:6, :6] for k in (0, 2)], axis=0)
    assert not np.allclose(wrong, image[:6, :6])


def test_predict_mito_with_averaging_equals_plain_for_an_equivariant_network():
    shipped = load_weights(None)
    sym = _d4_symmetric(shipped)
    image = np.random.default_rng(2).random((64, 48)).astype(np.float32)
    plain = predict_mito(image, 15.0, weights=sym)
    assert np.abs(predict_mito(image, 15.0, weights=sym, tta=True) - plain).max() < 1e-4
    # the shipped network is not equivariant: averaging changes its prediction
    tta = predict_mito(image, 15.0, weights=shipped, tta=True)
    assert tta.shape == image.shape and tta.dtype == np.float32
    assert np.abs(tta - predict_mito(image, 15.0, weights=shipped)).max() > 1e-3


def test_training_patches_keep_image_labels_and_cell_aligned():
    """The flips, quarter turns and grey jitter of the training patches move all three together."""
    from emcourse.segment.finetune import _batch

    mask = np.zeros((96, 96), bool)
    mask[40:44] = True  # a horizontal stripe: vertical in a patch turned by a quarter
    cell = np.zeros_like(mask)
    cell[20:80] = True
    cell[:, 70:] = False  # the cell's edge turns too
    # three grey levels: outside the cell 0, cell 0.5, mitochondrion 1; the jitter (contrast
    # x0.8-1.25 about 0.5, offset +-0.1) keeps them in the bands < 0.3, 0.3-0.7, > 0.7
    mask &= cell
    norm = (cell * 0.5 + mask * 0.5).astype(np.float32)
    p = {"norm": norm, "mask": mask, "cell": cell, "train_rows": (0, 96)}
    p["cand"] = np.argwhere(cell)
    x, y, w = _batch([p], 64, 32, np.random.default_rng(3))
    assert x.shape == y.shape == w.shape == (64, 1, 32, 32)
    assert np.array_equal(x > 0.7, y > 0.5)  # image and labels aligned
    assert np.array_equal(x > 0.3, w > 0.5)  # image and cell aligned
    rows = sum(bool(yi.all(axis=1).any()) for yi in y[:, 0])  # stripe lying
    cols = sum(bool(yi.all(axis=0).any()) for yi in y[:, 0])  # stripe standing
    assert rows > 5 and cols > 5  # both orientations drawn


def _stripe_slice():
    """A prepared slice: grey 0 outside the cell, 0.5 in it, 1 on a 6-row mitochondrion.

    Patches are centred at (80, 80); the cell's edge, at column 90, is off the centre, so
    that a zoom moves it within the patch.
    """
    mask = np.zeros((160, 160), bool)
    mask[77:83] = True
    cell = np.zeros_like(mask)
    cell[20:140, :90] = True
    mask &= cell
    norm = (cell * 0.5 + mask * 0.5).astype(np.float32)
    return {"norm": norm, "mask": mask, "cell": cell, "train_rows": (0, 160), "cand": [(80, 80)]}


def _stripe_widths(y):
    """Per patch, the width in pixels of the stripe (lying or standing) it shows."""
    return np.array([min(yi.any(axis=1).sum(), yi.any(axis=0).sum()) for yi in y[:, 0]])


def _iou(a, b):
    return (a & b).sum() / (a | b).sum()


def test_zoomed_training_patches_show_other_sizes_with_labels_aligned():
    """``scale``: each patch zoomed by a factor in [1/scale, scale]; labels and cell follow."""
    from emcourse.segment.finetune import _batch

    p = _stripe_slice()
    plain = _stripe_widths(_batch([p], 32, 32, np.random.default_rng(0))[1])
    assert set(plain) == {6}  # no zoom: the stripe is 6 pixels wide in every patch
    x, y, w = _batch([p], 200, 32, np.random.default_rng(0), scale=1.5)
    widths = _stripe_widths(y)
    assert widths.min() <= 4 and widths.max() >= 8  # 6 / 1.5 and 6 * 1.5, give or take a pixel
    assert ((widths >= 4) & (widths <= 9)).all()
    # the image resized with its labels and its cell: the bright stripe is where the labels
    # say, the grey cell where the cell mask says (interpolated edge pixels may differ)
    assert _iou(x > 0.7, y > 0.5) > 0.9
    assert _iou(x > 0.3, w > 0.5) > 0.95
    assert x.shape == w.shape == (200, 1, 32, 32)
    # the crop never outgrows the training rows: 40 rows, so a zoom out stops at 40 pixels
    p["train_rows"] = (60, 100)
    x, y, w = _batch([p], 50, 32, np.random.default_rng(1), scale=2.0)
    assert x.shape == (50, 1, 32, 32) and _stripe_widths(y).min() >= 4  # 6 * 32 / 40 = 4.8


def test_finetune_refuses_a_threshold_outside_0_1_before_any_work():
    from emcourse.segment.finetune import finetune

    for bad in (0, 1, float("nan"), "x"):
        with pytest.raises(ValueError, match="threshold"):
            finetune(None, steps=1, batch=1, size=8, lr=1e-3, seed=0, prepared=[], threshold=bad)


def test_the_zoom_of_the_training_patches_is_checked():
    from emcourse.segment.finetune import finetune

    with pytest.raises(ValueError, match="scale"):
        finetune(None, steps=1, batch=1, size=8, lr=1e-3, seed=0, prepared=[], scale=0.5)


def test_zoom_averaging_shows_the_network_a_shrunk_view_and_maps_it_back():
    from emcourse.segment.finetune import zoom_mean

    seen = []

    def row_index(a):  # a map that knows where it is: each pixel centre's height, as a fraction
        seen.append(a.shape)
        return np.broadcast_to(((np.arange(a.shape[0]) + 0.5) / a.shape[0])[:, None], a.shape)

    image = np.random.default_rng(4).random((100, 60))
    got = zoom_mean(row_index, image, zooms=(1.0, 0.7))
    assert seen == [(100, 60), (70, 42)]  # the network saw the image at 1/0.7 its pixel size
    # the small view's map put back in place (exact inside; the edge rows are reflected)
    assert np.allclose(got[2:-2], row_index(image)[2:-2], atol=1e-6)
    assert np.abs(got - row_index(image)).max() < 0.005
    # the mean of the views: a map that reports its view's size is averaged over both sizes
    sizes = zoom_mean(lambda a: np.full(a.shape, float(a.shape[0])), image, zooms=(1.0, 0.7))
    assert np.allclose(sizes, 85.0)
    # whole grey levels: the shrunk view keeps its fractions (no cut back to uint8)
    grey = np.random.default_rng(6).integers(0, 256, (90, 90)).astype(np.uint8)
    views = []
    zoom_mean(lambda a: views.append(a) or np.zeros(a.shape), grey, zooms=(0.7,))
    assert views[0].dtype == np.float32 and not np.array_equal(views[0], np.round(views[0]))
    assert abs(float(views[0].mean()) - float(grey.mean())) < 0.5
    for bad in ((), (1.0, 1.5), (0.0,), (0.7, 0.7)):
        with pytest.raises(ValueError, match="zooms must be factors"):
            zoom_mean(row_index, image, zooms=bad)


def test_predict_mito_shows_the_network_each_zoom_and_averages(monkeypatch):
    from emcourse.segment import unet
    from emcourse.segment.predict import predict_probability

    image = np.random.default_rng(5).random((64, 80)).astype(np.float32)
    shipped = load_weights(None)
    one, small = (predict_mito(image, 10.0, weights=shipped, zooms=z) for z in ((1.0,), (0.7,)))
    both = predict_mito(image, 10.0, weights=shipped, zooms=(1.0, 0.7))
    assert np.allclose(both, (one + small) / 2, atol=1e-6)
    # zoom 1 is the plain prediction, as before the option existed
    plain = predict_probability(image, 10.0, shipped, limits=np.percentile(image, [1, 99]))
    assert np.array_equal(one, plain)
    grids = []  # what the network is given: the 15 nm grid, and that grid shrunk by 0.7 (21 nm)
    real = unet.unet_predict

    def spy(x, *args, **kwargs):
        grids.append(np.shape(x)[-2:])
        return real(x, *args, **kwargs)

    monkeypatch.setattr(unet, "unet_predict", spy)
    predict_mito(image, 10.0, weights=shipped, zooms=(1.0, 0.7))
    assert grids == [(43, 53), (30, 37)]  # 64 x 80 at 10 nm: 15 nm, then 15 / 0.7 = 21 nm


def test_the_command_checks_its_zooms(capsys):
    assert finetune._zooms("1,0.7") == (1.0, 0.7)
    for bad in ("1,1.5", "1,,0.7", "0.7,0.7"):
        with pytest.raises(SystemExit):  # refused before any data is loaded
            finetune.main(["--zooms", bad, "--standin"])
        assert "--zooms takes" in capsys.readouterr().err


def test_the_command_checks_its_scale(capsys):
    assert finetune._scale("1.5") == 1.5
    for bad in ("0.5", "3", "x", "nan"):
        with pytest.raises(SystemExit):  # refused before any data is loaded
            finetune.main(["--scale", bad, "--standin"])
        assert "--scale takes" in capsys.readouterr().err


def test_the_command_checks_its_threshold(capsys):
    assert finetune._threshold("0.4") == 0.4 and finetune._threshold("val") is None
    for bad in ("0", "1", "x", "nan", "-0.2"):
        with pytest.raises(SystemExit):  # refused before any data is loaded
            finetune.main(["--threshold", bad, "--standin"])
        assert "--threshold takes" in capsys.readouterr().err


def test_a_set_threshold_is_kept_and_trains_on_all_rows_val_holds_bands_out(monkeypatch, tmp_path):
    monkeypatch.setenv("EMCOURSE_OFFLINE", "1")
    records = {}
    for given in ("0.65", "val"):
        out = tmp_path / f"w{given}.npz"
        args = ["--out", str(out), "--standin", "--steps", "4", "--size", "64", "--batch", "2"]
        assert finetune.main([*args, "--threshold", given]) == 0
        records[given] = json.loads(out.with_name(out.name + ".json").read_text())
    assert records["0.65"]["threshold"] == 0.65  # not one of the thresholds tried
    assert records["0.65"]["val_dice"] == {}  # nothing held out: no bands to score
    assert records["0.65"]["labelled_px"] > 1.2 * records["val"]["labelled_px"]  # all rows
    val = records["val"]["val_dice"]  # rounded to 4 places: a tie there is either's
    best = [float(t) for t, d in val.items() if d == max(val.values())]
    assert records["val"]["threshold"] in best
    assert records["val"]["settings"]["threshold"] is None


def test_the_command_scores_the_cleaned_mask_unless_told_not_to(monkeypatch, tmp_path):
    monkeypatch.setenv("EMCOURSE_OFFLINE", "1")
    asked, score = [], finetune.score_test_slices

    def spy(*args, **kwargs):
        asked.append(kwargs["clean"])
        return score(*args, **kwargs)

    monkeypatch.setattr(finetune, "score_test_slices", spy)
    records = {}
    for flag in ("--clean", "--no-clean"):
        out = tmp_path / f"w{flag}.npz"
        args = ["--out", str(out), "--standin", "--steps", "4", "--size", "64", "--batch", "2"]
        assert finetune.main([*args, flag, "--baseline"]) == 0
        records[flag] = json.loads(out.with_name(out.name + ".json").read_text())
    assert DEFAULTS["clean"] is True and asked == [True, True, False, False]  # baseline too
    assert records["--clean"]["settings"]["clean"] is True
    assert records["--no-clean"]["settings"]["clean"] is False
    clean, raw = (records[f]["test"]["finetuned"]["150"] for f in ("--clean", "--no-clean"))
    assert clean["f1"] == raw["f1"]  # the same weights (same seed), the same instances
    assert clean["dice"] != raw["dice"]  # but the Dice of another mask (0.863 / 0.855 here)


def test_cached_weights_made_with_other_settings_are_made_again(monkeypatch):
    from emcourse import data

    made = []
    monkeypatch.setattr(data, "load", lambda *a, **k: "slices")
    monkeypatch.setattr(finetune, "_run", lambda slices, out, settings, log: made.append(settings))
    path = finetune.cached_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"weights")
    record = path.with_name(path.name + ".json")
    same = json.loads(json.dumps(DEFAULTS)) | {"from_scratch": False}
    for settings, remade in [
        (same, False),
        (same | {"labels": "first", "threshold": None}, True),  # the earlier default
        (same | {"from_scratch": True}, True),
        (same | {"clean": False}, True),
        ({k: v for k, v in same.items() if k != "clean"}, True),  # made before the option
        ("not a dict", True),
    ]:
        record.write_text(json.dumps({"settings": settings}))
        made.clear()
        assert finetune.finetuned_weights() == path
        assert made == ([DEFAULTS] if remade else []), settings
