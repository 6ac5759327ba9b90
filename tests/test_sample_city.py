"""The bundled sample city: kernel density finds each planted hot spot where and when it was
planted (resources/sample_data/README.md)."""

import pytest
from osgeo import gdal, ogr
from qgis.core import QgsVectorLayer

from .conftest import SAMPLE_CITY

pytestmark = pytest.mark.usefixtures("provider")


def planted():
    dataset = ogr.Open(SAMPLE_CITY)
    return {
        f.GetField("name"): (f.GetField("kind"), f.GetField("centre_x"), f.GetField("centre_y"))
        for f in dataset.GetLayerByName("planted_hotspots")
    }


def surface(tmp_path, name, expression=None):
    import processing

    layer = QgsVectorLayer(f"{SAMPLE_CITY}|layername=incidents", "incidents", "ogr")
    if expression:
        layer.setSubsetString(expression)
    out = processing.run(
        "hotspotpolicing:kerneldensity", {"INPUT": layer, "BANDWIDTH": 150.0, "CELL_SIZE": 20.0, "OUTPUT": str(tmp_path / f"{name}.tif")}
    )
    dataset = gdal.Open(out["OUTPUT"])
    x0, cell, _, y0, _, _ = dataset.GetGeoTransform()
    values = dataset.ReadAsArray().astype(float)

    def at(x, y):
        return values[int((y0 - y) // cell), int((x - x0) // cell)]

    return values, at


def percentile_rank(values, value):
    return (values < value).mean()


def test_every_planted_hot_spot_is_among_the_densest_cells(tmp_path):
    values, at = surface(tmp_path, "all")
    for name, (_kind, x, y) in planted().items():
        assert percentile_rank(values, at(x, y)) > 0.99, name


def test_emerging_and_fading_hot_spots_appear_and_disappear(tmp_path):
    spots = {kind: (x, y) for kind, x, y in planted().values()}
    early, at_early = surface(tmp_path, "2023", "\"occurred_at\" < '2024-01-01'")
    late, at_late = surface(tmp_path, "2025", "\"occurred_at\" >= '2025-01-01'")
    assert percentile_rank(early, at_early(*spots["fading"])) > 0.99
    assert percentile_rank(late, at_late(*spots["fading"])) < 0.95
    assert percentile_rank(late, at_late(*spots["emerging"])) > 0.99
    assert percentile_rank(early, at_early(*spots["emerging"])) < 0.95
