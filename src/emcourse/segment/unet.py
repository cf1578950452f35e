"""A small 2D U-Net run with NumPy only: inference for networks trained with PyTorch.

The architecture (matching :func:`emcourse.segment.training.make_unet`):
four levels with 8, 16, 32, 64 channels (depth 3: three 2x2 max poolings);
each level two 3x3 convolutions with ReLU; 2x2 transposed convolutions
(stride 2) up, joined with the skip connection; a final 1x1 convolution to
one logit per pixel. About 120,000 parameters. The depth is read from the
weights, so shallower or deeper networks of the same design run too.
Weights travel as a ``.npz`` whose keys are the PyTorch ``state_dict`` names,
so lessons need no framework to use a trained network.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "SHIPPED_SHA256",
    "unet_depth",
    "unet_forward",
    "unet_predict",
]

#: sha256 of the shipped weights file ``weights/unet-mito.npz`` (see its model card);
#: ``emcourse.io.read_shipped_unet`` reads and checks it.
SHIPPED_SHA256 = "7a977132fecd4202a4e209108ab3bcf81ae1c8f55d5c6b0a81f6f6c951de9445"


def _conv3x3(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(C, H, W) -> (O, H, W); zero padding 1, as ``nn.Conv2d(C, O, 3, padding=1)``.

    Nine matrix products, one per kernel tap, each of the (O, C) tap weights with
    the input shifted by that tap (a correlation, like PyTorch's).
    """
    c, h, wd = x.shape
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1)))
    out = np.empty((w.shape[0], h * wd), np.float32)
    out[:] = b[:, None]
    for dy in range(3):
        for dx in range(3):
            out += w[:, :, dy, dx] @ xp[:, dy : dy + h, dx : dx + wd].reshape(c, h * wd)
    return out.reshape(w.shape[0], h, wd)


def _double(x, p, name):
    x = np.maximum(_conv3x3(x, p[f"{name}.0.weight"], p[f"{name}.0.bias"]), 0)
    return np.maximum(_conv3x3(x, p[f"{name}.2.weight"], p[f"{name}.2.bias"]), 0)


def _pool(x):
    c, h, w = x.shape
    return x[:, : h // 2 * 2, : w // 2 * 2].reshape(c, h // 2, 2, w // 2, 2).max(axis=(2, 4))


def _up(x, w, b):
    """Transposed 2x2 convolution, stride 2: (C, H, W) -> (O, 2H, 2W); w is (C, O, 2, 2)."""
    c, h, wd = x.shape
    out = np.einsum("chw,coab->ohawb", x, w, optimize=True).reshape(w.shape[1], 2 * h, 2 * wd)
    return out + b[:, None, None]


def unet_depth(params: dict) -> int:
    """Number of 2x2 poolings of the network whose weights are ``params``."""
    return sum(1 for k in params if k.startswith("enc") and k.endswith(".0.weight"))


def unet_forward(image: np.ndarray, params: dict) -> np.ndarray:
    """Logits of one 2D image (H, W; both divisible by 2**depth), already normalised.

    (H, W) for a network with one output; (C, H, W) for one with C > 1 outputs
    (for example foreground and boundary, :mod:`emcourse.segment.instances_deep`).
    """
    depth = unet_depth(params)
    x = np.asarray(image, np.float32)[None]
    skips = []
    for i in range(1, depth + 1):
        x = _double(x, params, f"enc{i}")
        skips.append(x)
        x = _pool(x)
    x = _double(x, params, "bottom")
    for i in range(depth, 0, -1):
        up = _up(x, params[f"up{i}.weight"], params[f"up{i}.bias"])
        x = _double(np.concatenate([up, skips[i - 1]]), params, f"dec{i}")
    w, b = params["out.weight"], params["out.bias"]
    logits = np.tensordot(w[:, :, 0, 0], x, axes=(1, 0)) + b[:, None, None]
    return logits[0] if logits.shape[0] == 1 else logits


def unet_predict(volume: np.ndarray, params: dict, *, limits=None) -> np.ndarray:
    """Foreground probability of every z slice of a volume (float32, same shape).

    A network with C > 1 outputs gives (Z, C, H, W): one probability per output.

    The volume is normalised as in training: its 1st and 99th percentiles (or
    ``limits``) map to 0 and 1. Slices are padded (by reflection) to a multiple
    of 2**depth.
    """
    volume = np.asarray(volume, np.float32)
    lo, hi = np.percentile(volume, [1, 99]) if limits is None else limits
    norm = (volume - lo) / max(float(hi - lo), 1e-6)
    h, w = volume.shape[1:]
    params = {k: np.asarray(v, np.float32) for k, v in params.items()}
    m = 2 ** unet_depth(params)
    ph, pw = (-h) % m, (-w) % m
    n_out = params["out.weight"].shape[0]
    out = np.empty(volume.shape if n_out == 1 else (volume.shape[0], n_out, h, w), np.float32)
    for z in range(volume.shape[0]):
        img = np.pad(norm[z], ((0, ph), (0, pw)), mode="reflect")
        logits = unet_forward(img, params)[..., :h, :w]
        out[z] = 1.0 / (1.0 + np.exp(-logits))
    return out
