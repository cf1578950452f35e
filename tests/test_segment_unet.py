"""The U-Net: NumPy inference agrees with PyTorch; the shipped weights meet the quality bar."""

import hashlib
from importlib import resources

import numpy as np
import pytest
from conftest import module

from emcourse import segment
from emcourse.io import read_shipped_unet
from emcourse.segment import unet


def test_shipped_weights_are_small_and_pinned():
    raw = resources.files("emcourse.segment").joinpath("weights/unet-mito.npz").read_bytes()
    assert len(raw) < 1_000_000
    assert unet.SHIPPED_SHA256 and hashlib.sha256(raw).hexdigest() == unet.SHIPPED_SHA256
    params = read_shipped_unet()
    assert sum(v.size for v in params.values()) == 120681


def test_shipped_network_meets_the_quality_bar_on_the_held_out_block():
    vol = segment.hela_standin((128, 256, 256), seed=0)  # the lessons' stand-in
    held = slice(64, 128, 4)
    limits = np.percentile(vol.em, [1, 99])
    prob = segment.unet_predict(vol.em[held], read_shipped_unet(), limits=limits)
    assert segment.dice(vol.labels[held], prob > 0.5) >= 0.92


def test_numpy_inference_agrees_with_torch():
    torch = module("torch", "PyTorch, for lesson 20-04; `emcourse doctor` says how to install it")
    from emcourse.segment import training

    torch.manual_seed(3)
    model = training.make_unet()
    params = training.state_to_numpy(model)
    img = np.random.default_rng(0).random((1, 40, 56)).astype(np.float32)
    with torch.no_grad():
        ref = torch.sigmoid(model(torch.from_numpy(img)[:, None])).numpy()[0, 0]
    ours = segment.unet_predict(img, params, limits=(0.0, 1.0))[0]
    assert np.abs(ours - ref).max() < 1e-5


def test_batched_prediction_equals_the_whole_stack_at_once():
    torch = module("torch", "PyTorch, for lesson 20-04; `emcourse doctor` says how to install it")
    from emcourse.segment import training

    torch.manual_seed(4)
    model = training.make_unet()
    imgs = np.random.default_rng(1).random((7, 32, 48)).astype(np.float32)
    with torch.no_grad():
        whole = torch.sigmoid(model(torch.from_numpy(imgs)[:, None])).numpy()[:, 0]
    batched = training.predict(model, imgs, batch=3)  # 3 + 3 + 1 images
    assert batched.shape == imgs.shape
    assert np.abs(batched - whole).max() < 1e-5


def test_patches_are_augmented_consistently():
    from emcourse.segment import training

    rng = np.random.default_rng(0)
    norm = rng.random((3, 20, 20)).astype(np.float32)
    x, y = training.sample_patches(norm, norm > 0.5, n=6, size=8, rng=rng)
    assert x.shape == y.shape == (6, 1, 8, 8)
    assert np.array_equal(x > 0.5, y > 0.5)  # the mask moved with the image


@pytest.mark.parametrize("channels", [(8, 16, 32, 64), (4, 8, 16), (8, 16)])
def test_parameter_count_of_the_check_is_torchs(channels, monkeypatch):
    torch = module("torch", "PyTorch, for lesson 20-04; `emcourse doctor` says how to install it")
    from emcourse import checks
    from emcourse.checks.segmentation_models import _unet_count
    from emcourse.segment import training

    torch.manual_seed(0)
    model = training.make_unet(channels)
    assert _unet_count(channels) == sum(p.numel() for p in model.parameters())
    monkeypatch.delenv("EMCOURSE_CHECKS_STRICT", raising=False)  # a failing check returns
    no_bias = sum(p.numel() for n, p in model.named_parameters() if n.endswith("weight"))
    r = checks.unet_parameters(
        lambda levels: no_bias if levels == channels else _unet_count(levels)
    )
    checked = channels in [(8, 16, 32, 64), (4, 8, 16)]  # two of the check's three cases
    assert bool(r) != checked
    assert ("biases are missing" in str(r)) == checked


@pytest.mark.parametrize("channels", [(8, 16, 32, 64), (4, 8)])
def test_numpy_inference_agrees_with_torch_at_any_depth(channels):
    torch = module("torch", "PyTorch, for lesson 20-04; `emcourse doctor` says how to install it")
    from emcourse.segment import training

    torch.manual_seed(1)
    model = training.make_unet(channels)
    params = training.state_to_numpy(model)
    assert unet.unet_depth(params) == len(channels) - 1
    img = np.random.default_rng(1).random((1, 37, 50)).astype(np.float32)  # padded inside
    with torch.no_grad():
        m = 2 ** (len(channels) - 1)
        pad = np.pad(img[0], ((0, (-37) % m), (0, (-50) % m)), mode="reflect")
        ref = torch.sigmoid(model(torch.from_numpy(pad)[None, None])).numpy()[0, 0, :37, :50]
    ours = segment.unet_predict(img, params, limits=(0.0, 1.0))[0]
    assert np.abs(ours - ref).max() < 1e-5
