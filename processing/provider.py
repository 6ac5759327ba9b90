"""The Processing provider: every algorithm of the plugin under the id "hotspotpolicing"."""

from qgis.core import QgsProcessingProvider
from qgis.PyQt.QtGui import QIcon

from .algorithms import ALGORITHMS
from .algorithms.base import ICON_PATH


class HotspotPolicingProvider(QgsProcessingProvider):
    def id(self):
        return "hotspotpolicing"

    def name(self):
        return "Hot Spot Policing"

    def longName(self):
        return "Hot Spot Policing: crime hot spots and patrol dosage"

    def icon(self):
        return QIcon(ICON_PATH)

    def svgIconPath(self):
        return ICON_PATH

    def loadAlgorithms(self):
        for algorithm in ALGORITHMS:
            self.addAlgorithm(algorithm())
