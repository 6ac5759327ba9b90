"""hotspotpolicing:hotstreets on raw centre-lines (long streets crossing without shared
vertices, as cities publish them): segments, counts and Gi* equal an independent computation."""

import numpy as np
import pytest
from osgeo import ogr
from qgis.core import NULL, QgsProcessingException, QgsVectorLayer
from scipy import stats

from .test_alg_assign_incidents import write

pytestmark = pytest.mark.usefixtures("provider")

BLOCK = 100.0
STREETS = 6  # per direction: lines at 0, 100, ... 500 m, each running 50 m past the grid (dead-end stubs)


def raw_centrelines(tmp_path):
    """One feature per whole street, crossing the others between its vertices."""
    rows = []
    for k in range(STREETS):
        c = k * BLOCK
        rows.append((f"LINESTRING (-50 {c}, 233.3 {c}, 550 {c})", [f"East St {k}", 30]))
        rows.append((f"LINESTRING ({c} -50, {c} 550)", [f"North Ave {k}", 50]))
    return write(tmp_path / "centrelines.gpkg", ogr.wkbLineString, rows, [("name", ogr.OFTString), ("speed", ogr.OFTInteger)])


def incidents(tmp_path, rng, count=400):
    """Most incidents near the block faces around (200, 200), the rest anywhere, a few far off."""
    hot = np.column_stack([rng.uniform(150, 260, count // 2), np.full(count // 2, 200.0) + rng.normal(0, 4, count // 2)])
    spread = rng.uniform(-40, 540, (count // 2, 2))
    street = rng.integers(0, STREETS, count // 2) * BLOCK
    vertical = rng.random(count // 2) < 0.5
    spread[vertical, 0], spread[~vertical, 1] = street[vertical], street[~vertical]
    xy = np.vstack([hot, spread + rng.normal(0, 3, spread.shape), [[5000.0, 5000.0], [-900.0, 30.0]]])
    harm = rng.integers(1, 20, len(xy)).astype(float)
    rows = [(f"POINT ({x!r} {y!r})", [float(h)]) for (x, y), h in zip(xy, harm)]
    return write(tmp_path / "incidents.gpkg", ogr.wkbPoint, rows, [("harm", ogr.OFTReal)]), xy, harm


def run(**parameters):
    import processing

    defaults = {"SNAP_TOLERANCE": 30.0, "OUTPUT": "memory:"}
    return processing.run("hotspotpolicing:hotstreets", {**defaults, **parameters})


def read_output(layer):
    features = list(layer.getFeatures())
    lines = [np.array([(p.x(), p.y()) for p in f.geometry().constGet().points()]) for f in features]
    table = {name: [f[name] for f in features] for name in layer.fields().names()}
    return lines, table


def point_to_line(px, py, line):
    a, b = line[:-1], line[1:]
    d = b - a
    t = np.clip(((px[:, None] - a[:, 0]) * d[:, 0] + (py[:, None] - a[:, 1]) * d[:, 1]) / (d * d).sum(axis=1), 0, 1)
    return np.hypot(px[:, None] - (a[:, 0] + t * d[:, 0]), py[:, None] - (a[:, 1] + t * d[:, 1])).min(axis=1)


def walking_neighbours(lines, distance):
    """Segments within ``distance`` along the streets, end to end (textbook Floyd-Warshall)."""
    ends = np.array([[line[0], line[-1]] for line in lines]).reshape(-1, 2)
    keys, node = np.unique(np.round(ends, 3), axis=0, return_inverse=True)
    node = node.reshape(-1, 2)
    walk = np.full((len(keys), len(keys)), np.inf)
    np.fill_diagonal(walk, 0)
    for (a, b), line in zip(node, lines):
        length = np.hypot(*np.diff(line, axis=0).T).sum()
        walk[a, b] = walk[b, a] = min(walk[a, b], length)
    for k in range(len(keys)):
        walk = np.minimum(walk, walk[:, [k]] + walk[[k], :])
    gap = np.min([walk[node[:, i]][:, node[:, j]] for i in (0, 1) for j in (0, 1)], axis=0)
    neighbours = (gap <= distance + 1e-9).astype(float)
    np.fill_diagonal(neighbours, 0)
    return neighbours


def gi_star_textbook(x, neighbours):
    """Ord & Getis (1995) G*_i with binary weights and the self weight 1."""
    n = len(x)
    w = neighbours + np.eye(n)
    mean, s = x.mean(), np.sqrt((x * x).mean() - x.mean() ** 2)
    w_sum, w_sum2 = w.sum(axis=1), (w * w).sum(axis=1)
    return (w @ x - mean * w_sum) / (s * np.sqrt((n * w_sum2 - w_sum**2) / (n - 1)))


@pytest.mark.parametrize("distance", [0.0, 150.0])
def test_raw_centrelines_give_segments_counts_and_gi_star_of_an_independent_computation(tmp_path, distance):
    streets = raw_centrelines(tmp_path)
    path, xy, _ = incidents(tmp_path, np.random.default_rng(1))

    result = run(INCIDENTS=path, STREETS=streets, NEIGHBORHOOD=distance, PERMUTATIONS=0, FDR=False)
    lines, table = read_output(result["OUTPUT"])

    # 12 streets cut at the 6 crossings each: 5 blocks + 2 dead-end stubs per street
    assert result["SEGMENT_COUNT"] == len(lines) == 2 * STREETS * 7
    assert {"name", "speed", "segment_id", "incident_count", "weight_sum", "incidents_per_km", "GiZScore", "GiPValue", "Gi_Bin"} <= set(
        table
    )
    lengths = np.array([np.hypot(*np.diff(line, axis=0).T).sum() for line in lines])
    assert sorted(set(np.round(lengths, 6))) == [50.0, 100.0]  # nothing counted per whole street
    # each incident to its nearest segment, by brute force over the output's own lines
    distances = np.column_stack([point_to_line(xy[:, 0], xy[:, 1], line) for line in lines])
    near = distances.min(axis=1) <= 30.0
    expected_counts = np.bincount(distances.argmin(axis=1)[near], minlength=len(lines))
    ties = (np.sort(distances, axis=1)[:, 1] - distances.min(axis=1) < 1e-6) & near
    assert result["UNMATCHED"] == 2 and result["MATCHED"] == len(xy) - 2
    np.testing.assert_allclose(table["incident_count"], expected_counts, atol=ties.sum())
    assert sum(table["incident_count"]) == near.sum()
    np.testing.assert_allclose(table["incidents_per_km"], np.array(table["incident_count"]) / (lengths / 1000))

    used = np.median(lengths) / 2 if distance == 0 else distance
    assert result["NEIGHBORHOOD_USED"] == pytest.approx(used)
    neighbours = walking_neighbours(lines, used)
    z = gi_star_textbook(np.array(table["incident_count"], dtype=float), neighbours)
    np.testing.assert_allclose(table["GiZScore"], z, rtol=1e-9)
    np.testing.assert_allclose(table["GiPValue"], 2 * stats.norm.sf(np.abs(z)), rtol=1e-9)
    p = np.array(table["GiPValue"])
    np.testing.assert_array_equal(table["Gi_Bin"], np.sign(z) * np.select([p <= 0.01, p <= 0.05, p <= 0.10], [3, 2, 1], 0))
    np.testing.assert_array_equal(table["NNeighbors"], neighbours.sum(axis=1))
    # the two block faces where the incidents concentrate are hot streets with 99 % confidence
    hot_faces = [k for k, line in enumerate(lines) if np.allclose(line[:, 1], 200.0) and 100 <= line[:, 0].min() <= 200]
    assert len(hot_faces) == 2 and all(table["Gi_Bin"][k] >= (3 if distance == 0 else 1) for k in hot_faces)
    assert result["HOT_SEGMENTS"] == int((np.array(table["Gi_Bin"]) > 0).sum()) > 0


def test_harm_weights_and_permutations_repeat_with_a_seed_and_fdr_is_on_by_default(tmp_path):
    streets = raw_centrelines(tmp_path)
    path, xy, harm = incidents(tmp_path, np.random.default_rng(2))

    first = run(INCIDENTS=path, STREETS=streets, WEIGHT_FIELD="harm", PERMUTATIONS=999, SEED=7)
    again = run(INCIDENTS=path, STREETS=streets, WEIGHT_FIELD="harm", PERMUTATIONS=999, SEED=7)
    lines, table = read_output(first["OUTPUT"])
    _, repeat = read_output(again["OUTPUT"])

    assert table["GiPValue"] == repeat["GiPValue"]
    assert all(p > 0 and p <= 1 for p in table["GiPValue"])
    # 999 permutations: p is a multiple of 2/1000
    assert np.allclose(np.array(table["GiPValue"]) * 500, np.round(np.array(table["GiPValue"]) * 500))
    distances = np.column_stack([point_to_line(xy[:, 0], xy[:, 1], line) for line in lines])
    near = distances.min(axis=1) <= 30.0
    assert sum(table["weight_sum"]) == pytest.approx(harm[near].sum())
    z = gi_star_textbook(np.array(table["weight_sum"]), walking_neighbours(lines, first["NEIGHBORHOOD_USED"]))
    np.testing.assert_allclose(table["GiZScore"], z, rtol=1e-9)  # the statistic is on the harm
    # FDR on by default: each level is the Benjamini-Hochberg step-up at 10, 5 and 1 %
    p = np.array(table["GiPValue"])
    ranked = np.sort(p)
    expected = np.zeros(len(p))
    for level, alpha in ((1, 0.10), (2, 0.05), (3, 0.01)):
        passing = np.flatnonzero(ranked <= alpha * np.arange(1, len(p) + 1) / len(p))
        if len(passing):
            expected[p <= ranked[passing[-1]]] = level
    np.testing.assert_array_equal(table["Gi_Bin"], np.sign(z) * expected)
    assert (expected > 0).any() and (expected > 0).sum() < (p <= 0.10).sum()


def test_isolated_segments_get_null_statistics(tmp_path):
    streets = raw_centrelines(tmp_path)
    layer = QgsVectorLayer(streets, "streets", "ogr")
    provider = layer.dataProvider()
    from qgis.core import QgsFeature, QgsGeometry

    lonely = QgsFeature(layer.fields())
    lonely.setAttributes([None, "Lonely Lane", 20])
    lonely.setGeometry(QgsGeometry.fromWkt("LINESTRING (900 900, 1000 900)"))
    provider.addFeatures([lonely])
    path, _, _ = incidents(tmp_path, np.random.default_rng(3))

    lines, table = read_output(run(INCIDENTS=path, STREETS=streets, PERMUTATIONS=0)["OUTPUT"])

    lonely_row = table["name"].index("Lonely Lane")
    assert table["GiZScore"][lonely_row] == NULL and table["Gi_Bin"][lonely_row] == NULL
    assert table["NNeighbors"][lonely_row] == 0
    assert sum(value == NULL for value in table["GiZScore"]) == 1


def test_lines_that_never_meet_and_incidents_elsewhere_are_refused_with_the_reason(tmp_path):
    rows = [(f"LINESTRING ({k * 100} 0, {k * 100 + 50} 0)", [f"Street {k}"]) for k in range(10)]
    apart = write(tmp_path / "apart.gpkg", ogr.wkbLineString, rows, [("name", ogr.OFTString)])
    points = [(f"POINT ({k * 100 + 25} 5)", [1.0]) for k in range(10)] * 3
    near = write(tmp_path / "near.gpkg", ogr.wkbPoint, points, [("harm", ogr.OFTReal)])
    with pytest.raises(QgsProcessingException, match="meets another.*NODE_TOLERANCE"):
        run(INCIDENTS=near, STREETS=apart)

    far = write(tmp_path / "far.gpkg", ogr.wkbPoint, [("POINT (90000 90000)", [1.0])], [("harm", ogr.OFTReal)])
    with pytest.raises(QgsProcessingException, match="No incident of 'far' is within 30 of a street of 'centrelines'"):
        run(INCIDENTS=far, STREETS=raw_centrelines(tmp_path))


def test_defaults_find_the_hot_street_and_a_permutation_floor_is_explained(tmp_path):
    """Defaults (analytical p, FDR) confirm a clear hot street; too few permutations for FDR
    over many segments confirm none, and the log says why instead of a silent empty map."""
    import processing
    from qgis.core import QgsProcessingContext, QgsProcessingFeedback

    streets = raw_centrelines(tmp_path)
    path, _, _ = incidents(tmp_path, np.random.default_rng(5))
    _, table = read_output(run(INCIDENTS=path, STREETS=streets)["OUTPUT"])
    assert max(table["Gi_Bin"]) == 3

    class Kept(QgsProcessingFeedback):
        warnings = []

        def pushWarning(self, warning):  # noqa: N802 - QGIS API
            self.warnings.append(warning)

    feedback = Kept()
    parameters = {"INCIDENTS": path, "STREETS": streets, "PERMUTATIONS": 9, "OUTPUT": "memory:"}
    result = processing.run("hotspotpolicing:hotstreets", parameters, context=QgsProcessingContext(), feedback=feedback)
    assert result["HOT_SEGMENTS"] == 0
    assert any("no p-value can be below 0.2" in warning for warning in feedback.warnings), feedback.warnings
