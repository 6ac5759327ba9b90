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
    QgsProcessingUtils,
    QgsProject,
    QgsRasterLayer,
    QgsSettings,
    QgsVectorLayer,
)
from qgis.gui import QgsFileWidget
from qgis.PyQt import uic
from qgis.PyQt.QtCore import QCoreApplication, QDate, QDateTime, Qt, QTime, QUrl
from qgis.PyQt.QtWidgets import QDialog, QDialogButtonBox, QFileDialog

from .detector_settings import (
    DETECTORS,
    EVALUATIONS,
    INTERVENTION,
    PATROL_PLAN,
    RISK_FIELDS,
    SCRATCH,
    SEGMENT_COUNTS,
    SEGMENT_DETECTORS,
    DetectorSettings,
    Layer,
    Output,
    Result,
    describe,
)

FORM, _ = uic.loadUiType(os.path.join(os.path.dirname(__file__), "detector_dialog.ui"))
SETTINGS_KEY = "hotspot_policing/detector"
# Labels and one-line explanations, in the order of detector_settings.DETECTORS
LABELS = (
    "Kernel density map",
    "Optimized hot spots (hexagons)",
    "Street segments",
    "Gi* hot streets",
    "Emerging hot spots (hexagons)",
    "Near repeat risk zones",
)
EXPLANATIONS = (
    "A smooth surface of where incidents concentrate (quartic kernel, incidents per km²).",
    "Statistically significant hot and cold cells: Gi* with FDR, scale chosen automatically.",
    "Incidents counted on each street segment: the street centre-lines below are cut at every junction first.",
    "Statistically significant hot streets: the centre-lines cut at junctions, incidents counted per segment, "
    "then Gi* along the street network with FDR.",
    "Where crime is new, intensifying, persistent, diminishing or sporadic over the period: hexagons over time "
    "(days, weeks or months, whichever gives at least 10 steps), space-time Gi* and a trend test.",
    "How near and how soon crime follows crime (Knox test, as the Near Repeat Calculator), and zones of raised risk "
    "round the latest incidents. Give one offence and a period of several months.",
)
EVALUATION_LABELS = ("Change per place (significant rises and falls)", "Effect of patrolling the hot spots, and displacement")
RISK_LABELS = {"incident_count": "Incidents", "weight_sum": "Harm (weight sum)", "incidents_per_km": "Incidents per km"}


def tr(text):
    return QCoreApplication.translate("DetectorDialog", text)


