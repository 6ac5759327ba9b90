"""The detector dialog: pick incidents, a period and an offence filter, choose a detector,
and run it through Processing (history, progress, Cancel, styled results on the canvas).
Named presets are kept in the QGIS settings and can be exported and imported as JSON."""

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

FORM, _ = uic.loadUiType(os.path.join(os.path.dirname(__file__), "detector_dialog.ui"))
SETTINGS_KEY = "hotspot_policing/detector"
DETECTORS = (
    (
        "hotspotpolicing:kerneldensity",
        "Kernel density map",
        "A smooth surface of where incidents concentrate (quartic kernel, incidents per km²).",
    ),
    (
        "hotspotpolicing:optimizedhotspots",
        "Optimized hot spots (hexagons)",
        "Statistically significant hot and cold cells: Gi* with FDR, scale chosen automatically.",
    ),
    ("hotspotpolicing:assignincidents", "Street segments", "Incidents counted on each block face: choose the street segments layer below."),
    (
        "hotspotpolicing:gistar",
        "Gi* hot streets",
        "Statistically significant hot streets: incidents counted per segment, then Gi* over the street network with FDR.",
    ),
)
SEGMENT_DETECTORS = ("hotspotpolicing:assignincidents", "hotspotpolicing:gistar")


def tr(text):
    return QCoreApplication.translate("DetectorDialog", text)


