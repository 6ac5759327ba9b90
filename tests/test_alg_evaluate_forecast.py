"""hotspotpolicing:evaluateforecast on hand-worked examples: polygons and street segments."""

import pytest
from osgeo import ogr

from .test_alg_assign_incidents import write

pytestmark = pytest.mark.usefixtures("provider")


def square(x, y, size=100.0):
    return f"POLYGON (({x} {y}, {x + size} {y}, {x + size} {y + size}, {x} {y + size}, {x} {y}))"


def points(path, coordinates):
    return write(path, ogr.wkbPoint, [(f"POINT ({x} {y})", [i]) for i, (x, y) in enumerate(coordinates)], [("n", ogr.OFTInteger)])


def run(parameters):
    import processing

    return processing.run("hotspotpolicing:evaluateforecast", parameters)


def test_polygons_hand_worked(tmp_path):
    # 4 cells of 100 x 100 in a 200 x 200 study area; the hot spot is cell A (lower left).
    cells = [square(0, 0), square(100, 0), square(0, 100), square(100, 100)]
    units = write(tmp_path / "u.gpkg", ogr.wkbPolygon, [(c, [i]) for i, c in enumerate(cells)], [("cell", ogr.OFTInteger)])
    hot = write(tmp_path / "h.gpkg", ogr.wkbPolygon, [(cells[0], [0])], [("cell", ogr.OFTInteger)])
    area = write(tmp_path / "a.gpkg", ogr.wkbPolygon, [("POLYGON ((0 0, 200 0, 200 200, 0 200, 0 0))", [1])], [("id", ogr.OFTInteger)])
    # later period: 3 in A, 5 in B, 1 in C, 1 in D, and 2 outside the study area
    later = points(tmp_path / "l.gpkg", [(10, 10), (20, 20), (30, 30)] + [(150, 50)] * 5 + [(50, 150), (150, 150), (500, 500), (-5, 50)])
    # earlier period: 6 in A of 12 in all
    earlier = points(tmp_path / "e.gpkg", [(10, 10)] * 6 + [(150, 150)] * 6)
    result = run({"HOTSPOTS": hot, "INCIDENTS": later, "STUDY_AREA": area, "UNITS": units, "INCIDENTS_BEFORE": earlier})
    # n = 3, N = 10, a/A = 1/4: hit rate 0.3, PAI 1.2; the best single cell (B) holds 5: PEI 0.6
    # RRI = (n2/n1)/(N2/N1) = (3/6)/(10/12) = 0.6
    assert result["CAPTURED"] == 3 and result["TOTAL"] == 10
    assert result["HIT_RATE"] == pytest.approx(0.3)
    assert result["AREA_SHARE"] == pytest.approx(0.25)
    assert result["PAI"] == pytest.approx(1.2)
    assert result["PEI"] == pytest.approx(0.6)
    assert result["RRI"] == pytest.approx(0.6)


def test_street_segments_use_length(tmp_path):
    network_rows = [("LINESTRING (0 0, 100 0)", [1]), ("LINESTRING (100 0, 400 0)", [2]), ("LINESTRING (0 0, 0 100)", [3])]
    network = write(tmp_path / "n.gpkg", ogr.wkbLineString, network_rows, [("segment_id", ogr.OFTInteger)])
    hot = write(tmp_path / "h.gpkg", ogr.wkbLineString, [network_rows[0]], [("segment_id", ogr.OFTInteger)])
    # 4 incidents by segment 1, 4 by segment 2, 2 by segment 3, 1 far away
    later = points(tmp_path / "l.gpkg", [(50, 5)] * 4 + [(300, -5)] * 4 + [(3, 60)] * 2 + [(1000, 1000)])
    report = tmp_path / "evaluation.html"
    result = run({"HOTSPOTS": hot, "INCIDENTS": later, "UNITS": network, "TOLERANCE": 20.0, "OUTPUT_HTML": str(report)})
    # n = 4, N = 10, a/A = 100/500: PAI = 0.4/0.2 = 2; best 100 m of street: segment 1 (4 in
    # 100 m) beats 2 (4 in 300 m) and 3 (2 in 100 m): PEI = 1
    assert result["HIT_RATE"] == pytest.approx(0.4) and result["PAI"] == pytest.approx(2.0) and result["PEI"] == pytest.approx(1.0)
    assert "Predictive Accuracy Index" in report.read_text(encoding="utf-8")


def test_a_later_period_outside_the_study_area_is_refused(tmp_path):
    from qgis.core import QgsProcessingException

    hot = write(tmp_path / "h.gpkg", ogr.wkbPolygon, [(square(0, 0), [0])], [("cell", ogr.OFTInteger)])
    area = write(tmp_path / "a.gpkg", ogr.wkbPolygon, [("POLYGON ((0 0, 200 0, 200 200, 0 200, 0 0))", [1])], [("id", ogr.OFTInteger)])
    elsewhere = points(tmp_path / "l.gpkg", [(5000, 5000), (5100, 5000)])
    with pytest.raises(QgsProcessingException, match="No incident of the evaluation period lies in the study area"):
        run({"HOTSPOTS": hot, "INCIDENTS": elsewhere, "STUDY_AREA": area})


def test_only_the_selected_incidents_count(tmp_path, qgis_new_project):
    from qgis.core import QgsProcessingFeatureSourceDefinition, QgsProject, QgsVectorLayer

    hot = write(tmp_path / "h.gpkg", ogr.wkbPolygon, [(square(0, 0), [0])], [("cell", ogr.OFTInteger)])
    area = write(tmp_path / "a.gpkg", ogr.wkbPolygon, [("POLYGON ((0 0, 200 0, 200 200, 0 200, 0 0))", [1])], [("id", ogr.OFTInteger)])
    # 2 incidents in the hot spot and 2 elsewhere in the area; only the first three are selected
    later = QgsVectorLayer(points(tmp_path / "l.gpkg", [(10, 10), (20, 20), (150, 150), (160, 160)]), "later", "ogr")
    QgsProject.instance().addMapLayer(later)
    later.selectByIds([f.id() for f in later.getFeatures() if f["n"] < 3])
    selected = QgsProcessingFeatureSourceDefinition(later.id(), selectedFeaturesOnly=True)
    result = run({"HOTSPOTS": hot, "INCIDENTS": selected, "STUDY_AREA": area})
    assert result["TOTAL"] == 3 and result["CAPTURED"] == 2
