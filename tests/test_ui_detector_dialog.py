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
    from hotspot_policing.ui.detector_settings import DETECTORS

    assert dialog.layerCombo.currentLayer().name() == "incidents"
    assert dialog.dateFieldCombo.currentField() == "occurred_at"
    assert dialog.rangeLabel.text() == "Data: 30,000 incidents, 1 Jan 2023 to 31 Dec 2025."
    assert dialog.offenceFieldCombo.currentField() == "offence"
    offences = [dialog.offenceCombo.itemText(i) for i in range(dialog.offenceCombo.count())]
    assert offences == ["assault", "burglary", "criminal_damage", "drugs", "robbery", "theft_from_vehicle"]
    assert dialog.detectorCombo.count() == len(DETECTORS) and dialog.explanationLabel.text()
    assert {"hotspotpolicing:networkkde", "hotspotpolicing:aoristic", "hotspotpolicing:nearrepeat"} <= set(DETECTORS)
    assert dialog.streetsCombo.currentLayer().name() == "streets"  # raw centre-lines, picked by their name
    assert dialog.areaCombo.currentLayer() is None  # no layer named like a study area


def test_no_street_layer_is_guessed_from_a_wrong_one(qgis_new_project, qtbot):
    """A line layer of ours (it has segment_id) or one not named like streets is not taken for the
    centre-lines; a study area is picked by its name."""
    from hotspot_policing.ui.detector_dialog import DetectorDialog

    hot = QgsVectorLayer("LineString?crs=EPSG:32630&field=segment_id:integer", "Burglary hot streets", "memory")
    rivers = QgsVectorLayer("LineString?crs=EPSG:32630", "rivers", "memory")
    area = QgsVectorLayer(f"{SAMPLE_CITY}|layername=study_area", "study_area", "ogr")
    QgsProject.instance().addMapLayers([hot, rivers, area])
    widget = DetectorDialog()
    qtbot.addWidget(widget)
    assert widget.streetsCombo.currentLayer() is None and widget.areaCombo.currentLayer() == area
    widget.detectorCombo.setCurrentIndex(3)
    assert "needs the street centre-lines" in widget.explanationLabel.text()


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
    assert parameters["INPUT"] == Output(0) and parameters["OUTPUT"] == Result("", "gpkg", "Burglary hot spots, 1 Jan - 31 Dec 2025")


def test_offences_from_a_pick_list(dialog):
    """Ticked offences filter like an expression would, and name the result; an expression
    still narrows them."""
    dialog.detectorCombo.setCurrentIndex(1)
    dialog.offenceCombo.setCheckedItems(["burglary", "robbery"])
    settings = dialog.settings()
    assert settings.offences == ["burglary", "robbery"]
    source = QgsVectorLayer(f"{SAMPLE_CITY}|layername=incidents", "all", "ogr")
    picked = list(source.getFeatures(QgsFeatureRequest().setFilterExpression(settings.expression())))
    latest = dialog.toEdit.date()
    expected = [f for f in source.getFeatures() if f["offence"] in ("burglary", "robbery") and f["occurred_at"].date().daysTo(latest) < 28]
    assert len(picked) == len(expected) > 0
    assert settings.steps()[-1][1]["OUTPUT"].label == "Burglary and robbery hot spots, 4 Dec - 31 Dec 2025"
    dialog.filterWidget.setExpression('"harm_weight" > 100')  # robbery's harm
    narrowed = list(source.getFeatures(QgsFeatureRequest().setFilterExpression(dialog.settings().expression())))
    assert 0 < len(narrowed) < len(picked) and {f["offence"] for f in narrowed} == {"robbery"}
    dialog.offenceCombo.deselectAllOptions()
    dialog.filterWidget.setExpression("")
    assert dialog.settings().steps()[-1][1]["OUTPUT"].label == "Hot spots, 4 Dec - 31 Dec 2025"


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
    assert parameters["OUTPUT"] == Result(str(tmp_path / f"hot_streets_{end}.gpkg"), "gpkg", "Hot streets, 1 Jan 2023 - 31 Dec 2025")
    qtbot.waitUntil(lambda: dialog.runButton.isEnabled(), timeout=120000)
    assert dialog.messageLabel.text().startswith("Done"), dialog.feedback.textLog()
    found = r"Done\. \d+ hot street segments \(99 % confidence: \d+\) of [\d,]+; neighbourhood [\d,]+ m"
    assert re.search(found, dialog.messageLabel.text())
    assert "Patrol plan: 10 places (" in dialog.messageLabel.text()
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"hot_streets_{end}.gpkg", f"patrol_plan_{end}.gpkg"]
    shown = [QgsProject.instance().mapLayer(i) for i in set(QgsProject.instance().mapLayers()) - loaded]
    period = "1 Jan 2023 - 31 Dec 2025"
    assert sorted(layer.name() for layer in shown) == [f"Hot streets, {period}", f"Patrol plan, {period}"]
    hot = next(layer for layer in shown if layer.name().startswith("Hot streets"))
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
    assert [layer.name() for layer in shown] == ["Emerging hot spots, 1 Jan 2023 - 31 Dec 2025"]
    found = r"Done\. [\d,]+ places with a pattern in [\d,]+ hexagons over 36 time steps: .*Persistent Hot Spot"
    assert re.search(found, dialog.messageLabel.text())
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
    assert shown == ["Burglary near repeat Knox ratios, 1 Jul - 31 Dec 2025", "Burglary near repeat risk zones, 1 Jul - 31 Dec 2025"]
    assert "Near repeats: raised risk up to" in dialog.messageLabel.text() or "No significant near repeats" in dialog.messageLabel.text()
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
    assert set(shown) == {"Hot spots, 1 Jan - 31 Dec 2025", "Change per place, 1 Jan - 31 Dec 2025"}
    assert "Open the report" in dialog.messageLabel.text() and "significant increases" in dialog.messageLabel.text()
    assert "Significant increase" in {f["CHANGE"] for f in shown["Change per place, 1 Jan - 31 Dec 2025"].getFeatures()}  # Riverside
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
    dialog.messageLabel.linkActivated.emit("#log")  # the link to the run's log shows it beside the choices
    assert "No incident of 'incidents'" in dialog.infoBrowser.toPlainText() and "qgis_process run" in dialog.infoBrowser.toPlainText()


