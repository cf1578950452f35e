"""ec-CLEM transformation XML, in the layout ec-CLEM 2 writes (see the notes below).

Matrices are returned in the course's ``(z, y, x)`` order and units (nm by
default); the files keep x first and micrometres. Strict: a malformed file
raises ``ValueError`` naming the file, the element and the field.
"""

from __future__ import annotations

import datetime
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from emcourse.io.landmarks import _flip
from emcourse.io.transforms import matrix_xyz

__all__ = ["read_ecclem_xml", "write_ecclem_xml"]

# ----------------------------------------------------------------- ec-CLEM
#
# The layout is ec-CLEM 2's, as its source writes it (github.com/anrcrocoval/ec-clem,
# storage/transformation_schema/writer/XmlTransformationWriter.java and
# storage/transformation/xml/TransformationToXmlFileWriter.java; GPL-3): Icy's
# XMLUtil puts every element under a ``<root>`` document element. ec-CLEM writes two
# files per registration: ``*.transformation_schema.xml`` (one ``<transformation>``
# per run, with both point sets; it refits from them) and ``*.transformation.xml``
# (``<MatrixTransformation m00=...>`` beside a ``<transformation>`` without points).
# No file written by ec-CLEM itself was found in a public repository: checked against
# its source only.

_AXES = "XYZ"


def _ecclem_transformation(root, k, kind, moving_pixel, fixed_pixel, moving_shape,
                           fixed_shape, names, unit_scale, date):  # fmt: skip
    """The ``<transformation>`` element with its sequence sizes and file names."""
    el = ET.SubElement(root, "transformation", type=kind.upper(), noiseModel="ISOTROPIC",
                       date=date or datetime.datetime.now(datetime.UTC).isoformat())  # fmt: skip
    for which, pixel, shape in (
        ("source", moving_pixel, moving_shape),
        ("target", fixed_pixel, fixed_shape),
    ):
        seq = ET.SubElement(el, "sequenceSize", dimension=str(k), type=which)
        px = np.broadcast_to(np.asarray(1.0 if pixel is None else pixel, dtype=float), (k,))[::-1]
        sh = [0] * k if shape is None else list(shape)[::-1]
        for a in range(k):
            ds = ET.SubElement(
                seq, "dimensionSize", name=_AXES[a], pixelSize=repr(float(px[a]) * unit_scale)
            )
            ds.text = str(int(sh[a]))
    for which, name in zip(("source", "target"), names, strict=True):
        ET.SubElement(el, "sequenceFileName", type=which).text = name
    return el


def _write_xml(root, path) -> Path:
    ET.indent(root)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
    return Path(path)


def write_ecclem_xml(
    path,
    matrix,
    moving,
    fixed,
    *,
    kind: str = "AFFINE",
    moving_pixel=None,
    fixed_pixel=None,
    moving_shape=None,
    fixed_shape=None,
    names=("source", "target"),
    unit_scale: float = 1e-3,
    date: str | None = None,
) -> tuple[Path, Path]:
    """Write a registration as ec-CLEM does: a transformation schema and a matrix file.

    Parameters
    ----------
    path : path
        The schema file (ec-CLEM names it ``<source>_to_<target>_<date>
        .transformation_schema.xml``); the matrix goes beside it, with
        ``.transformation.xml`` in place of ``.transformation_schema.xml``
        (or ``.xml``).
    matrix : (K+1, K+1) array
        Moving (source, light) -> fixed (target, EM), **(z, y, x)** order,
        course units (nm); written in x, y, z order and micrometres.
    moving, fixed : (n, K) arrays
        The landmarks (source and target datasets), (z, y, x), nm.
    kind : str
        ``AFFINE``, ``RIGID`` or ``SIMILARITY``.
    moving_pixel, fixed_pixel : float or sequence, optional
        Pixel sizes (nm) for ``sequenceSize``; ``moving_shape``, ``fixed_shape``
        the images' (z, y, x) shapes; ``names`` the images' file names.
    unit_scale : float
        Factor from course units to micrometres (1e-3 for nm).

    Returns
    -------
    (schema path, matrix path)
    """
    path = Path(path)
    m = np.asarray(matrix, dtype=np.float64)
    k = m.shape[0] - 1
    args = (k, kind, moving_pixel, fixed_pixel, moving_shape, fixed_shape, names, unit_scale, date)
    schema = ET.Element("root")
    el = _ecclem_transformation(schema, *args)
    for which, pts in (("source", moving), ("target", fixed)):
        pts = _flip(np.asarray(pts, dtype=np.float64)) * unit_scale
        ds = ET.SubElement(
            el, "dataset", type=which, n=str(len(pts)), dimension=str(k), pointType="FIDUCIAL"
        )
        for i, pt in enumerate(pts):
            pe = ET.SubElement(ds, "point", id=str(i))
            for a, v in enumerate(pt):
                ET.SubElement(pe, "coordinate", dimension=str(a)).text = repr(float(v))
    mx = matrix_xyz(m)
    mx[:k, k] *= unit_scale
    doc = ET.Element("root")
    attrs = {f"m{i}{j}": repr(float(mx[i, j])) for i in range(k + 1) for j in range(k + 1)}
    attrs["process_date"] = el.get("date")
    ET.SubElement(doc, "MatrixTransformation", attrs)
    _ecclem_transformation(doc, *args)
    stem = path.name.removesuffix(".xml").removesuffix(".transformation_schema")
    return _write_xml(schema, path), _write_xml(doc, path.with_name(stem + ".transformation.xml"))


