"""hotspotpolicing:optimizedhotspots: finds the sample city's planted hot spots; counts add up;
bad input is refused."""

import numpy as np
import pytest
from osgeo import ogr
from qgis.core import QgsGeometry, QgsPointXY, QgsProcessingException, QgsVectorLayer

from .conftest import SAMPLE_CITY
from .test_alg_kerneldensity import write_gpkg

pytestmark = pytest.mark.usefixtures("provider")
INCIDENTS = f"{SAMPLE_CITY}|layername=incidents"
STUDY_AREA = f"{SAMPLE_CITY}|layername=study_area"


def run(parameters):
    import processing

    return processing.run("hotspotpolicing:optimizedhotspots", {"OUTPUT": "memory:", **parameters})


def cell_at(layer, x, y):
    point = QgsGeometry.fromPointXY(QgsPointXY(x, y))
    return next(f for f in layer.getFeatures() if f.geometry().contains(point))


@pytest.mark.parametrize("shape", [0, 1])
def test_planted_hot_spots_are_significant_hot_cells(shape):
    result = run({"INPUT": INCIDENTS, "CELL_SHAPE": shape, "STUDY_AREA": STUDY_AREA})
    layer = result["OUTPUT"]
    assert result["CELL_SIZE_USED"] == pytest.approx(100.0)  # 5000 m / 50
    assert sum(f["incident_count"] for f in layer.getFeatures()) == QgsVectorLayer(INCIDENTS).featureCount()
    dataset = ogr.Open(SAMPLE_CITY)
    for truth in dataset.GetLayerByName("planted_hotspots"):
        if truth.GetField("kind") == "persistent":
            cell = cell_at(layer, truth.GetField("centre_x"), truth.GetField("centre_y"))
            assert cell["Gi_Bin"] == 3, truth.GetField("name")
    bins = np.array([f["Gi_Bin"] for f in layer.getFeatures()])
    assert (bins == 3).sum() < 0.1 * len(bins)  # hot spots are the exception


def test_weight_field_and_explicit_scale(tmp_path):
    rng = np.random.default_rng(1)
    xy = np.concatenate([rng.uniform(0, 1000, (300, 2)), rng.normal(500, 30, (100, 2))])
    weights = np.concatenate([np.ones(300), np.full(100, 5.0)])
    source = write_gpkg(tmp_path / "w.gpkg", xy, weights)
    result = run({"INPUT": source, "WEIGHT_FIELD": "harm", "CELL_SHAPE": 0, "CELL_SIZE": 100.0, "DISTANCE": 150.0})
    layer = result["OUTPUT"]
    rows = list(layer.getFeatures())
    assert result["DISTANCE_USED"] == 150.0 and result["CELL_COUNT"] == len(rows)
    assert sum(f["weight_sum"] for f in rows) == pytest.approx(weights.sum())
    assert sum(f["incident_count"] for f in rows) == 400
    centre = cell_at(layer, 510.0, 510.0)
    assert centre["Gi_Bin"] == 3


def test_too_few_incidents_is_refused(tmp_path):
    source = write_gpkg(tmp_path / "few.gpkg", np.random.default_rng(2).uniform(0, 100, (20, 2)), np.ones(20))
    with pytest.raises(QgsProcessingException, match="at least 30"):
        run({"INPUT": source})


def test_an_incident_geocoded_far_away_does_not_stretch_the_grid(tmp_path):
    rng = np.random.default_rng(2)
    xy = np.concatenate([rng.uniform(0, 1000, (300, 2)), rng.normal(500, 30, (100, 2))])
    weights = np.ones(len(xy))
    city = run({"INPUT": write_gpkg(tmp_path / "city.gpkg", xy, weights)})
    far = np.vstack([xy, [[2_000_000.0, 0.0]]])
    with_far = run({"INPUT": write_gpkg(tmp_path / "far.gpkg", far, np.append(weights, 1.0))})
    assert with_far["CELL_SIZE_USED"] == pytest.approx(city["CELL_SIZE_USED"]) and with_far["CELL_COUNT"] == city["CELL_COUNT"]
    assert [f["Gi_Bin"] for f in with_far["OUTPUT"].getFeatures()] == [f["Gi_Bin"] for f in city["OUTPUT"].getFeatures()]
