"""Transform files CLEM tools exchange: elastix parameters and a JSON matrix (ec-CLEM: ecclem.py).

- **elastix TransformParameters** text files: ``(Key value ...)`` lines. An
  ``AffineTransform`` maps **fixed-image** points to **moving-image** points:
  ``T(x) = A (x - c) + t + c`` with 12 parameters (A row-major, then t) and
  ``CenterOfRotationPoint`` c, physical units of the images, x, y, z.
- **JSON matrix** (this course's): a homogeneous matrix with its direction,
  unit and axis order written next to it, plus the 12 numbers of a
  MoBIE/BigDataViewer affine.

Matrices are returned in the course's ``(z, y, x)`` order
(:func:`emcourse.clem.matrix_xyz` converts); files keep x first. Strict: a
malformed file raises ``ValueError`` naming the file, what was expected and
what was found.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from emcourse.io.text import read_utf8


def matrix_xyz(matrix) -> np.ndarray:
    """Reorder a homogeneous matrix between (z, y, x) and (x, y, z) (its own inverse).

    The same as :func:`emcourse.clem.matrix_xyz`, here so that reading files
    imports no science.
    """
    m = np.asarray(matrix, dtype=np.float64)
    order = [*range(m.shape[0] - 2, -1, -1), m.shape[0] - 1]
    return m[np.ix_(order, order)]


__all__ = [
    "elastix_affine_matrix",
    "elastix_bspline_grid",
    "elastix_steps",
    "read_elastix_parameters",
    "read_transform_json",
    "write_transform_json",
]


# ----------------------------------------------------------------- elastix

_ELX = re.compile(r"^\s*\((\w+)\s+(.*?)\)\s*$")


def read_elastix_parameters(path_or_text) -> dict:
    """Parse an elastix TransformParameters file into a dict of key -> value(s).

    Numbers become floats (a list when there are several), quoted strings
    strings. Accepts a path or the file's text.
    """
    text = str(path_or_text)
    name = "elastix text"
    if "\n" not in text and Path(text).is_file():
        name = text
        text = read_utf8(text, "elastix parameters")
        if text and not text.endswith(("\n", "\r", ")")):
            raise ValueError(
                f"{name}: the file ends inside a line ({text.splitlines()[-1][-40:]!r}): "
                "it looks cut off."
            )
    out: dict = {}
    for n, line in enumerate(text.splitlines(), 1):
        line = line.split("//")[0]
        mo = _ELX.match(line)
        if not mo:
            if line.strip():
                raise ValueError(
                    f"{name}: line {n}: expected '(Key value ...)', found {line.strip()[:60]!r}."
                )
            continue
        key, rest = mo.groups()
        vals = []
        for tok in re.findall(r'"[^"]*"|\S+', rest):
            if tok.startswith('"'):
                vals.append(tok.strip('"'))
            else:
                try:
                    vals.append(float(tok))
                except ValueError:
                    vals.append(tok)
        out[key] = vals[0] if len(vals) == 1 else vals
    if "Transform" not in out:
        raise ValueError(f"{name}: expected an elastix (Transform ...) line, found none.")
    if out["Transform"] == "AffineTransform":
        _check_affine(out, name)
    elif out["Transform"] == "BSplineTransform":
        _check_bspline(out, name)
    return out


def _numbers(params: dict, key: str, name: str, count: int | None, default=None) -> np.ndarray:
    """``params[key]`` as ``count`` finite floats, or a ValueError naming the file and the key."""
    if key not in params and default is None:
        raise ValueError(f"{name}: expected a ({key} ...) line, found none.")
    values = np.atleast_1d(np.asarray(params.get(key, default), dtype=object))
    if not all(isinstance(v, (float, int)) and np.isfinite(v) for v in values):
        raise ValueError(
            f"{name}: {key}: expected numbers, found {' '.join(map(str, values))[:80]!r}."
        )
    if count is not None and len(values) != count:
        raise ValueError(f"{name}: {key}: expected {count} numbers, found {len(values)}.")
    return values.astype(np.float64)


def _check_bspline(params: dict, name: str) -> dict:
    """A BSplineTransform's grid and coefficients, checked, in the file's x, y, z order."""
    dim = params.get("FixedImageDimension")
    size = _numbers(params, "GridSize", name, int(dim) if isinstance(dim, float) else None)
    k = len(size)
    if k not in (2, 3) or (size != np.round(size)).any() or (size < 4).any():
        raise ValueError(
            f"{name}: GridSize: expected 2 or 3 whole numbers of at least 4 (a cubic grid), "
            f"found {' '.join(f'{v:g}' for v in size)}."
        )
    spacing = _numbers(params, "GridSpacing", name, k)
    if (spacing <= 0).any():
        raise ValueError(
            f"{name}: GridSpacing: expected positive numbers, found {spacing.tolist()}."
        )
    origin = _numbers(params, "GridOrigin", name, k)
    direction = _numbers(params, "GridDirection", name, k * k, default=np.eye(k).ravel()).reshape(
        k, k
    )
    if abs(np.linalg.det(direction)) < 1e-6:
        raise ValueError(
            f"{name}: GridDirection: expected an invertible matrix, found "
            f"{direction.ravel().tolist()}."
        )
    order = _numbers(params, "BSplineTransformSplineOrder", name, 1, default=[3.0])[0]
    if order != 3:
        raise ValueError(
            f"{name}: BSplineTransformSplineOrder: expected 3 (cubic, what the course applies), "
            f"found {order:g}."
        )
    n = int(k * np.prod(size))
    coeffs = _numbers(params, "TransformParameters", name, n)
    if "NumberOfParameters" in params and params["NumberOfParameters"] != n:
        raise ValueError(
            f"{name}: NumberOfParameters: expected {n} (GridSize x {k}), "
            f"found {params['NumberOfParameters']}."
        )
    return {
        "grid_size": size.astype(int),
        "spacing": spacing,
        "origin": origin,
        "direction": direction,
        # elastix stores all x coefficients first, then y, then z; each in x-fastest grid order
        "coefficients": coeffs.reshape(k, *size.astype(int)[::-1]),
    }


def elastix_bspline_grid(params: dict) -> dict:
    """The control-point grid of an elastix ``BSplineTransform``, as the file states it.

    Returns ``grid_size``, ``spacing``, ``origin`` (x, y, z order, the images'
    physical unit), ``direction`` (K x K) and ``coefficients``: shape ``(K,
    nz, ny, nx)``, the displacement component along x, y, z (first axis, file
    order) at each control point, indexed (z, y, x). The spline maps **fixed
    -> moving**: ``T(x) = x + sum_k c_k B(x)`` (see :mod:`emcourse.clem.bspline`).
    """
    if params.get("Transform") != "BSplineTransform":
        raise ValueError(
            f"elastix parameters: Transform: expected a BSplineTransform, found "
            f"{params.get('Transform')!r}."
        )
    return _check_bspline(params, "elastix parameters")


def _check_affine(params: dict, name: str) -> tuple[np.ndarray, np.ndarray]:
    """The affine's parameters and centre as floats, or a ValueError naming the key."""
    if "TransformParameters" not in params:
        raise ValueError(f"{name}: expected a (TransformParameters ...) line, found none.")
    out = []
    for key, default in (("TransformParameters", None), ("CenterOfRotationPoint", [0.0] * 3)):
        values = np.atleast_1d(np.asarray(params.get(key, default), dtype=object))
        if not all(isinstance(v, (float, int)) and np.isfinite(v) for v in values):
            raise ValueError(
                f"{name}: {key}: expected numbers, found {' '.join(map(str, values))[:80]!r}."
            )
        out.append(values.astype(np.float64))
    p, c = out
    k = {6: 2, 12: 3}.get(len(p))
    if k is None:
        raise ValueError(
            f"{name}: TransformParameters: expected 6 (2D) or 12 (3D) affine parameters, "
            f"found {len(p)}."
        )
    if "CenterOfRotationPoint" in params and len(c) != k:
        raise ValueError(f"{name}: CenterOfRotationPoint: expected {k} numbers, found {len(c)}.")
    return p, c[:k] if "CenterOfRotationPoint" in params else np.zeros(k)


