"""What every Hot Spot Policing algorithm shares: translation, instances, groups, icon."""

import os

from qgis.core import QgsProcessingAlgorithm
from qgis.PyQt.QtCore import QCoreApplication
from qgis.PyQt.QtGui import QIcon

PLUGIN_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ICON_PATH = os.path.join(PLUGIN_DIR, "resources", "icons", "hotspot_policing.svg")

# Group ids are stable (models store them); the names are what the toolbox shows.
GROUPS = {
    "hotspotdetection": "Hot spot detection",
    "streetsegments": "Street segments",
    "patroldosage": "Patrol dosage",
    "maps": "Maps",
}


class HotspotAlgorithm(QgsProcessingAlgorithm):
    """Base class: subclasses set GROUP_ID and implement the Processing methods."""

    GROUP_ID = "hotspotdetection"

    def tr(self, text):
        return QCoreApplication.translate(type(self).__name__, text)

    def createInstance(self):
        return type(self)()

    def group(self):
        return self.tr(GROUPS[self.GROUP_ID])

    def groupId(self):
        return self.GROUP_ID

    def icon(self):
        return QIcon(ICON_PATH)


def add_features(sink, features):
    """Write features to a sink; a failure stops the run (outputs are complete or absent)."""
    from qgis.core import QgsProcessingException

    from ..compat import FAST_INSERT

    if features and not sink.addFeatures(features, FAST_INSERT):
        raise QgsProcessingException(
            f"Could not write the output: {sink.lastError() if hasattr(sink, 'lastError') else 'the sink refused the features'}"
        )
