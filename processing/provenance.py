"""Provenance: what made an output, recorded with it so a run can be checked and repeated.

One record per run (the algorithm, its parameters, each input's name and feature count,
the seed, the plugin and QGIS versions, and what the algorithm chose itself, such as an
automatic bandwidth). The writer stores it inside GeoPackages (layer metadata, which QGIS
shows as the layer's abstract), in GeoTIFF metadata, in a ``.json`` beside other files and
in the layer metadata of whatever QGIS loads."""

import configparser
import datetime
import json
import os

from osgeo import gdal, ogr
from qgis.core import Qgis, QgsLayerMetadata

PLUGIN_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KEY = "HOTSPOT_POLICING_PROVENANCE"  # the metadata item holding the record as JSON


def plugin_version():
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(os.path.join(PLUGIN_DIR, "metadata.txt"), encoding="utf-8")
    return parser.get("general", "version", fallback="unknown")


def record(algorithm, parameters, context, inputs, choices):
    """The provenance of one run. ``inputs``: [{parameter, layer, features}] as read;
    ``choices``: what the algorithm decided itself (automatic values, units)."""
    values = {}
    for definition in algorithm.parameterDefinitions():
        name = definition.name()
        if not definition.isDestination():  # left out: the default it ran with
            values[name] = _plain(definition.valueAsPythonString(parameters.get(name, definition.defaultValue()), context))
    return {
        "algorithm": algorithm.id(),
        "algorithm_name": algorithm.displayName(),
        "parameters": values,
        "inputs": inputs,
        "seed": values.get("SEED"),
        "choices": choices,
        "plugin_version": plugin_version(),
        "qgis_version": Qgis.QGIS_VERSION,
        "created": datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat(),
    }


def as_text(provenance):
    """The record in a sentence or two, for people (a layer's abstract)."""
    inputs = "; ".join(f"{i['parameter']}: '{i['layer']}' ({i['features']:,} features)" for i in provenance["inputs"])
    settings = ", ".join(f"{k}={v}" for k, v in provenance["parameters"].items())
    text = f"Made by {provenance['algorithm_name']} ({provenance['algorithm']}), Hot Spot Policing {provenance['plugin_version']}"
    text += f", QGIS {provenance['qgis_version']}, on {provenance['created']}. Inputs: {inputs or 'none'}. Parameters: {settings}."
    if provenance["choices"]:
        text += " Chosen by the tool: " + ", ".join(f"{k}={v}" for k, v in provenance["choices"].items()) + "."
    return text


def as_json(provenance):
    return json.dumps(provenance, indent=2, default=str)


def layer_metadata(layer, provenance):
    """``layer``'s QGIS metadata with the record: title, abstract and a history line."""
    metadata = QgsLayerMetadata(layer.metadata())
    metadata.setTitle(metadata.title() or provenance["algorithm_name"])
    metadata.setAbstract(as_text(provenance))
    metadata.addHistoryItem(as_json(provenance))
    return metadata


def _plain(text):
    """A parameter as valueAsPythonString gives it, without the Python quoting of text."""
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def of_layer(layer):
    """The record stored with a layer (None if it has none): in its GeoPackage or GeoTIFF,
    in a .json beside its file, or in its QGIS metadata (a layer this plugin loaded)."""
    path, _, options = layer.source().partition("|")
    try:
        if os.path.isfile(path) and path.lower().endswith((".tif", ".tiff")):
            items = (gdal.Open(path).GetMetadata("HOTSPOT_POLICING") or {}).items()
            record = {key: json.loads(value) for key, value in items}
            if record:
                return record
        if os.path.isfile(path) and path.lower().endswith(".gpkg"):
            dataset = ogr.Open(path)
            name = next((o.split("=", 1)[1] for o in options.split("|") if o.startswith("layername=")), None)
            table = dataset.GetLayerByName(name) if name else dataset.GetLayer(0)
            text = table.GetMetadataItem(KEY) if table is not None else None
            if text:
                return json.loads(text)
        if os.path.isfile(path + ".json"):
            with open(path + ".json", encoding="utf-8") as handle:
                return json.load(handle)
        for item in reversed(layer.metadata().history()):
            if item.startswith("{") and '"algorithm"' in item:
                return json.loads(item)
    except (ValueError, RuntimeError, AttributeError):
        return None  # a record that cannot be read is no record
    return None
