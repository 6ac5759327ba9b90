"""The briefing map export dialog: a thin front to hotspotpolicing:briefingmap."""

import os

from qgis.core import QgsApplication, QgsMapLayerProxyModel, QgsProcessingException, QgsProject, QgsSettings
from qgis.gui import QgsFileWidget
from qgis.PyQt import uic
from qgis.PyQt.QtCore import QCoreApplication, Qt
from qgis.PyQt.QtWidgets import QDialog, QDialogButtonBox, QListWidgetItem

FORM, _ = uic.loadUiType(os.path.join(os.path.dirname(__file__), "briefing_dialog.ui"))
SETTINGS_KEY = "hotspot_policing/briefing"
ALGORITHM = "hotspotpolicing:briefingmap"


def tr(text):
    return QCoreApplication.translate("BriefingDialog", text)


class BriefingDialog(QDialog, FORM):
    def __init__(self, iface=None, parent=None):
        super().__init__(parent)
        self.setupUi(self)
        self.iface = iface
        for layer in QgsProject.instance().layerTreeRoot().layerOrder() or QgsProject.instance().mapLayers().values():
            item = QListWidgetItem(layer.name())
            item.setData(Qt.ItemDataRole.UserRole, layer.id())
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked)
            self.layersList.addItem(item)
        self.pageCombo.addItems([tr("A4"), tr("Letter")])
        self.orientationCombo.addItems([tr("Landscape"), tr("Portrait")])
        self.districtsCombo.setFilters(QgsMapLayerProxyModel.Filter.PolygonLayer)
        self.districtsCombo.setAllowEmptyLayer(True)
        self.districtsCombo.setLayer(None)
        self.districtsCombo.layerChanged.connect(self.districtFieldCombo.setLayer)
        self.districtFieldCombo.setLayer(None)
        self.outputWidget.setStorageMode(QgsFileWidget.StorageMode.SaveFile)
        self.outputWidget.setFilter(tr("PDF files (*.pdf);;PNG images (*.png)"))
        settings = QgsSettings()
        self.titleEdit.setText(settings.value(f"{SETTINGS_KEY}/title", tr("Hot spots")))
        self.outputWidget.setFilePath(settings.value(f"{SETTINGS_KEY}/output", ""))
        self.exportButton = self.buttonBox.addButton(tr("Export"), QDialogButtonBox.ButtonRole.ActionRole)
        self.exportButton.clicked.connect(self.export)
        self.buttonBox.rejected.connect(self.reject)
        self.buttonBox.helpRequested.connect(
            lambda: self.messageLabel.setText(QgsApplication.processingRegistry().algorithmById(ALGORITHM).shortHelpString())
        )

    def parameters(self):
        layers = [
            self.layersList.item(i).data(Qt.ItemDataRole.UserRole)
            for i in range(self.layersList.count())
            if self.layersList.item(i).checkState() == Qt.CheckState.Checked
        ]
        parameters = {
            "LAYERS": [QgsProject.instance().mapLayer(layer_id) for layer_id in layers],
            "TITLE": self.titleEdit.text(),
            "SUBTITLE": self.subtitleEdit.text(),
            "TOP_N": self.topSpin.value(),
            "PAGE": self.pageCombo.currentIndex(),
            "ORIENTATION": self.orientationCombo.currentIndex(),
            "OUTPUT": self.outputWidget.filePath(),
        }
        if self.districtsCombo.currentLayer() is not None:
            parameters.update(DISTRICTS=self.districtsCombo.currentLayer(), DISTRICT_FIELD=self.districtFieldCombo.currentField())
        return parameters

    def validate(self, parameters):
        """What stops an export, in words (None when all is well)."""
        if not parameters["LAYERS"]:
            return tr("Tick at least one layer to map.")
        path = parameters["OUTPUT"]
        if not path:
            return tr("Choose where to save the map.")
        if os.path.splitext(path)[1].lower() not in (".pdf", ".png"):
            return tr("Save the map as a .pdf or a .png file.")
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
            return tr("Cannot write to {}: choose a folder that exists and can be written.").format(folder)
        return None

    def export(self):
        parameters = self.parameters()
        problem = self.validate(parameters)
        if problem:
            self.messageLabel.setText(problem)
            return False
        QgsSettings().setValue(f"{SETTINGS_KEY}/title", parameters["TITLE"])
        QgsSettings().setValue(f"{SETTINGS_KEY}/output", parameters["OUTPUT"])
        import processing

        try:
            processing.run(ALGORITHM, parameters)
        except QgsProcessingException as error:
            self.messageLabel.setText(str(error))
            return False
        self.messageLabel.setText(tr("Saved {}.").format(parameters["OUTPUT"]))
        return True
