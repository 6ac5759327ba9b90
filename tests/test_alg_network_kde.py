"""hotspotpolicing:networkkde end to end: lixels from a GeoPackage of centre-lines, DENSITY per
km against a network distance sum worked out here, mass conservation of the split kernels, the
three methods equal on one straight street, units, styles, the sample city."""

import heapq

import numpy as np
import pytest
from osgeo import ogr, osr
from qgis.core import QgsProcessingException, QgsVectorLayer

from .conftest import SAMPLE_CITY

pytestmark = pytest.mark.usefixtures("provider")


def write(path, lines, points):
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32630)
    dataset = ogr.GetDriverByName("GPKG").CreateDataSource(str(path))
    streets = dataset.CreateLayer("streets", srs, ogr.wkbLineString)
    streets.CreateField(ogr.FieldDefn("street_name", ogr.OFTString))
    for k, coordinates in enumerate(lines):
        feature = ogr.Feature(streets.GetLayerDefn())
        feature.SetField("street_name", f"Street {k}")
        feature.SetGeometry(ogr.CreateGeometryFromWkt("LINESTRING (" + ", ".join(f"{x} {y}" for x, y in coordinates) + ")"))
        streets.CreateFeature(feature)
    incidents = dataset.CreateLayer("incidents", srs, ogr.wkbPoint)
    for x, y in points:
        feature = ogr.Feature(incidents.GetLayerDefn())
        feature.SetGeometry(ogr.CreateGeometryFromWkt(f"POINT ({x} {y})"))
        incidents.CreateFeature(feature)
    dataset = None
    return f"{path}|layername=streets", f"{path}|layername=incidents"


def run(streets, incidents, **parameters):
    import processing

    return processing.run("hotspotpolicing:networkkde", {"INPUT": incidents, "NETWORK": streets, "OUTPUT": "memory:", **parameters})


def lixels(result):
    rows = list(result["OUTPUT"].getFeatures())
    return rows, np.array([r["DENSITY"] for r in rows]), np.array([r.geometry().length() for r in rows])


def quartic_1d(d, h):
    return np.where(np.abs(d) < h, 15 / (16 * h) * (1 - (d / h) ** 2) ** 2, 0.0)


X0, Y0 = 440000.0, 4470000.0


def test_one_straight_street_all_methods_equal_and_integrate_to_the_count(tmp_path):
    streets, incidents = write(tmp_path / "line.gpkg", [[(X0, Y0), (X0 + 2000, Y0)]], [(X0 + 700, Y0 + 5), (X0 + 1000, Y0 - 3)])
    densities = []
    for method in (0, 1, 2):
        _, density, length = lixels(run(streets, incidents, METHOD=method, BANDWIDTH=200.0, LIXEL_LENGTH=2.0))
        assert (density * length).sum() / 1000 == pytest.approx(2.0, rel=1e-6)  # per km: two incidents in all
        densities.append(density)
    assert np.allclose(densities[0], densities[1], atol=1e-9) and np.allclose(densities[0], densities[2], atol=1e-9)
    rows, density, _ = lixels(run(streets, incidents, BANDWIDTH=200.0, LIXEL_LENGTH=2.0))
    middle = np.array([r.geometry().centroid().asPoint().x() - X0 for r in rows])
    expected = 1000 * (quartic_1d(middle - 700, 200.0) + quartic_1d(middle - 1000, 200.0))
    assert np.allclose(density, expected, rtol=1e-9, atol=1e-9)


def grid_network(n=4, block=100.0):
    """Centre-lines of an n x n block grid, each street one line through its junctions."""
    lines = [[(X0, Y0 + k * block), (X0 + n * block, Y0 + k * block)] for k in range(n + 1)]
    lines += [[(X0 + k * block, Y0), (X0 + k * block, Y0 + n * block)] for k in range(n + 1)]
    return lines


def shortest_along_grid(points, targets, n=4, block=100.0):
    """Network distances on the block grid by a Dijkstra written here (nodes at junctions, the
    points inserted on their edges)."""
    nodes = {(i, j): (X0 + i * block, Y0 + j * block) for i in range(n + 1) for j in range(n + 1)}
    edges = {}

    def link(a, b, length):
        edges.setdefault(a, []).append((b, length))
        edges.setdefault(b, []).append((a, length))

    def on_edge(name, x, y):
        i, j = (x - X0) / block, (y - Y0) / block
        if abs(j - round(j)) < 1e-9:  # on a horizontal street
            left = (int(np.floor(i)), round(j))
            right = (left[0] + 1, left[1])
            link(name, left, x - nodes[left][0])
            link(name, right, nodes[right][0] - x)
        else:
            low = (round(i), int(np.floor(j)))
            high = (low[0], low[1] + 1)
            link(name, low, y - nodes[low][1])
            link(name, high, nodes[high][1] - y)

    for i in range(n + 1):
        for j in range(n + 1):
            if i < n:
                link((i, j), (i + 1, j), block)
            if j < n:
                link((i, j), (i, j + 1), block)
    for k, (x, y) in enumerate(points):
        on_edge(("p", k), x, y)
    distances = np.full((len(points), len(targets)), np.inf)
    for k in range(len(points)):
        best = {("p", k): 0.0}
        queue = [(0.0, ("p", k))]
        while queue:
            d, node = heapq.heappop(queue)
            if d > best.get(node, np.inf):
                continue
            for other, length in edges.get(node, []):
                if d + length < best.get(other, np.inf):
                    best[other] = d + length
                    heapq.heappush(queue, (d + length, other))
        for t, (x, y) in enumerate(targets):  # a target on an edge: the nearer way in from its ends
            i, j = (x - X0) / block, (y - Y0) / block
            if abs(j - round(j)) < 1e-9:
                a, b = (int(np.floor(i)), round(j)), (int(np.floor(i)) + 1, round(j))
                via = min(best[a] + x - nodes[a][0], best[b] + nodes[b][0] - x)
            else:
                a, b = (round(i), int(np.floor(j))), (round(i), int(np.floor(j)) + 1)
                via = min(best[a] + y - nodes[a][1], best[b] + nodes[b][1] - y)
            same = abs(points[k][1] - y) < 1e-9 and abs(j - round(j)) < 1e-9 and int(np.floor((points[k][0] - X0) / block)) == a[0]
            same |= abs(points[k][0] - x) < 1e-9 and abs(i - round(i)) < 1e-9 and int(np.floor((points[k][1] - Y0) / block)) == a[1]
            direct = abs(points[k][0] - x) + abs(points[k][1] - y) if same else np.inf
            distances[k, t] = min(via, direct)
    return distances


