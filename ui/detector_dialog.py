"""The detector dialog: pick incidents, a period and an offence filter, choose a detector,
and run it through Processing (progress, Cancel, styled results on the canvas). The choices
live in a DetectorSettings (detector_settings.py), which turns them into public Processing
algorithms; the log shows them as qgis_process commands. Named presets are kept in the QGIS
settings and can be exported and imported as JSON."""

import json
import os

from qgis.core import (
    QgsApplication,
    QgsFeatureRequest,
    QgsMapLayerProxyModel,
    QgsProcessingAlgRunnerTask,
    QgsProcessingContext,
    QgsProcessingFeedback,
    QgsProcessingOutputLayerDefinition,
    QgsProcessingUtils,
    QgsProject,
    QgsSettings,
)
from qgis.PyQt import uic
from qgis.PyQt.QtCore import QCoreApplication, QDateTime
from qgis.PyQt.QtWidgets import QDialog, QDialogButtonBox, QFileDialog

from .detector_settings import DETECTORS, RESULT, SCRATCH, SEGMENT_DETECTORS, DetectorSettings, Layer, Previous, describe

FORM, _ = uic.loadUiType(os.path.join(os.path.dirname(__file__), "detector_dialog.ui"))
SETTINGS_KEY = "hotspot_policing/detector"
# Labels and one-line explanations, in the order of detector_settings.DETECTORS
LABELS = ("Kernel density map", "Optimized hot spots (hexagons)", "Street segments", "Gi* hot streets")
EXPLANATIONS = (
    "A smooth surface of where incidents concentrate (quartic kernel, incidents per km²).",
    "Statistically significant hot and cold cells: Gi* with FDR, scale chosen automatically.",
    "Incidents counted on each street segment: choose the street segments layer below.",
    "Statistically significant hot streets: incidents counted per segment, then Gi* over the street network with FDR.",
)


def tr(text):
    return QCoreApplication.translate("DetectorDialog", text)


