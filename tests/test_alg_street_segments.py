"""hotspotpolicing:streetsegments, and the street-segment workflow on the sample city: the
planted single-segment hot spot is found."""

import pytest
from osgeo import ogr
from qgis.core import QgsGeometry, QgsPointXY, QgsProcessingException, QgsVectorLayer

from .conftest import SAMPLE_CITY
from .test_alg_assign_incidents import write

pytestmark = pytest.mark.usefixtures("provider")


def run(algorithm, parameters):
    import processing

    return processing.run(f"hotspotpolicing:{algorithm}", parameters)


def test_segments_keep_attributes_and_get_id_and_length(tmp_path):
    rows = [("MULTILINESTRING ((0 0, 300 0))", [7, "Main Street"]), ("LINESTRING (100 -50, 100 50)", [8, "Cross Street"])]
    source = write(tmp_path / "c.gpkg", ogr.wkbMultiLineString, rows, [("street_id", ogr.OFTInteger), ("street_name", ogr.OFTString)])
    layer = QgsVectorLayer(f"{source}|geometrytype=MultiLineString", "c", "ogr")
    result = run("streetsegments", {"INPUT": layer, "TOLERANCE": 1.0, "OUTPUT": str(tmp_path / "s.gpkg")})
    out = QgsVectorLayer(result["OUTPUT"], "s", "ogr")
    rows = sorted((f["street_name"], f["segment_id"], round(f["length"], 6)) for f in out.getFeatures())
    assert result["SEGMENT_COUNT"] == 4
    assert rows == [("Cross Street", 3, 50.0), ("Cross Street", 4, 50.0), ("Main Street", 1, 100.0), ("Main Street", 2, 200.0)]


def test_bad_input(tmp_path):
    points = write(tmp_path / "p.gpkg", ogr.wkbPoint, [("POINT (1 1)", [1])], [("n", ogr.OFTInteger)])
    with pytest.raises(QgsProcessingException):
        run("streetsegments", {"INPUT": points, "OUTPUT": "memory:"})
    lines = write(tmp_path / "l.gpkg", ogr.wkbLineString, [("LINESTRING (0 0, 1 1)", [1])], [("n", ogr.OFTInteger)])
    with pytest.raises(QgsProcessingException, match="greater than 0"):
        run("streetsegments", {"INPUT": lines, "TOLERANCE": 0.0, "OUTPUT": "memory:"})


def test_sample_city_single_segment_hot_spot_is_found(tmp_path):
    segments = run("streetsegments", {"INPUT": f"{SAMPLE_CITY}|layername=streets", "OUTPUT": str(tmp_path / "segments.gpkg")})
    assert 1500 <= segments["SEGMENT_COUNT"] <= 4000  # "a few thousand street segments"
    counted = run(
        "assignincidents",
        {"INCIDENTS": f"{SAMPLE_CITY}|layername=incidents", "SEGMENTS": segments["OUTPUT"], "TOLERANCE": 20.0, "OUTPUT": "memory:"},
    )
    layer = counted["OUTPUT"]
    dataset = ogr.Open(SAMPLE_CITY)  # kept open while its layer is read
    truth = next(f for f in dataset.GetLayerByName("planted_hotspots") if f.GetField("kind") == "single_segment")
    centre = QgsGeometry.fromPointXY(QgsPointXY(truth.GetField("centre_x"), truth.GetField("centre_y")))
    planted = min(layer.getFeatures(), key=lambda f: f.geometry().distance(centre))
    assert planted["street_name"] == "Rowan Street"
    assert planted["length"] == pytest.approx(2 * truth.GetField("radius_m"), rel=0.02)  # the whole street segment, junction to junction
    assert planted["incident_count"] >= truth.GetField("n_incidents")
    ranked = sorted((f["incident_count"] for f in layer.getFeatures()), reverse=True)
    assert planted["incident_count"] >= ranked[int(0.01 * len(ranked))]  # in the top 1 % of segments


def test_self_overlapping_and_zero_length_lines_are_skipped(tmp_path):
    rows = [
        ("LINESTRING (0 0, 300 0)", [1, "Main Street"]),
        ("LINESTRING (0 50, 100 50, 40 50)", [2, "Folded Lane"]),  # runs back over itself
        ("LINESTRING (500 500, 500 500)", [3, "Nowhere"]),  # zero length
    ]
    source = write(tmp_path / "o.gpkg", ogr.wkbLineString, rows, [("street_id", ogr.OFTInteger), ("street_name", ogr.OFTString)])
    result = run("streetsegments", {"INPUT": source, "OUTPUT": "memory:"})
    assert [f["street_name"] for f in result["OUTPUT"].getFeatures()] == ["Main Street"]
