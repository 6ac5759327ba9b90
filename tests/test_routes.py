"""The routes users take besides the toolbox: every algorithm through the project's
qgis_process wrapper (numbers come back as JSON numbers, field parameters with a sensible
default may be left out), and a saved graphical model that feeds one algorithm's numeric
output into the next."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from osgeo import gdal
from qgis.core import QgsApplication, QgsProcessingContext, QgsProcessingFeedback, QgsProcessingModelAlgorithm

from .conftest import ROOT, SAMPLE_CITY
from .test_cancel import parameters

pytestmark = pytest.mark.usefixtures("provider")
MODEL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "kde_at_first_cell_size.model3")
LEFT_OUT = {  # field parameters with a default that users may leave out
    "observeddosage": ("UNIT_FIELD", "TIME_FIELD"),
    "concentration": ("FIELD",),
    "patroldosage": ("RISK_FIELD",),
}


def qgis_process(tmp_path, *arguments):
    environment = {**os.environ, "HOTSPOT_POLICING_QGIS_HOME": str(tmp_path / "qgis")}
    command = [os.path.join(ROOT, "scripts", "qgis_process"), *arguments]
    return subprocess.run(command, env=environment, capture_output=True, text=True, timeout=600)


def command_line(values):
    """KEY=value arguments for qgis_process (a list gives one argument per item)."""
    arguments = []
    for key, value in values.items():
        for item in value if isinstance(value, list) else [value]:
            arguments.append(f"{key}={item}")
    return arguments


@pytest.mark.parametrize("name", sorted(parameters(Path("."))))
def test_every_algorithm_through_qgis_process_gives_plain_numbers(tmp_path, name):
    city = tmp_path / "city.gpkg"
    shutil.copyfile(SAMPLE_CITY, city)
    values = {
        key: (str(value).replace(SAMPLE_CITY, str(city)) if not isinstance(value, list) else value)
        for key, value in parameters(tmp_path)[name].items()
    }
    if "LAYERS" in values:
        values["LAYERS"] = [layer.replace(SAMPLE_CITY, str(city)) for layer in values["LAYERS"]]
    for key in LEFT_OUT.get(name, ()):
        values.pop(key)
    result = qgis_process(tmp_path, "run", f"hotspotpolicing:{name}", "--json", "--", *command_line(values))
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    results = json.loads(result.stdout[result.stdout.index("{") :])["results"]
    algorithm = QgsApplication.processingRegistry().algorithmById(f"hotspotpolicing:{name}")
    numbers = [o.name() for o in algorithm.outputDefinitions() if o.type() == "outputNumber"]
    for key in numbers:
        assert isinstance(results.get(key), (int, float)) and not isinstance(results.get(key), bool), (key, results.get(key))
    if name == "kerneldensity":
        assert results["INCIDENT_COUNT"] == 30000 and results["CELL_SIZE_USED"] == 5.0
    for key, path in results.items():
        if isinstance(path, str) and path.lower().endswith((".gpkg", ".tif")):
            check_opens_styled_and_documented(name, key, path)
        if isinstance(path, str) and path.lower().endswith(".html"):  # reports carry their provenance too
            text = Path(path).read_text(encoding="utf-8")
            record = json.loads(text.split("HOTSPOT_POLICING_PROVENANCE", 1)[1].split("-->", 1)[0])
            assert record["algorithm"] == f"hotspotpolicing:{name}" and "Made by" in text


STYLED = {  # outputs with a style of their own: the renderer a fresh QGIS shows them with
    ("kerneldensity", "OUTPUT"): "singlebandpseudocolor",
    ("gistar", "OUTPUT"): "categorizedSymbol",
    ("localmoran", "OUTPUT"): "categorizedSymbol",
    ("optimizedhotspots", "OUTPUT"): "categorizedSymbol",
    ("hotstreets", "OUTPUT"): "categorizedSymbol",
    ("assignincidents", "OUTPUT"): "graduatedSymbol",
    ("patroldosage", "OUTPUT"): "categorizedSymbol",
    ("emerginghotspots", "OUTPUT"): "categorizedSymbol",
    ("emerginghotspots", "OUTPUT_CUBE"): "categorizedSymbol",
    ("nearrepeat", "OUTPUT_RISK"): "graduatedSymbol",
    ("networkkde", "OUTPUT"): "graduatedSymbol",
    ("changetest", "OUTPUT"): "categorizedSymbol",
}


def check_opens_styled_and_documented(name, key, path):
    """Opened fresh, as another QGIS would open the file: its own style, and its provenance."""
    from qgis.core import QgsRasterLayer, QgsVectorLayer

    raster = path.lower().endswith(".tif")
    layer = QgsRasterLayer(path, "fresh") if raster else QgsVectorLayer(path, "fresh", "ogr")
    assert layer.isValid(), path
    if (name, key) in STYLED:
        assert layer.renderer().type() == STYLED[(name, key)], (name, key, layer.renderer().type())
    if raster:
        record = {k: json.loads(v) for k, v in gdal.Open(path).GetMetadata("HOTSPOT_POLICING").items()}
    else:
        from osgeo import ogr

        dataset = ogr.Open(path)  # kept: a layer outliving its dataset crashes GDAL
        record = json.loads(dataset.GetLayer(0).GetMetadataItem("HOTSPOT_POLICING_PROVENANCE"))
        assert layer.metadata().abstract().startswith("Made by ")  # what QGIS shows in the layer's metadata
    assert record["algorithm"] == f"hotspotpolicing:{name}" and record["plugin_version"] == plugin_version()
    assert record["inputs"] and all(i["layer"] and i["features"] > 0 for i in record["inputs"])
    assert "SEED" not in record["parameters"] or record["seed"] == record["parameters"]["SEED"]


def plugin_version():
    import configparser

    parser = configparser.ConfigParser()
    parser.read(os.path.join(ROOT, "metadata.txt"))
    return parser["general"]["version"]


def test_qgis_process_help_is_plain_text(tmp_path):
    result = qgis_process(tmp_path, "help", "hotspotpolicing:gistar")
    assert result.returncode == 0
    assert "Getis-Ord Gi*" in result.stdout and "<p>" not in result.stdout and "&amp;" not in result.stdout


def test_a_saved_model_feeds_a_numeric_output_into_the_next_algorithm(tmp_path):
    model = QgsProcessingModelAlgorithm()
    assert model.fromFile(MODEL)
    density = str(tmp_path / "density.tif")
    context, feedback = QgsProcessingContext(), QgsProcessingFeedback()
    results, ok = model.run({"incidents": f"{SAMPLE_CITY}|layername=incidents", "second_kde:density": density}, context, feedback)
    assert ok, feedback.textLog()
    first_cell = results["CHILD_RESULTS"]["first_kde"]["CELL_SIZE_USED"]
    assert isinstance(first_cell, float) and 10 < first_cell < 100
    # the second surface is laid out in the first one's cells, not its own automatic ones
    assert gdal.Open(density).GetGeoTransform()[1] == pytest.approx(first_cell)


def test_the_model_runs_through_qgis_process_too(tmp_path):
    density = tmp_path / "density.tif"
    result = qgis_process(tmp_path, "run", MODEL, "--", f"incidents={SAMPLE_CITY}|layername=incidents", f"second_kde:density={density}")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert 10 < gdal.Open(str(density)).GetGeoTransform()[1] < 100