class DetectorDialog(QDialog, FORM):
    def __init__(self, iface=None, parent=None):
        super().__init__(parent)
        self.setupUi(self)
        self.iface = iface
        self.task = None
        self.feedback = None
        self.steps = []
        self.layerCombo.setFilters(QgsMapLayerProxyModel.Filter.PointLayer)
        self.streetsCombo.setFilters(QgsMapLayerProxyModel.Filter.LineLayer)
        self.streetsCombo.setAllowEmptyLayer(True)
        self.dateFieldCombo.setAllowEmptyFieldName(True)
        self.layerCombo.layerChanged.connect(self._layer_changed)
        for label in LABELS:
            self.detectorCombo.addItem(tr(label))
        self.detectorCombo.currentIndexChanged.connect(self._detector_changed)
        now = QDateTime.currentDateTime()
        self.toEdit.setDateTime(now)
        self.fromEdit.setDateTime(now.addDays(-28))
        self.runButton = self.buttonBox.addButton(tr("Run"), QDialogButtonBox.ButtonRole.ActionRole)
        self.cancelButton = self.buttonBox.addButton(tr("Cancel run"), QDialogButtonBox.ButtonRole.ActionRole)
        self.cancelButton.setEnabled(False)
        self.runButton.clicked.connect(self.run)
        self.cancelButton.clicked.connect(self.cancel)
        self.buttonBox.rejected.connect(self.reject)
        self.buttonBox.helpRequested.connect(self._help)
        self.saveButton.clicked.connect(lambda: self.save_preset(self.presetCombo.currentText()))
        self.presetCombo.activated.connect(lambda index: self.load_preset(self.presetCombo.itemText(index)))
        self.exportButton.clicked.connect(self._export)
        self.importButton.clicked.connect(self._import)
        self._layer_changed(self.layerCombo.currentLayer())
        self._detector_changed(0)
        self._refresh_presets()
        last = QgsSettings().value(f"{SETTINGS_KEY}/last", "")
        if last:
            self.apply_settings(DetectorSettings.from_preset(json.loads(last)))

    # --- state -------------------------------------------------------------------------
    def settings(self):
        """The dialog's choices as a DetectorSettings (what presets store and runs use)."""
        layer, streets = self.layerCombo.currentLayer(), self.streetsCombo.currentLayer()
        return DetectorSettings(
            layer=layer.id() if layer else "",
            date_field=self.dateFieldCombo.currentField(),
            use_period=self.periodCheck.isChecked(),
            days=self.fromEdit.dateTime().daysTo(self.toEdit.dateTime()),
            filter=self.filterWidget.expression(),
            detector=DETECTORS[self.detectorCombo.currentIndex()],
            size=self.sizeSpin.value(),
            streets=streets.id() if streets else "",
            start=self.fromEdit.dateTime().toString("yyyy-MM-ddTHH:mm:ss"),
            end=self.toEdit.dateTime().toString("yyyy-MM-ddTHH:mm:ss"),
        )

    def apply_settings(self, settings):
        """Show ``settings`` (a DetectorSettings) in the widgets."""
        layer = QgsProject.instance().mapLayer(settings.layer)
        if layer is not None:
            self.layerCombo.setLayer(layer)
        self.dateFieldCombo.setField(settings.date_field)
        self.periodCheck.setChecked(bool(settings.use_period))
        self.fromEdit.setDateTime(self.toEdit.dateTime().addDays(-int(settings.days)))
        self.filterWidget.setExpression(settings.filter)
        if settings.detector in DETECTORS:
            self.detectorCombo.setCurrentIndex(DETECTORS.index(settings.detector))
        self.sizeSpin.setValue(float(settings.size))
        streets = QgsProject.instance().mapLayer(settings.streets)
        if streets is not None:
            self.streetsCombo.setLayer(streets)

    def validate(self):
        """What stops a run, in words for the analyst (None when all is well)."""
        layer = self.layerCombo.currentLayer()
        if layer is None:
            return tr("Choose an incident layer.")
        if self.periodCheck.isChecked() and not self.dateFieldCombo.currentField():
            return tr("The period needs a date field: choose the field with the incident dates, or untick 'Filter by period'.")
        if self.fromEdit.dateTime() > self.toEdit.dateTime():
            return tr("The period starts after it ends.")
        if DETECTORS[self.detectorCombo.currentIndex()] in SEGMENT_DETECTORS and self.streetsCombo.currentLayer() is None:
            return tr("Street segments need a street segments layer.")
        return None

    def _matches(self, settings):
        """Whether any incident matches the period and the filter."""
        expression = settings.expression()
        layer = self.layerCombo.currentLayer()
        return not expression or next(layer.getFeatures(QgsFeatureRequest().setFilterExpression(expression).setLimit(1)), None) is not None

    # --- running -------------------------------------------------------------------------
    def run(self):
        """Run the chosen detector's steps one after another as background tasks; returns
        the steps (None when something stops the run, with the reason shown)."""
        problem = self.validate()
        settings = self.settings()
        if problem is None and not self._matches(settings):
            problem = tr("No incident matches the period and the filter: widen them.")
        if problem is not None:
            self.messageLabel.setText(problem)
            return None
        QgsSettings().setValue(f"{SETTINGS_KEY}/last", json.dumps(settings.preset()))
        self.steps = settings.steps()
        self.context = QgsProcessingContext()
        self.context.setProject(QgsProject.instance())
        self.feedback = QgsProcessingFeedback()
        self.feedback.progressChanged.connect(lambda value: self.progressBar.setValue(int(value)))
        for line in describe(self.steps, lambda layer_id: QgsProject.instance().mapLayer(layer_id).source()):
            self.feedback.pushCommandInfo(line)
        self.runButton.setEnabled(False)
        self.cancelButton.setEnabled(True)
        self._start(0, {})
        return self.steps

    def _start(self, number, previous):
        algorithm_id, parameters = self.steps[number]
        parameters = {key: self._resolve(value, previous) for key, value in parameters.items()}
        algorithm = QgsApplication.processingRegistry().createAlgorithmById(algorithm_id)
        self.task = QgsProcessingAlgRunnerTask(algorithm, parameters, self.context, self.feedback)
        self.task.executed.connect(lambda ok, results: self._finished(number, algorithm, ok, results))
        self.messageLabel.setText(tr("Running {}…").format(algorithm.displayName()))
        QgsApplication.taskManager().addTask(self.task)

    @staticmethod
    def _resolve(value, previous):
        if isinstance(value, Layer):
            return QgsProject.instance().mapLayer(value.id)
        if isinstance(value, Previous):
            return previous[value.key]
        if value == RESULT:
            return QgsProcessingOutputLayerDefinition("TEMPORARY_OUTPUT", QgsProject.instance())
        if value == SCRATCH:  # a file: a memory layer made in the task's thread is not the next task's to read
            return QgsProcessingUtils.generateTempFilename("step.gpkg")
        return value

    def cancel(self):
        self.messageLabel.setText(tr("Cancelling…"))  # the run's end says what happened
        if self.feedback is not None:
            self.feedback.cancel()
        if self.task is not None:
            self.task.cancel()

    def _finished(self, number, algorithm, ok, results):
        self.task = None  # the task manager deletes finished tasks
        if ok and results and not self.feedback.isCanceled() and number + 1 < len(self.steps):
            self._start(number + 1, results)
            return
        self.runButton.setEnabled(True)
        self.cancelButton.setEnabled(False)
        if self.feedback.isCanceled():
            self.messageLabel.setText(tr("Cancelled: nothing was added to the map."))
            return
        if not ok:
            self.messageLabel.setText(tr("The run stopped: see the Processing log for why."))
            return
        try:
            from processing.gui.Postprocessing import handleAlgorithmResults

            handleAlgorithmResults(algorithm, self.context, self.feedback)
        except ImportError:  # no Processing GUI (tests): the results stay in the context
            pass
        self.messageLabel.setText(tr("Done: the result is on the map."))

    # --- presets -------------------------------------------------------------------------
    def presets(self):
        return json.loads(QgsSettings().value(f"{SETTINGS_KEY}/presets", "{}") or "{}")

    def save_preset(self, name):
        if not name.strip():
            self.messageLabel.setText(tr("Give the preset a name first."))
            return
        presets = self.presets()
        presets[name] = self.settings().preset()
        QgsSettings().setValue(f"{SETTINGS_KEY}/presets", json.dumps(presets))
        self._refresh_presets(name)

    def load_preset(self, name):
        if name in self.presets():
            self.apply_settings(DetectorSettings.from_preset(self.presets()[name]))

    def export_presets(self, path):
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(self.presets(), handle, indent=2)

    def import_presets(self, path):
        with open(path, encoding="utf-8") as handle:
            imported = json.load(handle)
        presets = self.presets()
        presets.update(imported)
        QgsSettings().setValue(f"{SETTINGS_KEY}/presets", json.dumps(presets))
        self._refresh_presets()

    def _refresh_presets(self, current=None):
        self.presetCombo.clear()
        self.presetCombo.addItems(sorted(self.presets()))
        if current:
            self.presetCombo.setCurrentText(current)

    def _export(self):
        path, _ = QFileDialog.getSaveFileName(self, tr("Export presets"), "", tr("JSON files (*.json)"))
        if path:
            self.export_presets(path)

    def _import(self):
        path, _ = QFileDialog.getOpenFileName(self, tr("Import presets"), "", tr("JSON files (*.json)"))
        if path:
            self.import_presets(path)

    # --- helpers -------------------------------------------------------------------------
    def _layer_changed(self, layer):
        self.dateFieldCombo.setLayer(layer)
        self.filterWidget.setLayer(layer)
        if layer is not None:
            for field in layer.fields():
                if field.typeName().lower() in ("datetime", "date"):
                    self.dateFieldCombo.setField(field.name())
                    break

    def _detector_changed(self, index):
        self.explanationLabel.setText(tr(EXPLANATIONS[index]))
        streets = DETECTORS[index] in SEGMENT_DETECTORS
        self.streetsCombo.setEnabled(streets)
        self.sizeSpin.setEnabled(not streets)

    def _help(self):
        """The chosen detector's Processing help, in the dialog."""
        algorithm = QgsApplication.processingRegistry().algorithmById(DETECTORS[self.detectorCombo.currentIndex()])
        self.messageLabel.setText(algorithm.shortHelpString())
