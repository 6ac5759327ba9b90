"""The briefing map export dialog: layers listed, parameters built, PDF written, and clear
messages for an empty choice or a path that cannot be written."""

import pytest
from qgis.core import QgsProject, QgsVectorLayer
from qgis.PyQt.QtCore import Qt

from .conftest import SAMPLE_CITY

pytestmark = pytest.mark.usefixtures("provider")


@pytest.fixture
def dialog(qgis_new_project, qtbot):
    from hotspot_policing.ui.briefing_dialog import BriefingDialog

    streets = QgsVectorLayer(f"{SAMPLE_CITY}|layername=streets", "streets", "ogr")
    beats = QgsVectorLayer(f"{SAMPLE_CITY}|layername=beats", "beats", "ogr")
    QgsProject.instance().addMapLayers([streets, beats])
    widget = BriefingDialog()
    qtbot.addWidget(widget)
    return widget


def test_export_writes_the_pdf(dialog, tmp_path):
    assert dialog.layersList.count() == 2
    dialog.titleEdit.setText("Night shift briefing")
    dialog.outputWidget.setFilePath(str(tmp_path / "briefing.pdf"))
    parameters = dialog.parameters()
    assert sorted(layer.name() for layer in parameters["LAYERS"]) == ["beats", "streets"]
    assert parameters["TITLE"] == "Night shift briefing" and parameters["TOP_N"] == 10
    assert dialog.export() and (tmp_path / "briefing.pdf").stat().st_size > 1000
    assert dialog.messageLabel.text().startswith("Saved")


def test_bad_choices_get_a_message(dialog, tmp_path):
    dialog.outputWidget.setFilePath(str(tmp_path / "missing" / "map.pdf"))
    assert not dialog.export() and "Cannot write" in dialog.messageLabel.text()
    dialog.outputWidget.setFilePath(str(tmp_path / "map.docx"))
    assert not dialog.export() and ".pdf or a .png" in dialog.messageLabel.text()
    for i in range(dialog.layersList.count()):
        dialog.layersList.item(i).setCheckState(Qt.CheckState.Unchecked)
    assert not dialog.export() and "at least one layer" in dialog.messageLabel.text()