class ErrorKeepingFeedback(QgsProcessingFeedback):
    """Feedback that keeps the last error, so the dialog can say why a run stopped."""

    def __init__(self):
        super().__init__()
        self.errors = []

    def reportError(self, error, fatal=False):  # noqa: N802 - QGIS API
        self.errors.append(error)
        super().reportError(error, fatal)


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
        self.areaCombo.setFilters(QgsMapLayerProxyModel.Filter.PolygonLayer)
        self.areaCombo.setAllowEmptyLayer(True)
        self.areaCombo.setLayer(None)
        self.folderWidget.setStorageMode(QgsFileWidget.StorageMode.GetDirectory)
        self.dateFieldCombo.setAllowEmptyFieldName(True)
        self.layerCombo.layerChanged.connect(self._layer_changed)
        self.dateFieldCombo.fieldChanged.connect(self._latest_days)
        for label in LABELS:
            self.detectorCombo.addItem(tr(label))
        for label in EVALUATION_LABELS:
            self.evaluateCombo.addItem(tr(label))
        self.detectorCombo.currentIndexChanged.connect(self._detector_changed)
        self.runButton = self.buttonBox.addButton(tr("Run"), QDialogButtonBox.ButtonRole.ActionRole)
        self.cancelButton = self.buttonBox.addButton(tr("Cancel run"), QDialogButtonBox.ButtonRole.ActionRole)
        self.cancelButton.setEnabled(False)
        self.messageLabel.setOpenExternalLinks(True)
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
        layer, streets, area = self.layerCombo.currentLayer(), self.streetsCombo.currentLayer(), self.areaCombo.currentLayer()
        return DetectorSettings(
            layer=layer.id() if layer else "",
            date_field=self.dateFieldCombo.currentField(),
            use_period=self.periodCheck.isChecked(),
            days=self.fromEdit.dateTime().daysTo(self.toEdit.dateTime()),
            filter=self.filterWidget.expression(),
            detector=DETECTORS[self.detectorCombo.currentIndex()],
            size=self.sizeSpin.value(),
            streets=streets.id() if streets else "",
            study_area=area.id() if area else "",
            folder=self.folderWidget.filePath(),
            plan=self.planGroup.isChecked(),
            risk_field=self.riskCombo.currentData() or "",
            patrol_minutes=self.minutesSpin.value(),
            evaluate=EVALUATIONS[self.evaluateCombo.currentIndex()] if self.evaluateGroup.isChecked() else "",
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
        self.areaCombo.setLayer(QgsProject.instance().mapLayer(settings.study_area))
        self.folderWidget.setFilePath(settings.folder)
        self.planGroup.setChecked(bool(settings.plan))
        self.riskCombo.setCurrentIndex(max(self.riskCombo.findData(settings.risk_field), 0))
        self.minutesSpin.setValue(float(settings.patrol_minutes))
        self.evaluateGroup.setChecked(settings.evaluate in EVALUATIONS)
        if settings.evaluate in EVALUATIONS:
            self.evaluateCombo.setCurrentIndex(EVALUATIONS.index(settings.evaluate))

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
            return tr("Street detectors need the street centre-lines: choose them under Streets.")
        if self.evaluateGroup.isChecked() and self.evaluateGroup.isEnabled():
            if not self.periodCheck.isChecked():
                return tr("'Did it work?' compares the period with the one before it: tick 'Filter by period'.")
            if EVALUATIONS[self.evaluateCombo.currentIndex()] == INTERVENTION:
                if self.areaCombo.currentLayer() is None:
                    return tr("The effect of an operation compares the hot spots with the rest of the study area: choose a study area.")
                if DETECTORS[self.detectorCombo.currentIndex()] == SEGMENT_COUNTS and not self.planGroup.isChecked():
                    return tr("Counted street segments are all streets: tick the patrol plan, so the treated places are the planned ones.")
        if self.folderWidget.filePath() and not os.path.isdir(self.folderWidget.filePath()):
            return tr("The folder '{}' does not exist: choose an existing folder or leave it empty.").format(self.folderWidget.filePath())
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
        self.feedback = ErrorKeepingFeedback()
        self.outputs, self.results = [], []  # each step's results; (file, layer name) of what to show
        self.feedback.progressChanged.connect(lambda value: self.progressBar.setValue(int(value)))
        for line in describe(self.steps, lambda layer_id: QgsProject.instance().mapLayer(layer_id).source()):
            self.feedback.pushCommandInfo(line)
        self.runButton.setEnabled(False)
        self.cancelButton.setEnabled(True)
        self._start(0)
        return self.steps

    def _start(self, number):
        algorithm_id, parameters = self.steps[number]
        parameters = {key: self._resolve(value, algorithm_id) for key, value in parameters.items()}
        algorithm = QgsApplication.processingRegistry().createAlgorithmById(algorithm_id)
        self.task = QgsProcessingAlgRunnerTask(algorithm, parameters, self.context, self.feedback)
        self.task.executed.connect(lambda ok, results: self._finished(number, algorithm, ok, results))
        self.messageLabel.setText(tr("Running {}…").format(algorithm.displayName()))
        QgsApplication.taskManager().addTask(self.task)

    def _resolve(self, value, algorithm_id):
        if isinstance(value, Layer):
            return QgsProject.instance().mapLayer(value.id)
        if isinstance(value, Output):
            return self.outputs[value.step][value.key]
        if isinstance(value, Result):  # a file, which carries its style: shown once every step is done
            path = value.path or QgsProcessingUtils.generateTempFilename(f"result.{value.extension}")
            label = value.label or ("Patrol plan" if algorithm_id == PATROL_PLAN else LABELS[DETECTORS.index(algorithm_id)])
            self.results.append((path, tr(label)))
            return path
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
        self.outputs.append(results)
        if ok and results and not self.feedback.isCanceled() and number + 1 < len(self.steps):
            self._start(number + 1)
            return
        self.runButton.setEnabled(True)
        self.cancelButton.setEnabled(False)
        if self.feedback.isCanceled() or not ok:
            for path, _ in self.results:  # results are complete or absent: no half of a run stays
                remove_output(path)
            if self.feedback.isCanceled():
                self.messageLabel.setText(tr("Cancelled: nothing was added to the map."))
            else:
                reason = self.feedback.errors[-1] if self.feedback.errors else tr("see the Processing log for why.")
                self.messageLabel.setText(tr("{} stopped: {}").format(algorithm.displayName(), reason))
            return
        reports = [path for path, _ in self.results if path.lower().endswith(".html")]
        for path, name in self.results:  # opened from the file, so styled by the style stored in it
            if path in reports:
                continue
            layer = QgsRasterLayer(path, name) if path.lower().endswith(".tif") else QgsVectorLayer(path, name, "ogr")
            QgsProject.instance().addMapLayer(layer)
        done = tr("Done: the result is on the map.")
        links = "".join(f" <a href='{QUrl.fromLocalFile(path).toString()}'>{tr('Open the report')}</a>" for path in reports)
        self.messageLabel.setText(done + links)

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
        self._latest_days()

    def _latest_days(self, *_):
        """The period: the last 28 days of the data (up to its latest incident), not of today."""
        layer, field = self.layerCombo.currentLayer(), self.dateFieldCombo.currentField()
        latest = latest_time(layer, field) if layer is not None and field else None
        latest = latest if latest is not None and latest.isValid() else QDateTime.currentDateTime()
        self.toEdit.setDateTime(latest)
        self.fromEdit.setDateTime(latest.addDays(-28))

    def _detector_changed(self, index):
        self.explanationLabel.setText(tr(EXPLANATIONS[index]))
        detector = DETECTORS[index]
        streets = detector in SEGMENT_DETECTORS
        self.streetsCombo.setEnabled(streets)
        self.sizeSpin.setEnabled(not streets)
        current = self.riskCombo.currentData()
        self.riskCombo.clear()
        for name in RISK_FIELDS.get(detector, ()):
            self.riskCombo.addItem(tr(RISK_LABELS[name]), name)
        self.riskCombo.setCurrentIndex(max(self.riskCombo.findData(current), 0))
        self.planGroup.setEnabled(detector in RISK_FIELDS)
        self.evaluateGroup.setEnabled(detector in RISK_FIELDS)
        no_places = tr("A density surface has no places to patrol: choose hexagons or streets.")
        self.planGroup.setToolTip("" if detector in RISK_FIELDS else no_places)

    def _help(self):
        """The chosen detector's Processing help, in the dialog."""
        algorithm = QgsApplication.processingRegistry().algorithmById(DETECTORS[self.detectorCombo.currentIndex()])
        self.messageLabel.setText(algorithm.shortHelpString())


def remove_output(path):
    """A result file and what is stored beside it (style, provenance, GeoPackage journals)."""
    for name in [path + suffix for suffix in ("", "-wal", "-shm", ".json", ".aux.xml")] + [os.path.splitext(path)[0] + ".qml"]:
        if os.path.exists(name):
            os.remove(name)


def latest_time(layer, field):
    """The latest value of a date, date-time or ISO text field, as a QDateTime (None if none)."""
    value = layer.maximumValue(layer.fields().indexOf(field))
    if isinstance(value, QDateTime):
        return value
    if isinstance(value, QDate):
        return QDateTime(value, QTime(23, 59, 59))
    if isinstance(value, str):
        return QDateTime.fromString(value, Qt.DateFormat.ISODate)
    return None
