"""The plugin object QGIS creates: registers the Processing provider and the menu.

The menu lists the two dialogs first (the detector, also on the toolbar, and the briefing map),
then one submenu per toolbox group, in the order of the work (find, when, streets, plan,
evaluate), each algorithm under the name the toolbox gives it."""

from qgis.core import QgsApplication
from qgis.PyQt.QtCore import QCoreApplication
from qgis.PyQt.QtGui import QIcon
from qgis.PyQt.QtWidgets import QAction, QMenu

from .processing.algorithms import ALGORITHMS
from .processing.algorithms.base import GROUP_ICONS, GROUPS, ICON_PATH, icon_path
from .processing.provider import HotspotPolicingProvider

MENU = "&Hot Spot Policing"
DIALOGS = (  # (label, icon, method): the friendly entries, first in the menu
    ("Find hot spots…", ICON_PATH, "_open_detector"),
    ("Export briefing map…", icon_path("map"), "_open_briefing"),
)
# The algorithms in the order of the work within each group; the briefing map algorithm is left
# out: its dialog above is the menu's way to it (the toolbox still lists it).
WORK_ORDER = (
    "kerneldensity",
    "optimizedhotspots",
    "gistar",
    "localmoran",
    "hotstreets",
    "networkkde",
    "aoristic",
    "emerginghotspots",
    "nearrepeat",
    "streetsegments",
    "assignincidents",
    "concentration",
    "evaluateforecast",
    "patroldosage",
    "observeddosage",
    "changetest",
    "evaluateintervention",
)


def menu_groups():
    """[(group name, group icon path, [(algorithm id, label, icon path), ...]), ...] in the
    order of GROUPS, each group's algorithms in WORK_ORDER; groups without one are left out."""
    by_name = {algorithm.NAME: algorithm() for algorithm in ALGORITHMS}
    groups = []
    for group_id, group_name in GROUPS.items():
        entries = [
            (f"hotspotpolicing:{name}", f"{by_name[name].displayName()}…", by_name[name].svgIconPath())
            for name in WORK_ORDER
            if by_name[name].groupId() == group_id
        ]
        if entries:
            groups.append((group_name, icon_path(GROUP_ICONS[group_id]), entries))
    return groups


def tr(text):
    return QCoreApplication.translate("HotspotPolicingPlugin", text)


class HotspotPolicingPlugin:
    def __init__(self, iface):
        self.iface = iface
        self.provider = None
        self.actions = []  # what was added to the plugin menu, in order (the dialogs first)
        self.menus = []

    def initProcessing(self):  # noqa: N802 - QGIS API
        """Called by QGIS, and by qgis_process with iface None: no GUI here."""
        if self.provider is None:
            self.provider = HotspotPolicingProvider()
            QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self):  # noqa: N802 - QGIS API
        self.initProcessing()
        window = self.iface.mainWindow()
        for label, icon, method in DIALOGS:
            action = QAction(QIcon(icon), tr(label), window)
            action.triggered.connect(getattr(self, method))
            self._add(action)
        self.iface.addToolBarIcon(self.actions[0])
        separator = QAction(window)
        separator.setSeparator(True)
        self._add(separator)
        for group_name, group_icon, entries in menu_groups():
            menu = QMenu(tr(group_name), window)
            menu.setIcon(QIcon(group_icon))
            for algorithm_id, label, icon in entries:
                action = menu.addAction(QIcon(icon), label)
                action.triggered.connect(lambda checked=False, a=algorithm_id: self._open_algorithm(a))
            self.menus.append(menu)
            self._add(menu.menuAction())

    def _add(self, action):
        self.iface.addPluginToMenu(MENU, action)
        self.actions.append(action)

    def unload(self):
        if self.actions:
            self.iface.removeToolBarIcon(self.actions[0])
        for action in self.actions:
            self.iface.removePluginMenu(MENU, action)
        self.actions = []
        for menu in self.menus:
            menu.deleteLater()
        self.menus = []
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
