"""The detector dialog (pytest-qt, offscreen): combos fill from a loaded layer, a preset
round-trips through a file, Run calls the right algorithm with the right parameters and
loads nothing when cancelled, bad choices get a message."""

import gc
import json
import re

import pytest
from qgis.core import QgsFeatureRequest, QgsProject, QgsVectorLayer
from qgis.PyQt.QtCore import QDateTime

from hotspot_policing.ui.detector_settings import Layer, Output, Result

from .conftest import SAMPLE_CITY

pytestmark = pytest.mark.usefixtures("provider")


@pytest.fixture
def dialog(qgis_new_project, qtbot):
    from qgis.core import QgsSettings

    from hotspot_policing.ui.detector_dialog import SETTINGS_KEY, DetectorDialog

    QgsSettings().remove(SETTINGS_KEY)  # no presets or last run from other tests
    incidents = QgsVectorLayer(f"{SAMPLE_CITY}|layername=incidents", "incidents", "ogr")
    streets = QgsVectorLayer(f"{SAMPLE_CITY}|layername=streets", "streets", "ogr")
    QgsProject.instance().addMapLayers([incidents, streets])
    widget = DetectorDialog()
    qtbot.addWidget(widget)
    widget.layerCombo.setLayer(incidents)
    yield widget
    if widget.task is not None:  # let a started run end before the next test
        widget.cancel()
        qtbot.waitUntil(lambda: widget.runButton.isEnabled(), timeout=60000)
    widget.close()
    widget = None
    gc.collect()  # Python-made algorithms must go while QGIS is still running


def test_combos_fill_from_the_loaded_layer(dialog):
    assert dialog.layerCombo.currentLayer().name() == "incidents"
    assert dialog.dateFieldCombo.currentField() == "occurred_at"
    assert dialog.detectorCombo.count() == 6 and dialog.explanationLabel.text()


def test_filter_and_parameters(dialog):
    dialog.fromEdit.setDateTime(QDateTime.fromString("2025-01-01T00:00:00", "yyyy-MM-ddTHH:mm:ss"))
    dialog.toEdit.setDateTime(QDateTime.fromString("2025-12-31T23:59:59", "yyyy-MM-ddTHH:mm:ss"))
    dialog.filterWidget.setExpression("\"offence\" = 'burglary'")
    settings = dialog.settings()
    source = QgsVectorLayer(f"{SAMPLE_CITY}|layername=incidents", "all", "ogr")
    incidents = list(source.getFeatures(QgsFeatureRequest().setFilterExpression(settings.expression())))
    expected = [f for f in source.getFeatures() if f["offence"] == "burglary" and f["occurred_at"].date().year() == 2025]
    assert len(incidents) == len(expected) > 0
    dialog.detectorCombo.setCurrentIndex(1)
    dialog.sizeSpin.setValue(150.0)
    (extract, filtering), (algorithm, parameters) = dialog.settings().steps()
    assert extract == "native:extractbyexpression" and filtering["EXPRESSION"] == settings.expression()
    assert algorithm == "hotspotpolicing:optimizedhotspots" and parameters["CELL_SIZE"] == 150.0 and parameters["CELL_SHAPE"] == 1
    assert parameters["INPUT"] == Output(0) and parameters["OUTPUT"] == Result("", "gpkg")


def test_run_calls_the_algorithm_and_finishes(dialog, qtbot):
    dialog.filterWidget.setExpression("\"offence\" = 'robbery'")
    dialog.fromEdit.setDateTime(QDateTime.fromString("2023-01-01T00:00:00", "yyyy-MM-ddTHH:mm:ss"))
    dialog.sizeSpin.setValue(200.0)
    algorithm, parameters = dialog.run()[-1]
    assert algorithm == "hotspotpolicing:kerneldensity" and parameters["BANDWIDTH"] == 200.0
    qtbot.waitUntil(lambda: dialog.runButton.isEnabled(), timeout=60000)
    assert dialog.messageLabel.text().startswith("Done")


