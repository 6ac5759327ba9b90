"""Default styles for results, from resources/styles/*.qml, applied when a result loads."""

import os

from qgis.core import QgsColorRampShader, QgsProcessingLayerPostProcessorInterface

from .algorithms.base import PLUGIN_DIR
from .compat import STATISTIC_MAX

STYLES_DIR = os.path.join(PLUGIN_DIR, "resources", "styles")


class _StyleOnLoad(QgsProcessingLayerPostProcessorInterface):
    # Processing keeps only a C++ pointer to a post-processor: keep the Python side alive.
    alive = []

    def __init__(self, style):
        super().__init__()
        self.style = style

    def postProcessLayer(self, layer, context, feedback):  # noqa: N802 - Qt API
        apply_style(layer, self.style)


def style_on_completion(context, layer_id, style):
    """Style the output ``layer_id`` with ``style`` when Processing loads it."""
    if context.willLoadLayerOnCompletion(layer_id):
        processor = _StyleOnLoad(style)
        _StyleOnLoad.alive.append(processor)
        context.layerToLoadOnCompletionDetails(layer_id).setPostProcessor(processor)


def apply_style(layer, style):
    """Load resources/styles/<style>.qml; a density ramp is stored as fractions of the
    maximum and rescaled here to the layer's own range."""
    layer.loadNamedStyle(os.path.join(STYLES_DIR, style + ".qml"))
    if style == "density":
        _rescale_ramp(layer)
    layer.triggerRepaint()


def _rescale_ramp(layer):
    peak = layer.dataProvider().bandStatistics(1, STATISTIC_MAX).maximumValue
    renderer = layer.renderer()
    ramp = renderer.shader().rasterShaderFunction()
    items = [
        QgsColorRampShader.ColorRampItem(item.value * peak, item.color, "none" if item.value == 0 else f"{item.value * peak:.3g}")
        for item in ramp.colorRampItemList()
    ]
    ramp.setColorRampItemList(items)
    ramp.setMinimumValue(0.0)
    ramp.setMaximumValue(peak)
    renderer.setClassificationMin(0.0)
    renderer.setClassificationMax(peak)
