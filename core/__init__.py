"""Pure numpy/scipy engine of Hot Spot Policing: no QGIS or Qt imports here, so every
statistic can be tested and reused without QGIS."""


class Canceled(Exception):  # noqa: N818 - a signal, not an error
    """Raised by a core routine when its caller asked it to stop."""