def elastix_affine_matrix(params: dict) -> np.ndarray:
    """The homogeneous matrix of an elastix ``AffineTransform``, **fixed -> moving**, (z, y, x).

    elastix maps points of its fixed image to its moving image,
    ``T(x) = A (x - c) + t + c`` in the images' physical units (x, y, z in
    the file); this returns that map in the course's (z, y, x) order. To map
    moving -> fixed, invert it.
    """
    if params.get("Transform") != "AffineTransform":
        raise ValueError(
            f"elastix parameters: Transform: expected an AffineTransform, found "
            f"{params.get('Transform')!r}."
        )
    p, c = _check_affine(params, "elastix parameters")
    k = {6: 2, 12: 3}[len(p)]
    a = p[: k * k].reshape(k, k)
    t = p[k * k :]
    m = np.eye(k + 1)
    m[:k, :k] = a
    m[:k, k] = t + c - a @ c
    return matrix_xyz(m)


def elastix_steps(files: dict, name: str) -> list[tuple[str, object]]:
    """The chain of transforms that elastix file ``name`` stands for, in the order applied.

    ``files`` maps file names to their text (as the ``elastix-transforms``
    dataset gives them). Follows ``InitialTransformParametersFileName`` back
    to ``NoInitialTransform``; each file's transform is applied after its
    initial one (``HowToCombineTransforms "Compose"``: ``T(x) = T_file(
    T_initial(x))``). Returns ``[("affine", (z, y, x) matrix) | ("bspline",
    grid dict), ...]``, first applied first, for :func:`emcourse.clem.apply_steps`;
    all map fixed-image points to moving-image points, in the files' unit.
    """
    steps: list[tuple[str, object]] = []
    seen = []
    while name not in ("", "NoInitialTransform"):
        base = Path(str(name).replace("\\", "/")).name
        if base in seen:
            raise ValueError(f"{base}: InitialTransformParametersFileName: the chain loops.")
        if base not in files:
            raise ValueError(
                f"{seen[-1] if seen else base}: InitialTransformParametersFileName: expected "
                f"{base!r} among the files, found {sorted(files)}."
            )
        seen.append(base)
        try:
            params = read_elastix_parameters(files[base])
        except ValueError as exc:
            raise ValueError(str(exc).replace("elastix text", base, 1)) from exc
        how = params.get("HowToCombineTransforms", "Compose")
        if how != "Compose":
            raise ValueError(f"{base}: HowToCombineTransforms: expected 'Compose', found {how!r}.")
        transform = params["Transform"]
        if transform == "AffineTransform":
            steps.append(("affine", elastix_affine_matrix(params)))
        elif transform == "BSplineTransform":
            steps.append(("bspline", _check_bspline(params, base)))
        else:
            raise ValueError(
                f"{base}: Transform: expected AffineTransform or BSplineTransform, "
                f"found {transform!r}."
            )
        name = params.get("InitialTransformParametersFileName", "NoInitialTransform")
    return steps[::-1]


