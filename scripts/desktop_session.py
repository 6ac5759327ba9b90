"""Run inside the QGIS desktop by scripts/desktop_screenshots.py (``qgis --code``), never alone.

Loads the sample city, opens the plugin's detector and briefing dialogs from its menu, runs
them with their defaults (the detector twice: its default detector, then optimized hot spots
with the default patrol plan; the briefing into the output folder, the only choice it needs),
saves screenshots and writes session.json: what the dialogs said, the layers they made, and
the Gi_Bin of every patrolled place. Steps wait for the GUI with a QTimer, so QGIS keeps
painting and running its tasks; any error is written to session.json and QGIS quits.
"""

import faulthandler
import json
import os
import re
import signal
import sys
import traceback

from qgis.core import QgsProject, QgsVectorLayer
from qgis.PyQt.QtCore import QCoreApplication, QElapsedTimer, QTimer
from qgis.PyQt.QtWidgets import QAction, QApplication
from qgis.utils import iface, plugins

OUT = os.environ["HOTSPOT_POLICING_SHOTS"]
CITY = os.environ["HOTSPOT_POLICING_SAMPLE"]
LAYERS = ("beats", "study_area", "streets", "planted_hotspots", "patrol_pings", "incidents")  # bottom to top
WAIT_MS = 180_000
report = {"errors": [], "screenshots": [], "detector": [], "layers": []}
STACKS = open(os.path.join(OUT, "stacks.txt"), "w", encoding="utf-8")  # open while QGIS runs
faulthandler.register(signal.SIGUSR1, file=STACKS, all_threads=True)  # the launcher's signal when QGIS hangs


def record_exception(kind, value, trace):
    """Errors in slots (a dialog that fails to open) go to the report, not to QGIS's modal error window."""
    report["errors"].append("".join(traceback.format_exception(kind, value, trace)))


sys.excepthook = record_exception


def save(widget, name):
    """A screenshot of ``widget`` (None: the whole screen, as a person sees it)."""
    path = os.path.join(OUT, f"{len(report['screenshots']) + 1:02d}_{name}.png")
    image = QApplication.primaryScreen().grabWindow(0) if widget is None else widget.grab()
    image.save(path)
    report["screenshots"].append(path)
    write_report()  # so far: a session that hangs still tells how far it got


def rectangle(rect):
    return [rect.x(), rect.y(), rect.width(), rect.height()]


def dialog_of(class_name):
    return next((w for w in QApplication.topLevelWidgets() if type(w).__name__ == class_name and w.isVisible()), None)


def menu_action(pattern):
    """The plugin's menu entry whose text matches ``pattern``."""
    actions = [a for a in iface.mainWindow().findChildren(QAction) if re.search(pattern, a.text().replace("&", ""), re.IGNORECASE)]
    if not actions:
        raise RuntimeError(f"no menu entry matches {pattern!r}")
    return actions[0]


def pause(ms):
    timer = QElapsedTimer()
    timer.start()
    return lambda: timer.elapsed() > ms


def run_detector(dialog, name):
    dialog.runButton.click()
    yield lambda: dialog.runButton.isEnabled()
    yield pause(1000)  # the canvas draws the new layers
    report["detector"].append(
        {"run": name, "message": dialog.messageLabel.text(), "log": dialog.feedback.textLog() if dialog.feedback else ""}
    )
    save(None, f"detector_{name}")


def session():
    yield lambda: "hotspot_policing" in plugins and iface.mapCanvas() is not None
    iface.mainWindow().setGeometry(QApplication.primaryScreen().availableGeometry())  # no window manager to maximise it
    report["screen"] = rectangle(QApplication.primaryScreen().geometry())
    project = QgsProject.instance()
    for name in LAYERS:
        layer = QgsVectorLayer(f"{CITY}|layername={name}", name, "ogr")
        project.addMapLayer(layer)
    iface.mapCanvas().setExtent(project.mapLayersByName("study_area")[0].extent())
    iface.mapCanvas().refresh()
    yield pause(2000)
    save(None, "sample_city")

    menu_action(r"^find hot spots").trigger()
    yield lambda: dialog_of("DetectorDialog") is not None
    dialog = dialog_of("DetectorDialog")
    yield pause(500)
    save(dialog, "detector_defaults")
    yield from run_detector(dialog, "default")
    hexagons = next(i for i in range(dialog.detectorCombo.count()) if "optimized" in dialog.detectorCombo.itemText(i).lower())
    dialog.detectorCombo.setCurrentIndex(hexagons)
    dialog.planGroup.setChecked(True)
    yield from run_detector(dialog, "optimized_with_plan")
    save(dialog, "detector_after_runs")
    dialog.messageLabel.linkActivated.emit("#log")  # the link under the results
    yield pause(300)
    save(dialog, "detector_log")
    dialog.buttonBox.helpRequested.emit()
    yield pause(300)
    save(dialog, "detector_help")
    report["detector_geometry"] = rectangle(dialog.frameGeometry())
    dialog.close()

    for layer in project.mapLayers().values():
        entry = {"name": layer.name()}
        if isinstance(layer, QgsVectorLayer) and layer.fields().indexOf("Gi_Bin") >= 0:
            entry["gi_bin"] = [feature["Gi_Bin"] for feature in layer.getFeatures()]
        report["layers"].append(entry)
    yield pause(1000)
    save(None, "map_after_detector")

    menu_action(r"^export briefing").trigger()
    yield lambda: dialog_of("BriefingDialog") is not None
    briefing = dialog_of("BriefingDialog")
    yield pause(500)
    save(briefing, "briefing_defaults")
    briefing.outputWidget.setFilePath(os.path.join(OUT, "briefing.pdf"))
    briefing.exportButton.click()
    yield lambda: briefing.exportButton.isEnabled()  # the export runs in the background
    yield pause(500)
    report["briefing"] = briefing.messageLabel.text()
    report["briefing_geometry"] = rectangle(briefing.frameGeometry())
    save(None, "briefing_done")
    briefing.close()


def write_report():
    with open(os.path.join(OUT, "session.json"), "w", encoding="utf-8") as handle:
        json.dump(report, handle, indent=2, default=str)


def finish():
    report["finished"] = True
    write_report()
    QgsProject.instance().setDirty(False)
    QCoreApplication.exit(0)


class Driver:
    """Polls the condition the session last yielded, every 200 ms, for at most WAIT_MS."""

    def __init__(self, steps):
        self.steps, self.condition, self.busy = steps, None, False
        self.clock = QElapsedTimer()
        self.timer = QTimer()
        self.timer.timeout.connect(self.tick)
        self.timer.start(200)

    def tick(self):
        if self.busy:  # a step that opened a modal window: its event loop calls tick again
            return
        self.busy = True
        try:
            if report["errors"]:  # an error in a slot: stop there
                self.stop()
            elif self.condition is None or self.condition():
                self.condition = next(self.steps)
                self.clock.start()
            elif self.clock.elapsed() > WAIT_MS:
                raise TimeoutError(f"waited {WAIT_MS // 1000} s in vain at line {self.steps.gi_frame.f_lineno} of desktop_session.py")
        except StopIteration:
            self.stop()
        except Exception:  # noqa: BLE001 - whatever went wrong goes into the report
            report["errors"].append(traceback.format_exc())
            self.stop()
        self.busy = False

    def stop(self):
        self.timer.stop()
        finish()


driver = Driver(session())
