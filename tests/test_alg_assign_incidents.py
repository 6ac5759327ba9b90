"""hotspotpolicing:assignincidents: every incident goes to the segment it was placed on."""

import numpy as np
import pytest
from osgeo import ogr, osr
from qgis.core import NULL, QgsProcessingException, QgsVectorLayer

pytestmark = pytest.mark.usefixtures("provider")


def write(path, kind, rows, fields, epsg=32630):
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(epsg)
    dataset = ogr.GetDriverByName("GPKG").CreateDataSource(str(path))
    layer = dataset.CreateLayer("layer", srs, kind)
    for name, field_type in fields:
        layer.CreateField(ogr.FieldDefn(name, field_type))
    for wkt, values in rows:
        feature = ogr.Feature(layer.GetLayerDefn())
        for (name, _), value in zip(fields, values):
            feature.SetField(name, value)
        feature.SetGeometry(ogr.CreateGeometryFromWkt(wkt))
        layer.CreateFeature(feature)
    dataset = None
    return str(path)


def network(tmp_path):
    """A 3 x 3 block grid (100 m blocks), one feature per street segment, plus a curved segment."""
    segments = []
    for i in range(4):
        for j in range(3):
            segments.append([(j * 100.0, i * 100.0), ((j + 1) * 100.0, i * 100.0)])  # east-west faces
            segments.append([(i * 100.0, j * 100.0), (i * 100.0, (j + 1) * 100.0)])  # north-south faces
    theta = np.linspace(np.pi, 0, 25)
    segments.append(list(zip(450 + 50 * np.cos(theta), 150 + 50 * np.sin(theta))))  # a curved street
    rows = [("LINESTRING (" + ", ".join(f"{x!r} {y!r}" for x, y in s) + ")", [100 + k, f"street {k}"]) for k, s in enumerate(segments)]
    path = write(tmp_path / "segments.gpkg", ogr.wkbLineString, rows, [("segment_id", ogr.OFTInteger), ("name", ogr.OFTString)])
    return path, segments


def place(rng, segments, per_segment=5):
    """Incidents on known segments: at random interior positions, offset sideways < 20 m."""
    xy, truth = [], []
    for k, s in enumerate(segments):
        s = np.array(s)
        for _ in range(per_segment):
            e = rng.integers(len(s) - 1)
            t = rng.uniform(0.3, 0.7) if len(s) == 2 else rng.uniform(0.0, 1.0)
            a, b = s[e], s[e + 1]
            normal = np.array([-(b - a)[1], (b - a)[0]]) / np.hypot(*(b - a))
            xy.append(a + t * (b - a) + normal * rng.uniform(-20, 20) * (1 if len(s) == 2 else 0.2))
            truth.append(k)
    return np.array(xy), np.array(truth)


def run(parameters):
    import processing

    return processing.run("hotspotpolicing:assignincidents", {"OUTPUT": "memory:", **parameters})


def test_every_incident_goes_to_its_true_segment(tmp_path):
    segments_path, segments = network(tmp_path)
    rng = np.random.default_rng(3)
    xy, truth = place(rng, segments)
    weights = rng.uniform(1, 10, len(xy))
    # plus an incident exactly at the junction (100, 100), shared by four faces, and one far away
    xy = np.vstack([xy, [[100.0, 100.0], [2000.0, 2000.0]]])
    weights = np.append(weights, [1.0, 1.0])
    rows = [(f"POINT ({x!r} {y!r})", [i, w]) for i, ((x, y), w) in enumerate(zip(xy, weights))]
    incidents = write(tmp_path / "incidents.gpkg", ogr.wkbPoint, rows, [("incident", ogr.OFTInteger), ("harm", ogr.OFTReal)])
    result = run(
        {"INCIDENTS": incidents, "SEGMENTS": segments_path, "TOLERANCE": 30.0, "WEIGHT_FIELD": "harm", "OUTPUT_INCIDENTS": "memory:"}
    )
    assert result["MATCHED"] == len(truth) + 1 and result["UNMATCHED"] == 1
    by_incident = {f["incident"]: f for f in result["OUTPUT_INCIDENTS"].getFeatures()}
    for i, k in enumerate(truth):
        assert by_incident[i]["segment_id"] == str(100 + k)
    # the junction incident is equidistant from four faces: the lowest segment id wins
    faces_at_junction = [k for k, s in enumerate(segments) if (100.0, 100.0) in [tuple(map(float, p)) for p in (s[0], s[-1])]]
    assert by_incident[len(truth)]["segment_id"] == str(100 + min(faces_at_junction))
    assert by_incident[len(truth)]["snap_distance"] == pytest.approx(0.0)
    assert by_incident[len(truth) + 1]["segment_id"] in (None, NULL)

    counts = {f["segment_id"]: f for f in result["OUTPUT"].getFeatures()}
    for k in range(len(segments)):
        expected = (truth == k).sum() + (k == min(faces_at_junction))
        assert counts[100 + k]["incident_count"] == expected
        expected_weight = weights[:-2][truth == k].sum() + (1.0 if k == min(faces_at_junction) else 0.0)
        assert counts[100 + k]["weight_sum"] == pytest.approx(expected_weight)
    # incidents per km: 5 incidents on a 100 m face = 50 per km
    assert counts[100 + len(segments) - 1]["incidents_per_km"] == pytest.approx(
        5 / (np.pi * 50 * np.sin(np.pi / 48) * 48 / np.pi / 1000), rel=1e-9
    )


