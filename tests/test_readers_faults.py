"""Fuzz-style faults in every real file a reader opens: each must be refused in one line.

Seeded structural damage (``np.random.default_rng``) to the real fixture files
(``../shared/fixtures``): a cut inside a row, a line or a section, a short
row, a dropped column, a broken header, a wrong type in a field, bytes that
are not UTF-8. Each damaged copy (written to ``tmp_path``, never into the
repository) must raise a plain ``ValueError`` whose one-line message names the
file and the field, never load short or wrong without a word, and never
leak another exception type (``UnicodeDecodeError``, pandas' parser errors
and ``json.JSONDecodeError`` are ``ValueError`` subclasses: they fail here
too). A cut exactly at a row or section boundary is not made: no reader can
see it; the data layer's sha256 and recorded counts catch it.
"""

from __future__ import annotations

import gzip
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest
from conftest import fixture_file

from emcourse import io

SEEDS = (0, 1)


def refused(read, path: Path, *fields: str) -> str:
    """``read(path)`` raises a plain one-line ValueError naming the file and one of ``fields``."""
    with pytest.raises(Exception) as err:  # noqa: PT011 - the type is checked exactly below
        read(path)
    exc = err.value
    assert type(exc) is ValueError, f"{type(exc).__name__}: {exc}"
    message = str(exc)
    assert "\n" not in message, message
    assert path.name in message, message
    assert any(f in message for f in fields), f"none of {fields} in: {message}"
    return message


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


def _cut_inside_line(lines: list[str], i: int, rng) -> str:
    """The text up to a cut strictly inside line ``i`` (never at its start or line end)."""
    body = lines[i].rstrip("\r\n")
    at = int(rng.integers(1, len(body))) if len(body) > 1 else 1
    return "".join(lines[:i]) + body[:at]


# ------------------------------------------------------------------------- STAR

STAR_FILES = {
    "sta-relion5-hiv/R5_tutorial_run_data.star": "particles",
    "sta-relion5-hiv/R5_tutorial_run_tomograms.star": "table",
    "sta-relion5-hiv/relion5_TS_01_tilt.star": "table",
    "sta-chlamy-in-situ/atpase.star": "particles",
    "sta-chlamy-in-situ/mitoribosome.star": "particles",
}
STAR_FAULTS = ("cut in a row", "short row", "wrong type", "dropped column", "cut in header")


def _star_reader(kind: str):
    if kind == "particles":
        return lambda p: io.read_particles_star(p, tomo_shape=(2000, 4000, 4000))
    return io.read_star


def _star_layout(lines: list[str]) -> tuple[list[int], list[int], list[str]]:
    """Indexes of the last loop's label lines and row lines, and its labels."""
    labels, rows, names = [], [], []
    for i, line in enumerate(lines):
        word = line.split()[0] if line.split() else ""
        if word == "loop_":
            labels, rows, names = [], [], []
        elif word.startswith("_") and not rows:
            labels.append(i)
            names.append(word[1:])
        elif word and labels and not word.startswith(("#", "data_")):
            rows.append(i)
    return labels, rows, names


def _star_fault(lines: list[str], fault: str, rng) -> tuple[str, tuple[str, ...]]:
    labels, rows, names = _star_layout(lines)
    i = int(rng.choice(rows))
    if fault == "cut in a row":
        return _cut_inside_line(lines, i, rng), ("row",)
    if fault == "short row":
        fields = lines[i].split()
        j = int(rng.integers(len(fields)))
        shorter = " ".join(fields[:j] + fields[j + 1 :]) + "\n"
        return "".join(lines[:i] + [shorter] + lines[i + 1 :]), ("row", "column")
    if fault == "wrong type":
        fields = lines[i].split()
        numeric = [j for j, f in enumerate(fields) if re.fullmatch(r"[-+0-9.eE]+", f)]
        j = int(rng.choice(numeric))
        fields[j] = "n/a"
        row = len([r for r in rows if r <= i])
        text = "".join(lines[:i] + [" ".join(fields) + "\n"] + lines[i + 1 :])
        return text, (f"column {names[j]}, row {row}",)
    if fault == "dropped column":
        j = int(rng.choice(labels))
        return "".join(lines[:j] + lines[j + 1 :]), ("row 1",)
    # a cut inside the last loop's header: no rows follow
    j = int(rng.choice(labels))
    return _cut_inside_line(lines, j, rng), ("line", "loop")


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("fault", STAR_FAULTS)
@pytest.mark.parametrize("rel", sorted(STAR_FILES))
def test_damaged_star_files_are_refused(tmp_path, rel, fault, seed):
    src = fixture_file(rel)
    text, fields = _star_fault(_lines(src), fault, np.random.default_rng(seed))
    path = tmp_path / src.name
    path.write_text(text, encoding="utf-8")
    refused(_star_reader(STAR_FILES[rel]), path, *fields)


