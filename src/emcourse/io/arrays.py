"""Array helpers shared by every reader: the one place the package decides dtypes."""

from __future__ import annotations

import numpy as np

__all__ = ["as_float"]


def as_float(data: np.ndarray) -> np.ndarray:
    """Return ``data`` as a floating-point array without rescaling it.

    The one place the package decides dtypes: float32 and float64 are kept as
    they are, integers (and float16) become float32. Values are never
    rescaled, so densities keep their meaning.

    Parameters
    ----------
    data : array_like
        Any real or complex array.

    Returns
    -------
    ndarray
        ``data`` itself when it already is float32/float64/complex, else a
        float32 copy.

    Examples
    --------
    >>> as_float(np.array([0, 200], dtype=np.uint8))
    array([  0., 200.], dtype=float32)
    >>> as_float(np.zeros(2)).dtype
    dtype('float64')
    """
    data = np.asarray(data)
    if data.dtype in (np.float32, np.float64) or np.iscomplexobj(data):
        return data
    if data.dtype.kind in "iub" or data.dtype == np.float16:
        return data.astype(np.float32)
    raise TypeError(f"cannot convert an array of dtype {data.dtype} to floating point")
