"""The briefing map export dialog: the visible results and streets ticked (not incidents,
pings or hidden layers), the table's layer and a district name field chosen sensibly, the
export run in the background with progress and Cancel, and clear messages for an empty
choice or a path that cannot be written."""

import pytest
from qgis.core import QgsApplication, QgsProject, QgsVectorLayer
from qgis.PyQt.QtCore import Qt

from .conftest import SAMPLE_CITY

pytestmark = pytest.mark.usefixtures("provider")
CITY = f"{SAMPLE_CITY}|layername="


@pytest.fixture
def dialog(qgis_new_project, qtbot):
    from hotspot_policing.ui.briefing_dialog import BriefingDialog

    streets = QgsVectorLayer(f"{CITY}streets", "streets", "ogr")
    beats = QgsVectorLayer(f"{CITY}beats", "beats", "ogr")
    QgsProject.instance().addMapLayers([streets, beats])
    widget = BriefingDialog()
    qtbot.addWidget(widget)
    return widget


def ticked(widget):
    return [widget.layersList.item(i).text() for i in range(widget.layersList.count()) if widget.layersList.item(i).checkState()]


def wait_for_the_export(widget, qtbot):
    assert widget.task is not None and widget.cancelButton.isEnabled() and not widget.exportButton.isEnabled()  # in the background
    qtbot.waitUntil(lambda: widget.task is None, timeout=120_000)
    assert widget.exportButton.isEnabled() and not widget.cancelButton.isEnabled()


def test_export_writes_the_pdf(dialog, tmp_path, qtbot):
    assert dialog.layersList.count() == 2 and ticked(dialog) == ["streets"]  # named streets: yes; plain areas: no
    dialog.titleEdit.setText("Night shift briefing")
    dialog.outputWidget.setFilePath(str(tmp_path / "briefing.pdf"))
    parameters = dialog.parameters()
    assert [layer.name() for layer in parameters["LAYERS"]] == ["streets"]
    assert parameters["TITLE"] == "Night shift briefing" and parameters["TOP_N"] == 10
    assert dialog.export()
    wait_for_the_export(dialog, qtbot)
    assert (tmp_path / "briefing.pdf").stat().st_size > 1000
    assert dialog.messageLabel.text().startswith("Saved") and dialog.progressBar.value() == 100


def test_defaults_tick_the_visible_results_and_pick_the_plan_for_the_table(qgis_new_project, qtbot, hexagon_plan, tmp_path):
    from hotspot_policing.ui.briefing_dialog import BriefingDialog

    hot, plan = hexagon_plan
    project = QgsProject.instance()
    layers = [QgsVectorLayer(f"{CITY}{name}", name, "ogr") for name in ("study_area", "beats", "streets", "patrol_pings", "incidents")]
    layers += [
        QgsVectorLayer(hot, "Hot spots", "ogr"),
        QgsVectorLayer(hot, "Hot spots (old run)", "ogr"),
        QgsVectorLayer(plan, "Patrol plan", "ogr"),
    ]
    project.addMapLayers(layers)
    project.layerTreeRoot().findLayer(layers[-2].id()).setItemVisibilityChecked(False)  # a hidden result stays unticked
    widget = BriefingDialog()
    qtbot.addWidget(widget)
    assert sorted(ticked(widget)) == ["Hot spots", "Patrol plan", "streets"]
    assert widget.tableLayerCombo.currentLayer().name() == "Patrol plan"
    widget.tableLayerCombo.setLayer(layers[-3])
    assert widget.parameters()["HOTSPOTS"] is layers[-3]  # the table's layer can be chosen
    widget.districtsCombo.setLayer(layers[1])
    fields = [widget.districtFieldCombo.itemText(i) for i in range(widget.districtFieldCombo.count())]
    assert widget.districtFieldCombo.currentField() == "beat_id" and "fid" not in fields  # text fields only, the one that tells beats apart
    widget.districtsCombo.setLayer(None)

    widget.outputWidget.setFilePath(str(tmp_path / "defaults.pdf"))
    assert widget.export()
    wait_for_the_export(widget, qtbot)
    assert widget.messageLabel.text().startswith("Saved"), widget.messageLabel.text()

    widget.outputWidget.setFilePath(str(tmp_path / "cancelled.pdf"))
    assert widget.export()
    widget.cancel()
    qtbot.waitUntil(lambda: widget.task is None, timeout=120_000)
    assert widget.messageLabel.text().startswith("Cancelled") and not (tmp_path / "cancelled.pdf").exists()


def test_help_opens_in_a_panel(dialog):
    dialog.buttonBox.helpRequested.emit()
    assert dialog.helpBrowser.isVisibleTo(dialog) and "Where should patrols go" in dialog.helpBrowser.toPlainText()
    assert QgsApplication.processingRegistry().algorithmById("hotspotpolicing:briefingmap") is not None


def test_bad_choices_get_a_message(dialog, tmp_path):
    dialog.outputWidget.setFilePath(str(tmp_path / "missing" / "map.pdf"))
    assert not dialog.export() and "Cannot write" in dialog.messageLabel.text()
    dialog.outputWidget.setFilePath(str(tmp_path / "map.docx"))
    assert not dialog.export() and ".pdf or a .png" in dialog.messageLabel.text()
    for i in range(dialog.layersList.count()):
        dialog.layersList.item(i).setCheckState(Qt.CheckState.Unchecked)
    assert not dialog.export() and "at least one layer" in dialog.messageLabel.text()
