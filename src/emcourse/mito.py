"""Mitochondria on real slices: ``predict_mito`` and the fine-tuning command.

``predict_mito(image, pixel_nm, weights=None)`` runs the shipped U-Net (or weights
from a ``.npz``) on a 2D image of any pixel size. ``python -m emcourse.mito
[--out FILE]`` fine-tunes the shipped network on the real HeLa slices
(``hela-mito2d``, training slices z 1, 30, 60 only) and scores the test slices
z 116 and 150; the science is in :mod:`emcourse.segment.finetune` and
:mod:`emcourse.segment.predict` (pure functions), the files and the data cache here.

Weights trained on these GPL-3 labels are not shipped with the course: they are
made at run time and kept in the data cache (:func:`cached_path`).

What the command's defaults measure (time, memory, every score): see
:mod:`emcourse.segment.finetune`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from emcourse.segment.finetune import (
    COMMAND_THRESHOLDS,
    DEFAULTS,
    check_scale,
    check_threshold,
    check_zooms,
    finetune,
    score_test_slices,
)

__all__ = ["cached_path", "finetuned_weights", "main", "predict_mito", "read_weights"]


def read_weights(weights=None) -> dict:
    """The shipped weights (``None``), a ``.npz`` path in the same format, or a dict as is."""
    from emcourse.io import read_shipped_unet, read_unet_weights

    if weights is None:
        return read_shipped_unet()
    if isinstance(weights, dict):
        return weights
    return read_unet_weights(weights)


def predict_mito(
    image, pixel_nm: float, *, weights=None, limits=None, tta=False, zooms=(1.0,)
) -> np.ndarray:
    """Mitochondrion probability (float32, the image's shape) of one 2D image of any pixel size.

    ``weights``: ``None`` for the shipped network (``segment/weights/unet-mito.npz``), or
    a ``.npz`` in the same format (from this module's command). The image is rescaled
    to the network's 15 nm and back; grey levels by ``limits`` (default the image's
    1st and 99th percentiles). ``tta``: the mean over the 8 flips and quarter turns of the
    image (:func:`~emcourse.segment.finetune.dihedral_mean`; 8 times the time), as the
    command scores. ``zooms``: and the mean over the image shrunk by these factors
    (:func:`~emcourse.segment.finetune.zoom_mean`; list 1 to keep the image as it is:
    ``(1.0, 0.7)`` also shows the network the image at 21 nm, the command's ``--zooms``,
    off by default and measured in ``segment/weights/MODEL_CARD.md``). See
    :func:`emcourse.segment.predict_probability`.
    """
    from emcourse.segment.finetune import augmented_mean
    from emcourse.segment.predict import predict_probability

    params = read_weights(weights)
    image = np.asarray(image, np.float32)
    if limits is None:
        limits = np.percentile(image, [1, 99])

    def run(view):
        return predict_probability(view, pixel_nm, params, limits=limits)

    return augmented_mean(run, image, tta=tta, zooms=zooms)


def cached_path() -> Path:
    """Where the fine-tuned weights are kept, in the data cache's ``derived/`` folder.

    The file is ``<cache>/derived/unet-mito-hela2d-finetuned.npz`` (and ``.npz.json``);
    the cache is ``EMCOURSE_DATA_DIR`` or pooch's OS cache; a read-only cache falls
    back to the per-user one, as downloads do.
    """
    from emcourse.data.cache import write_dir

    return write_dir() / "derived" / "unet-mito-hela2d-finetuned.npz"


def finetuned_weights(*, refresh: bool = False, log=print) -> Path:
    """The fine-tuned weights (:func:`cached_path`), made from the real slices on first use.

    Made again when the cached ones were made with other settings than :data:`DEFAULTS`
    (an older default, or a ``--from-scratch`` run written to the same place).
    """
    from emcourse import data

    path = cached_path()
    record = path.with_name(path.name + ".json")
    if refresh or not path.is_file() or not record.is_file() or not _made_by_defaults(record):
        slices = data.load("hela-mito2d", standin=False)
        _run(slices, path, DEFAULTS, log=log)
    return path


def _made_by_defaults(record: Path) -> bool:
    """Whether the ``.npz.json`` record says its weights were made with :data:`DEFAULTS`."""
    defaults = json.loads(json.dumps(DEFAULTS))  # as a record holds them (tuples as lists)
    try:
        settings = json.loads(record.read_text(encoding="utf-8"))["settings"]
        same = {k: settings.get(k) for k in defaults} == defaults
        return same and not settings.get("from_scratch")
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False


def _run(slices, out: Path, settings: dict, *, from_scratch=False, baseline=False, log=print):
    init = None if from_scratch else read_weights(None)
    learn = {k: v for k, v in settings.items() if k != "clean"}  # clean: how masks are scored
    params, threshold, history = finetune(
        slices, **learn, init=init, log=log, thresholds=COMMAND_THRESHOLDS, val_every=500
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part.npz")
    np.savez(tmp, **params)
    tmp.replace(out)
    how = (
        "chosen on the training slices' validation bands"
        if settings.get("threshold") is None
        else "set"
    )
    log(f"wrote {out} (threshold {threshold}, {how})")
    tta, zooms = bool(settings.get("tta", False)), tuple(settings.get("zooms", (1.0,)))
    clean = bool(settings.get("clean", False))
    scores = {
        "finetuned": score_test_slices(
            slices, read_weights(out), threshold=threshold, tta=tta, zooms=zooms, clean=clean
        )
    }
    if baseline:
        scores["shipped"] = score_test_slices(
            slices, read_weights(None), threshold=0.5, clean=clean
        )
    record = {
        "data": "hela-mito2d " + ("real" if slices.source.real else "STAND-IN"),
        "training_z": [z for z in (1, 30, 60) if z in slices.z],
        "threshold": threshold,
        "settings": settings | {"from_scratch": from_scratch},
        "val_dice": history["val_dice"],  # empty when the threshold is set: no bands held out
        "labelled_px": history["labelled_px"],
        "train_seconds": round(history["seconds"], 1),
        "test": {k: {str(z): v for z, v in s.items()} for k, s in scores.items()},
    }
    out.with_name(out.name + ".json").write_text(json.dumps(record, indent=1), encoding="utf-8")
    for name, per_z in scores.items():
        for z, sc in per_z.items():
            log(
                f"{name:9s} z {z}: Dice {sc['dice']:.3f} (revised {sc['dice_revised']:.3f}), "
                f"instance F1@0.5 {sc['f1']:.3f} (revised {sc['f1_revised']:.3f}); "
                f"passes agree at Dice {sc['dice_passes']:.3f}, F1 {sc['f1_passes']:.3f}"
            )
    return record


def _checked(check, usage: str):
    """An argparse ``type``: ``check(text)``, its ValueError shown as ``usage``."""

    def parse(text: str):
        try:
            return check(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{usage}; got {text!r}") from None

    return parse


#: ``--zooms 1,0.7``: factors in (0, 1], each once.
_zooms = _checked(
    lambda text: check_zooms(text.split(",")),
    "--zooms takes comma-separated factors in (0, 1], each once, such as 1,0.7",
)
#: ``--scale 1.5``: the largest zoom of the training patches, in [1, 2].
_scale = _checked(check_scale, "--scale takes a factor in [1, 2]")
#: ``--threshold 0.4``, or ``val``: None, the best on the validation bands.
_threshold = _checked(
    lambda text: check_threshold(None if text == "val" else text),
    "--threshold takes 'val' or a number in (0, 1)",
)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m emcourse.mito",
        description="Fine-tune the shipped U-Net on the real HeLa mitochondria slices.",
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="the .npz to write (default: the data cache's)"
    )
    for key, value in DEFAULTS.items():
        if key not in ("labels", "tta", "zooms", "scale", "threshold", "clean"):
            parser.add_argument(f"--{key}", type=type(value), default=value)
    parser.add_argument(
        "--labels",
        choices=("first", "revised"),
        default=DEFAULTS["labels"],
        help=f"the pass to learn from (default {DEFAULTS['labels']})",
    )
    parser.add_argument(
        "--tta",
        action=argparse.BooleanOptionalAction,
        default=DEFAULTS["tta"],
        help="choose the threshold and score with the prediction averaged over the 8 flips and "
        f"quarter turns (default {DEFAULTS['tta']})",
    )
    parser.add_argument(
        "--zooms",
        type=_zooms,
        default=DEFAULTS["zooms"],
        help="the scales the prediction is averaged over for the threshold and the scores: "
        "comma-separated factors in (0, 1], 1 the image as it is, 0.7 the image shown to the "
        "network at 21 nm (default 1.0, no averaging over scales; segment/weights/MODEL_CARD.md "
        "measures 1,0.7)",
    )
    parser.add_argument(
        "--scale",
        type=_scale,
        default=DEFAULTS["scale"],
        help="each training patch is zoomed by a random factor between 1/SCALE and SCALE, "
        f"SCALE in [1, 2] (1: no zoom; default {DEFAULTS['scale']}; "
        "segment/weights/MODEL_CARD.md measures 1.33, 1.5 and 2)",
    )
    parser.add_argument(
        "--threshold",
        type=_threshold,
        default=DEFAULTS["threshold"],
        help="the probability threshold, in (0, 1), or 'val' for the best on the validation "
        f"bands (default {DEFAULTS['threshold']}, chosen by a leave-one-slice-out check: "
        "segment/weights/MODEL_CARD.md)",
    )
    parser.add_argument(
        "--clean",
        action=argparse.BooleanOptionalAction,
        default=DEFAULTS["clean"],
        help="score the Dice of the mask with its holes filled and pieces under a 200 nm disc "
        "removed, the mask the instances are cut from (segment.clean_mask; default "
        f"{DEFAULTS['clean']}, chosen by a leave-one-slice-out check: "
        "segment/weights/MODEL_CARD.md)",
    )
    parser.add_argument(
        "--standin", action="store_true", help="train on the stand-in when no real copy is found"
    )
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--from-scratch", action="store_true", help="random initial weights")
    parser.add_argument(
        "--baseline", action="store_true", help="also score the shipped network on the test slices"
    )
    args = parser.parse_args(argv)
    from emcourse import data

    try:
        slices = data.load("hela-mito2d", standin=False)
    except data.DataUnavailableError as exc:
        if not args.standin:
            print(
                "emcourse: no real copy of hela-mito2d in the cache or the mirror, so there is "
                f"nothing real to fine-tune on ({exc}). Fetch it with `emcourse data fetch "
                "hela-mito2d`, or pass --standin to run on the synthetic stand-in (its scores "
                "say nothing about real data).",
                file=sys.stderr,
            )
            return 2
        slices = data.load("hela-mito2d")
    import torch

    # one thread: on the shared 2-core machine at load 13 a training step took 0.86 s with
    # one thread and 9.5 s with two (the threads wait on each other); alone, 2 are faster
    torch.set_num_threads(args.threads)
    settings = {k: getattr(args, k) for k in DEFAULTS}
    kind = "real" if slices.source.real else "stand-in"
    print(f"fine-tuning on {slices.source.accession} ({kind}; licence {slices.source.licence})")
    out = args.out if args.out is not None else cached_path()
    _run(slices, out, settings, from_scratch=args.from_scratch, baseline=args.baseline)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
