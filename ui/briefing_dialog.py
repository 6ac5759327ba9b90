"""The briefing map export dialog: a thin front to hotspotpolicing:briefingmap, run in the
background (progress, Cancel) so QGIS stays usable while the map is drawn."""

import os

from qgis.core import (
    QgsApplication,
    QgsFieldProxyModel,
    QgsMapLayerProxyModel,
    QgsProcessingAlgRunnerTask,
    QgsProcessingContext,
    QgsProject,
    QgsSettings,
    QgsVectorLayer,
)
from qgis.gui import QgsFileWidget
from qgis.PyQt import uic
from qgis.PyQt.QtCore import QCoreApplication, Qt, QUrl
from qgis.PyQt.QtWidgets import QDialog, QDialogButtonBox, QListWidgetItem

from ..processing import provenance
from ..processing.algorithms.briefing_map import is_plan
from ..processing.compat import LINE_GEOMETRY
from ..processing.places import name_field, street_field
from ..processing.styles import recognised_style
from .detector_dialog import ErrorKeepingFeedback

FORM, _ = uic.loadUiType(os.path.join(os.path.dirname(__file__), "briefing_dialog.ui"))
SETTINGS_KEY = "hotspot_policing/briefing"
ALGORITHM = "hotspotpolicing:briefingmap"


def tr(text):
    return QCoreApplication.translate("BriefingDialog", text)


def worth_mapping(layer, visible):
    """Ticked at first: a visible result of this plugin, or visible named streets; not the
    incidents, pings and areas a briefing map drowns in."""
    if not visible:
        return False
    if recognised_style(layer) is not None or provenance.of_layer(layer) is not None:
        return True
    return isinstance(layer, QgsVectorLayer) and layer.geometryType() == LINE_GEOMETRY and street_field(layer.fields()) is not None


class BriefingDialog(QDialog, FORM):
    def __init__(self, iface=None, parent=None):
        super().__init__(parent)
        self.setupUi(self)
        self.iface = iface
        self.task = self.feedback = None
        project = QgsProject.instance()
        ticked = []
        for layer in project.layerTreeRoot().layerOrder() or project.mapLayers().values():
            node = project.layerTreeRoot().findLayer(layer.id())
            item = QListWidgetItem(layer.name())
            item.setData(Qt.ItemDataRole.UserRole, layer.id())
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            tick = worth_mapping(layer, node is None or node.isVisible())
            item.setCheckState(Qt.CheckState.Checked if tick else Qt.CheckState.Unchecked)
            self.layersList.addItem(item)
            ticked += [layer] if tick else []
        self.tableLayerCombo.setFilters(QgsMapLayerProxyModel.Filter.VectorLayer)
        vectors = [layer for layer in ticked if isinstance(layer, QgsVectorLayer)]
        results = [layer for layer in vectors if not street_field(layer.fields()) or recognised_style(layer) is not None]
        table = next((layer for layer in vectors if is_plan(layer)), (results or vectors or [None])[0])
        if table is not None:
            self.tableLayerCombo.setLayer(table)
        self.pageCombo.addItems([tr("A4"), tr("Letter")])
        self.orientationCombo.addItems([tr("Landscape"), tr("Portrait")])
        self.districtsCombo.setFilters(QgsMapLayerProxyModel.Filter.PolygonLayer)
        self.districtsCombo.setAllowEmptyLayer(True)
        self.districtsCombo.setLayer(None)
        self.districtFieldCombo.setFilters(QgsFieldProxyModel.Filter.String)  # a name, never an id number such as fid
        self.districtsCombo.layerChanged.connect(self._districts_changed)
        self._districts_changed(None)
        self.outputWidget.setStorageMode(QgsFileWidget.StorageMode.SaveFile)
        self.outputWidget.setFilter(tr("PDF files (*.pdf);;PNG images (*.png)"))
        settings = QgsSettings()
        self.titleEdit.setText(settings.value(f"{SETTINGS_KEY}/title", tr("Hot spots")))
        self.outputWidget.setFilePath(settings.value(f"{SETTINGS_KEY}/output", ""))
        self.helpBrowser.setVisible(False)
        self.exportButton = self.buttonBox.addButton(tr("Export"), QDialogButtonBox.ButtonRole.ActionRole)
        self.cancelButton = self.buttonBox.addButton(tr("Cancel export"), QDialogButtonBox.ButtonRole.ActionRole)
        self.cancelButton.setEnabled(False)
        self.messageLabel.setOpenExternalLinks(True)
        self.exportButton.clicked.connect(self.export)
        self.cancelButton.clicked.connect(self.cancel)
        self.buttonBox.rejected.connect(self.reject)
        self.buttonBox.helpRequested.connect(self._help)

    def _districts_changed(self, layer):
        self.districtFieldCombo.setLayer(layer)
        if layer is not None:
            self.districtFieldCombo.setField(name_field(layer) or "")

    def _help(self):
        """The algorithm's help in a scrollable panel under the form (Help again hides it)."""
        self.helpBrowser.setHtml(QgsApplication.processingRegistry().algorithmById(ALGORITHM).shortHelpString())
        self.helpBrowser.setVisible(not self.helpBrowser.isVisible())

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
        if self.tableLayerCombo.currentLayer() is not None:
            parameters["HOTSPOTS"] = self.tableLayerCombo.currentLayer()
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
        """Start the export as a background task; False (with the reason shown) when the
        choices do not allow one."""
        parameters = self.parameters()
        problem = self.validate(parameters)
        if problem:
            self.messageLabel.setText(problem)
            return False
        QgsSettings().setValue(f"{SETTINGS_KEY}/title", parameters["TITLE"])
        QgsSettings().setValue(f"{SETTINGS_KEY}/output", parameters["OUTPUT"])
        algorithm = QgsApplication.processingRegistry().createAlgorithmById(ALGORITHM)
        self.context = QgsProcessingContext()
        self.context.setProject(QgsProject.instance())
        self.feedback = ErrorKeepingFeedback()
        self.feedback.progressChanged.connect(lambda value: self.progressBar.setValue(int(value)))
        self.progressBar.setValue(0)
        self.exportButton.setEnabled(False)
        self.cancelButton.setEnabled(True)
        self.messageLabel.setText(tr("Drawing the briefing map…"))
        self.task = QgsProcessingAlgRunnerTask(algorithm, parameters, self.context, self.feedback)
        self.task.executed.connect(lambda ok, results: self._finished(ok, results, parameters["OUTPUT"]))
        QgsApplication.taskManager().addTask(self.task)
        return True

    def cancel(self):
        self.messageLabel.setText(tr("Cancelling…"))  # the export's end says what happened
        if self.feedback is not None:
            self.feedback.cancel()
        if self.task is not None:
            self.task.cancel()

    def _finished(self, ok, results, path):
        self.task = None  # the task manager deletes finished tasks
        self.exportButton.setEnabled(True)
        self.cancelButton.setEnabled(False)
        if self.feedback.isCanceled():
            self.messageLabel.setText(tr("Cancelled: no map was saved."))
        elif not ok or not results:
            reason = self.feedback.errors[-1] if self.feedback.errors else tr("see the Processing log for why.")
            self.messageLabel.setText(tr("The briefing map was not saved: {}").format(reason))
        else:
            saved = results.get("OUTPUT") or path
            self.progressBar.setValue(100)
            self.messageLabel.setText(tr("Saved <a href='{}'>{}</a>.").format(QUrl.fromLocalFile(saved).toString(), saved))
