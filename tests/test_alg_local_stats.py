"""hotspotpolicing:gistar and hotspotpolicing:localmoran through processing.run: values
against reference values and the textbook formulas, outputs, bad input."""

import csv
import json
import os

import numpy as np
import pytest
from osgeo import ogr, osr
from qgis.core import NULL, QgsProcessingException, QgsProcessingFeedback, QgsVectorLayer
from scipy import stats

from .test_core_local_stats import REFERENCE, textbook_gi_star, textbook_local_moran

pytestmark = pytest.mark.usefixtures("provider")


def write_layer(path, geometries, values, epsg=32630, field_type=ogr.OFTReal):
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(epsg)
    dataset = ogr.GetDriverByName("GPKG").CreateDataSource(str(path))
    kind = ogr.wkbPolygon if geometries[0].startswith("POLYGON") else ogr.wkbPoint
    layer = dataset.CreateLayer("units", srs, kind)
    layer.CreateField(ogr.FieldDefn("label", ogr.OFTString))
    layer.CreateField(ogr.FieldDefn("count", field_type))
    for i, (wkt, value) in enumerate(zip(geometries, values)):
        feature = ogr.Feature(layer.GetLayerDefn())
        feature.SetField("label", f"unit {i}")
        if value is not None:
            feature.SetField("count", value)
        feature.SetGeometry(ogr.CreateGeometryFromWkt(wkt))
        layer.CreateFeature(feature)
    dataset = None
    return str(path)


def square_grid(rows, cols, size=100.0):
    cells, centres = [], []
    for r in range(rows):
        for c in range(cols):
            x, y = c * size, r * size
            cells.append(f"POLYGON (({x} {y}, {x + size} {y}, {x + size} {y + size}, {x} {y + size}, {x} {y}))")
            centres.append((x + size / 2, y + size / 2))
    return cells, np.array(centres)


def run(algorithm, parameters, feedback=None):
    import processing

    result = processing.run(f"hotspotpolicing:{algorithm}", {"OUTPUT": "memory:", **parameters}, feedback=feedback)
    layer = result["OUTPUT"]
    return layer, {name: [f[name] for f in layer.getFeatures()] for name in layer.fields().names()}