def test_hot_streets_on_raw_centrelines_with_a_patrol_plan_saved_in_a_folder(dialog, qtbot, tmp_path):
    streets = QgsProject.instance().mapLayersByName("streets")[0]  # centre-lines as a city publishes them
    dialog.detectorCombo.setCurrentIndex(3)
    dialog.streetsCombo.setLayer(streets)
    dialog.fromEdit.setDateTime(QDateTime.fromString("2023-01-01T00:00:00", "yyyy-MM-ddTHH:mm:ss"))
    dialog.folderWidget.setFilePath(str(tmp_path))
    dialog.planGroup.setChecked(True)
    assert [dialog.riskCombo.itemData(i) for i in range(dialog.riskCombo.count())] == ["incident_count", "weight_sum", "incidents_per_km"]
    dialog.riskCombo.setCurrentIndex(2)
    loaded = set(QgsProject.instance().mapLayers())

    _, (first, parameters), (second, plan) = dialog.run()

    assert first == "hotspotpolicing:hotstreets" and parameters["STREETS"] == Layer(streets.id())
    assert second == "hotspotpolicing:patroldosage" and plan["HOTSPOTS"] == Output(1) and plan["RISK_FIELD"] == "incidents_per_km"
    end = dialog.toEdit.dateTime().toString("yyyy-MM-dd")
    assert parameters["OUTPUT"] == Result(str(tmp_path / f"hot_streets_{end}.gpkg"), "gpkg")
    qtbot.waitUntil(lambda: dialog.runButton.isEnabled(), timeout=120000)
    assert dialog.messageLabel.text().startswith("Done"), dialog.feedback.textLog()
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"hot_streets_{end}.gpkg", f"patrol_plan_{end}.gpkg"]
    shown = [QgsProject.instance().mapLayer(i) for i in set(QgsProject.instance().mapLayers()) - loaded]
    assert sorted(layer.name() for layer in shown) == ["Gi* hot streets", "Patrol plan"]
    hot = next(layer for layer in shown if layer.name() == "Gi* hot streets")
    assert hot.featureCount() > streets.featureCount()  # cut at junctions, not per whole street
    # a second run never overwrites the first
    assert dialog.settings().steps()[1][1]["OUTPUT"].path.endswith(f"hot_streets_{end}_2.gpkg")


def test_emerging_hot_spots_over_the_period(dialog, qtbot):
    """The period sets the cube's steps: three years in months; the last 28 days in days."""
    from hotspot_policing.ui.detector_settings import time_unit_for

    dialog.detectorCombo.setCurrentIndex(4)
    assert [time_unit_for(days) for days in (28, 69, 70, 309, 310, None)] == [0, 0, 1, 1, 2, 2]
    _, (algorithm, parameters) = dialog.settings().steps()
    assert algorithm == "hotspotpolicing:emerginghotspots" and parameters["TIME_UNIT"] == 0  # the default 28 days
    dialog.fromEdit.setDateTime(QDateTime.fromString("2023-01-01T00:00:00", "yyyy-MM-ddTHH:mm:ss"))
    loaded = set(QgsProject.instance().mapLayers())
    _, (algorithm, parameters) = dialog.run()
    assert parameters["TIME_UNIT"] == 2 and parameters["START"] == "2023-01-01" and parameters["TIME_FIELD"] == "occurred_at"
    qtbot.waitUntil(lambda: dialog.runButton.isEnabled(), timeout=60000)
    assert dialog.messageLabel.text().startswith("Done"), dialog.feedback.textLog()
    shown = [QgsProject.instance().mapLayer(i) for i in set(QgsProject.instance().mapLayers()) - loaded]
    assert [layer.name() for layer in shown] == ["Emerging hot spots (hexagons)"]
    assert shown[0].renderer().classAttribute() == "PATTERN_CODE"
    assert "Persistent Hot Spot" in {f["PATTERN"] for f in shown[0].getFeatures()}


def test_near_repeat_risk_zones_table_and_report(dialog, qtbot, tmp_path):
    dialog.detectorCombo.setCurrentIndex(5)
    dialog.filterWidget.setExpression("\"offence\" = 'burglary'")
    dialog.fromEdit.setDateTime(QDateTime.fromString("2025-07-01T00:00:00", "yyyy-MM-ddTHH:mm:ss"))
    dialog.folderWidget.setFilePath(str(tmp_path))
    loaded = set(QgsProject.instance().mapLayers())
    _, (algorithm, parameters) = dialog.run()
    assert algorithm == "hotspotpolicing:nearrepeat" and parameters["TIME_FIELD"] == "occurred_at"
    qtbot.waitUntil(lambda: dialog.runButton.isEnabled(), timeout=120000)
    assert dialog.messageLabel.text().startswith("Done"), dialog.feedback.textLog()
    assert "Open the report" in dialog.messageLabel.text() and "near_repeat_report" in dialog.messageLabel.text()
    shown = sorted(QgsProject.instance().mapLayer(i).name() for i in set(QgsProject.instance().mapLayers()) - loaded)
    assert shown == ["Near repeat risk zones", "Near repeat: Knox ratios"]
    assert sorted(p.suffix for p in tmp_path.iterdir() if p.suffix in (".gpkg", ".html")) == [".gpkg", ".gpkg", ".html"]