def test_simple_equals_a_network_distance_sum_worked_out_here(tmp_path):
    rng = np.random.default_rng(4)
    points = []
    for _ in range(12):  # on random streets of the grid, away from junctions
        along, street = rng.uniform(5, 395), rng.integers(0, 5) * 100.0
        points.append((X0 + along, Y0 + street) if rng.random() < 0.5 else (X0 + street, Y0 + along))
    streets, incidents = write(tmp_path / "grid.gpkg", grid_network(), points)
    rows, density, _ = lixels(run(streets, incidents, BANDWIDTH=150.0, LIXEL_LENGTH=10.0))
    middles = []
    for r in rows:  # the lixel's midpoint along its street (lixels are straight here)
        line = r.geometry().asPolyline()
        middles.append(((line[0].x() + line[-1].x()) / 2, (line[0].y() + line[-1].y()) / 2))
    distance = shortest_along_grid(points, middles)
    expected = 1000 * quartic_1d(distance, 150.0).sum(axis=0)
    assert np.allclose(density, expected, rtol=1e-6, atol=1e-9)


def test_split_kernels_conserve_each_incident_away_from_dead_ends(tmp_path):
    """A ring road round a grid: no dead end within reach of the incidents in the middle."""
    points = [(X0 + 200, Y0 + 150), (X0 + 250, Y0 + 200), (X0 + 200, Y0 + 235)]
    streets, incidents = write(tmp_path / "grid.gpkg", grid_network(), points)
    for method in (1, 2):
        _, density, length = lixels(run(streets, incidents, METHOD=method, BANDWIDTH=150.0, LIXEL_LENGTH=0.5, KERNEL=2))
        assert (density * length).sum() / 1000 == pytest.approx(len(points), rel=1e-5)  # the midpoint rule's error only
    _, simple, length = lixels(run(streets, incidents, METHOD=0, BANDWIDTH=150.0, LIXEL_LENGTH=5.0, KERNEL=2))
    assert (simple * length).sum() / 1000 > len(points) * 1.5  # the simple kernel multiplies at every junction


def test_sample_city_outputs_fields_units_and_style(tmp_path):
    result = run(
        f"{SAMPLE_CITY}|layername=streets",
        f"{SAMPLE_CITY}|layername=incidents",
        OUTPUT=str(tmp_path / "lixels.gpkg"),
        OUTPUT_SEGMENTS=str(tmp_path / "segments.gpkg"),
    )
    layer = QgsVectorLayer(result["OUTPUT"])
    assert {"street_name", "segment_id", "DENSITY"} <= set(layer.fields().names())
    assert layer.renderer().type() == "graduatedSymbol" and layer.renderer().classAttribute() == "DENSITY"
    assert result["BANDWIDTH_USED"] > 0 and result["SEGMENT_COUNT"] == 2174
    segments = {f["segment_id"]: f for f in QgsVectorLayer(result["OUTPUT_SEGMENTS"]).getFeatures()}
    assert len(segments) == 2174
    rows = list(layer.getFeatures())
    peak = max(rows, key=lambda r: r["DENSITY"])
    assert segments[peak["segment_id"]]["DENSITY_PEAK"] == pytest.approx(peak["DENSITY"])
    rowan = [r["DENSITY"] for r in rows if r["street_name"] == "Rowan Street"]
    assert max(rowan) > np.percentile([r["DENSITY"] for r in rows], 95)  # the planted drug-market block face


def test_refusals(tmp_path):
    streets, incidents = write(tmp_path / "far.gpkg", [[(X0, Y0), (X0 + 100, Y0)]], [(X0 + 5000, Y0 + 5000)])
    with pytest.raises(QgsProcessingException, match="No incident .* within"):
        run(streets, incidents, BANDWIDTH=100.0)
    with pytest.raises(QgsProcessingException, match="LIXEL_LENGTH"):
        run(streets, incidents, LIXEL_LENGTH=0.0)
