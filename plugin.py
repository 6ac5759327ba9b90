"""The plugin object QGIS creates: registers the Processing provider and a menu entry."""

from qgis.core import QgsApplication
from qgis.PyQt.QtGui import QIcon
from qgis.PyQt.QtWidgets import QAction

from .processing.algorithms.base import ICON_PATH
from .processing.provider import HotspotPolicingProvider

MENU = "&Hot Spot Policing"
MENU_ENTRIES = (
    ("hotspotpolicing:kerneldensity", "Kernel density hot spot map…"),
    ("hotspotpolicing:optimizedhotspots", "Optimized hot spots (grid or hexagons)…"),
    ("hotspotpolicing:gistar", "Hot spot analysis (Getis-Ord Gi*)…"),
    ("hotspotpolicing:localmoran", "Cluster and outlier analysis (Local Moran's I)…"),
    ("hotspotpolicing:streetsegments", "Street centre-lines to street segments…"),
    ("hotspotpolicing:assignincidents", "Assign incidents to street segments…"),
    ("hotspotpolicing:concentration", "Crime concentration (Lorenz curve, Gini)…"),
    ("hotspotpolicing:patroldosage", "Patrol dosage plan…"),
    ("hotspotpolicing:observeddosage", "Observed patrol dosage (GPS pings)…"),
    ("hotspotpolicing:evaluateforecast", "Evaluate hot spots (PAI, PEI, RRI)…"),
    ("hotspotpolicing:briefingmap", "Briefing map (PDF or PNG)…"),
)


class HotspotPolicingPlugin:
    def __init__(self, iface):
        self.iface = iface
        self.provider = None
        self.actions = []

    def initProcessing(self):  # noqa: N802 - QGIS API
        """Called by QGIS, and by qgis_process with iface None: no GUI here."""
        if self.provider is None:
            self.provider = HotspotPolicingProvider()
            QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self):  # noqa: N802 - QGIS API
        self.initProcessing()
        for algorithm_id, label in MENU_ENTRIES:
            action = QAction(QIcon(ICON_PATH), label, self.iface.mainWindow())
            action.triggered.connect(lambda checked=False, a=algorithm_id: self._open_algorithm(a))
            self.iface.addPluginToMenu(MENU, action)
            self.actions.append(action)
        finder = QAction(QIcon(ICON_PATH), "Find hot spots…", self.iface.mainWindow())
        finder.triggered.connect(self._open_detector)
        self.iface.addPluginToMenu(MENU, finder)
        self.iface.addToolBarIcon(finder)
        self.actions.insert(0, finder)
        briefing = QAction(QIcon(ICON_PATH), "Export briefing map…", self.iface.mainWindow())
        briefing.triggered.connect(self._open_briefing)
        self.iface.addPluginToMenu(MENU, briefing)
        self.actions.insert(1, briefing)

    def unload(self):
        for action in self.actions:
            self.iface.removePluginMenu(MENU, action)
            self.iface.removeToolBarIcon(action)
        self.actions = []
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None

    def _open_detector(self):
        from .ui.detector_dialog import DetectorDialog

        self.dialog = DetectorDialog(self.iface, self.iface.mainWindow())
        self.dialog.show()

    def _open_briefing(self):
        from .ui.briefing_dialog import BriefingDialog

        self.briefing_dialog = BriefingDialog(self.iface, self.iface.mainWindow())
        self.briefing_dialog.show()

    @staticmethod
    def _open_algorithm(algorithm_id):
        import processing  # QGIS's Processing plugin, available once QGIS has started

        processing.execAlgorithmDialog(algorithm_id)
