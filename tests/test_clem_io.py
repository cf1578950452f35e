"""CLEM file formats: written, read back, and checked against the formats' definitions.

Definitions (DATA-SOURCES.md, "Transform files other tools read"): BigWarp
CSV has no header, every field double-quoted, 6 columns in 2D and 8 in 3D,
names Pt-0.., active "true"/"false"; ec-CLEM XML has exactly two
sequenceSize and two dataset elements (source, target), points in
micrometres and a homogeneous MatrixTransformation m00..m33; MoBIE affines
are 12 numbers row-major. Real files from ../shared/fixtures are read where
present (skipped otherwise).
"""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET
import zipfile

import numpy as np
import pytest
from conftest import fixture_file

from emcourse import clem, io

COSEM = "clem-cosem-landmarks/"


@pytest.fixture
def landmarks():
    return clem.standin_landmarks(7, seed=2)


def test_bigwarp_csv_round_trip_and_layout(tmp_path, landmarks):
    um_m, um_f = landmarks.moving / 1000, landmarks.fixed / 1000
    path = io.write_bigwarp_csv(tmp_path / "lm.csv", um_m, um_f, active=[True] * 6 + [False])
    text = path.read_text()
    rows = list(csv.reader(text.splitlines()))
    assert len(rows) == 7 and all(len(r) == 8 for r in rows)  # no header, 3D: 8 columns
    assert all(line.startswith('"Pt-') and line.count('"') == 16 for line in text.splitlines())
    assert rows[0][:2] == ["Pt-0", "true"] and rows[6][1] == "false"
    # x, y, z order in the file: column 2 is moving x, the last column of our (z, y, x)
    assert float(rows[0][2]) == pytest.approx(um_m[0, 2])
    back = io.read_bigwarp_csv(path)
    assert np.allclose(back["moving"], um_m) and np.allclose(back["fixed"], um_f)
    assert back["active"].tolist() == [True] * 6 + [False] and back["ndim"] == 3


def test_bigwarp_csv_2d_has_six_columns(tmp_path):
    p = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 7.0]])
    path = io.write_bigwarp_csv(tmp_path / "lm2.csv", p, p + 1)
    assert all(len(r) == 6 for r in csv.reader(path.read_text().splitlines()))
    assert io.read_bigwarp_csv(path)["ndim"] == 2


