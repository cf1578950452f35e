"""elastix's own transformix on a chain of parameter files: the reference for the course's code.

Optional: needs ``itk-elastix`` (``pip install "emcourse[elastix]"``, 1.6 GB
with ``itk``); :func:`have_transformix` says whether it is here. The chain is
handed to transformix as a list of parameter maps, first applied first (each
file's ``InitialTransformParametersFileName`` is cleared: the list is the
chain), and the output grid (``Size``, ``Spacing``, ``Origin``) is replaced by
a small one: transformix otherwise resamples the whole fixed image, about 1 G
voxels for the COSEM files, even when only points are asked for.

Points and images are in the course's (z, y, x) order; transformix's files are
x, y, z.
"""

from __future__ import annotations

import contextlib
import re
import tempfile
import warnings
from pathlib import Path

import numpy as np

from emcourse.io.transforms import read_elastix_parameters

__all__ = ["have_transformix", "transformix_image", "transformix_points"]


def have_transformix() -> bool:
    """Whether ``itk-elastix`` can be imported (the comparisons need it)."""
    import importlib.util

    return importlib.util.find_spec("itk") is not None and (
        importlib.util.find_spec("itkConfig") is not None
    )


@contextlib.contextmanager
def _quiet_itk():
    """ITK's SWIG modules warn (DeprecationWarning) while they load; under warnings-as-errors
    (the course's pytest settings) that warning, raised inside a C extension's init, crashes
    the interpreter instead of failing a test. Loading them with warnings ignored avoids it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _chain_names(files: dict, name: str) -> list[str]:
    names = []
    while name not in ("", "NoInitialTransform"):
        base = Path(str(name).replace("\\", "/")).name
        if base in names or base not in files:
            raise ValueError(f"{base}: InitialTransformParametersFileName: not a usable chain.")
        names.append(base)
        name = read_elastix_parameters(files[base]).get(
            "InitialTransformParametersFileName", "NoInitialTransform"
        )
    return names[::-1]


def _parameter_object(files: dict, name: str, folder: Path, *, shape, spacing, origin):
    import itk

    po = itk.ParameterObject.New()
    names = _chain_names(files, name)
    for i, n in enumerate(names):
        path = folder / n
        path.write_text(files[n], encoding="utf-8")
        po.AddParameterFile(str(path))
        po.SetParameter(i, "InitialTransformParametersFileName", "NoInitialTransform")
        po.SetParameter(i, "Size", [str(int(v)) for v in shape[::-1]])
        po.SetParameter(i, "Spacing", [repr(float(v)) for v in spacing[::-1]])
        po.SetParameter(i, "Origin", [repr(float(v)) for v in origin[::-1]])
        po.SetParameter(i, "FinalBSplineInterpolationOrder", "1")
    return po


def transformix_points(files: dict, name: str, points) -> np.ndarray:
    """Map ``(n, K)`` fixed-image points ((z, y, x), the files' unit) with transformix.

    Writes transformix's point-set file, runs it, and reads back its
    ``OutputPoint`` column (fixed -> moving, as elastix).
    """
    pts = np.asarray(points, dtype=np.float64)
    k = pts.shape[1]
    with _quiet_itk(), tempfile.TemporaryDirectory() as tmp:
        import itk

        folder = Path(tmp)
        with open(folder / "points.txt", "w", encoding="utf-8") as fh:
            fh.write(f"point\n{len(pts)}\n")
            for p in pts[:, ::-1]:
                fh.write(" ".join(repr(float(v)) for v in p) + "\n")
        po = _parameter_object(
            files, name, folder, shape=(2,) * k, spacing=(1.0,) * k, origin=(0,) * k
        )
        image = itk.image_from_array(np.zeros((2,) * k, dtype=np.float32))
        tf = itk.TransformixFilter.New(Input=image, TransformParameterObject=po)
        tf.SetFixedPointSetFileName(str(folder / "points.txt"))
        tf.SetOutputDirectory(str(folder))
        tf.SetLogToConsole(False)
        tf.UpdateLargestPossibleRegion()
        text = (folder / "outputpoints.txt").read_text(encoding="utf-8")
    out = [[float(v) for v in m.split()] for m in re.findall(r"OutputPoint = \[([^\]]*)\]", text)]
    if len(out) != len(pts):
        raise ValueError(f"transformix: expected {len(pts)} output points, found {len(out)}.")
    return np.array(out)[:, ::-1]


def transformix_image(
    files: dict, name: str, moving, moving_spacing, *, shape, spacing, origin=None
) -> np.ndarray:
    """Resample ``moving`` onto a (reduced) fixed grid with transformix, linear interpolation.

    ``moving`` is a (z, y, x) array with origin 0 and ``moving_spacing``;
    the output grid has ``shape``, ``spacing`` and ``origin`` ((z, y, x), the
    files' unit). Returns the float32 array transformix writes.
    """
    k = len(shape)
    origin = (0.0,) * k if origin is None else tuple(origin)
    with _quiet_itk(), tempfile.TemporaryDirectory() as tmp:
        import itk

        po = _parameter_object(files, name, Path(tmp), shape=shape, spacing=spacing, origin=origin)
        image = itk.image_from_array(np.ascontiguousarray(moving, dtype=np.float32))
        image.SetSpacing([float(v) for v in np.asarray(moving_spacing, dtype=float)[::-1]])
        result = itk.transformix_filter(image, po, log_to_console=False)
    return np.asarray(itk.array_from_image(result))