# ----------------------------------------------------------------- JSON

_JSON_TYPE = "emcourse.affine"


def write_transform_json(
    path, matrix, *, unit: str = "nm", source: str = "light", target: str = "em", note: str = ""
) -> Path:
    """Write a transform as JSON with its direction, unit and axis order explicit.

    The file holds ``matrix_xyz`` (homogeneous, x, y, z order, rows), the
    same matrix in the course's ``matrix_zyx`` order, and ``mobie_affine``:
    the 12 (3D) or 6 (2D) numbers row-major ``[m00 m01 m02 t0 m10 ...]`` that
    MoBIE and BigDataViewer read.
    """
    m = np.asarray(matrix, dtype=np.float64)
    k = m.shape[0] - 1
    mx = matrix_xyz(m)
    doc = {
        "type": _JSON_TYPE,
        "direction": f"{source} -> {target}",
        "maps": f"points in {source} coordinates to {target} coordinates",
        "unit": unit,
        "axes": list("xyz"[:k]),
        "matrix_xyz": mx.tolist(),
        "matrix_zyx": m.tolist(),
        "mobie_affine": mx[:k].ravel().tolist(),
        "note": note,
    }
    path = Path(path)
    path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return path


def read_transform_json(path) -> dict:
    """Read a JSON transform written by :func:`write_transform_json`.

    Returns the document with ``matrix`` (the (z, y, x) homogeneous matrix,
    rebuilt from ``matrix_xyz``) added; checks that the three copies agree.
    """
    path = Path(path)
    try:
        doc = json.loads(path.read_bytes().decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: expected JSON, found unreadable text ({exc}).") from exc
    if not isinstance(doc, dict):
        raise ValueError(
            f"{path}: expected a JSON object (a transform), found {type(doc).__name__}."
        )
    for key in ("direction", "unit", "axes", "matrix_xyz"):
        if key not in doc:
            raise ValueError(
                f"{path}: expected key {key!r} in the transform JSON, found {sorted(doc)}."
            )
    try:
        mx = np.asarray(doc["matrix_xyz"], dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{path}: matrix_xyz: expected rows of numbers, found {str(doc['matrix_xyz'])[:80]}."
        ) from exc
    k = mx.shape[0] - 1 if mx.ndim == 2 else -1
    if (
        k < 1
        or mx.shape != (k + 1, k + 1)
        or not np.isfinite(mx).all()
        or not np.allclose(mx[k], np.eye(k + 1)[k])
    ):
        raise ValueError(f"{path}: matrix_xyz is not a homogeneous matrix: {mx.tolist()}.")
    m = matrix_xyz(mx)
    for key, mine in (("matrix_zyx", m), ("mobie_affine", mx[:k].ravel())):
        if key not in doc:
            continue
        try:
            theirs = np.asarray(doc[key], dtype=np.float64)
            same = theirs.shape == mine.shape and np.allclose(mine, theirs)
        except (TypeError, ValueError):
            same = False
        if not same:
            raise ValueError(f"{path}: {key} disagrees with matrix_xyz (or is not numbers).")
    return doc | {"matrix": m}
