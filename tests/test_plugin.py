"""The plugin loads the way QGIS loads it, registers its provider, and unloads cleanly;
metadata.txt has what the plugin repository requires."""

import configparser
import os
import subprocess
import sys

import pytest
from qgis.core import QgsApplication

from hotspot_policing.processing.algorithms import ALGORITHMS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESTORED = []


def test_metadata_has_the_required_fields():
    parser = configparser.ConfigParser()
    parser.read(os.path.join(ROOT, "metadata.txt"), encoding="utf-8")
    general = parser["general"]
    for key in ("name", "description", "version", "qgisMinimumVersion", "author", "email", "about", "tracker", "repository"):
        assert general.get(key, "").strip(), key
    assert general["name"] == "Hot Spot Policing"
    assert general["qgisMinimumVersion"] == "3.22"
    assert general["hasProcessingProvider"] == "yes"
    assert os.path.exists(os.path.join(ROOT, general["icon"]))
    assert os.path.exists(os.path.join(ROOT, "LICENSE"))


def test_plugin_loads_starts_and_unloads_like_in_qgis(qgis_iface):
    import qgis.utils

    plugins_dir = next(p for p in sys.path if os.path.isdir(os.path.join(p, "hotspot_policing")) and p.startswith(("/tmp", os.sep)))
    qgis.utils.plugin_paths.insert(0, plugins_dir)
    qgis.utils.updateAvailablePlugins()
    assert "hotspot_policing" in qgis.utils.available_plugins
    qgis.utils.iface = qgis_iface
    registry = QgsApplication.processingRegistry()
    before = registry.providerById("hotspotpolicing")
    if before is not None:  # another test registered it directly
        registry.removeProvider(before)
    # QGIS imports a plugin fresh: forget the test session's import while this test runs.
    imported = {name: sys.modules.pop(name) for name in list(sys.modules) if name.split(".")[0] == "hotspot_policing"}
    try:
        assert qgis.utils.loadPlugin("hotspot_policing")
        assert qgis.utils.startPlugin("hotspot_policing")
        provider = registry.providerById("hotspotpolicing")
        assert provider is not None
        assert sorted(a.name() for a in provider.algorithms()) == sorted(a().name() for a in ALGORITHMS)
        assert qgis.utils.unloadPlugin("hotspot_policing")
        assert registry.providerById("hotspotpolicing") is None
    finally:
        sys.modules.update(imported)
        if registry.providerById("hotspotpolicing") is None and before is not None:
            # The registry keeps only the C++ object: hold the Python side too.
            RESTORED.append(imported["hotspot_policing.processing.provider"].HotspotPolicingProvider())
            registry.addProvider(RESTORED[-1])


def test_qgis_process_runs_the_algorithm_headless(tmp_path):
    # qgis_process calls classFactory(None) and initProcessing(): no iface, no project.
    from osgeo import gdal, ogr, osr

    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32630)
    dataset = ogr.GetDriverByName("GPKG").CreateDataSource(str(tmp_path / "in.gpkg"))
    layer = dataset.CreateLayer("incidents", srs, ogr.wkbPoint)
    for x, y in [(100, 100), (150, 120), (400, 300)]:
        feature = ogr.Feature(layer.GetLayerDefn())
        feature.SetGeometry(ogr.CreateGeometryFromWkt(f"POINT ({x} {y})"))
        layer.CreateFeature(feature)
    dataset = None
    out = tmp_path / "out.tif"
    env = {**os.environ, "HOTSPOT_POLICING_QGIS_HOME": str(tmp_path / "qgis")}
    command = [
        os.path.join(ROOT, "scripts", "qgis_process"),
        "run",
        "hotspotpolicing:kerneldensity",
        "--",
        f"INPUT={tmp_path / 'in.gpkg'}",
        "BANDWIDTH=100",
        "CELL_SIZE=10",
        f"OUTPUT={out}",
    ]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "INCIDENT_COUNT:\t3" in result.stdout
    raster = gdal.Open(str(out)).ReadAsArray()
    # Peak cell: near (150, 120) or (100, 100), each 3/(pi 100^2) per m^2 = 95.5 per km^2 at its centre.
    assert 95 < raster.max() < 200


@pytest.mark.parametrize("name", [algorithm().name() for algorithm in ALGORITHMS])
def test_every_parameter_has_help_and_the_algorithm_has_a_help_string(provider, name):
    algorithm = QgsApplication.processingRegistry().algorithmById(f"hotspotpolicing:{name}")
    assert len(algorithm.shortHelpString()) > 200
    for parameter in algorithm.parameterDefinitions():
        assert parameter.help(), parameter.name()