def columbus_points(tmp_path):
    with open(os.path.join(REFERENCE, "columbus.csv"), encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    points = [f"POINT ({r['X']} {r['Y']})" for r in rows]
    with open(os.path.join(REFERENCE, "reference_values_esda.json"), encoding="utf-8") as handle:
        reference = json.load(handle)
    return write_layer(tmp_path / "columbus.gpkg", points, [float(r["CRIME"]) for r in rows]), reference


def test_gistar_reproduces_columbus_reference_values(tmp_path):
    source, reference = columbus_points(tmp_path)
    _, band = run("gistar", {"INPUT": source, "FIELD": "count", "WEIGHTS": 0, "DISTANCE": 10.0})
    np.testing.assert_allclose(band["GiZScore"], reference["columbus_gistar_distband10_binary"], atol=1e-9)
    _, knn = run("gistar", {"INPUT": source, "FIELD": "count", "WEIGHTS": 1, "NEIGHBORS": 5})
    np.testing.assert_allclose(knn["GiZScore"], reference["columbus_gistar_knn5_binary"], atol=1e-9)
    assert set(knn["NNeighbors"]) == {5}
    # the input's fields and features are all kept
    assert knn["label"] == [f"unit {i}" for i in range(49)]


def test_gistar_and_local_moran_on_polygon_contiguity_equal_the_textbook(tmp_path):
    cells, centres = square_grid(9, 11)
    rng = np.random.default_rng(21)
    values = rng.poisson(2.0, len(cells)).astype(float)
    values[40:44] += 12  # a planted hot row
    source = write_layer(tmp_path / "grid.gpkg", cells, values)
    queen = (np.maximum(*np.abs(centres[:, None, :] - centres[None, :, :]).transpose(2, 0, 1)) == 100.0).astype(float)

    _, gi = run("gistar", {"INPUT": source, "FIELD": "count", "WEIGHTS": 2})
    expected = textbook_gi_star(values, queen + np.eye(len(values)))
    np.testing.assert_allclose(gi["GiZScore"], expected, atol=1e-6)
    p = 2 * stats.norm.sf(np.abs(expected))
    np.testing.assert_allclose(gi["GiPValue"], p, atol=1e-9)
    expected_bins = np.sign(expected) * np.select([p <= 0.01, p <= 0.05, p <= 0.10], [3, 2, 1], 0)
    np.testing.assert_array_equal(gi["Gi_Bin"], expected_bins)
    assert max(gi["Gi_Bin"][40:44]) == 3
    np.testing.assert_array_equal(gi["NNeighbors"], queen.sum(axis=1))

    _, lm = run("localmoran", {"INPUT": source, "FIELD": "count", "WEIGHTS": 2})
    row_standardised = queen / queen.sum(axis=1, keepdims=True)
    index, score = textbook_local_moran(values, row_standardised)
    np.testing.assert_allclose(lm["LMiIndex"], index, atol=1e-9)
    np.testing.assert_allclose(lm["LMiZScore"], score, atol=1e-6)
    assert {"HH"} <= set(lm["COType"]) <= {"HH", "LL", "HL", "LH", ""}


def test_permutations_are_reproducible_and_fdr_is_stricter(tmp_path):
    cells, _ = square_grid(10, 10)
    values = np.random.default_rng(5).poisson(3.0, 100).astype(float)
    values[:5] += 10
    source = write_layer(tmp_path / "grid.gpkg", cells, values)
    params = {"INPUT": source, "FIELD": "count", "WEIGHTS": 0, "DISTANCE": 150.0, "PERMUTATIONS": 499}
    _, first = run("gistar", {**params, "SEED": 3})
    _, again = run("gistar", {**params, "SEED": 3})
    _, other = run("gistar", {**params, "SEED": 4})
    assert first["GiPValue"] == again["GiPValue"] and first["GiPValue"] != other["GiPValue"]
    assert min(first["GiPValue"]) >= 2 / 500  # 2 (0 + 1) / (R + 1) at most this small
    _, plain = run("gistar", {"INPUT": source, "FIELD": "count", "DISTANCE": 150.0})
    _, fdr = run("gistar", {"INPUT": source, "FIELD": "count", "DISTANCE": 150.0, "FDR": True})
    assert all(abs(a) <= abs(b) for a, b in zip(fdr["Gi_Bin"], plain["Gi_Bin"]))
    assert plain["GiZScore"] == fdr["GiZScore"]


def test_nulls_are_left_out_and_counted(tmp_path):
    cells, centres = square_grid(6, 6)
    values = list(np.arange(36, dtype=float))
    values[7] = None
    _, out = run("gistar", {"INPUT": write_layer(tmp_path / "n.gpkg", cells, values), "FIELD": "count", "DISTANCE": 150.0})
    assert out["GiZScore"][7] in (None, NULL)
    kept = np.array([v for v in values if v is not None])
    keep = [i for i in range(36) if i != 7]
    distances = np.hypot(*(centres[keep][:, None, :] - centres[keep][None, :, :]).transpose(2, 0, 1))
    expected = textbook_gi_star(kept, (distances <= 150.0).astype(float))
    np.testing.assert_allclose([out["GiZScore"][i] for i in keep], expected, atol=1e-6)


@pytest.mark.parametrize(
    "case,message",
    [
        ("zero_variance", "zero variance"),
        ("too_few", "at least 3"),
        ("all_isolated", "A distance band of at least"),
        ("contiguity_points", "Contiguity needs polygons"),
        ("k_too_large", "needs more than"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(tmp_path, case, message):
    cells, centres = square_grid(5, 5)
    points = [f"POINT ({x} {y})" for x, y in centres]
    values = list(np.arange(25, dtype=float))
    params = {"FIELD": "count", "WEIGHTS": 0, "DISTANCE": 150.0}
    if case == "zero_variance":
        params["INPUT"] = write_layer(tmp_path / "z.gpkg", cells, [4.0] * 25)
    elif case == "too_few":
        params["INPUT"] = write_layer(tmp_path / "f.gpkg", cells, values[:2] + [None] * 23)
    elif case == "all_isolated":
        params["INPUT"] = write_layer(tmp_path / "i.gpkg", points, values)
        params["DISTANCE"] = 50.0
    elif case == "contiguity_points":
        params["INPUT"] = write_layer(tmp_path / "c.gpkg", points, values)
        params["WEIGHTS"] = 2
    elif case == "k_too_large":
        params["INPUT"] = write_layer(tmp_path / "k.gpkg", points, values)
        params.update(WEIGHTS=1, NEIGHBORS=30)
    with pytest.raises(QgsProcessingException, match=message):
        run("gistar", params)


def test_isolated_features_get_null_and_a_warning(tmp_path):
    _, centres = square_grid(5, 5)
    points = [f"POINT ({x} {y})" for x, y in centres] + ["POINT (5000 5000)"]
    values = list(np.arange(26, dtype=float))
    feedback = QgsProcessingFeedback()
    warnings = []
    feedback.pushWarning = warnings.append
    layer, out = run("gistar", {"INPUT": write_layer(tmp_path / "o.gpkg", points, values), "FIELD": "count", "DISTANCE": 150.0}, feedback)
    assert isinstance(layer, QgsVectorLayer) and layer.featureCount() == 26
    assert out["GiZScore"][-1] in (None, NULL) and out["NNeighbors"][-1] in (None, NULL)
    assert any("1 of 26 features have no neighbour" in w for w in warnings)
    assert all(isinstance(v, float) for v in out["GiZScore"][:-1])


def test_geographic_input_is_measured_in_metres(tmp_path):
    source, reference = columbus_points(tmp_path)
    # Columbus coordinates read as metres around UTM 30N, written as lon/lat.
    utm, wgs = osr.SpatialReference(), osr.SpatialReference()
    utm.ImportFromEPSG(32630)
    wgs.ImportFromEPSG(4326)
    for srs in (utm, wgs):
        srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    with open(os.path.join(REFERENCE, "columbus.csv"), encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    xy = np.array([[float(r["X"]) * 1000 + 440000, float(r["Y"]) * 1000 + 4470000] for r in rows])
    lonlat = osr.CoordinateTransformation(utm, wgs).TransformPoints(xy.tolist())
    points = [f"POINT ({lon!r} {lat!r})" for lon, lat, _ in lonlat]
    geographic = write_layer(tmp_path / "wgs.gpkg", points, [float(r["CRIME"]) for r in rows], epsg=4326)
    _, out = run("gistar", {"INPUT": geographic, "FIELD": "count", "WEIGHTS": 0, "DISTANCE": 10000.0})
    np.testing.assert_allclose(out["GiZScore"], reference["columbus_gistar_distband10_binary"], atol=1e-6)


def test_irregular_polygons_equal_the_textbook(tmp_path):
    # A grid whose shared vertices are jittered: irregular quadrilaterals that still meet at
    # corners, so queen neighbours are the grid's and centroids are no longer a lattice.
    rng = np.random.default_rng(13)
    rows, cols = 8, 9
    vx = np.arange(cols + 1)[None, :] * 100.0 + rng.uniform(-30, 30, (rows + 1, cols + 1))
    vy = np.arange(rows + 1)[:, None] * 100.0 + rng.uniform(-30, 30, (rows + 1, cols + 1))
    polygons, centroids = [], []
    for r in range(rows):
        for c in range(cols):
            ring = [(vx[r, c], vy[r, c]), (vx[r, c + 1], vy[r, c + 1]), (vx[r + 1, c + 1], vy[r + 1, c + 1]), (vx[r + 1, c], vy[r + 1, c])]
            polygons.append("POLYGON ((" + ", ".join(f"{x!r} {y!r}" for x, y in ring + ring[:1]) + "))")
            # shoelace centroid, written out here independently of QGIS
            xs, ys = np.array([p[0] for p in ring]), np.array([p[1] for p in ring])
            cross = xs * np.roll(ys, -1) - np.roll(xs, -1) * ys
            area = cross.sum() / 2
            centroids.append(((xs + np.roll(xs, -1)) @ cross / (6 * area), (ys + np.roll(ys, -1)) @ cross / (6 * area)))
    centroids = np.array(centroids)
    values = rng.gamma(2.0, 2.0, rows * cols)
    source = write_layer(tmp_path / "irregular.gpkg", polygons, values)
    index = np.array([(r, c) for r in range(rows) for c in range(cols)])
    queen = (np.abs(index[:, None, :] - index[None, :, :]).max(axis=2) == 1).astype(float)

    _, gi = run("gistar", {"INPUT": source, "FIELD": "count", "WEIGHTS": 2})
    np.testing.assert_allclose(gi["GiZScore"], textbook_gi_star(values, queen + np.eye(len(values))), atol=1e-6)
    _, lm = run("localmoran", {"INPUT": source, "FIELD": "count", "WEIGHTS": 2})
    expected_index, expected_z = textbook_local_moran(values, queen / queen.sum(axis=1, keepdims=True))
    np.testing.assert_allclose(lm["LMiIndex"], expected_index, atol=1e-9)
    np.testing.assert_allclose(lm["LMiZScore"], expected_z, atol=1e-6)

    _, band = run("gistar", {"INPUT": source, "FIELD": "count", "WEIGHTS": 0, "DISTANCE": 130.0})
    distances = np.hypot(*(centroids[:, None, :] - centroids[None, :, :]).transpose(2, 0, 1))
    np.testing.assert_allclose(band["GiZScore"], textbook_gi_star(values, (distances <= 130.0).astype(float)), atol=1e-6)


def test_street_network_neighbours_on_block_faces(tmp_path):
    # a 4 x 4 block grid of separate block-face lines; neighbours share a junction
    faces = []
    for i in range(5):
        for j in range(4):
            faces.append(((j * 100.0, i * 100.0), ((j + 1) * 100.0, i * 100.0)))
            faces.append(((i * 100.0, j * 100.0), (i * 100.0, (j + 1) * 100.0)))
    values = np.random.default_rng(17).poisson(3.0, len(faces)).astype(float)
    values[7] += 20
    lines = [f"LINESTRING ({a[0]} {a[1]}, {b[0]} {b[1]})" for a, b in faces]
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32630)
    path = str(tmp_path / "faces.gpkg")
    dataset = ogr.GetDriverByName("GPKG").CreateDataSource(path)
    layer = dataset.CreateLayer("faces", srs, ogr.wkbLineString)
    layer.CreateField(ogr.FieldDefn("count", ogr.OFTReal))
    for wkt, value in zip(lines, values):
        feature = ogr.Feature(layer.GetLayerDefn())
        feature.SetField("count", float(value))
        feature.SetGeometry(ogr.CreateGeometryFromWkt(wkt))
        layer.CreateFeature(feature)
    dataset = None
    ends = [{a, b} for a, b in faces]
    touching = np.array([[float(i != j and bool(ends[i] & ends[j])) for j in range(len(faces))] for i in range(len(faces))])
    two_steps = ((touching + touching @ touching) > 0).astype(float)
    np.fill_diagonal(two_steps, 0.0)
    for steps, adjacency in ((1, touching), (2, two_steps)):
        _, gi = run("gistar", {"INPUT": path, "FIELD": "count", "WEIGHTS": 3, "NETWORK_STEPS": steps})
        np.testing.assert_allclose(gi["GiZScore"], textbook_gi_star(values, adjacency + np.eye(len(faces))), atol=1e-6)
        np.testing.assert_array_equal(gi["NNeighbors"], adjacency.sum(axis=1))
    _, lm = run("localmoran", {"INPUT": path, "FIELD": "count", "WEIGHTS": 3})
    index, z = textbook_local_moran(values, touching / touching.sum(axis=1, keepdims=True))
    np.testing.assert_allclose(lm["LMiZScore"], z, atol=1e-6)
    with pytest.raises(QgsProcessingException, match="need line segments"):
        run(
            "gistar",
            {
                "INPUT": write_layer(tmp_path / "p.gpkg", ["POINT (0 0)", "POINT (1 1)", "POINT (2 2)"], [1.0, 2.0, 3.0]),
                "FIELD": "count",
                "WEIGHTS": 3,
            },
        )
