"""Self-checks for exercise sheets: quantitative feedback without the answer.

``_core`` holds the machinery (:class:`CheckResult`, :func:`check_function`,
:func:`check_close`), ``_ladder`` the tasks and their hint ladders, and
``_questions`` the predict-then-run and interpretation questions; each track's
checks live in their own module and are re-exported here as *tasks*, so a sheet
calls ``checks.<name>(learner_function)`` and the outcome is recorded under
``<name>`` in the learner's progress.
"""

from emcourse.checks import _ladder
from emcourse.checks._core import *  # noqa: F403
from emcourse.checks._core import NOT_DONE, STRICT_ENV  # noqa: F401
from emcourse.checks._core import __all__ as _core_all
from emcourse.checks.alignment_ts import *  # noqa: F403
from emcourse.checks.alignment_ts import __all__ as _alignment_ts_all
from emcourse.checks.archives import *  # noqa: F403
from emcourse.checks.archives import __all__ as _archives_all
from emcourse.checks.averaging import *  # noqa: F403
from emcourse.checks.averaging import __all__ as _averaging_all
from emcourse.checks.classification import *  # noqa: F403
from emcourse.checks.classification import __all__ as _classification_all
from emcourse.checks.clem import *  # noqa: F403
from emcourse.checks.clem import __all__ as _clem_all
from emcourse.checks.clem_3d import *  # noqa: F403
from emcourse.checks.clem_3d import __all__ as _clem_3d_all
from emcourse.checks.clem_localise import *  # noqa: F403
from emcourse.checks.clem_localise import __all__ as _clem_localise_all
from emcourse.checks.clem_nonlinear import *  # noqa: F403
from emcourse.checks.clem_nonlinear import __all__ as _clem_nonlinear_all
from emcourse.checks.clem_overlay import *  # noqa: F403
from emcourse.checks.clem_overlay import __all__ as _clem_overlay_all
from emcourse.checks.clem_questions import *  # noqa: F403
from emcourse.checks.clem_questions import __all__ as _clem_questions_all
from emcourse.checks.ctf import *  # noqa: F403
from emcourse.checks.ctf import __all__ as _ctf_all
from emcourse.checks.dose import *  # noqa: F403
from emcourse.checks.dose import __all__ as _dose_all
from emcourse.checks.real_tomogram import *  # noqa: F403
from emcourse.checks.real_tomogram import __all__ as _real_tomogram_all
from emcourse.checks.resolution import *  # noqa: F403
from emcourse.checks.resolution import __all__ as _resolution_all
from emcourse.checks.segmentation import *  # noqa: F403
from emcourse.checks.segmentation import __all__ as _segmentation_all
from emcourse.checks.segmentation_blocks import *  # noqa: F403
from emcourse.checks.segmentation_blocks import __all__ as _segmentation_blocks_all
from emcourse.checks.segmentation_finetune import *  # noqa: F403
from emcourse.checks.segmentation_finetune import __all__ as _segmentation_finetune_all
from emcourse.checks.segmentation_instances import *  # noqa: F403
from emcourse.checks.segmentation_instances import __all__ as _segmentation_instances_all
from emcourse.checks.segmentation_models import *  # noqa: F403
from emcourse.checks.segmentation_models import __all__ as _segmentation_models_all
from emcourse.checks.segmentation_questions import *  # noqa: F403
from emcourse.checks.segmentation_questions import __all__ as _segmentation_questions_all
from emcourse.checks.segmentation_splits import *  # noqa: F403
from emcourse.checks.segmentation_splits import __all__ as _segmentation_splits_all
from emcourse.checks.segmentation_strokes import *  # noqa: F403
from emcourse.checks.segmentation_strokes import __all__ as _segmentation_strokes_all
from emcourse.checks.sta_questions import *  # noqa: F403
from emcourse.checks.sta_questions import __all__ as _sta_questions_all
from emcourse.checks.tiltseries import *  # noqa: F403
from emcourse.checks.tiltseries import __all__ as _tiltseries_all
from emcourse.checks.tomograms import *  # noqa: F403
from emcourse.checks.tomograms import __all__ as _tomograms_all

TASKS = [
    *_archives_all,
    *_tiltseries_all,
    *_alignment_ts_all,
    *_real_tomogram_all,
    *_tomograms_all,
    *_averaging_all,
    *_resolution_all,
    *_classification_all,
    *_sta_questions_all,
    *_ctf_all,
    *_dose_all,
    *_segmentation_all,
    *_segmentation_models_all,
    *_segmentation_questions_all,
    *_segmentation_blocks_all,
    *_segmentation_finetune_all,
    *_segmentation_instances_all,
    *_segmentation_splits_all,
    *_segmentation_strokes_all,
    *_clem_all,
    *_clem_overlay_all,
    *_clem_questions_all,
    *_clem_localise_all,
    *_clem_nonlinear_all,
    *_clem_3d_all,
]
__all__ = [*_core_all, *TASKS, "TASKS"]
for _name in TASKS:
    globals()[_name] = _ladder.as_task(globals()[_name])
