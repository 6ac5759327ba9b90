"""The detector dialog: pick incidents, a period and offences, choose a detector, and run it
through Processing (progress, Cancel, styled results on the canvas, what was found in words).
The choices live in a DetectorSettings (detector_settings.py), which turns them into public
Processing algorithms; the log shows them as qgis_process commands. Named presets are kept in
the QGIS settings and can be exported and imported as JSON."""

import html
import json
import os
import re
from collections import Counter

from qgis.core import (
    QgsApplication,
    QgsFeatureRequest,
    QgsFieldProxyModel,
    QgsMapLayerProxyModel,
    QgsProcessingAlgRunnerTask,
    QgsProcessingContext,
    QgsProcessingFeedback,
    QgsProcessingUtils,
    QgsProject,
    QgsRasterLayer,
    QgsSettings,
    QgsUnitTypes,
    QgsVectorLayer,
    QgsWkbTypes,
)
from qgis.gui import QgsFileWidget
from qgis.PyQt import uic
from qgis.PyQt.QtCore import QCoreApplication, QDate, QDateTime, Qt, QTime, QUrl, QVariant
from qgis.PyQt.QtGui import QDesktopServices
from qgis.PyQt.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QFileDialog, QPushButton

from ..processing.reports import number
from .detector_settings import (
    CHANGE_TEST,
    DETECTORS,
    EMERGING,
    EVALUATIONS,
    HOT_STREETS,
    INTERVENTION,
    KERNEL_DENSITY,
    NEAR_REPEAT,
    NETWORK_DENSITY,
    OPTIMIZED,
    PATROL_PLAN,
    RISK_FIELDS,
    SCRATCH,
    SEGMENT_COUNTS,
    SNAP_TOLERANCE,
    STREET_DETECTORS,
    TIME_DETECTORS,
    WHEN,
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
    "Density along the streets",
    "When: weekday x hour",
)
EXPLANATIONS = (
    "A smooth surface of where incidents concentrate (quartic kernel, incidents per km²).",
    "Statistically significant hot and cold cells: Gi* with FDR, scale chosen automatically. Choose a study area.",
    "Incidents counted on each street segment: the street centre-lines are cut at every junction first.",
    "Statistically significant hot streets: the centre-lines cut at junctions, incidents counted per segment, "
    "then Gi* along the street network with FDR.",
    "Where crime is new, intensifying, persistent, diminishing or sporadic over the period: hexagons over time "
    "(days, weeks or months, whichever gives at least 10 steps), space-time Gi* and a trend test.",
    "How near and how soon crime follows crime (Knox test, as the Near Repeat Calculator), and zones of raised risk "
    "round the latest incidents. Give one offence and a period of several months.",
    "Kernel density measured along the streets (incidents per km of street), not across the blocks.",
    "When in the week incidents happen: the share of each weekday and hour, with a report.",
)
SIZE_LABELS = {
    KERNEL_DENSITY: "Bandwidth (0 = automatic)",
    OPTIMIZED: "Cell size (0 = automatic)",
    EMERGING: "Cell size (0 = automatic)",
    NETWORK_DENSITY: "Bandwidth along the streets (0 = automatic)",
}
EVALUATION_LABELS = ("Change per place (significant rises and falls)", "Effect of patrolling the hot spots, and displacement")
RISK_LABELS = {"incident_count": "Incidents", "weight_sum": "Harm (weight sum)", "incidents_per_km": "Incidents per km"}
# Layers the dialog picks by their name when it opens; a street layer with segment_id is an output of ours
STREET_NAMES = re.compile(r"street|road|centre.?line|center.?line", re.IGNORECASE)
AREA_NAMES = re.compile(r"study.?area|boundary|city.?limit|jurisdiction", re.IGNORECASE)
OFFENCE_NAMES = re.compile(r"offen[cs]e|crime|categor", re.IGNORECASE)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
LOG_LINK = "#log"


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
        self.streetsCombo.setLayer(named_layer(QgsWkbTypes.GeometryType.LineGeometry, STREET_NAMES, without_field="segment_id"))
        self.areaCombo.setFilters(QgsMapLayerProxyModel.Filter.PolygonLayer)
        self.areaCombo.setAllowEmptyLayer(True)
        self.areaCombo.setLayer(named_layer(QgsWkbTypes.GeometryType.PolygonGeometry, AREA_NAMES))
        self.folderWidget.setStorageMode(QgsFileWidget.StorageMode.GetDirectory)
        self.dateFieldCombo.setAllowEmptyFieldName(True)
        self.offenceFieldCombo.setFilters(QgsFieldProxyModel.Filter.String)
        self.offenceFieldCombo.setAllowEmptyFieldName(True)
        self.offenceCombo.setDefaultText(tr("All offences"))
        for edit in (self.fromEdit, self.toEdit):
            edit.setAllowNull(False)
            edit.setDisplayFormat("d MMM yyyy")
        self._set_period(QDate.currentDate(), 28)
        for label in LABELS:
            self.detectorCombo.addItem(tr(label))
        for label in EVALUATION_LABELS:
            self.evaluateCombo.addItem(tr(label))
        self.runButton = self.buttonBox.addButton(tr("Run"), QDialogButtonBox.ButtonRole.ActionRole)
        self.cancelButton = self.buttonBox.addButton(tr("Cancel run"), QDialogButtonBox.ButtonRole.ActionRole)
        self.cancelButton.setEnabled(False)
        for button in self.findChildren(QPushButton):  # Enter in a field (a preset's name) presses no button
            button.setAutoDefault(False)
            button.setDefault(False)
        self.layerCombo.layerChanged.connect(self._layer_changed)
        self.dateFieldCombo.fieldChanged.connect(self._date_field_changed)
        self.offenceFieldCombo.fieldChanged.connect(self._fill_offences)
        self.detectorCombo.currentIndexChanged.connect(self._detector_changed)
        self.streetsCombo.layerChanged.connect(lambda _: self._detector_changed(self.detectorCombo.currentIndex()))
        self.messageLabel.linkActivated.connect(self._link)
        self.infoBrowser.anchorClicked.connect(QDesktopServices.openUrl)
        self.runButton.clicked.connect(self.run)
        self.cancelButton.clicked.connect(self.cancel)
        self.buttonBox.rejected.connect(self.reject)
        self.buttonBox.helpRequested.connect(self._help)
        self.saveButton.clicked.connect(lambda: self.save_preset(self.presetCombo.currentText()))
        self.presetCombo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.presetCombo.lineEdit().returnPressed.connect(lambda: self.save_preset(self.presetCombo.currentText()))
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
    def detector(self):
        return DETECTORS[self.detectorCombo.currentIndex()]

    def settings(self):
        """The dialog's choices as a DetectorSettings (what presets store and runs use): the
        period from the first day's start to the last day's end."""
        layer, streets, area = self.layerCombo.currentLayer(), self.streetsCombo.currentLayer(), self.areaCombo.currentLayer()
        return DetectorSettings(
            layer=layer.id() if layer else "",
            date_field=self.dateFieldCombo.currentField(),
            use_period=self.periodCheck.isChecked(),
            days=self._days(),
            offence_field=self.offenceFieldCombo.currentField(),
            offences=list(self.offenceCombo.checkedItemsData()) if self.offenceFieldCombo.currentField() else [],
            filter=self.filterWidget.expression(),
            detector=self.detector(),
            size=self.sizeSpin.value(),
            streets=streets.id() if streets else "",
            study_area=area.id() if area else "",
            folder=self.folderWidget.filePath(),
            plan=self.planGroup.isChecked(),
            risk_field=self.riskCombo.currentData() or "",
            patrol_minutes=self.minutesSpin.value(),
            evaluate=EVALUATIONS[self.evaluateCombo.currentIndex()] if self.evaluateGroup.isChecked() else "",
            start=self.fromEdit.date().toString("yyyy-MM-dd") + "T00:00:00",
            end=self.toEdit.date().toString("yyyy-MM-dd") + "T23:59:59",
        )

    def apply_settings(self, settings):
        """Show ``settings`` (a DetectorSettings) in the widgets; its period's length is laid
        back from the data's last day."""
        layer = QgsProject.instance().mapLayer(settings.layer)
        if layer is not None:
            self.layerCombo.setLayer(layer)
        self.dateFieldCombo.setField(settings.date_field)
        self.periodCheck.setChecked(bool(settings.use_period))
        data = date_range(self.layerCombo.currentLayer(), self.dateFieldCombo.currentField())
        self._set_period(data[1] if data else self.toEdit.date(), max(int(settings.days), 1))
        if settings.offence_field:  # else the field found when the layer was chosen stays
            self.offenceFieldCombo.setField(settings.offence_field)
        for index in range(self.offenceCombo.count()):
            checked = self.offenceCombo.itemData(index) in settings.offences
            self.offenceCombo.setItemCheckState(index, Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
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
        layer, detector = self.layerCombo.currentLayer(), self.detector()
        label = tr(LABELS[DETECTORS.index(detector)])
        if layer is None:
            return tr("Choose an incident layer.")
        if (self.periodCheck.isChecked() or detector in TIME_DETECTORS) and not self.dateFieldCombo.currentField():
            if detector in TIME_DETECTORS:
                return tr("'{}' needs the date field: choose the field with the incident dates.").format(label)
            return tr("The period needs a date field: choose the field with the incident dates, or untick 'Period'.")
        if self.fromEdit.date() > self.toEdit.date():
            return tr("The period starts after it ends.")
        if detector in STREET_DETECTORS and self.streetsCombo.currentLayer() is None:
            return tr("'{}' needs the street centre-lines (a line layer, one line per street or block): choose them.").format(label)
        if self.evaluateGroup.isChecked() and self.evaluateGroup.isEnabled():
            if not self.periodCheck.isChecked():
                return tr("'Did it work?' compares the period with the one before it: tick 'Period'.")
            if EVALUATIONS[self.evaluateCombo.currentIndex()] == INTERVENTION:
                if self.areaCombo.currentLayer() is None:
                    return tr("The effect of an operation compares the hot spots with the rest of the study area: choose a study area.")
                if detector == SEGMENT_COUNTS and not self.planGroup.isChecked():
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
            problem = tr("No incident matches the period and the offences: widen them. {}").format(self.rangeLabel.text())
        if problem is not None:
            self.messageLabel.setText(plain(problem))
            return None
        QgsSettings().setValue(f"{SETTINGS_KEY}/last", json.dumps(settings.preset()))
        self.steps = settings.steps()
        self.context = QgsProcessingContext()
        self.context.setProject(QgsProject.instance())
        self.feedback = ErrorKeepingFeedback()
        self.outputs, self.results = [], []  # each step's results; (file, layer name, algorithm) of what to show
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
        self.messageLabel.setText(plain(tr("Step {} of {}: {}…").format(number + 1, len(self.steps), algorithm.displayName())))
        QgsApplication.taskManager().addTask(self.task)

    def _resolve(self, value, algorithm_id):
        if isinstance(value, Layer):
            return QgsProject.instance().mapLayer(value.id)
        if isinstance(value, Output):
            return self.outputs[value.step][value.key]
        if isinstance(value, Result):  # a file, which carries its style: shown once every step is done
            path = value.path or QgsProcessingUtils.generateTempFilename(f"result.{value.extension}")
            self.results.append((path, value.label, algorithm_id))
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
        log = f" <a href='{LOG_LINK}'>{tr('Show the log')}</a>"
        if self.feedback.isCanceled() or not ok:
            for path, _, _ in self.results:  # results are complete or absent: no half of a run stays
                remove_output(path)
            if self.feedback.isCanceled():
                self.messageLabel.setText(tr("Cancelled: nothing was added to the map."))
            else:
                reason = self.feedback.errors[-1] if self.feedback.errors else tr("see the log for why.")
                self.messageLabel.setText(plain(tr("{} stopped: {}").format(algorithm.displayName(), reason)) + log)
            return
        reports, shown = [], {}
        for path, name, algorithm_id in self.results:  # opened from the file, so styled by the style stored in it
            if path.lower().endswith(".html"):
                reports.append(path)
                continue
            layer = QgsRasterLayer(path, name) if path.lower().endswith(".tif") else QgsVectorLayer(path, name, "ogr")
            if layer.isValid():
                QgsProject.instance().addMapLayer(layer)
                shown.setdefault(algorithm_id, layer)
        found = [summary(algorithm_id, self.outputs[step], shown.get(algorithm_id)) for step, (algorithm_id, _) in enumerate(self.steps)]
        links = "".join(f" <a href='{QUrl.fromLocalFile(path).toString()}'>{tr('Open the report')}</a>" for path in reports)
        self.messageLabel.setText(plain(" ".join([tr("Done.")] + [text for text in found if text])) + links + log)

    def _link(self, link):
        if link == LOG_LINK and self.feedback is not None:
            self.infoBrowser.setHtml(self.feedback.htmlLog())
        else:
            QDesktopServices.openUrl(QUrl(link))

    # --- presets -------------------------------------------------------------------------
    def presets(self):
        return json.loads(QgsSettings().value(f"{SETTINGS_KEY}/presets", "{}") or "{}")

    def save_preset(self, name):
        if not name.strip():
            self.messageLabel.setText(tr("Type a name for the preset in the Preset box, then Save."))
            return
        presets = self.presets()
        presets[name] = self.settings().preset()
        QgsSettings().setValue(f"{SETTINGS_KEY}/presets", json.dumps(presets))
        self._refresh_presets(name)
        self.messageLabel.setText(plain(tr("Preset '{}' saved.").format(name)))

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
        self.presetCombo.setCurrentText(current or "")

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
        for combo in (self.dateFieldCombo, self.offenceFieldCombo):
            combo.setLayer(layer)
        self.filterWidget.setLayer(layer)
        if layer is not None:
            dates = [f.name() for f in layer.fields() if f.typeName().lower() in ("datetime", "date")]
            self.dateFieldCombo.setField(dates[0] if dates else "")
            offences = [f.name() for f in layer.fields() if f.type() == QVariant.String and OFFENCE_NAMES.search(f.name())]
            self.offenceFieldCombo.setField(offences[0] if offences else "")
        self._date_field_changed()
        self._fill_offences()

    def _date_field_changed(self, *_):
        """Show the dates the data covers, and lay the period back from its last day."""
        layer, field = self.layerCombo.currentLayer(), self.dateFieldCombo.currentField()
        data = date_range(layer, field)
        if data is None:
            self.rangeLabel.setText(tr("Choose the field with the incident dates to see the days the data covers."))
            return
        first, last = data
        text = tr("Data: {} incidents, {} to {}.").format(number(layer.featureCount()), day(first), day(last))
        self.rangeLabel.setText(text)
        self._set_period(last, self._days())

    def _days(self):
        return self.fromEdit.date().daysTo(self.toEdit.date()) + 1

    def _set_period(self, last, days):
        """The ``days`` days up to and including ``last`` (a QDate)."""
        self.toEdit.setDateTime(QDateTime(last, QTime(23, 59, 59)))
        self.fromEdit.setDateTime(QDateTime(last.addDays(1 - days), QTime(0, 0)))

    def _fill_offences(self, *_):
        """The offence field's values as a checkable list (the ticked ones stay ticked)."""
        ticked = set(self.offenceCombo.checkedItemsData())
        self.offenceCombo.clear()
        layer, field = self.layerCombo.currentLayer(), self.offenceFieldCombo.currentField()
        values = sorted(v for v in layer.uniqueValues(layer.fields().indexOf(field)) if isinstance(v, str) and v) if layer and field else []
        for value in values:
            self.offenceCombo.addItemWithCheckState(value, Qt.CheckState.Checked if value in ticked else Qt.CheckState.Unchecked, value)
        self.offenceCombo.setEnabled(bool(values))

    def _detector_changed(self, index):
        detector = DETECTORS[index]
        explanation = tr(EXPLANATIONS[index])
        if detector in STREET_DETECTORS and self.streetsCombo.currentLayer() is None:
            explanation += " " + tr("It needs the street centre-lines: choose a line layer below.")
        self.explanationLabel.setText(explanation)
        self.streetsCombo.setEnabled(detector in STREET_DETECTORS)
        self.sizeSpin.setEnabled(detector in SIZE_LABELS)
        self.sizeLabel.setText(tr(SIZE_LABELS.get(detector, "Cell size or bandwidth (not used)")))
        current = self.riskCombo.currentData()
        self.riskCombo.clear()
        for name in RISK_FIELDS.get(detector, ()):
            self.riskCombo.addItem(tr(RISK_LABELS[name]), name)
        self.riskCombo.setCurrentIndex(max(self.riskCombo.findData(current), 0))
        self.planGroup.setEnabled(detector in RISK_FIELDS)
        self.evaluateGroup.setEnabled(detector in RISK_FIELDS)
        no_places = tr("This method finds no places to patrol: choose hexagons or streets.")
        self.planGroup.setToolTip("" if detector in RISK_FIELDS else no_places)
        self._help()

    def _help(self):
        """The chosen detector's Processing help, in the panel beside the choices."""
        algorithm = QgsApplication.processingRegistry().algorithmById(self.detector())
        title = plain(tr(LABELS[self.detectorCombo.currentIndex()]))
        self.infoBrowser.setHtml(f"<h3>{title}</h3>" + (algorithm.shortHelpString() if algorithm else ""))


def plain(text):
    """Text for a rich-text label: <, > and & shown as they are."""
    return html.escape(text, quote=False)


def summary(algorithm_id, results, layer):
    """What a step found, in a sentence, from its numeric results and its layer ("" for a step
    that only prepares another)."""
    unit = QgsUnitTypes.toAbbreviatedString(layer.crs().mapUnits()) if layer is not None else ""

    def distance(key):
        return f"{results.get(key, 0):,.0f} {unit}"

    if algorithm_id == OPTIMIZED and layer is not None:
        bins = Counter(values(layer, "Gi_Bin"))
        hot, sure = sum(n for b, n in bins.items() if b > 0), bins[3]
        cells = tr("{} hexagons of {}").format(number(results["CELL_COUNT"]), distance("CELL_SIZE_USED"))
        if hot == 0:
            return tr("0 hot spots found in {}: the distance band chosen was {}; try a study area or a smaller cell size.").format(
                cells, distance("DISTANCE_USED")
            )
        return tr("{} hot spot cells (99 % confidence: {}) in {}; distance band {}.").format(
            number(hot), number(sure), cells, distance("DISTANCE_USED")
        )
    if algorithm_id == KERNEL_DENSITY and layer is not None:
        highest = layer.dataProvider().bandStatistics(1).maximumValue
        return tr("Density of {} incidents, highest {} per km²; bandwidth {}, cells {}.").format(
            number(results["INCIDENT_COUNT"]), number(round(highest)), distance("BANDWIDTH_USED"), distance("CELL_SIZE_USED")
        )
    left_out = ""
    if results.get("UNMATCHED"):
        left_out = " " + tr("{} incidents farther than {} {} from every street were left out.").format(
            number(results["UNMATCHED"]), number(SNAP_TOLERANCE), unit
        )
    if algorithm_id == HOT_STREETS and layer is not None:
        bins = Counter(values(layer, "Gi_Bin"))
        hot, sure = sum(n for b, n in bins.items() if b > 0), bins[3]
        if hot == 0:
            return (
                tr("0 hot streets found among {} street segments (neighbourhood {}): try a longer period or more offences.").format(
                    number(results["SEGMENT_COUNT"]), distance("NEIGHBORHOOD_USED")
                )
                + left_out
            )
        return (
            tr("{} hot street segments (99 % confidence: {}) of {}; neighbourhood {} along the streets.").format(
                number(hot), number(sure), number(results["SEGMENT_COUNT"]), distance("NEIGHBORHOOD_USED")
            )
            + left_out
        )
    if algorithm_id == SEGMENT_COUNTS and layer is not None:
        counts = values(layer, "incident_count")
        return (
            tr("{} incidents on {} of {} street segments; the busiest has {}.").format(
                number(results["MATCHED"]), number(sum(1 for c in counts if c > 0)), number(len(counts)), number(max(counts, default=0))
            )
            + left_out
        )
    if algorithm_id == NETWORK_DENSITY and layer is not None:
        return (
            tr("Density along {} street segments: highest {} incidents per km of street; bandwidth {}.").format(
                number(results["SEGMENT_COUNT"]), number(round(max(values(layer, "DENSITY"), default=0))), distance("BANDWIDTH_USED")
            )
            + left_out
        )
    if algorithm_id == EMERGING and layer is not None:
        patterns = Counter(p for p in values(layer, "PATTERN") if p != "No Pattern Detected")
        where = tr("{} hexagons over {} time steps").format(number(results["LOCATION_COUNT"]), number(results["STEP_COUNT"]))
        if not patterns:
            return tr("No emerging pattern in {}: try a longer period or a larger cell size.").format(where)
        listed = ", ".join(f"{name} {count}" for name, count in patterns.most_common())
        return tr("{} places with a pattern in {}: {}.").format(number(sum(patterns.values())), where, listed)
    if algorithm_id == NEAR_REPEAT:
        if not results.get("SIGNIFICANT_BANDS"):
            return tr("No significant near repeats among {} incidents: try one offence and a longer period.").format(
                number(results["INCIDENT_COUNT"])
            )
        zones = tr("; {} risk zones round the latest incidents").format(number(layer.featureCount())) if layer is not None else ""
        return tr("Near repeats: raised risk up to {} and {} days after an incident ({} incidents){}.").format(
            distance("RISK_DISTANCE"), number(results["RISK_DAYS"]), number(results["INCIDENT_COUNT"]), zones
        )
    if algorithm_id == WHEN and layer is not None:
        peak = max(layer.getFeatures(), key=lambda f: f["SHARE"] or 0, default=None)
        if peak is None:
            return ""
        return tr("Peak hour: {} {:02d}:00-{:02d}:59, {:.1%} of {} incidents.").format(
            tr(WEEKDAYS[peak["WEEKDAY"]]), peak["HOUR"], peak["HOUR"], peak["SHARE"], number(results["INCIDENT_COUNT"])
        )
    if algorithm_id == PATROL_PLAN and layer is not None:
        sure = Counter(values(layer, "Gi_Bin"))[3] if layer.fields().indexOf("Gi_Bin") >= 0 else None
        significant = tr(" ({} of them hot spots at 99 % confidence)").format(number(sure)) if sure is not None else ""
        return tr("Patrol plan: {} places{}, {} minutes per shift.").format(
            number(results["HOTSPOTS_FUNDED"]), significant, number(results["MINUTES_PLANNED"])
        )
    if algorithm_id == CHANGE_TEST:
        return tr("Change per place: {} significant increases and {} decreases among {} places.").format(
            number(results["INCREASES"]), number(results["DECREASES"]), number(results["TESTED"])
        )
    if algorithm_id == INTERVENTION:
        return tr("Relative effect size {} (95 % interval {} to {}); weighted displacement quotient {}.").format(
            number(results["RES"]), number(results["RES_LOW"]), number(results["RES_HIGH"]), number(results["WDQ"])
        )
    return ""


def values(layer, field):
    """The non-empty values of ``field`` in ``layer`` (none when it has no such field)."""
    if layer.fields().indexOf(field) < 0:
        return []
    request = QgsFeatureRequest().setFlags(QgsFeatureRequest.Flag.NoGeometry).setSubsetOfAttributes([field], layer.fields())
    found = (f[field] for f in layer.getFeatures(request))
    return [value for value in found if value is not None and not (hasattr(value, "isNull") and value.isNull())]


def named_layer(geometry_type, names, without_field=None):
    """The first project layer of ``geometry_type`` whose name matches ``names`` (and that has
    no ``without_field``), in the layer panel's order; None when there is none."""
    project = QgsProject.instance()
    for layer in project.layerTreeRoot().layerOrder() or project.mapLayers().values():
        if isinstance(layer, QgsVectorLayer) and layer.geometryType() == geometry_type and names.search(layer.name()):
            if without_field is None or layer.fields().indexOf(without_field) < 0:
                return layer
    return None


def day(date):
    """A QDate as people write it: 31 Dec 2025."""
    return date.toString("d MMM yyyy")


def remove_output(path):
    """A result file and what is stored beside it (style, provenance, GeoPackage journals)."""
    for name in [path + suffix for suffix in ("", "-wal", "-shm", ".json", ".aux.xml")] + [os.path.splitext(path)[0] + ".qml"]:
        if os.path.exists(name):
            os.remove(name)


def date_range(layer, field):
    """(first, last) day of a date, date-time or ISO text field, as QDates (None if unknown)."""
    if layer is None or not field or layer.fields().indexOf(field) < 0:
        return None
    index = layer.fields().indexOf(field)
    first, last = as_date(layer.minimumValue(index)), as_date(layer.maximumValue(index))
    return (first, last) if first is not None and last is not None else None


def as_date(value):
    if isinstance(value, QDateTime):
        value = value.date()
    elif isinstance(value, str):
        value = QDateTime.fromString(value, Qt.DateFormat.ISODate).date()
    return value if isinstance(value, QDate) and value.isValid() else None