def _ecclem_date(text: str):
    """ec-CLEM's dates (Java ``ZonedDateTime.toString()``, e.g. ``...+01:00[Europe/Paris]``)."""
    try:
        return datetime.datetime.fromisoformat(text.split("[")[0].replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        return None


def read_ecclem_xml(path, *, unit_scale: float = 1e-3) -> dict:
    """Read an ec-CLEM transformation schema or matrix file into course order and units.

    A schema file may hold several ``<transformation>`` elements (one per run):
    the latest by ``date`` is read, as ec-CLEM does.

    Returns
    -------
    dict
        ``type``, ``noise_model``, ``date``, ``pixel_sizes``, ``file_names``; from a
        schema file ``moving`` and ``fixed`` points (source and target datasets);
        from a matrix file ``matrix`` (source -> target, (z, y, x), course units:
        micrometres / ``unit_scale``).
    """
    path = Path(path)
    try:
        doc = ET.parse(path).getroot()
    except (ET.ParseError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: expected ec-CLEM XML, found unparseable text ({exc}).") from exc
    if doc.tag != "root":
        raise ValueError(f"{path}: expected ec-CLEM's <root> document element, found <{doc.tag}>.")
    runs = doc.findall("transformation")
    if not runs:
        raise ValueError(f"{path}: expected a <transformation> element under <root>, found none.")
    dates = [_ecclem_date(r.get("date")) for r in runs]
    if len(runs) > 1 and None in dates:
        bad = runs[dates.index(None)].get("date")
        raise ValueError(f"{path}: <transformation>: date: expected an ISO date, found {bad!r}.")
    root = runs[max(range(len(runs)), key=lambda i: dates[i])] if len(runs) > 1 else runs[0]
    seqs = root.findall("sequenceSize")
    sets = root.findall("dataset")
    mt = doc.find("MatrixTransformation")
    if sorted(s.get("type", "") for s in seqs) != ["source", "target"]:
        raise ValueError(
            f"{path}: expected two <sequenceSize> (source, target), found {len(seqs)}."
        )
    if mt is None and sorted(s.get("type", "") for s in sets) != ["source", "target"]:
        raise ValueError(f"{path}: expected two <dataset> (source, target), found {len(sets)}.")
    out = {
        "type": root.get("type"),
        "noise_model": root.get("noiseModel"),
        "date": root.get("date"),
        "file_names": {f.get("type"): f.text for f in root.findall("sequenceFileName")},
    }
    dims = set()
    for ds in sets:
        where = f"<dataset type={ds.get('type')!r}>"
        k = int(_xml_number(path, where, "dimension", ds.get("dimension")))
        dims.add(k)
        pts = []
        for i, p in enumerate(ds.findall("point")):
            coords = sorted(p.findall("coordinate"), key=lambda c: c.get("dimension") or "")
            if len(coords) != k:
                raise ValueError(
                    f"{path}: {where}, <point> {i}: expected {k} <coordinate> elements "
                    f"(dimension={k}), found {len(coords)}."
                )
            pts.append(
                [_xml_number(path, f"{where}, <point> {i}", "<coordinate>", c.text) for c in coords]
            )
        arr = np.array(pts, dtype=np.float64).reshape(-1, k)
        n = int(_xml_number(path, where, "n", ds.get("n")))
        if len(arr) != n:
            raise ValueError(f"{path}: {where}: n={n}, found {len(arr)} <point> elements.")
        out["moving" if ds.get("type") == "source" else "fixed"] = _flip(arr) / unit_scale
    if len(dims) > 1:
        raise ValueError(
            f"{path}: <dataset> dimension: expected one value on both, found {sorted(dims)}."
        )
    out["pixel_sizes"] = {
        s.get("type"): [
            _xml_number(
                path, f"<sequenceSize type={s.get('type')!r}>", "pixelSize", d.get("pixelSize")
            )
            / unit_scale
            for d in s.findall("dimensionSize")
        ][::-1]
        for s in seqs
    }
    if mt is not None:
        n_m = sum(1 for key in mt.attrib if re.fullmatch(r"m\d\d", key))
        k = dims.pop() if dims else max(2, int(round(np.sqrt(n_m))) - 1)
        out["matrix"] = _ecclem_matrix(path, mt, k, unit_scale)
    return out


def _ecclem_matrix(path, mt, k: int, unit_scale: float) -> np.ndarray:
    """``<MatrixTransformation>``'s m00..mkk, checked, in course order and units."""
    mx = np.array(
        [
            [
                _xml_number(path, "<MatrixTransformation>", f"m{i}{j}", mt.get(f"m{i}{j}"))
                for j in range(k + 1)
            ]
            for i in range(k + 1)
        ]
    )
    known = {f"m{i}{j}" for i in range(k + 1) for j in range(k + 1)} | {"process_date"}
    extra = sorted(set(mt.attrib) - known)
    if extra:
        raise ValueError(
            f"{path}: <MatrixTransformation>: expected m00..m{k}{k} for {k}D points, "
            f"found also {', '.join(extra)}."
        )
    if not np.allclose(mx[k], np.eye(k + 1)[k]):
        fields = ", ".join(f"m{k}{j}" for j in range(k + 1))
        raise ValueError(
            f"{path}: <MatrixTransformation>: {fields}: expected the homogeneous row "
            f"{' '.join(map(str, np.eye(k + 1, dtype=int)[k]))}, found "
            f"{' '.join(f'{v:g}' for v in mx[k])}."
        )
    mx[:k, k] /= unit_scale
    return matrix_xyz(mx)


def _xml_number(path: Path, where: str, field: str, text) -> float:
    """``text`` as a finite float, or one ValueError naming the file, the element and the field."""
    if text is None:
        raise ValueError(f"{path}: {where}: expected {field}, found none (missing).")
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not np.isfinite(value):
        raise ValueError(f"{path}: {where}: {field}: expected a finite number, found {text!r}.")
    return value
