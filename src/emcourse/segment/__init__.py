"""Segmentation of volume EM: stand-in data, preprocessing, classical and learned pipelines,
metrics and morphometry. Pure functions on NumPy arrays (z, y, x); no files, no plots.

Modules: :mod:`~emcourse.segment.standin` (the HeLa FIB-SEM stand-in),
:mod:`~emcourse.segment.preprocess` (reading volume EM, denoising),
:mod:`~emcourse.segment.classical` (thresholds, morphology, watershed),
:mod:`~emcourse.segment.features` (random-forest pixel classifier),
:mod:`~emcourse.segment.strokes` (simulated brush strokes and the correction loop),
:mod:`~emcourse.segment.metrics` (Dice, instance matching, VI, adapted Rand),
:mod:`~emcourse.segment.morphometry` (volumes, areas, sphericity),
:mod:`~emcourse.segment.splits` (training, validation and test blocks with gaps),
:mod:`~emcourse.segment.hela2d` (real 2D mitochondria labels: cell region, scores, stand-in),
:mod:`~emcourse.segment.unet` (the small U-Net, NumPy inference, shipped weights),
:mod:`~emcourse.segment.realslices` (any lesson's method scored on the real slices, one way),
:mod:`~emcourse.segment.predict` (``predict_mito``: any pixel size, shipped or given weights),
:mod:`~emcourse.segment.finetune` (fine-tuning on the real slices; a command),
:mod:`~emcourse.segment.blockwise` (volumes beyond memory: dask blocks with halos) and
:mod:`~emcourse.segment.training` (training it with PyTorch; imported only by lesson 4).
"""

from emcourse.segment.blockwise import *  # noqa: F403
from emcourse.segment.blockwise import __all__ as _blockwise_all
from emcourse.segment.classical import *  # noqa: F403
from emcourse.segment.classical import __all__ as _classical_all
from emcourse.segment.features import *  # noqa: F403
from emcourse.segment.features import __all__ as _features_all
from emcourse.segment.hela2d import *  # noqa: F403
from emcourse.segment.hela2d import __all__ as _hela2d_all
from emcourse.segment.metrics import *  # noqa: F403
from emcourse.segment.metrics import __all__ as _metrics_all
from emcourse.segment.morphometry import *  # noqa: F403
from emcourse.segment.morphometry import __all__ as _morphometry_all
from emcourse.segment.predict import *  # noqa: F403
from emcourse.segment.predict import __all__ as _predict_all
from emcourse.segment.preprocess import *  # noqa: F403
from emcourse.segment.preprocess import __all__ as _preprocess_all
from emcourse.segment.realslices import *  # noqa: F403
from emcourse.segment.realslices import __all__ as _realslices_all
from emcourse.segment.splits import *  # noqa: F403
from emcourse.segment.splits import __all__ as _splits_all
from emcourse.segment.standin import *  # noqa: F403
from emcourse.segment.standin import __all__ as _standin_all
from emcourse.segment.strokes import *  # noqa: F403
from emcourse.segment.strokes import __all__ as _strokes_all
from emcourse.segment.types import VemVolume
from emcourse.segment.unet import *  # noqa: F403
from emcourse.segment.unet import __all__ as _unet_all

__all__ = [
    "VemVolume",
    *_standin_all,
    *_preprocess_all,
    *_classical_all,
    *_features_all,
    *_strokes_all,
    *_metrics_all,
    *_morphometry_all,
    *_splits_all,
    *_unet_all,
    *_blockwise_all,
    *_hela2d_all,
    *_predict_all,
    *_realslices_all,
]