def test_bigwarp_reader_is_strict(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text('"Pt-0","yes","1","2","3","4","5","6"\n')
    with pytest.raises(ValueError, match="row 1, column active: expected 'true' or 'false'"):
        io.read_bigwarp_csv(bad)
    bad.write_text('"Pt-0","true","1","2","3"\n')
    with pytest.raises(ValueError, match="6 \\(2D\\) or 8 \\(3D\\) columns"):
        io.read_bigwarp_csv(bad)


def test_real_bigwarp_export_reads():
    path = fixture_file(COSEM + "tcell_roi2_bigwarpLandmarks.csv")
    lm = io.read_bigwarp_csv(path)
    assert lm["ndim"] == 3 and len(lm["names"]) == 23 and lm["active"].sum() == 22
    assert lm["names"][0] == "Pt-0"
    # micrometres: an affine fit between the active points has near-unit scale
    act = lm["active"]
    m = clem.fit(lm["moving"][act], lm["fixed"][act], kind="affine")
    assert 0.5 < abs(np.linalg.det(m[:3, :3])) ** (1 / 3) < 2


def test_ecclem_xml_round_trip_and_layout(tmp_path, landmarks):
    m = clem.fit(landmarks.moving, landmarks.fixed, kind="affine")
    schema, matrix = io.write_ecclem_xml(
        tmp_path / "lm_to_em_2026.transformation_schema.xml",
        m,
        landmarks.moving,
        landmarks.fixed,
        moving_pixel=(130.0, 35.0, 35.0),
        fixed_pixel=20.0,
        moving_shape=(28, 1226, 1226),
        fixed_shape=(106, 1750, 1484),
    )
    assert matrix.name == "lm_to_em_2026.transformation.xml"
    # ec-CLEM 2's layout (XmlTransformationWriter.java): Icy's <root>, one <transformation>
    root = ET.parse(schema).getroot()
    (tr,) = root.findall("transformation")
    assert root.tag == "root" and tr.get("type") == "AFFINE"
    assert sorted(s.get("type") for s in tr.findall("sequenceSize")) == ["source", "target"]
    assert sorted(d.get("type") for d in tr.findall("dataset")) == ["source", "target"]
    src = next(d for d in tr.findall("dataset") if d.get("type") == "source")
    assert src.get("n") == "7" and src.get("pointType") == "FIDUCIAL"
    x0 = float(src.find("point").find("coordinate[@dimension='0']").text)
    assert x0 == pytest.approx(landmarks.moving[0, 2] / 1000)  # micrometres, x first
    # the matrix file (TransformationToXmlFileWriter.java): the matrix beside the sizes
    doc = ET.parse(matrix).getroot()
    mt = doc.find("MatrixTransformation")
    assert doc.tag == "root" and doc.find("transformation/dataset") is None
    assert len(mt.attrib) == 17 and float(mt.get("m33")) == 1.0 and mt.get("process_date")
    assert float(mt.get("m03")) == pytest.approx(m[2, 3] / 1000)  # micrometres, x first
    back = io.read_ecclem_xml(schema)
    assert np.allclose(back["moving"], landmarks.moving)
    assert np.allclose(back["fixed"], landmarks.fixed)
    assert np.allclose(back["pixel_sizes"]["source"], (130.0, 35.0, 35.0))
    assert np.allclose(io.read_ecclem_xml(matrix)["matrix"], m)


# As ec-CLEM 2's XmlTransformationWriter writes a schema after two runs (element and
# attribute names, Java's ZonedDateTime and Double.toString text), hand-built from its
# source: no file written by ec-CLEM itself was found in a public repository.
ECCLEM_TWO_RUNS = """<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<root>
<transformation date="2020-03-10T15:42:10.123+01:00[Europe/Paris]" noiseModel="ISOTROPIC"
 type="RIGID">{body}</transformation>
<transformation date="2020-03-10T16:05:01.5+01:00[Europe/Paris]" noiseModel="ANISOTROPIC"
 type="AFFINE">{body}</transformation>
</root>"""
ECCLEM_BODY = """
<sequenceSize dimension="2" type="source"><dimensionSize name="X" pixelSize="0.1">512
</dimensionSize><dimensionSize name="Y" pixelSize="0.1">512</dimensionSize></sequenceSize>
<sequenceSize dimension="2" type="target"><dimensionSize name="X" pixelSize="0.01">2048
</dimensionSize><dimensionSize name="Y" pixelSize="0.01">2048</dimensionSize></sequenceSize>
<sequenceFileName type="source">/data/lm.tif</sequenceFileName>
<sequenceFileName type="target">/data/em.tif</sequenceFileName>
<dataset dimension="2" n="2" pointType="FIDUCIAL" type="source">
<point id="0"><coordinate dimension="0">1.5</coordinate><coordinate dimension="1">2.0</coordinate>
</point><point id="1"><coordinate dimension="0">3.0</coordinate>
<coordinate dimension="1">4.25</coordinate></point></dataset>
<dataset dimension="2" n="2" pointType="FIDUCIAL" type="target">
<point id="0"><coordinate dimension="0">10.0</coordinate><coordinate dimension="1">20.0</coordinate>
</point><point id="1"><coordinate dimension="0">30.0</coordinate>
<coordinate dimension="1">40.0</coordinate></point></dataset>
"""


def test_ecclem_schema_as_the_tool_writes_it_reads_the_latest_run(tmp_path):
    path = tmp_path / "lm_to_em_2020-03-10T16:05:01.transformation_schema.xml"
    path.write_text(ECCLEM_TWO_RUNS.format(body=ECCLEM_BODY), encoding="utf-8")
    ec = io.read_ecclem_xml(path)
    assert ec["type"] == "AFFINE" and ec["noise_model"] == "ANISOTROPIC"  # the later run
    assert ec["file_names"] == {"source": "/data/lm.tif", "target": "/data/em.tif"}
    assert np.allclose(ec["moving"], [[2000.0, 1500.0], [4250.0, 3000.0]])  # (y, x), nm
    assert np.allclose(ec["pixel_sizes"]["target"], [10.0, 10.0])


def test_ecclem_matrix_file_as_the_tool_writes_it(tmp_path):
    path = tmp_path / "lm_to_em.transformation.xml"
    body = ECCLEM_BODY.split("<dataset")[0]
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8" standalone="no"?><root>'
        '<MatrixTransformation m00="1.0" m01="0.0" m02="2.5" m10="0.0" m11="2.0" m12="-1.0" '
        'm20="0.0" m21="0.0" m22="1.0" process_date="Tue Mar 10 16:05:01 CET 2020"/>'
        f'<transformation date="2020-03-10T16:05:01.5+01:00[Europe/Paris]" '
        f'noiseModel="ISOTROPIC" type="AFFINE">{body}</transformation></root>',
        encoding="utf-8",
    )
    ec = io.read_ecclem_xml(path)
    assert "moving" not in ec
    # x' = x + 2.5 um, y' = 2 y - 1 um, in (y, x) order and nm
    assert np.allclose(ec["matrix"], [[2, 0, -1000], [0, 1, 2500], [0, 0, 1]])