def test_did_it_work_compares_the_period_with_the_one_before(dialog, qtbot, tmp_path):
    """Optimized hot spots of 2025 and change per place against 2024; then the effect of
    patrolling them, which needs a study area."""
    from hotspot_policing.ui.detector_settings import CHANGE_TEST, INTERVENTION

    dialog.detectorCombo.setCurrentIndex(1)
    dialog.fromEdit.setDateTime(QDateTime.fromString("2025-01-01T00:00:00", "yyyy-MM-ddTHH:mm:ss"))
    dialog.toEdit.setDateTime(QDateTime.fromString("2025-12-31T23:59:59", "yyyy-MM-ddTHH:mm:ss"))
    dialog.folderWidget.setFilePath(str(tmp_path))
    dialog.evaluateGroup.setChecked(True)
    loaded = set(QgsProject.instance().mapLayers())
    steps = dialog.run()
    algorithm, change = steps[-1]
    assert algorithm == CHANGE_TEST and change["UNITS"] == Output(1) and change["INPUT"] == Layer(dialog.layerCombo.currentLayer().id())
    assert (change["BEFORE_START"], change["BEFORE_END"], change["AFTER_START"], change["AFTER_END"]) == (
        "2024-01-01",
        "2024-12-31",
        "2025-01-01",
        "2025-12-31",
    )
    qtbot.waitUntil(lambda: dialog.runButton.isEnabled(), timeout=120000)
    assert dialog.messageLabel.text().startswith("Done"), dialog.feedback.textLog()
    shown = {
        QgsProject.instance().mapLayer(i).name(): QgsProject.instance().mapLayer(i) for i in set(QgsProject.instance().mapLayers()) - loaded
    }
    assert set(shown) == {"Optimized hot spots (hexagons)", "Change per place"} and "Open the report" in dialog.messageLabel.text()
    assert "Significant increase" in {f["CHANGE"] for f in shown["Change per place"].getFeatures()}  # the Riverside flats
    dialog.evaluateCombo.setCurrentIndex(1)
    assert dialog.run() is None and "study area" in dialog.messageLabel.text()
    area = QgsVectorLayer(f"{SAMPLE_CITY}|layername=study_area", "study area", "ogr")
    QgsProject.instance().addMapLayer(area)
    dialog.areaCombo.setLayer(area)
    dialog.planGroup.setChecked(True)
    steps = dialog.run()
    assert steps[-1][0] == INTERVENTION and steps[-1][1]["TARGETS"] == Output(len(steps) - 2)  # the plan's places
    qtbot.waitUntil(lambda: dialog.runButton.isEnabled(), timeout=120000)
    assert dialog.messageLabel.text().startswith("Done"), dialog.feedback.textLog()
    assert "operation_effect" in dialog.messageLabel.text()


def test_a_failed_run_says_why(dialog, qtbot):
    far = QgsVectorLayer("LineString?crs=EPSG:32630", "far streets", "memory")
    from qgis.core import QgsFeature, QgsGeometry

    for k in range(3):
        feature = QgsFeature()
        feature.setGeometry(QgsGeometry.fromWkt(f"LINESTRING ({k * 100} 0, {k * 100 + 100} 0)"))
        far.dataProvider().addFeatures([feature])
    QgsProject.instance().addMapLayer(far)
    dialog.detectorCombo.setCurrentIndex(3)
    dialog.streetsCombo.setLayer(far)
    dialog.periodCheck.setChecked(False)
    dialog.run()
    qtbot.waitUntil(lambda: dialog.runButton.isEnabled(), timeout=60000)
    assert dialog.messageLabel.text().startswith("Hot streets (Gi* on street segments) stopped: No incident of 'incidents'")


def test_period_study_area_and_plan_choices(dialog):
    incidents = dialog.layerCombo.currentLayer()
    latest = max(f["occurred_at"] for f in incidents.getFeatures())
    assert dialog.toEdit.dateTime() == latest  # the data's last day, not today
    assert dialog.fromEdit.dateTime() == latest.addDays(-28)
    area = QgsVectorLayer("Polygon?crs=" + incidents.crs().authid(), "area", "memory")
    QgsProject.instance().addMapLayer(area)
    dialog.areaCombo.setLayer(area)
    dialog.detectorCombo.setCurrentIndex(1)
    steps = dialog.settings().steps()
    assert steps[1] == (
        "native:extractbylocation",
        {"INPUT": Output(0), "PREDICATE": 0, "INTERSECT": Layer(area.id()), "OUTPUT": "TEMPORARY_OUTPUT"},
    )
    assert steps[2][1]["STUDY_AREA"] == Layer(area.id()) and steps[2][1]["INPUT"] == Output(1)
    dialog.detectorCombo.setCurrentIndex(0)
    assert not dialog.planGroup.isEnabled() and dialog.riskCombo.count() == 0  # a surface has no places to patrol
    for index in (1, 2, 3):
        dialog.detectorCombo.setCurrentIndex(index)
        offered = [dialog.riskCombo.itemData(i) for i in range(dialog.riskCombo.count())]
        assert offered and "fid" not in offered and dialog.planGroup.isEnabled()
    dialog.detectorCombo.setCurrentIndex(2)
    streets = QgsProject.instance().mapLayersByName("streets")[0]
    dialog.streetsCombo.setLayer(streets)
    steps = dialog.settings().steps()
    assert [algorithm for algorithm, _ in steps][-2:] == ["hotspotpolicing:streetsegments", "hotspotpolicing:assignincidents"]
    assert steps[-1][1]["SEGMENTS"] == Output(len(steps) - 2)