def test_separate_intersection_units(tmp_path):
    segments_path, segments = network(tmp_path)
    rows = [("POINT (101 99)", [0]), ("POINT (150 5)", [1]), ("POINT (300 300)", [2])]
    incidents = write(tmp_path / "i.gpkg", ogr.wkbPoint, rows, [("incident", ogr.OFTInteger)])
    result = run(
        {
            "INCIDENTS": incidents,
            "SEGMENTS": segments_path,
            "TOLERANCE": 30.0,
            "INTERSECTION_RULE": 1,
            "INTERSECTION_RADIUS": 10.0,
            "OUTPUT_INTERSECTIONS": "memory:",
        }
    )
    assert result["AT_INTERSECTIONS"] == 1 and result["MATCHED"] == 2
    # (300, 300) is a corner where only two faces meet: no intersection unit, it goes to a face
    nodes = {
        (round(f.geometry().asPoint().x()), round(f.geometry().asPoint().y())): f for f in result["OUTPUT_INTERSECTIONS"].getFeatures()
    }
    assert nodes[(100, 100)]["incident_count"] == 1 and nodes[(100, 100)]["degree"] == 4
    assert (300, 300) not in nodes and nodes[(100, 0)]["degree"] == 3


def test_bad_input(tmp_path):
    segments_path, _ = network(tmp_path)
    incidents = write(tmp_path / "p.gpkg", ogr.wkbPoint, [("POINT (1 1)", [0])], [("incident", ogr.OFTInteger)])
    with pytest.raises(QgsProcessingException, match="greater than 0"):
        run({"INCIDENTS": incidents, "SEGMENTS": segments_path, "TOLERANCE": 0.0})
    empty = write(tmp_path / "e.gpkg", ogr.wkbPoint, [], [("incident", ogr.OFTInteger)])
    with pytest.raises(QgsProcessingException, match="has no features with a geometry"):
        run({"INCIDENTS": empty, "SEGMENTS": segments_path})


def test_multilines_3d_lines_and_zero_length_lines(tmp_path):
    rows = [
        ("MULTILINESTRING ((0 0, 100 0), (0 50, 100 50))", [1, "two parts"]),
        ("LINESTRING Z (0 200 5, 100 200 5)", [2, "with heights"]),
        ("LINESTRING (500 500, 500 500)", [3, "zero length"]),
    ]
    segments = write(tmp_path / "s.gpkg", ogr.wkbUnknown, rows, [("segment_id", ogr.OFTInteger), ("name", ogr.OFTString)])
    points = [("POINT (50 45)", [0]), ("POINT (50 205)", [1]), ("POINT (500 501)", [2])]
    incidents = write(tmp_path / "p.gpkg", ogr.wkbPoint, points, [("incident", ogr.OFTInteger)])
    import processing

    layer = QgsVectorLayer(f"{segments}|geometrytype=LineString", "s", "ogr")
    result = processing.run(
        "hotspotpolicing:assignincidents", {"INCIDENTS": incidents, "SEGMENTS": layer, "TOLERANCE": 10.0, "OUTPUT": "memory:"}
    )
    counts = {f["segment_id"]: f["incident_count"] for f in result["OUTPUT"].getFeatures()}
    assert counts == {1: 1, 2: 1}  # the zero-length line is skipped, its incident unmatched
    assert result["UNMATCHED"] == 1


def test_separate_intersections_on_whole_centre_lines_warn_instead_of_failing(tmp_path):
    """Long lines crossing between their vertices have no segment ends meeting at junctions:
    no intersection units, a warning that says what to do, and every incident still assigned."""
    import processing
    from qgis.core import QgsProcessingContext, QgsProcessingFeedback

    rows = [("LINESTRING (0 100, 400 100)", [1, "East"]), ("LINESTRING (100 0, 100 400)", [2, "North"])]
    lines = write(tmp_path / "lines.gpkg", ogr.wkbLineString, rows, [("segment_id", ogr.OFTInteger), ("name", ogr.OFTString)])
    points = write(tmp_path / "points.gpkg", ogr.wkbPoint, [("POINT (101 101)", [1]), ("POINT (300 105)", [2])], [("k", ogr.OFTInteger)])

    class Kept(QgsProcessingFeedback):
        warnings = []

        def pushWarning(self, warning):  # noqa: N802 - QGIS API
            self.warnings.append(warning)

    feedback = Kept()
    parameters = {"INCIDENTS": points, "SEGMENTS": lines, "INTERSECTION_RULE": 1, "OUTPUT": "memory:", "OUTPUT_INTERSECTIONS": "memory:"}
    result = processing.run("hotspotpolicing:assignincidents", parameters, context=QgsProcessingContext(), feedback=feedback)
    assert result["AT_INTERSECTIONS"] == 0 and result["MATCHED"] == 2
    assert any("Street centre-lines to street segments" in w for w in feedback.warnings)
