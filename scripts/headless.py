"""QGIS without a screen, with Processing and this checkout registered as the plugin
``hotspot_policing``: the start-up the demo and the benchmarks share.

    from headless import qgis_session
    with qgis_session() as folder:      # a temporary folder, also where the plugin is linked
        import processing
        processing.run("hotspotpolicing:kerneldensity", {...})
"""

import contextlib
import os
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@contextlib.contextmanager
def qgis_session():
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.path.append("/usr/share/qgis/python/plugins")  # QGIS's own Processing plugin
    from qgis.core import QgsApplication

    app = QgsApplication([], True)  # with widgets (offscreen), so dialogs can be drawn too
    app.initQgis()
    from processing.core.Processing import Processing

    Processing.initialize()
    # The repository root must not go on sys.path (its processing/ would shadow QGIS's):
    # link it under its plugin name in a temporary folder instead.
    folder = tempfile.mkdtemp(prefix="hotspot_policing_")
    os.symlink(ROOT, os.path.join(folder, "hotspot_policing"))
    sys.path.insert(0, folder)
    from hotspot_policing.processing.provider import HotspotPolicingProvider

    provider = HotspotPolicingProvider()
    QgsApplication.processingRegistry().addProvider(provider)
    try:
        yield folder
    finally:
        import gc

        gc.collect()  # layers and algorithms made in Python go while QGIS still runs
        QgsApplication.processingRegistry().removeProvider(provider)
        app.exitQgis()
