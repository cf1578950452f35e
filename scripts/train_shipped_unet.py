"""Train the course's shipped U-Net for mitochondria and write its weights (seeded, reproducible).

    PYTHONPATH=src python scripts/train_shipped_unet.py

Data: the segmentation stand-in (``segment.hela_standin``, 128 x 256 x 256 at
15 nm, seed 0), slices 0-47 for training and 48-63 for validation; slices
64-127 are the held-out block of the lessons and are never seen. Writes
``src/emcourse/segment/weights/unet-mito.npz`` and prints its sha256 and the
held-out Dice for the model card (``weights/MODEL_CARD.md``).
"""

import hashlib
import io
import time
from pathlib import Path

import numpy as np
import torch

from emcourse import segment
from emcourse.segment import training, unet

STEPS, BATCH, SIZE, SEED = 1000, 4, 128, 0
OUT = Path(__file__).resolve().parents[1] / "src/emcourse/segment/weights/unet-mito.npz"


def main() -> None:
    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)
    vol = segment.hela_standin((128, 256, 256), seed=0)
    limits = np.percentile(vol.em, [1, 99])
    norm = (vol.em.astype(np.float32) - limits[0]) / (limits[1] - limits[0])
    mask = vol.labels > 0
    t0 = time.time()
    model, hist = training.train_unet(
        norm[:48],
        mask[:48],
        norm[48:64],
        mask[48:64],
        steps=STEPS,
        batch=BATCH,
        size=SIZE,
        seed=SEED,
        eval_every=25,
    )
    params = training.state_to_numpy(model)
    buf = io.BytesIO()
    np.savez_compressed(buf, **params)
    OUT.write_bytes(buf.getvalue())
    held = vol.em[64:]
    prob = unet.unet_predict(held, params, limits=limits)
    print(f"trained {STEPS} steps in {time.time() - t0:.0f} s; validation loss {hist['val_loss']}")
    print(f"held-out Dice {segment.dice(vol.labels[64:], prob > 0.5):.4f}")
    print(f"{sum(p.size for p in params.values())} parameters, {OUT.stat().st_size} bytes")
    print(f"sha256 {hashlib.sha256(OUT.read_bytes()).hexdigest()}")


if __name__ == "__main__":
    main()
