"""The boundary network's weights and its training command (files here; science in segment).

``python -m emcourse.mito_instances --train [--steps N] [--out FILE]`` trains the
two-output U-Net of :mod:`emcourse.segment.instances_deep` from random weights on
every slice of a HeLa stand-in drawn with another seed (``TRAIN_SEED``: another cell,
so nothing of the lessons' volume is seen), deterministically (seed 0, one torch
thread), writes its weights (``.npz``, the PyTorch ``state_dict`` names) and scores
the lessons' held-out block with the three instance methods. Without ``--train`` it
scores the weights in ``--out``.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import sys
import time
from pathlib import Path

import numpy as np

from emcourse.segment.instances_deep import (
    STANDIN_SEED,
    STANDIN_SHAPE,
    TRAIN_SEED,
    VOXEL_NM,
    boundary_targets,
    compare_methods,
    predict_boundaries,
    standin_split,
    train_boundary_unet,
)

__all__ = ["BOUNDARY_SHA256", "BOUNDARY_WEIGHTS", "main", "read_boundary_unet"]

BOUNDARY_WEIGHTS = (
    Path(__file__).resolve().parent / "segment" / "weights" / "unet-mito-boundary.npz"
)
#: sha256 of the shipped boundary weights, checked by :func:`read_boundary_unet`.
BOUNDARY_SHA256 = "d68e81b3a6eb969bbb1dafcc57da635dd9921af0c065d7b2f4f17ae03b1edfe2"


def read_boundary_unet(path=None) -> dict:
    """The shipped boundary network's weights, sha256 checked (``path``: another ``.npz``)."""
    from emcourse.io import read_shipped_unet, read_unet_weights

    if path is None:
        return read_shipped_unet(BOUNDARY_WEIGHTS.name, BOUNDARY_SHA256)
    return read_unet_weights(path)


def _standin(seed: int = STANDIN_SEED):
    from emcourse.segment.standin import hela_standin

    return hela_standin(STANDIN_SHAPE, voxel_size=VOXEL_NM, seed=seed)


def main(argv=None) -> int:
    """``python -m emcourse.mito_instances --train [--out FILE]``: train, write, score."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", action="store_true", help="train the network (needs torch)")
    ap.add_argument("--out", type=Path, default=BOUNDARY_WEIGHTS, help="weights file (.npz)")
    ap.add_argument("--steps", type=int, default=2000)
    args = ap.parse_args(argv)
    vol = _standin()
    _, held = standin_split(vol.labels, vol.em.shape[0])
    limits = np.percentile(vol.em, [1, 99])
    if args.train:
        import torch

        from emcourse.segment.training import state_to_numpy

        torch.set_num_threads(1)  # one core: reproducible, and no thread waits on a busy machine
        torch.use_deterministic_algorithms(True)
        train = _standin(TRAIN_SEED)
        lim = np.percentile(train.em, [1, 99])
        norm = (train.em.astype(np.float32) - lim[0]) / (lim[1] - lim[0])
        t0 = time.time()
        model, losses = train_boundary_unet(norm, boundary_targets(train.labels), steps=args.steps)
        buf = io.BytesIO()
        np.savez_compressed(buf, **state_to_numpy(model))
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_bytes(buf.getvalue())
        first, last = np.mean(losses[:20]), np.mean(losses[-20:])
        print(
            f"trained {args.steps} steps on the stand-in of seed {TRAIN_SEED} in "
            f"{time.time() - t0:.0f} s; loss {first:.3f} -> {last:.3f}"
        )
        print(
            f"{args.out}: {args.out.stat().st_size} bytes, sha256 "
            f"{hashlib.sha256(args.out.read_bytes()).hexdigest()}"
        )
    params = read_boundary_unet(args.out)
    fg, bd = predict_boundaries(vol.em[held], params, limits=limits)
    for name, s in compare_methods(vol.labels[held], fg, bd, voxel_size=VOXEL_NM).items():
        print(f"held-out slices {held.start}-{held.stop - 1}, {name}: {s}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