def test_period_study_area_and_plan_choices(dialog):
    incidents = dialog.layerCombo.currentLayer()
    latest = max(f["occurred_at"] for f in incidents.getFeatures()).date()
    assert dialog.toEdit.date() == latest  # the data's last day, not today: its last 28 days
    assert dialog.fromEdit.date() == latest.addDays(-27)
    settings = dialog.settings()
    assert (settings.start, settings.end, settings.days) == ("2025-12-04T00:00:00", "2025-12-31T23:59:59", 28)
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
    assert "needs the street centre-lines" in dialog.validate()
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
    dialog.detectorCombo.setCurrentIndex(4)  # emerging hot spots need the dates even without a period
    assert dialog.validate() == "'Emerging hot spots (hexagons)' needs the date field: choose the field with the incident dates."
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
    assert settings.title("hot spots") == "Robbery hot spots, 1 Jan - 29 Jan 2025"  # the offence from the filter
    settings.offence_field, settings.offences = "offence", ["drugs", "theft_from_vehicle", "assault", "robbery"]
    assert settings.title("density") == "4 offences density, 1 Jan - 29 Jan 2025"
    settings.offences, settings.start = ["theft_from_vehicle"], "2024-12-01T00:00:00"
    assert settings.title("hot streets") == "Theft from vehicle hot streets, 1 Dec 2024 - 29 Jan 2025"
    assert "\"offence\" IN ('theft_from_vehicle') AND (\"offence\" = 'robbery')" in settings.expression()
    for detector in DETECTORS:
        settings.detector = detector
        steps = settings.steps()
        for algorithm, _ in steps:
            assert QgsApplication.processingRegistry().algorithmById(algorithm) is not None, algorithm
        lines = describe(steps, lambda layer_id: f"{layer_id}.gpkg")
        assert lines[0].startswith("1. qgis_process run native:extractbyexpression -- INPUT=incidents_id.gpkg")
        assert lines[-1].split()[3] == steps[-1][0] and re.search(r" OUTPUT(_\w+)?=TEMPORARY_OUTPUT", lines[-1])


def test_a_remembered_period_is_laid_back_from_the_data_last_day(dialog, qtbot):
    """The last run's period (1 Oct - 31 Dec 2025, 92 days) comes back when the dialog reopens,
    also as a preset: its length, ending on the data's last day, never 'up to now'."""
    from qgis.core import QgsSettings

    from hotspot_policing.ui.detector_dialog import SETTINGS_KEY, DetectorDialog

    dialog.fromEdit.setDate(dialog.toEdit.date().addDays(-91))
    dialog.offenceCombo.setCheckedItems(["burglary"])
    assert (dialog.settings().days, dialog.settings().period()) == (92, "1 Oct - 31 Dec 2025")
    QgsSettings().setValue(f"{SETTINGS_KEY}/last", json.dumps(dialog.settings().preset()))
    reopened = DetectorDialog()
    qtbot.addWidget(reopened)
    assert reopened.settings().preset() == dialog.settings().preset()
    assert (reopened.fromEdit.date().toString("yyyy-MM-dd"), reopened.toEdit.date().toString("yyyy-MM-dd")) == ("2025-10-01", "2025-12-31")
    assert reopened.offenceCombo.checkedItems() == ["burglary"]


