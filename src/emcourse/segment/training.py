"""Training the small U-Net with PyTorch (CPU). The only module of the package that imports torch.

Used by lesson 20-04 and ``scripts/train_shipped_unet.py``; everything else
runs the trained network with :mod:`emcourse.segment.unet` (NumPy only).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "CHANNELS",
    "dice_loss",
    "make_unet",
    "predict",
    "sample_patches",
    "state_to_numpy",
    "train_unet",
]


#: The lesson's widths: 8 base filters, depth 3 (three 2x2 poolings), about 1.2 x 10^5 parameters.
CHANNELS = (8, 16, 32, 64)


def make_unet(channels: tuple[int, ...] = CHANNELS, *, outputs: int = 1):
    """The course's 2D U-Net (see :mod:`emcourse.segment.unet`), seeded by the caller.

    ``channels`` are the widths from the top level to the bottom one; the network
    pools ``len(channels) - 1`` times. Layer names (``enc1``, ..., ``bottom``,
    ``up1``, ``dec1``, ..., ``out``) are the keys of the NumPy weights. ``outputs``
    is the number of logits per pixel (2 for foreground and boundary).
    """
    import torch
    from torch import nn

    def double(cin, cout):
        return nn.Sequential(
            nn.Conv2d(cin, cout, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(cout, cout, 3, padding=1),
            nn.ReLU(),
        )

    depth = len(channels) - 1

    class UNet(nn.Module):
        def __init__(self):
            super().__init__()
            widths = (1, *channels)
            for i in range(1, depth + 1):
                setattr(self, f"enc{i}", double(widths[i - 1], widths[i]))
                setattr(self, f"up{i}", nn.ConvTranspose2d(widths[i + 1], widths[i], 2, stride=2))
                setattr(self, f"dec{i}", double(2 * widths[i], widths[i]))
            self.bottom = double(channels[-2], channels[-1])
            self.out = nn.Conv2d(channels[0], outputs, 1)
            self.pool = nn.MaxPool2d(2)

        def forward(self, x):
            skips = []
            for i in range(1, depth + 1):
                x = getattr(self, f"enc{i}")(x)
                skips.append(x)
                x = self.pool(x)
            x = self.bottom(x)
            for i in range(depth, 0, -1):
                x = getattr(self, f"dec{i}")(
                    torch.cat([getattr(self, f"up{i}")(x), skips[i - 1]], 1)
                )
            return self.out(x)

    return UNet()


def state_to_numpy(model) -> dict[str, np.ndarray]:
    """The model's weights as float32 NumPy arrays under their ``state_dict`` names."""
    return {k: v.detach().cpu().numpy().astype(np.float32) for k, v in model.state_dict().items()}


def sample_patches(norm, mask, *, n, size, rng, augment=True):
    """``n`` random ``size``^2 patches (image, mask) from z slices, with flips and rotations."""
    z = rng.integers(0, norm.shape[0], n)
    y = rng.integers(0, norm.shape[1] - size + 1, n)
    x = rng.integers(0, norm.shape[2] - size + 1, n)
    imgs = np.stack([norm[a, b : b + size, c : c + size] for a, b, c in zip(z, y, x, strict=True)])
    masks = np.stack([mask[a, b : b + size, c : c + size] for a, b, c in zip(z, y, x, strict=True)])
    if augment:
        for i in range(n):
            k = int(rng.integers(4))
            imgs[i], masks[i] = np.rot90(imgs[i], k), np.rot90(masks[i], k)
            if rng.random() < 0.5:
                imgs[i], masks[i] = imgs[i][:, ::-1], masks[i][:, ::-1]
    return imgs[:, None].astype(np.float32), masks[:, None].astype(np.float32)


def dice_loss(logits, target):
    """1 - soft Dice of sigmoid(logits) against a 0/1 target (torch tensors)."""
    import torch

    p = torch.sigmoid(logits)
    inter = (p * target).sum()
    return 1 - (2 * inter + 1) / (p.sum() + target.sum() + 1)


def train_unet(
    train_norm,
    train_mask,
    val_norm,
    val_mask,
    *,
    steps=200,
    batch=8,
    size=64,
    lr=3e-3,
    seed=0,
    eval_every=20,
    model=None,
    augment=True,
    n_val=32,
):
    """Train (or continue training) the U-Net with Adam on BCE + Dice; record the curves.

    Returns ``(model, history)`` with ``history`` a dict of lists: ``step``,
    ``train_loss`` (mean over the last ``eval_every`` steps) and ``val_loss``
    (on fixed validation patches, without augmentation). ``augment`` flips and
    rotates the training patches; ``n_val`` validation patches are drawn once.
    """
    import torch

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    if model is None:
        model = make_unet()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    bce = torch.nn.BCEWithLogitsLoss()
    vx, vy = sample_patches(
        val_norm, val_mask, n=n_val, size=size, rng=np.random.default_rng(seed + 1), augment=False
    )
    vx, vy = torch.from_numpy(vx), torch.from_numpy(vy)
    history = {"step": [], "train_loss": [], "val_loss": []}
    running = []
    for step in range(1, steps + 1):
        model.train()
        x, y = sample_patches(train_norm, train_mask, n=batch, size=size, rng=rng, augment=augment)
        x, y = torch.from_numpy(x), torch.from_numpy(y)
        logits = model(x)
        loss = bce(logits, y) + dice_loss(logits, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        running.append(float(loss.detach()))
        if step % eval_every == 0 or step == steps:
            model.eval()
            with torch.no_grad():
                vl = torch.cat([model(b) for b in vx.split(8)])  # bounded memory
                history["val_loss"].append(float(bce(vl, vy) + dice_loss(vl, vy)))
            history["step"].append(step)
            history["train_loss"].append(float(np.mean(running)))
            running = []
    return model, history


def predict(model, images, *, batch=4) -> np.ndarray:
    """Foreground probability of each normalised 2D image, ``batch`` images at a time.

    ``images`` is ``(n, h, w)`` float32 with sides a multiple of ``2**depth``.
    Small batches bound the memory: the activations of a whole stack at once
    would cost more than the rest of the lesson.
    """
    import torch

    model.eval()
    x = torch.from_numpy(np.ascontiguousarray(images, np.float32))[:, None]
    with torch.no_grad():
        return np.concatenate([torch.sigmoid(model(b)).numpy()[:, 0] for b in x.split(batch)])
