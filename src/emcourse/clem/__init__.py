"""Correlative light and electron microscopy: transforms, fits, errors, registration.

Pure NumPy/SciPy on arrays, no files, no plots. Points are ``(n, K)`` arrays in
nanometres with ``(z, y, x)`` (3D) or ``(y, x)`` (2D) columns; transforms are
homogeneous ``(K+1, K+1)`` matrices mapping light (moving) onto EM (fixed).
"""

from emcourse.clem.axial import *  # noqa: F403
from emcourse.clem.axial import __all__ as _axial_all
from emcourse.clem.beads import *  # noqa: F403
from emcourse.clem.beads import __all__ as _beads_all
from emcourse.clem.bspline import *  # noqa: F403
from emcourse.clem.bspline import __all__ as _bspline_all
from emcourse.clem.errors import *  # noqa: F403
from emcourse.clem.errors import __all__ as _errors_all
from emcourse.clem.intensity import *  # noqa: F403
from emcourse.clem.intensity import __all__ as _intensity_all
from emcourse.clem.localise import *  # noqa: F403
from emcourse.clem.localise import __all__ as _localise_all
from emcourse.clem.robust import *  # noqa: F403
from emcourse.clem.robust import __all__ as _robust_all
from emcourse.clem.standin import *  # noqa: F403
from emcourse.clem.standin import __all__ as _standin_all
from emcourse.clem.targeting import *  # noqa: F403
from emcourse.clem.targeting import __all__ as _targeting_all
from emcourse.clem.tps import *  # noqa: F403
from emcourse.clem.tps import __all__ as _tps_all
from emcourse.clem.transforms import *  # noqa: F403
from emcourse.clem.transforms import __all__ as _transforms_all
from emcourse.clem.types import ImagePair, Landmarks
from emcourse.clem.warp import *  # noqa: F403
from emcourse.clem.warp import __all__ as _warp_all

__all__ = [
    *_transforms_all,
    *_errors_all,
    *_robust_all,
    *_intensity_all,
    *_warp_all,
    *_localise_all,
    *_beads_all,
    *_tps_all,
    *_bspline_all,
    *_standin_all,
    *_axial_all,
    *_targeting_all,
    "ImagePair",
    "Landmarks",
]
