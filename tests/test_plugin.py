"""The plugin loads the way QGIS loads it, registers its provider, and unloads cleanly;
metadata.txt has what the plugin repository requires; the menu, the toolbox groups and the
icons follow the order of the work."""

import configparser
import os
import re
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


class RecordingIface:
    """Just what the plugin's GUI uses of QGIS's interface, recording the plugin menu."""

    def __init__(self):
        from qgis.PyQt.QtWidgets import QMainWindow

        self.window, self.menu, self.toolbar = QMainWindow(), [], []

    def mainWindow(self):  # noqa: N802 - QGIS API
        return self.window

    def addPluginToMenu(self, name, action):  # noqa: N802 - QGIS API
        self.menu.append(action)

    def removePluginMenu(self, name, action):  # noqa: N802 - QGIS API
        self.menu.remove(action)

    def addToolBarIcon(self, action):  # noqa: N802 - QGIS API
        self.toolbar.append(action)

    def removeToolBarIcon(self, action):  # noqa: N802 - QGIS API
        self.toolbar.remove(action)


def test_menu_lists_the_dialogs_first_then_every_algorithm_once_in_the_order_of_the_work(qgis_app, monkeypatch):
    from hotspot_policing.plugin import DIALOGS, HotspotPolicingPlugin
    from hotspot_policing.processing.algorithms.base import GROUPS

    monkeypatch.setattr(HotspotPolicingPlugin, "initProcessing", lambda self: None)  # the session's provider stays
    iface = RecordingIface()
    plugin = HotspotPolicingPlugin(iface)
    plugin.initGui()
    texts = [action.text() for action in iface.menu]
    assert texts[: len(DIALOGS)] == [label for label, _, _ in DIALOGS]
    assert iface.toolbar == [iface.menu[0]]  # the detector
    assert iface.menu[len(DIALOGS)].isSeparator()
    submenus = [action.menu() for action in iface.menu[len(DIALOGS) + 1 :]]
    assert all(submenus) and [m.title() for m in submenus] == [g for g in GROUPS.values() if g in texts]
    entries = [action for menu in submenus for action in menu.actions()]
    labels = [a.text() for a in entries]
    expected = sorted(f"{a().displayName()}…" for a in ALGORITHMS if a().name() != "briefingmap")  # its dialog is the entry
    assert sorted(labels) == expected
    assert all(not a.icon().isNull() for a in iface.menu[: len(DIALOGS)] + entries)
    shown = texts[: len(DIALOGS)] + [m.title() for m in submenus] + labels
    openings = [" ".join(re.sub(r"^\d+\.\s*|[^\w\s]", "", text.lower()).split()[:2]) for text in shown]
    assert len(set(openings)) == len(openings), openings  # no two entries that look the same
    assert sum("briefing" in text.lower() for text in shown) == 1
    plugin.unload()
    assert iface.menu == [] and iface.toolbar == []


def test_toolbox_groups_follow_the_work_and_icons_tell_them_apart(provider):
    from qgis.PyQt.QtCore import QModelIndex
    from qgis.PyQt.QtSvg import QSvgRenderer

    from hotspot_policing.processing.algorithms.base import GROUP_ICONS, GROUPS

    algorithms = [QgsApplication.processingRegistry().algorithmById(f"hotspotpolicing:{a().name()}") for a in ALGORITHMS]
    assert {a.groupId() for a in algorithms} == set(GROUPS) == set(GROUP_ICONS)
    # The toolbox sorts groups by name: the numbers keep them in the order of the work.
    assert sorted(GROUPS.values()) == list(GROUPS.values())
    icons_of = {g: {os.path.basename(a.svgIconPath()) for a in algorithms if a.groupId() == g} for g in GROUPS}
    for group, icons in icons_of.items():
        assert f"{GROUP_ICONS[group]}.svg" not in set().union(*(i for g, i in icons_of.items() if g != group)), group
        for other, other_icons in icons_of.items():
            assert other == group or not icons & other_icons, (group, other)
    for algorithm in algorithms:
        assert QSvgRenderer(algorithm.svgIconPath()).isValid(), algorithm.svgIconPath()
        assert not algorithm.icon().isNull()
    assert len({GROUP_ICONS[g] for g in GROUPS}) == len(GROUPS)

    from qgis.gui import QgsProcessingToolboxProxyModel

    model = QgsProcessingToolboxProxyModel(None, QgsApplication.processingRegistry())
    model.sort(0)
    root = QModelIndex()
    ours = next(model.index(r, 0, root) for r in range(model.rowCount(root)) if model.data(model.index(r, 0, root)) == "Hot Spot Policing")
    shown = [model.data(model.index(r, 0, ours)) for r in range(model.rowCount(ours))]
    assert shown == list(GROUPS.values())