def test_cancel_stops_the_run(dialog, qtbot):
    dialog.fromEdit.setDateTime(QDateTime.fromString("2023-01-01T00:00:00", "yyyy-MM-ddTHH:mm:ss"))
    dialog.detectorCombo.setCurrentIndex(1)
    layers = set(QgsProject.instance().mapLayers())
    assert dialog.run() is not None and dialog.task is not None
    dialog.cancel()
    qtbot.waitUntil(lambda: dialog.runButton.isEnabled(), timeout=60000)
    assert dialog.feedback.isCanceled() and dialog.messageLabel.text() == "Cancelled: nothing was added to the map."
    assert set(QgsProject.instance().mapLayers()) == layers


def test_preset_round_trips_through_a_file(dialog, tmp_path):
    dialog.filterWidget.setExpression("\"offence\" = 'burglary'")
    dialog.sizeSpin.setValue(150.0)
    dialog.detectorCombo.setCurrentIndex(1)
    dialog.save_preset("Burglary, last 28 days, 150 m hexagons")
    path = tmp_path / "presets.json"
    dialog.export_presets(str(path))
    saved = json.loads(path.read_text(encoding="utf-8"))["Burglary, last 28 days, 150 m hexagons"]
    dialog.filterWidget.setExpression("")
    dialog.sizeSpin.setValue(0.0)
    dialog.detectorCombo.setCurrentIndex(0)
    dialog.import_presets(str(path))
    dialog.load_preset("Burglary, last 28 days, 150 m hexagons")
    assert dialog.settings().preset() == saved and saved["size"] == 150.0 and saved["detector"] == "hotspotpolicing:optimizedhotspots"


def test_bad_choices_get_a_message(dialog):
    dialog.filterWidget.setExpression("\"offence\" = 'no such offence'")
    assert dialog.run() is None and "No incident matches" in dialog.messageLabel.text()
    dialog.detectorCombo.setCurrentIndex(2)
    dialog.streetsCombo.setLayer(None)
    assert "need the street centre-lines" in dialog.validate()
    dialog.detectorCombo.setCurrentIndex(0)
    dialog.folderWidget.setFilePath("/no/such/folder")
    assert "The folder '/no/such/folder' does not exist" in dialog.validate()
    dialog.folderWidget.setFilePath("")
    no_dates = QgsVectorLayer("Point?crs=EPSG:32630&field=offence:string", "no dates", "memory")
    QgsProject.instance().addMapLayer(no_dates)
    dialog.layerCombo.setLayer(no_dates)
    assert "needs a date field" in dialog.validate()
    dialog.periodCheck.setChecked(False)
    assert dialog.validate() is None
    dialog.layerCombo.setLayer(None)
    assert dialog.validate() == "Choose an incident layer."


def test_settings_live_apart_from_the_widgets_and_run_public_algorithms():
    from qgis.core import QgsApplication

    from hotspot_policing.ui.detector_settings import DETECTORS, DetectorSettings, describe

    settings = DetectorSettings(
        layer="incidents_id", date_field="occurred_at", filter="\"offence\" = 'robbery'", start="2025-01-01T00:00:00"
    )
    settings.end, settings.streets = "2025-01-29T00:00:00", "streets_id"
    assert DetectorSettings.from_preset(settings.preset()).preset() == settings.preset()
    assert "start" not in settings.preset()  # presets keep the period's length, not its dates
    for detector in DETECTORS:
        settings.detector = detector
        steps = settings.steps()
        for algorithm, _ in steps:
            assert QgsApplication.processingRegistry().algorithmById(algorithm) is not None, algorithm
        lines = describe(steps, lambda layer_id: f"{layer_id}.gpkg")
        assert lines[0].startswith("1. qgis_process run native:extractbyexpression -- INPUT=incidents_id.gpkg")
        assert lines[-1].split()[3] == steps[-1][0] and re.search(r" OUTPUT(_\w+)?=TEMPORARY_OUTPUT", lines[-1])