class DetectorDialog(QDialog, FORM):
    def __init__(self, iface=None, parent=None):
        super().__init__(parent)
        self.setupUi(self)
        self.iface = iface
        self.task = None
        self.feedback = None
        self.layerCombo.setFilters(QgsMapLayerProxyModel.Filter.PointLayer)
        self.streetsCombo.setFilters(QgsMapLayerProxyModel.Filter.LineLayer)
        self.streetsCombo.setAllowEmptyLayer(True)
        self.dateFieldCombo.setAllowEmptyFieldName(True)
        self.layerCombo.layerChanged.connect(self._layer_changed)
        for _, label, _ in DETECTORS:
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
            self.apply_settings(json.loads(last))

    # --- state -------------------------------------------------------------------------
    def settings(self):
        """The dialog's choices as plain data (what presets store)."""
        return {
            "layer": self.layerCombo.currentLayer().id() if self.layerCombo.currentLayer() else "",
            "date_field": self.dateFieldCombo.currentField(),
            "use_period": self.periodCheck.isChecked(),
            "days": self.fromEdit.dateTime().daysTo(self.toEdit.dateTime()),
            "filter": self.filterWidget.expression(),
            "detector": DETECTORS[self.detectorCombo.currentIndex()][0],
            "size": self.sizeSpin.value(),
            "streets": self.streetsCombo.currentLayer().id() if self.streetsCombo.currentLayer() else "",
        }

    def apply_settings(self, settings):
        layer = QgsProject.instance().mapLayer(settings.get("layer", ""))
        if layer is not None:
            self.layerCombo.setLayer(layer)
        self.dateFieldCombo.setField(settings.get("date_field", ""))
        self.periodCheck.setChecked(bool(settings.get("use_period", True)))
        self.fromEdit.setDateTime(self.toEdit.dateTime().addDays(-int(settings.get("days", 28))))
        self.filterWidget.setExpression(settings.get("filter", ""))
        ids = [d[0] for d in DETECTORS]
        if settings.get("detector") in ids:
            self.detectorCombo.setCurrentIndex(ids.index(settings["detector"]))
        self.sizeSpin.setValue(float(settings.get("size", 0.0)))
        streets = QgsProject.instance().mapLayer(settings.get("streets", ""))
        if streets is not None:
            self.streetsCombo.setLayer(streets)

    def filter_expression(self):
        """The date range and the offence filter as one QGIS expression."""
        parts = []
        date_field = self.dateFieldCombo.currentField()
        if date_field and self.periodCheck.isChecked():
            start = self.fromEdit.dateTime().toString("yyyy-MM-ddTHH:mm:ss")
            end = self.toEdit.dateTime().toString("yyyy-MM-ddTHH:mm:ss")
            parts.append(f"\"{date_field}\" >= to_datetime('{start}') AND \"{date_field}\" <= to_datetime('{end}')")
        if self.filterWidget.expression().strip():
            parts.append(f"({self.filterWidget.expression()})")
        return " AND ".join(parts)

    def validate(self):
        """What stops a run, in words for the analyst (None when all is well)."""
        layer = self.layerCombo.currentLayer()
        if layer is None:
            return tr("Choose an incident layer.")
        if self.periodCheck.isChecked() and not self.dateFieldCombo.currentField():
            return tr("The period needs a date field: choose the field with the incident dates, or untick 'Filter by period'.")
        if self.fromEdit.dateTime() > self.toEdit.dateTime():
            return tr("The period starts after it ends.")
        detector = DETECTORS[self.detectorCombo.currentIndex()][0]
        if detector in SEGMENT_DETECTORS and self.streetsCombo.currentLayer() is None:
            return tr("Street segments need a street segments layer.")
        return None

    def parameters(self, incidents):
        """The Processing algorithm and parameters for the current choices (for Gi* hot
        streets, those of its first step, counting incidents per segment)."""
        detector = DETECTORS[self.detectorCombo.currentIndex()][0]
        output = QgsProcessingOutputLayerDefinition("TEMPORARY_OUTPUT", QgsProject.instance())
        size = self.sizeSpin.value()
        if detector == "hotspotpolicing:kerneldensity":
            return detector, {"INPUT": incidents, "BANDWIDTH": size, "CELL_SIZE": 0.0, "OUTPUT": output}
        if detector == "hotspotpolicing:optimizedhotspots":
            return detector, {"INPUT": incidents, "CELL_SHAPE": 1, "CELL_SIZE": size, "OUTPUT": output}
        counting = {"INCIDENTS": incidents, "SEGMENTS": self.streetsCombo.currentLayer(), "TOLERANCE": 30.0}
        if detector == "hotspotpolicing:gistar":  # counted into a file the second step reads
            counted = QgsProcessingUtils.generateTempFilename("segment_counts.gpkg")
            return "hotspotpolicing:assignincidents", {**counting, "OUTPUT": counted}
        return detector, {**counting, "OUTPUT": output}

    def next_step(self, algorithm_id, results):
        """Gi* hot streets: after the counting, Gi* on the counted segments (else None)."""
        if DETECTORS[self.detectorCombo.currentIndex()][0] != "hotspotpolicing:gistar" or algorithm_id != "hotspotpolicing:assignincidents":
            return None
        output = QgsProcessingOutputLayerDefinition("TEMPORARY_OUTPUT", QgsProject.instance())
        return "hotspotpolicing:gistar", {
            "INPUT": results["OUTPUT"],
            "FIELD": "incident_count",
            "WEIGHTS": 3,
            "NETWORK_STEPS": 1,
            "FDR": True,
            "OUTPUT": output,
        }

    # --- running -------------------------------------------------------------------------
    def filtered_incidents(self):
        """The incidents of the period and offences chosen, as a memory layer."""
        layer = self.layerCombo.currentLayer()
        expression = self.filter_expression()
        if not expression:
            return layer
        filtered = layer.materialize(QgsFeatureRequest().setFilterExpression(expression))
        return filtered

    def run(self):
        problem = self.validate()
        if problem is None:
            incidents = self.filtered_incidents()
            if incidents.featureCount() == 0:
                problem = tr("No incident matches the period and the filter: widen them.")
        if problem is not None:
            self.messageLabel.setText(problem)
            return None
        QgsSettings().setValue(f"{SETTINGS_KEY}/last", json.dumps(self.settings()))
        detector, parameters = self.parameters(incidents)
        self.context = QgsProcessingContext()
        self.context.setProject(QgsProject.instance())
        self.feedback = QgsProcessingFeedback()
        self.feedback.progressChanged.connect(lambda value: self.progressBar.setValue(int(value)))
        self.incidents = incidents  # kept alive while the task reads it
        self.runButton.setEnabled(False)
        self.cancelButton.setEnabled(True)
        self._start(detector, parameters)
        return detector, parameters

    def _start(self, detector, parameters):
        algorithm = QgsApplication.processingRegistry().createAlgorithmById(detector)
        self.task = QgsProcessingAlgRunnerTask(algorithm, parameters, self.context, self.feedback)
        self.task.executed.connect(lambda ok, results: self._finished(algorithm, ok, results))
        self.messageLabel.setText(tr("Running {}…").format(algorithm.displayName()))
        QgsApplication.taskManager().addTask(self.task)

    def cancel(self):
        if self.feedback is not None:
            self.feedback.cancel()
        if self.task is not None:
            self.task.cancel()
        self.messageLabel.setText(tr("Cancelled."))

    def _finished(self, algorithm, ok, results):
        self.task = None  # the task manager deletes finished tasks
        step = self.next_step(algorithm.id(), results) if ok and not self.feedback.isCanceled() else None
        if step is not None:
            self._start(*step)
            return
        self.runButton.setEnabled(True)
        self.cancelButton.setEnabled(False)
        if not ok or self.feedback.isCanceled():
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
        presets[name] = self.settings()
        QgsSettings().setValue(f"{SETTINGS_KEY}/presets", json.dumps(presets))
        self._refresh_presets(name)

    def load_preset(self, name):
        if name in self.presets():
            self.apply_settings(self.presets()[name])

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
        self.explanationLabel.setText(tr(DETECTORS[index][2]))
        streets = DETECTORS[index][0] in SEGMENT_DETECTORS
        self.streetsCombo.setEnabled(streets)
        self.sizeSpin.setEnabled(not streets)

    def _help(self):
        """The chosen detector's Processing help, in the dialog."""
        algorithm = QgsApplication.processingRegistry().algorithmById(DETECTORS[self.detectorCombo.currentIndex()][0])
        self.messageLabel.setText(algorithm.shortHelpString())
