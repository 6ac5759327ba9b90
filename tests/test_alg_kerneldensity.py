"""hotspotpolicing:kerneldensity through processing.run: values, units, CRS, bad input."""

import json
import os

import numpy as np
import pytest
from osgeo import gdal, ogr, osr
from qgis.core import (
    QgsFeature,
    QgsGeometry,
    QgsPointXY,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeatureSourceDefinition,
    QgsProcessingFeedback,
    QgsProject,
    QgsVectorLayer,
)

ALG = "hotspotpolicing:kerneldensity"


def quartic(r, h):
    return np.where(r < h, 3 / (np.pi * h * h) * (1 - (r / h) ** 2) ** 2, 0.0)


def incidents(n=400, seed=7):
    rng = np.random.default_rng(seed)
    centres = np.array([[1000.0, 1000.0], [1600.0, 1300.0]])
    xy = np.concatenate([c + rng.normal(0, 80, (n // 2, 2)) for c in centres] + [rng.random((n // 4, 2)) * 2000 + 200])
    return xy, rng.uniform(1, 5, len(xy))


def write_gpkg(path, xy, weights, epsg=32630, geometry="POINT"):
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(epsg)
    dataset = ogr.GetDriverByName("GPKG").CreateDataSource(str(path))
    layer = dataset.CreateLayer("incidents", srs, ogr.wkbPoint if geometry == "POINT" else ogr.wkbLineString)
    layer.CreateField(ogr.FieldDefn("harm", ogr.OFTReal))
    layer.StartTransaction()
    for (x, y), w in zip(xy, weights):
        feature = ogr.Feature(layer.GetLayerDefn())
        if w is not None:
            feature.SetField("harm", float(w))
        wkt = f"POINT ({x} {y})" if geometry == "POINT" else f"LINESTRING ({x} {y}, {x + 1} {y + 1})"
        feature.SetGeometry(ogr.CreateGeometryFromWkt(wkt))
        layer.CreateFeature(feature)
    layer.CommitTransaction()
    dataset = None
    return str(path)


def memory_layer(xy, weights, crs="EPSG:32630"):
    layer = QgsVectorLayer(f"Point?crs={crs}&field=harm:double", "incidents", "memory")
    features = []
    for (x, y), w in zip(xy, weights):
        feature = QgsFeature(layer.fields())
        feature.setGeometry(QgsGeometry.fromPointXY(QgsPointXY(x, y)))
        feature.setAttributes([float(w)])
        features.append(feature)
    layer.dataProvider().addFeatures(features)
    return layer


def read_raster(path):
    dataset = gdal.Open(path)
    x0, cell, _, y0, _, _ = dataset.GetGeoTransform()
    values = dataset.GetRasterBand(1).ReadAsArray().astype(float)
    cols = x0 + (np.arange(dataset.RasterXSize) + 0.5) * cell
    rows = y0 - (np.arange(dataset.RasterYSize) + 0.5) * cell
    return values, cols, rows, dataset.GetProjection()


def exact_quartic(xy, weights, cols, rows, h):
    gx, gy = np.meshgrid(cols, rows)
    total = np.zeros(gx.shape)
    for (x, y), w in zip(xy, weights):
        total += w * quartic(np.hypot(gx - x, gy - y), h)
    return total


def run(parameters, feedback=None):
    import processing

    return processing.run(ALG, parameters, feedback=feedback)


@pytest.fixture(autouse=True)
def _provider(provider):
    return provider


def test_raster_equals_exact_kernel_sum_per_square_kilometre(tmp_path):
    xy, weights = incidents()
    source = write_gpkg(tmp_path / "incidents.gpkg", xy, weights)
    out = str(tmp_path / "kde.tif")
    result = run({"INPUT": source, "WEIGHT_FIELD": "harm", "BANDWIDTH": 150.0, "CELL_SIZE": 10.0, "OUTPUT": out})
    values, cols, rows, wkt = read_raster(result["OUTPUT"])
    exact = exact_quartic(xy, weights, cols, rows, 150.0) * 1e6  # per m² -> per km²
    assert np.abs(values - exact).max() <= 1e-3 * exact.max()
    assert "32630" in wkt or "UTM zone 30N" in wkt
    assert result["BANDWIDTH_USED"] == 150.0 and result["CELL_SIZE_USED"] == 10.0 and result["INCIDENT_COUNT"] == len(xy)
    provenance = json.load(open(out + ".json"))
    assert provenance["choices"]["kernel"] == "quartic" and provenance["choices"]["units"] == "harm per km²"  # weighted by harm
    assert provenance["algorithm"] == "hotspotpolicing:kerneldensity" and provenance["inputs"][0]["features"] == len(xy)
    # The grid covers the incidents' extent grown by the bandwidth.
    assert cols[0] - 5 <= xy[:, 0].min() - 150 and cols[-1] + 5 >= xy[:, 0].max() + 150


def test_memory_layer_and_geopackage_give_the_same_raster(tmp_path):
    xy, weights = incidents(seed=8)
    params = {"WEIGHT_FIELD": "harm", "BANDWIDTH": 120.0, "CELL_SIZE": 15.0, "AREA_UNIT": 3}
    from_file = run({**params, "INPUT": write_gpkg(tmp_path / "a.gpkg", xy, weights), "OUTPUT": str(tmp_path / "a.tif")})
    from_memory = run({**params, "INPUT": memory_layer(xy, weights), "OUTPUT": str(tmp_path / "b.tif")})
    np.testing.assert_allclose(read_raster(from_file["OUTPUT"])[0], read_raster(from_memory["OUTPUT"])[0], rtol=1e-6, atol=0)


def test_area_units_scale_the_density(tmp_path):
    xy, weights = incidents(seed=9)
    source = write_gpkg(tmp_path / "a.gpkg", xy, weights)
    rasters = []
    for unit in range(4):
        out = run({"INPUT": source, "BANDWIDTH": 100.0, "CELL_SIZE": 20.0, "AREA_UNIT": unit, "OUTPUT": str(tmp_path / f"u{unit}.tif")})
        rasters.append(read_raster(out["OUTPUT"])[0])
    per_m2 = rasters[3]
    np.testing.assert_allclose(rasters[0], per_m2 * 1e6, rtol=1e-6)
    np.testing.assert_allclose(rasters[1], per_m2 * 1609.344**2, rtol=1e-6)
    np.testing.assert_allclose(rasters[2], per_m2 * 1e4, rtol=1e-6)
    # Unweighted, the surface integrates to the number of incidents.
    assert per_m2.sum() * 20.0**2 == pytest.approx(len(xy), rel=2e-3)


def test_selected_features_only(tmp_path, qgis_new_project):
    xy, weights = incidents(seed=10)
    layer = QgsVectorLayer(write_gpkg(tmp_path / "a.gpkg", xy, weights), "incidents", "ogr")
    QgsProject.instance().addMapLayer(layer)
    chosen = [f.id() for f in layer.getFeatures() if f.geometry().asPoint().x() < 1200]
    layer.selectByIds(chosen)
    out = run(
        {
            "INPUT": QgsProcessingFeatureSourceDefinition(layer.id(), selectedFeaturesOnly=True),
            "BANDWIDTH": 150.0,
            "CELL_SIZE": 20.0,
            "EXTENT": "0,2500,0,2500 [EPSG:32630]",
            "AREA_UNIT": 3,
            "OUTPUT": str(tmp_path / "sel.tif"),
        }
    )
    assert out["INCIDENT_COUNT"] == len(chosen)
    values, cols, rows, _ = read_raster(out["OUTPUT"])
    kept = xy[xy[:, 0] < 1200]
    exact = exact_quartic(kept, np.ones(len(kept)), cols, rows, 150.0)
    assert np.abs(values - exact).max() <= 1e-3 * exact.max()


def test_geographic_layer_is_reprojected_to_utm(tmp_path):
    xy, weights = incidents(seed=12)
    # The same incidents in WGS 84 (UTM 30N -> lon/lat), read back as metres.
    utm = osr.SpatialReference()
    utm.ImportFromEPSG(32630)
    wgs = osr.SpatialReference()
    wgs.ImportFromEPSG(4326)
    for srs in (utm, wgs):
        srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    lonlat = np.array(osr.CoordinateTransformation(utm, wgs).TransformPoints((xy + [440000, 4470000]).tolist()))[:, :2]
    source = write_gpkg(tmp_path / "wgs.gpkg", lonlat, weights, epsg=4326)
    feedback = QgsProcessingFeedback()
    out = run({"INPUT": source, "BANDWIDTH": 150.0, "CELL_SIZE": 10.0, "AREA_UNIT": 3, "OUTPUT": str(tmp_path / "g.tif")}, feedback)
    values, cols, rows, wkt = read_raster(out["OUTPUT"])
    assert "UTM zone 30N" in wkt
    exact = exact_quartic(xy + [440000, 4470000], np.ones(len(xy)), cols, rows, 150.0)
    assert np.abs(values - exact).max() <= 1e-3 * exact.max()


def test_automatic_bandwidth_and_cell_size_are_reported(tmp_path):
    xy, weights = incidents(seed=13)
    out = run({"INPUT": write_gpkg(tmp_path / "a.gpkg", xy, weights), "OUTPUT": str(tmp_path / "auto.tif")})
    # ArcGIS's spatial Silverman rule, written out here independently.
    centre = xy.mean(axis=0)
    sd = np.sqrt(((xy - centre) ** 2).sum(axis=1).mean())
    dm = np.median(np.hypot(*(xy - centre).T))
    expected = 0.9 * min(sd, np.sqrt(1 / np.log(2)) * dm) * len(xy) ** -0.2
    assert out["BANDWIDTH_USED"] == pytest.approx(expected, rel=1e-9)
    width = np.ptp(xy[:, 0]) + 2 * expected
    height = np.ptp(xy[:, 1]) + 2 * expected
    assert out["CELL_SIZE_USED"] == pytest.approx(min(width, height) / 250, rel=1e-9)


@pytest.mark.parametrize(
    "case,message",
    [
        ("lines", "needs points"),
        ("empty", "has no features with a geometry"),
        ("null_weight", "no value in the weight field"),
        ("negative_weight", "negative weight"),
        ("too_many_cells", "cells"),
        ("negative_bandwidth", "BANDWIDTH"),
    ],
)
def test_bad_input_gets_a_clear_message_and_no_output(tmp_path, case, message):
    xy, weights = incidents(seed=14)
    params = {"BANDWIDTH": 100.0, "CELL_SIZE": 10.0, "OUTPUT": str(tmp_path / "bad.tif")}
    if case == "lines":
        params["INPUT"] = write_gpkg(tmp_path / "l.gpkg", xy, weights, geometry="LINE")
    elif case == "empty":
        params["INPUT"] = write_gpkg(tmp_path / "e.gpkg", xy[:0], weights[:0])
    elif case == "null_weight":
        params["INPUT"] = write_gpkg(tmp_path / "n.gpkg", xy, [None] + list(weights[1:]))
        params["WEIGHT_FIELD"] = "harm"
    elif case == "negative_weight":
        params["INPUT"] = write_gpkg(tmp_path / "m.gpkg", xy, -weights)
        params["WEIGHT_FIELD"] = "harm"
    elif case == "too_many_cells":
        params["INPUT"] = write_gpkg(tmp_path / "c.gpkg", xy * 1000, weights)
        params["CELL_SIZE"] = 0.1
    elif case == "negative_bandwidth":
        params["INPUT"] = write_gpkg(tmp_path / "b.gpkg", xy, weights)
        params["BANDWIDTH"] = -5.0
    with pytest.raises(QgsProcessingException, match=message):
        run(params)
    assert not os.path.exists(params["OUTPUT"])


@pytest.mark.parametrize("when", ["before reading", "while computing"])
def test_cancel_leaves_no_output(tmp_path, when):
    from qgis.core import QgsApplication

    xy, weights = incidents(seed=15)
    feedback = QgsProcessingFeedback()
    if when == "before reading":
        feedback.cancel()
    else:  # cancel as soon as the density computation reports progress
        feedback.progressChanged.connect(lambda progress: progress > 10 and feedback.cancel())
    out = str(tmp_path / "cancel.tif")
    algorithm = QgsApplication.processingRegistry().createAlgorithmById(ALG)
    params = {"INPUT": write_gpkg(tmp_path / "a.gpkg", xy, weights), "KERNEL": 3, "BANDWIDTH": 100.0, "CELL_SIZE": 2.0, "OUTPUT": out}
    results, ok = algorithm.run(params, QgsProcessingContext(), feedback)
    assert feedback.isCanceled()
    assert not os.path.exists(out)


def test_a_raster_output_is_written_in_the_format_its_extension_names(tmp_path):
    xy, weights = incidents(seed=3)
    source = write_gpkg(tmp_path / "in.gpkg", xy, weights)
    params = {"INPUT": source, "BANDWIDTH": 150.0, "CELL_SIZE": 20.0}
    tif = run({**params, "OUTPUT": str(tmp_path / "kde.tif")})["OUTPUT"]
    asc = run({**params, "OUTPUT": str(tmp_path / "kde.asc")})["OUTPUT"]
    assert gdal.Open(asc).GetDriver().ShortName == "AAIGrid"
    np.testing.assert_allclose(read_raster(asc)[0], read_raster(tif)[0], rtol=1e-6)
    for name in ("kde.png", "kde.gpkg", "kde"):
        with pytest.raises(QgsProcessingException, match="cannot be a"):
            run({**params, "OUTPUT": str(tmp_path / name)})
        assert not (tmp_path / name).exists()  # refused before anything was written
    with pytest.raises(QgsProcessingException, match="would overwrite the input"):
        run({**params, "OUTPUT": source})


def test_an_incident_geocoded_far_away_sets_neither_the_bandwidth_nor_the_extent(tmp_path):
    xy, weights = incidents(seed=5)
    city = run({"INPUT": write_gpkg(tmp_path / "city.gpkg", xy, weights), "OUTPUT": str(tmp_path / "city.tif")})
    far = np.vstack([xy, [[xy[0, 0] + 1_000_000.0, xy[0, 1]]]])  # one incident put in another country
    with_far = run({"INPUT": write_gpkg(tmp_path / "far.gpkg", far, np.append(weights, 1.0)), "OUTPUT": str(tmp_path / "far.tif")})
    assert with_far["BANDWIDTH_USED"] == pytest.approx(city["BANDWIDTH_USED"])
    assert with_far["CELL_SIZE_USED"] == pytest.approx(city["CELL_SIZE_USED"])
    np.testing.assert_allclose(read_raster(with_far["OUTPUT"])[0], read_raster(city["OUTPUT"])[0], rtol=1e-9, atol=0)