def test_star_cut_at_a_third_is_not_loaded_short(tmp_path):
    """The issue's case: atpase.star (933 particles) cut at a third of its bytes."""
    raw = fixture_file("sta-chlamy-in-situ/atpase.star").read_bytes()
    path = tmp_path / "atpase.star"
    path.write_bytes(raw[: len(raw) // 3])
    refused(io.read_particles_star, path, "row")


def test_real_star_files_still_read_as_starfile_reads_them():
    import starfile as sf  # the package's writer; its reader is the reference here

    for rel in STAR_FILES:
        path = fixture_file(rel)
        ours, theirs = io.read_star(path), sf.read(path, always_dict=True)
        assert list(ours) == list(theirs)
        for name, block in theirs.items():
            if hasattr(block, "columns"):
                assert list(ours[name].columns) == list(block.columns)
                assert list(ours[name].dtypes) == list(block.dtypes)
                assert ours[name].equals(block), (rel, name)
            else:
                assert ours[name] == block


# ------------------------------------------------------------------------- mdoc

MDOC = "tilt-metadata/TS_01.mrc.mdoc"
MDOC_FAULTS = ("cut in a line", "cut in a section", "section dropped", "wrong type", "header")


def _mdoc_fault(lines: list[str], fault: str, rng) -> tuple[str, tuple[str, ...]]:
    heads = [i for i, line in enumerate(lines) if line.startswith("[ZValue")]
    k = int(rng.integers(1, len(heads) - 1))
    start, end = heads[k], heads[k + 1]
    keys = [i for i in range(start + 1, end) if "=" in lines[i]]
    if fault == "cut in a line":
        return _cut_inside_line(lines, int(rng.choice(keys)), rng), ("ZValue", "line")
    if fault == "cut in a section":  # at a line end inside the last section left
        j = int(rng.choice(keys[:-1]))
        return "".join(lines[: j + 1]), (f"[ZValue = {k}]",)
    if fault == "section dropped":
        return "".join(lines[:start] + lines[end:]), (f"[ZValue = {k}]",)
    if fault == "wrong type":
        j = next(i for i in keys if lines[i].startswith("TiltAngle"))
        text = "".join(lines[:j] + ["TiltAngle = sixty\n"] + lines[j + 1 :])
        return text, ("TiltAngle",)
    broken = lines[start].replace("]", "")
    return "".join(lines[:start] + [broken] + lines[start + 1 :]), ("line", "ZValue")


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("fault", MDOC_FAULTS)
def test_damaged_mdoc_is_refused(tmp_path, fault, seed):
    src = fixture_file(MDOC)
    text, fields = _mdoc_fault(_lines(src), fault, np.random.default_rng(seed))
    path = tmp_path / src.name
    path.write_text(text, encoding="utf-8")
    refused(io.read_mdoc, path, *fields)


def test_mdoc_cut_in_its_seventh_section_is_not_six_tilts(tmp_path):
    """The issue's case: a cut inside section 6 must not load as 6 of 41 tilts."""
    lines = _lines(fixture_file(MDOC))
    seventh = [i for i, line in enumerate(lines) if line.startswith("[ZValue = 6]")][0]
    path = tmp_path / "TS_01.mrc.mdoc"
    path.write_text("".join(lines[: seventh + 4]), encoding="utf-8")
    refused(io.read_mdoc, path, "[ZValue = 6]")


# -------------------------------------------------------------------------- MRC

MRC_FILES = (
    "emdb/emd_3197.map.gz",
    "emdb/emd_1832.map.gz",
    "sta-chlamy-in-situ/hsp60.mrc",
    "cryoem-micrograph/Ucsf_stack_1142_DW.mrc",
)
MRC_FAULTS = ("cut in data", "longer", "cell 0", "cell nan", "cell negative", "mode", "mapc")


def _mrc_fault(raw: bytes, fault: str, rng) -> tuple[bytes, tuple[str, ...]]:
    b = bytearray(raw)
    if fault == "cut in data":
        return bytes(b[: int(rng.integers(1025, len(b) - 1))]), ("promises", "NX")
    if fault == "longer":
        return bytes(b) + bytes(int(rng.integers(1, 4096))), ("longer", "NX")
    axis = int(rng.integers(3))
    if fault.startswith("cell"):
        value = {"cell 0": 0.0, "cell nan": np.nan, "cell negative": -float(rng.uniform(1, 99))}
        b[40 + 4 * axis : 44 + 4 * axis] = np.float32(value[fault]).tobytes()
        return bytes(b), (f"CELLA.{'xyz'[axis]}",)
    if fault == "mode":
        b[12:16] = np.int32(int(rng.choice([5, 7, 99]))).tobytes()
        return bytes(b), ("mode",)
    b[64 + 4 * axis : 68 + 4 * axis] = np.int32(int(rng.choice([0, 4, 9]))).tobytes()
    return bytes(b), ("MAPC",)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("fault", MRC_FAULTS)
@pytest.mark.parametrize("rel", MRC_FILES)
def test_damaged_mrc_files_are_refused(tmp_path, rel, fault, seed):
    src = fixture_file(rel)
    raw = src.read_bytes()
    raw = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    damaged, fields = _mrc_fault(raw, fault, np.random.default_rng(seed))
    path = tmp_path / "damaged.mrc"
    path.write_bytes(damaged)
    refused(io.read_mrc, path, *fields)


@pytest.mark.parametrize("seed", SEEDS)
def test_cut_gzip_map_is_refused(tmp_path, seed):
    raw = fixture_file("emdb/emd_1832.map.gz").read_bytes()
    at = int(np.random.default_rng(seed).integers(200, len(raw) - 1))
    path = tmp_path / "emd_1832.map.gz"
    path.write_bytes(raw[:at])
    refused(io.read_mrc, path, "gzip", "promises")


# ------------------------------------------------------------------------- CLEM

BIGWARP = "clem-cosem-landmarks/tcell_roi2_bigwarpLandmarks.csv"
COSEM = "clem-cosem-landmarks/clem-landmarks.csv"
CSV_FAULTS = ("latin-1", "cut in a row", "short row", "wrong type", "broken header")
BIGWARP_COLUMNS = [
    "name",
    "active",
    *(f"{s}_{a}" for s in ("moving", "fixed") for a in "xyz"),
]


def _csv_fault(lines: list[str], fault: str, rng, columns: list[str], first: int):
    i = int(rng.integers(first, len(lines)))
    fields = lines[i].rstrip("\n").split(",")
    if fault == "latin-1":  # a name typed on a Latin-1 system: "Pt-é" as one byte 0xe9
        row = ",".join(
            [fields[0].rstrip('"') + "\u00e9" + '"' * fields[0].endswith('"')] + fields[1:]
        )
        text = "".join(lines[:i]).encode() + (row + "\n").encode("latin-1")
        return text + "".join(lines[i + 1 :]).encode(), ("UTF-8",)
    if fault == "cut in a row":
        return _cut_inside_line(lines, i, rng).encode(), ("row", "line")
    if fault == "short row":
        j = int(rng.integers(2, len(fields)))
        row = ",".join(fields[:j] + fields[j + 1 :]) + "\n"
        return "".join(lines[:i] + [row] + lines[i + 1 :]).encode(), (f"{columns[-1]}",)
    if fault == "wrong type":
        j = int(rng.integers(2, len(fields)))
        fields[j] = '"1,5"' if fields[j].startswith('"') else "1;5"
        row = ",".join(fields) + "\n"
        n = i + 1
        return "".join(lines[:i] + [row] + lines[i + 1 :]).encode(), (f" {n}, column {columns[j]}",)
    if first:  # COSEM: the header
        return ("Pt-index,Rater,em-x\n" + "".join(lines[1:])).encode(), ("header",)
    return ('"Pt-0","true","1","2"\n' + "".join(lines)).encode(), ("first row", "columns")


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("fault", CSV_FAULTS)
@pytest.mark.parametrize("rel", [BIGWARP, COSEM])
def test_damaged_landmark_tables_are_refused(tmp_path, rel, fault, seed):
    src = fixture_file(rel)
    lines = _lines(src)
    if rel == BIGWARP:
        read, columns, first = io.read_bigwarp_csv, BIGWARP_COLUMNS, 0
    else:
        columns = lines[0].strip().split(",")
        read, first = io.read_cosem_landmarks, 1
    data, fields = _csv_fault(lines, fault, np.random.default_rng(seed), columns, first)
    path = tmp_path / src.name
    path.write_bytes(data)
    refused(read, path, *fields)


ELASTIX_FAULTS = ("cut in a line", "wrong type", "dropped key", "broken line", "short")


def _elastix_fault(lines: list[str], fault: str, rng) -> tuple[str, tuple[str, ...]]:
    j = next(i for i, line in enumerate(lines) if line.startswith("(TransformParameters"))
    if fault == "cut in a line":
        i = int(rng.choice([i for i, line in enumerate(lines) if len(line.strip()) > 2]))
        return _cut_inside_line(lines, i, rng), ("cut off", "line")
    if fault == "wrong type":
        words = lines[j].split()
        words[int(rng.integers(1, len(words) - 1))] = "one"
        return "".join(lines[:j] + [" ".join(words) + "\n"] + lines[j + 1 :]), (
            "TransformParameters",
        )
    if fault == "dropped key":
        return "".join(lines[:j] + lines[j + 1 :]), ("TransformParameters",)
    if fault == "broken line":
        return "".join(lines[:j] + [lines[j].replace(")", "")] + lines[j + 1 :]), ("line",)
    words = lines[j].rstrip(")\n").split()
    short = " ".join(words[: int(rng.integers(3, 10))]) + ")\n"
    return "".join(lines[:j] + [short] + lines[j + 1 :]), ("TransformParameters",)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("fault", ELASTIX_FAULTS)
@pytest.mark.parametrize("member", ["sim_affine", "palm_affine"])
def test_damaged_elastix_files_are_refused(tmp_path, member, fault, seed):
    with zipfile.ZipFile(
        fixture_file(COSEM.replace("clem-landmarks.csv", "clem-transformations.zip"))
    ) as zf:
        text = zf.read(f"{member}_TransformParameters.txt").decode()
    lines = text.splitlines(keepends=True)
    damaged, fields = _elastix_fault(lines, fault, np.random.default_rng(seed))
    path = tmp_path / f"{member}_TransformParameters.txt"
    path.write_text(damaged, encoding="utf-8")

    def read(p):
        return io.elastix_affine_matrix(io.read_elastix_parameters(str(p)))

    refused(read, path, *fields)


BSPLINE_FAULTS = {
    "grid size": (r"\(GridSize [^)]*\)", "(GridSize 40 46)", "GridSize"),
    "spacing": (r"\(GridSpacing [^)]*\)", "(GridSpacing 2.3 -1.0 0.9)", "GridSpacing"),
    "origin": (r"\(GridOrigin [^)]*\)\n", "", "GridOrigin"),
    "direction": (r"\(GridDirection [^)]*\)", "(GridDirection 1 0 0 0 0 0 0 0 1)", "GridDirection"),
    "order": (r"\(BSplineTransformSplineOrder 3\)", "(BSplineTransformSplineOrder 1)", "Order"),
    "count": (r"\(NumberOfParameters \d+\)", "(NumberOfParameters 12)", "NumberOfParameters"),
}


@pytest.mark.parametrize("fault", BSPLINE_FAULTS)
@pytest.mark.parametrize("member", ["sim_def", "palm_def"])
def test_damaged_elastix_bspline_files_are_refused(tmp_path, member, fault):
    with zipfile.ZipFile(
        fixture_file(COSEM.replace("clem-landmarks.csv", "clem-transformations.zip"))
    ) as zf:
        text = zf.read(f"{member}_TransformParameters.txt").decode()
    pattern, replacement, field = BSPLINE_FAULTS[fault]
    damaged, n = re.subn(pattern, replacement, text)
    assert n == 1, fault
    path = tmp_path / f"{member}_TransformParameters.txt"
    path.write_text(damaged, encoding="utf-8")
    refused(lambda p: io.read_elastix_parameters(str(p)), path, field)


@pytest.mark.parametrize("seed", SEEDS)
def test_elastix_bspline_with_coefficients_missing_is_refused(tmp_path, seed):
    with zipfile.ZipFile(
        fixture_file(COSEM.replace("clem-landmarks.csv", "clem-transformations.zip"))
    ) as zf:
        lines = _lines_of(zf.read("sim_def_TransformParameters.txt").decode())
    j = next(i for i, line in enumerate(lines) if line.startswith("(TransformParameters"))
    words = lines[j].rstrip(")\n").split()
    cut = int(np.random.default_rng(seed).integers(2, len(words) - 1))
    lines[j] = " ".join(words[:cut]) + ")\n"
    path = tmp_path / "sim_def_TransformParameters.txt"
    path.write_text("".join(lines), encoding="utf-8")
    refused(lambda p: io.read_elastix_parameters(str(p)), path, "TransformParameters")


def _lines_of(text: str) -> list[str]:
    return text.splitlines(keepends=True)


ECCLEM_FAULTS = (
    "matrix element",
    "coordinate",
    "wrong type",
    "cut",
    "dimension",
    "last row",
    "extra element",
)


@pytest.fixture
def ecclem_text(tmp_path) -> dict:
    """ec-CLEM's two files of the real COSEM landmarks (there is no real ec-CLEM file here)."""
    from emcourse import clem

    lm = io.read_cosem_landmarks(fixture_file(COSEM))
    schema, matrix = io.write_ecclem_xml(
        tmp_path / "source.transformation_schema.xml", clem.fit(lm.moving, lm.fixed),
        lm.moving, lm.fixed,
    )  # fmt: skip
    return {"schema": schema.read_text(encoding="utf-8"), "matrix": matrix.read_text("utf-8")}


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("fault", ECCLEM_FAULTS)
def test_damaged_ecclem_xml_is_refused(tmp_path, ecclem_text, fault, seed):
    rng = np.random.default_rng(seed)
    which = "matrix" if fault in ("matrix element", "last row", "extra element") else "schema"
    if fault == "cut":
        which = str(rng.choice(["schema", "matrix"]))
    text = ecclem_text[which]
    if fault == "matrix element":
        key = f"m{rng.integers(3)}{rng.integers(4)}"
        text, fields = re.sub(rf' {key}="[^"]*"', "", text), (key,)
    elif fault == "coordinate":
        spots = [m.start() for m in re.finditer(r"<coordinate ", text)]
        at = int(rng.choice(spots))
        end = text.index("</coordinate>", at) + len("</coordinate>")
        text, fields = text[:at] + text[end:], ("<coordinate>", "coordinate")
    elif fault == "wrong type":
        spots = [m.end() for m in re.finditer(r'<coordinate dimension="\d">', text)]
        at = int(rng.choice(spots))
        text = text[:at] + "x" + text[at + 1 :]
        fields = ("<coordinate>",)
    elif fault == "cut":
        text, fields = text[: int(rng.integers(100, len(text) - 20))], ("XML", "xml")
    elif fault == "last row":
        key = f"m3{rng.integers(4)}"
        text, fields = re.sub(rf' {key}="[^"]*"', f' {key}="0.5"', text), ("m30, m31, m32, m33",)
    elif fault == "extra element":
        text = text.replace(" m00=", ' m04="0.0" m00=', 1)
        fields = ("m04",)
    else:
        text, fields = text.replace(' dimension="3" pointType', " pointType", 1), ("dimension",)
    path = tmp_path / "ecclem.xml"
    path.write_text(text, encoding="utf-8")
    refused(io.read_ecclem_xml, path, *fields)


# ----------------------------------------------------------- synthetic: ndjson, JSON


def test_ndjson_in_latin1_names_the_file_and_the_encoding(tmp_path):
    path = tmp_path / "points.ndjson"
    line = '{"type": "point", "location": {"x": 1, "y": 2, "z": 3}, "note": "\u00e9"}\n'
    path.write_bytes(line.encode("latin-1"))
    refused(io.read_ndjson_points, path, "UTF-8")


@pytest.mark.parametrize("matrix", [[[1, 0], [0]], "identity", [[1, 0], [0, 2]]])
def test_transform_json_with_a_bad_matrix_is_refused(tmp_path, matrix):
    import json

    path = tmp_path / "t.json"
    doc = {"direction": "light -> em", "unit": "nm", "axes": ["x"], "matrix_xyz": matrix}
    path.write_text(json.dumps(doc), encoding="utf-8")
    refused(io.read_transform_json, path, "matrix_xyz")


def test_transform_json_that_is_not_an_object_is_refused(tmp_path):
    path = tmp_path / "t.json"
    path.write_text("[1, 2, 3]\n", encoding="utf-8")
    refused(io.read_transform_json, path, "object")