def test_ecclem_reader_is_strict(tmp_path):
    bad = tmp_path / "bad.xml"
    bad.write_text("<transformation><dataset type='source' n='0' dimension='3'/></transformation>")
    with pytest.raises(ValueError, match="<root> document element, found <transformation>"):
        io.read_ecclem_xml(bad)
    bad.write_text("<root><transformation><dataset type='source'/></transformation></root>")
    with pytest.raises(ValueError, match="two <sequenceSize>"):
        io.read_ecclem_xml(bad)
    two = ECCLEM_TWO_RUNS.format(body=ECCLEM_BODY).replace("2020-03-10T15", "yesterday", 1)
    bad.write_text(two)
    with pytest.raises(ValueError, match="date: expected an ISO date, found 'yesterday"):
        io.read_ecclem_xml(bad)


def test_bigwarp_point_placed_in_one_image_is_unpaired(tmp_path):
    # BigWarp saves a landmark clicked in one image only as Infinity on the other side
    path = tmp_path / "lm.csv"
    path.write_text(
        '"Pt-0","true","1.0","2.0","3.0","4.0"\n"Pt-1","true","5.0","6.0","Infinity","Infinity"\n'
    )
    lm = io.read_bigwarp_csv(path)
    assert lm["paired"].tolist() == [True, False] and lm["active"].tolist() == [True, False]
    assert np.isnan(lm["fixed"][1]).all() and np.allclose(lm["moving"][1], [6.0, 5.0])
    path.write_text('"Pt-0","true","1.0","2.0","Infinity","4.0"\n')
    with pytest.raises(ValueError, match="row 1, column fixed_x: expected a finite number"):
        io.read_bigwarp_csv(path)
    path.write_text('"Pt-0","true","1.0","NaN","3.0","4.0"\n')
    with pytest.raises(ValueError, match="row 1, column moving_y: expected a finite number"):
        io.read_bigwarp_csv(path)


def test_json_round_trip_and_mobie_numbers(tmp_path, landmarks):
    m = clem.fit(landmarks.moving, landmarks.fixed, kind="affine")
    path = io.write_transform_json(tmp_path / "t.json", m, unit="nm")
    doc = json.loads(path.read_text())
    assert doc["direction"] == "light -> em" and doc["unit"] == "nm"
    assert doc["axes"] == ["x", "y", "z"] and len(doc["mobie_affine"]) == 12
    # MoBIE row-major [m00 m01 m02 t0 ...] in x, y, z: t0 is the x translation
    assert doc["mobie_affine"][3] == pytest.approx(m[2, 3])
    assert np.allclose(io.read_transform_json(path)["matrix"], m)
    doc["mobie_affine"][0] += 1
    path.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match="mobie_affine disagrees"):
        io.read_transform_json(path)


def test_elastix_affine_direction_and_centre():
    text = """(Transform "AffineTransform")
(NumberOfParameters 6)
(TransformParameters 1.0 0.0 0.0 2.0 3.0 -1.0)
(CenterOfRotationPoint 10.0 20.0)
"""
    params = io.read_elastix_parameters(text)
    m = io.elastix_affine_matrix(params)  # fixed -> moving, (y, x)
    # x' = x + 3, y' = 2 (y - 20) + 20 - 1 at (x, y) = (10, 20): (13, 19)
    assert np.allclose(clem.apply(m, [[20.0, 10.0]]), [[19.0, 13.0]])


def test_real_elastix_affine_reads():
    path = fixture_file(COSEM + "clem-transformations.zip")
    with zipfile.ZipFile(path) as zf:
        text = zf.read("sim_affine_TransformParameters.txt").decode()
    params = io.read_elastix_parameters(text)
    assert params["Transform"] == "AffineTransform" and params["NumberOfParameters"] == 12
    m = io.elastix_affine_matrix(params)
    assert np.allclose(np.abs(np.linalg.det(m[:3, :3])), 1.1, atol=0.15)


def test_cosem_landmarks_read_in_nanometres_zyx():
    lm = io.read_cosem_landmarks(fixture_file(COSEM + "clem-landmarks.csv"))
    assert len(lm) == 31 and sorted(lm.raters) == ["AW", "Auto", "JB"]
    assert lm.unit == "nm" and lm.ndim == 3
    # the first row: em-x 49.704 um is the last column in (z, y, x) nm
    assert lm.fixed[0, 2] == pytest.approx(49704.297, abs=1e-2)
    assert lm.moving[0, 0] == pytest.approx(254.0187, abs=1e-3)


def test_cosem_reader_is_strict(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(ValueError, match="expected the header"):
        io.read_cosem_landmarks(bad)
