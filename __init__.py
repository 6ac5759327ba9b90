"""Hot Spot Policing: QGIS plugin entry point.

Importing this package must not import QGIS (core/ is used without it), so the plugin class
is imported only when QGIS asks for it."""


def classFactory(iface):  # noqa: N802 - QGIS API
    from .plugin import HotspotPolicingPlugin

    return HotspotPolicingPlugin(iface)