def test_a_preset_name_and_enter_saves_it(dialog, qtbot):
    from qgis.PyQt.QtCore import Qt

    dialog.presetCombo.lineEdit().clear()
    qtbot.keyClicks(dialog.presetCombo.lineEdit(), "Burglary")
    qtbot.keyClick(dialog.presetCombo.lineEdit(), Qt.Key.Key_Return)
    assert "Burglary" in dialog.presets() and dialog.messageLabel.text() == "Preset 'Burglary' saved."
    assert dialog.task is None  # Enter started no run
    dialog.saveButton.click()
    assert dialog.messageLabel.text() == "Preset 'Burglary' saved." and list(dialog.presets()) == ["Burglary"]
    dialog.presetCombo.setCurrentText("")
    dialog.saveButton.click()
    assert dialog.messageLabel.text().startswith("Type a name for the preset")


def test_help_goes_to_a_panel_not_the_message_line(dialog):
    dialog.detectorCombo.setCurrentIndex(1)
    dialog.messageLabel.setText("")
    dialog.buttonBox.helpRequested.emit()
    assert dialog.infoBrowser.toPlainText().startswith("Optimized hot spots (hexagons)") and len(dialog.infoBrowser.toPlainText()) > 500
    assert dialog.messageLabel.text() == ""


def test_the_summary_says_what_was_found_or_what_to_try():
    from hotspot_policing.ui.detector_dialog import summary
    from hotspot_policing.ui.detector_settings import OPTIMIZED

    def cells(bins):
        layer = QgsVectorLayer("Polygon?crs=EPSG:32630&field=Gi_Bin:integer", "cells", "memory")
        from qgis.core import QgsFeature

        for value in bins:
            feature = QgsFeature(layer.fields())
            feature["Gi_Bin"] = value
            layer.dataProvider().addFeatures([feature])
        return layer

    results = {"CELL_COUNT": 1845, "CELL_SIZE_USED": 150.0, "DISTANCE_USED": 250.0}
    found = summary(OPTIMIZED, results, cells([3, 3, 2, 1, 0, -3, None]))
    assert found == "4 hot spot cells (99 % confidence: 2) in 1,845 hexagons of 150 m; distance band 250 m."
    nothing = summary(OPTIMIZED, results | {"DISTANCE_USED": 2543.2}, cells([0, 0, -1]))
    assert nothing == (
        "0 hot spots found in 1,845 hexagons of 150 m: the distance band chosen was 2,543 m; try a study area or a smaller cell size."
    )


def test_density_along_the_streets_and_when(dialog, qtbot):
    """The newer analyses run from the dialog, with the streets and the period it holds."""
    dialog.detectorCombo.setCurrentIndex(6)
    dialog.fromEdit.setDate(dialog.toEdit.date().addDays(-90))
    _, (algorithm, parameters) = dialog.run()
    assert algorithm == "hotspotpolicing:networkkde" and parameters["NETWORK"] == Layer(dialog.streetsCombo.currentLayer().id())
    qtbot.waitUntil(lambda: dialog.runButton.isEnabled(), timeout=120000)
    assert re.search(r"Done\. Density along [\d,]+ street segments: highest [\d,]+ incidents per km of street", dialog.messageLabel.text())
    dialog.detectorCombo.setCurrentIndex(7)
    loaded = set(QgsProject.instance().mapLayers())
    _, (algorithm, parameters) = dialog.run()
    assert algorithm == "hotspotpolicing:aoristic" and (parameters["FROM_FIELD"], parameters["START"]) == ("occurred_at", "2025-10-02")
    qtbot.waitUntil(lambda: dialog.runButton.isEnabled(), timeout=60000)
    assert re.search(r"Done\. Peak hour: \w+day \d\d:00-\d\d:59, [\d.]+% of [\d,]+ incidents\.", dialog.messageLabel.text())
    shown = [QgsProject.instance().mapLayer(i).name() for i in set(QgsProject.instance().mapLayers()) - loaded]
    assert shown == ["By weekday and hour, 2 Oct - 31 Dec 2025"]
