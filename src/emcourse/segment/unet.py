"""A small 2D U-Net run with NumPy only: inference for networks trained with PyTorch.

The architecture (matching :func:`emcourse.segment.training.make_unet`):
three levels with 8, 16, 32 channels; each level two 3x3 convolutions with
ReLU; 2x2 max pooling down; 2x2 transposed convolutions (stride 2) up, joined
with the skip connection; a final 1x1 convolution to one logit per pixel.
About 29,000 parameters. Weights travel as a ``.npz`` whose keys are the
PyTorch ``state_dict`` names, so lessons need no framework to use a trained
network.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "SHIPPED_SHA256",
    "unet_predict",
    "unet_forward",
]

#: sha256 of the shipped weights file ``weights/unet-mito.npz`` (see its model card);
#: ``emcourse.io.read_shipped_unet`` reads and checks it.
SHIPPED_SHA256 = "3fbe14b694ed73178d6de8a2a5d373f361351aa608d9cf69f802d3ffd2fabd69"


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


def unet_forward(image: np.ndarray, params: dict) -> np.ndarray:
    """Logits (H, W) of one 2D image (H, W; both divisible by 4), already normalised."""
    x = np.asarray(image, np.float32)[None]
    e1 = _double(x, params, "enc1")
    e2 = _double(_pool(e1), params, "enc2")
    bottom = _double(_pool(e2), params, "bottom")
    d2 = _up(bottom, params["up2.weight"], params["up2.bias"])
    d2 = _double(np.concatenate([d2, e2]), params, "dec2")
    d1 = _up(d2, params["up1.weight"], params["up1.bias"])
    d1 = _double(np.concatenate([d1, e1]), params, "dec1")
    w, b = params["out.weight"], params["out.bias"]
    return np.tensordot(w[:, :, 0, 0], d1, axes=(1, 0))[0] + b[0]


def unet_predict(volume: np.ndarray, params: dict, *, limits=None) -> np.ndarray:
    """Foreground probability of every z slice of a volume (float32, same shape).

    The volume is normalised as in training: its 1st and 99th percentiles (or
    ``limits``) map to 0 and 1. Slices are padded to a multiple of 4.
    """
    volume = np.asarray(volume, np.float32)
    lo, hi = np.percentile(volume, [1, 99]) if limits is None else limits
    norm = (volume - lo) / max(float(hi - lo), 1e-6)
    h, w = volume.shape[1:]
    ph, pw = (-h) % 4, (-w) % 4
    params = {k: np.asarray(v, np.float32) for k, v in params.items()}
    out = np.empty(volume.shape, np.float32)
    for z in range(volume.shape[0]):
        img = np.pad(norm[z], ((0, ph), (0, pw)), mode="reflect")
        logits = unet_forward(img, params)[:h, :w]
        out[z] = 1.0 / (1.0 + np.exp(-logits))
    return out
