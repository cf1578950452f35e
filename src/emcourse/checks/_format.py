"""Numbers, shapes and code spans as a check's message shows them."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

CODE = re.compile(r"`([^`\n]+)`")


def _fmt(x: Any, units: str = "") -> str:
    """A number or a short tuple of numbers, 4 significant digits, with units."""
    suffix = f" {units}" if units else ""
    if isinstance(x, np.ndarray) and x.ndim == 0:
        x = x.item()
    if isinstance(x, (tuple, list, np.ndarray)) and np.ndim(x) == 1 and len(x) <= 6:
        return "(" + ", ".join(_fmt(v) for v in x) + ")" + suffix
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, (int, np.integer)):
        return f"{int(x):,}{suffix}"
    if isinstance(x, (float, np.floating)):
        x = float(x)
        if x == 0 or 1e-3 <= abs(x) < 1e6:
            return f"{x:.4g}{suffix}"
        return f"{x:.3e}{suffix}"
    return f"{x!r}{suffix}"


def _shape(shape: Sequence[int]) -> str:
    return "(" + ", ".join(str(int(n)) for n in shape) + ("," if len(shape) == 1 else "") + ")"
