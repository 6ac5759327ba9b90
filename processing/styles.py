"""Default styles for results, from resources/styles/*.qml, applied when a result loads."""

import os

import numpy as np
from qgis.core import (
    Qgis,
    QgsBasicNumericFormat,
    QgsCategorizedSymbolRenderer,
    QgsColorRampLegendNodeSettings,
    QgsColorRampShader,
    QgsGraduatedSymbolRenderer,
    QgsProcessingLayerPostProcessorInterface,
    QgsRendererCategory,
    QgsRendererRange,
    QgsSymbol,
)
from qgis.PyQt.QtGui import QColor

from ..core.change import DECREASE, INCREASE, NO_CHANGE
from . import provenance
from .compat import LINE_GEOMETRY, POLYGON_GEOMETRY, RASTER_LAYER, STATISTIC_MAX
from .layers import layer_numbers

STYLES_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "resources", "styles")


class _OnLoad(QgsProcessingLayerPostProcessorInterface):
    # Processing keeps only a C++ pointer to a post-processor: keep the Python side alive.
    alive = []

    def __init__(self, style, record):
        super().__init__()
        self.style, self.record = style, record

    def postProcessLayer(self, layer, context, feedback):  # noqa: N802 - Qt API
        if self.record is not None:
            layer.setMetadata(provenance.layer_metadata(layer, self.record))
        if self.style:
            apply_style(layer, self.style, self.record)


def on_completion(context, layer_id, style, record=None):
    """Style the output ``layer_id`` with ``style`` and give it the provenance ``record`` as
    its metadata when Processing loads it."""
    if context.willLoadLayerOnCompletion(layer_id):
        processor = _OnLoad(style, record)
        _OnLoad.alive.append(processor)
        context.layerToLoadOnCompletionDetails(layer_id).setPostProcessor(processor)


NOT_SIGNIFICANT = "#cfcfcf"  # light grey: seen on paper, yet quieter than every hot or cold class

# Categorised styles, in plain language for police audiences (colours as ArcGIS's).
CATEGORIES = {
    "gi_bin": (
        "Gi_Bin",
        [
            (3, "#d62f27", "Hot spot, 99% confidence"),
            (2, "#ed7551", "Hot spot, 95% confidence"),
            (1, "#fab984", "Hot spot, 90% confidence"),
            (0, NOT_SIGNIFICANT, "Not significant"),
            (-1, "#a6c8e4", "Cold spot, 90% confidence"),  # light blue: apart from the grey of "not significant"
            (-2, "#6d9ccd", "Cold spot, 95% confidence"),
            (-3, "#4575b5", "Cold spot, 99% confidence"),
        ],
    ),
    "dosage": (
        "visits_per_shift",
        [
            (0, "#d9d9d9", "Not patrolled (budget)"),
            (1, "#6a1b9a", "1 visit per shift"),  # dark purples: apart from every hot and cold spot class,
            (2, "#54278f", "2 visits per shift"),  # also for colour-blind readers (tests/test_alg_briefing_map.py)
            (3, "#4a1486", "3 visits per shift"),
            (4, "#3f007d", "4 visits per shift"),
            (5, "#2d004b", "5 visits per shift"),
            (6, "#1a0033", "6 visits per shift"),
        ],
    ),
    "cotype": (
        "COType",
        [
            ("HH", "#d62f27", "High-high cluster"),
            ("HL", "#f4a582", "High outlier among low values"),
            ("LH", "#92c5de", "Low outlier among high values"),
            ("LL", "#4575b5", "Low-low cluster"),
            ("", NOT_SIGNIFICANT, "Not significant"),
        ],
    ),
    "change_classes": (  # changetest: diverging, more crime red, less blue
        "CHANGE",
        [
            (INCREASE, "#d62f27", INCREASE),
            (NO_CHANGE, NOT_SIGNIFICANT, NO_CHANGE),
            (DECREASE, "#4575b5", DECREASE),
        ],
    ),
    "intervention": (  # evaluateintervention's areas: the treated places, the ring around them, the comparison
        "zone",
        [
            ("Targets", "#d62f27", "Targets (treated)"),
            ("Catchment", "#fdae61", "Catchment (where displacement would show)"),
            ("Controls", "#abd9e9", "Controls (comparison)"),
        ],
    ),
    "emerging": (
        "PATTERN_CODE",
        [
            (1, "#67000d", "New Hot Spot"),
            (2, "#a50f15", "Consecutive Hot Spot"),
            (3, "#d7301f", "Intensifying Hot Spot"),
            (4, "#ef6548", "Persistent Hot Spot"),
            (5, "#fc8d59", "Diminishing Hot Spot"),
            (6, "#fdbb84", "Sporadic Hot Spot"),
            (7, "#dd3497", "Oscillating Hot Spot"),
            (8, "#fee0d2", "Historical Hot Spot"),
            (0, NOT_SIGNIFICANT, "No Pattern Detected"),
            (-1, "#08306b", "New Cold Spot"),
            (-2, "#08519c", "Consecutive Cold Spot"),
            (-3, "#2171b5", "Intensifying Cold Spot"),
            (-4, "#4292c6", "Persistent Cold Spot"),
            (-5, "#6baed6", "Diminishing Cold Spot"),
            (-6, "#9ecae1", "Sporadic Cold Spot"),
            (-7, "#807dba", "Oscillating Cold Spot"),
            (-8, "#deebf7", "Historical Cold Spot"),
        ],
    ),
}


def apply_style(layer, style, record=None):
    """A categorised style from CATEGORIES, or resources/styles/<style>.qml; a density ramp
    is stored there as fractions of the maximum and rescaled to the layer's own range."""
    if style == "cube":  # a space-time cube: its bins by Gi_Bin, played by the temporal controller
        apply_style(layer, "gi_bin")
        _animate(layer, field_named(layer, "STEP_START"), field_named(layer, "STEP_END"))
    elif style in CATEGORIES:
        field, classes = CATEGORIES[style]
        if field_named(layer, field):
            _categorise(layer, field_named(layer, field), classes, wide=style == "dosage")
    elif style == "network_density":
        density = field_named(layer, "DENSITY") or field_named(layer, "DENSITY_MEAN")
        if density:
            _graduate_density(layer, density)
    elif style == "segments":
        if field_named(layer, "incident_count"):
            _graduate_segments(layer, field_named(layer, "incident_count"))
    elif style == "risk_days":
        if field_named(layer, "DAYS_LEFT"):
            _graduate_days_left(layer, field_named(layer, "DAYS_LEFT"))
        _animate(layer, field_named(layer, "RISK_FROM"), field_named(layer, "RISK_UNTIL"), last_day_included=True)
    elif style == "change":  # shown while the temporal controller is within the two periods
        apply_style(layer, "change_classes")
        periods = (record or {}).get("parameters", {})
        _fixed_range(layer, periods.get("BEFORE_START"), periods.get("AFTER_END"))
    elif style == "schedule":
        _animate(layer, field_named(layer, "start_time"), field_named(layer, "end_time"))
    else:
        layer.loadNamedStyle(os.path.join(STYLES_DIR, style + ".qml"))
    if style == "density":
        _rescale_ramp(layer)
    layer.triggerRepaint()


def _animate(layer, start, end, last_day_included=False):
    """Each feature shown from its start field's time up to (not including) its end field's;
    with ``last_day_included`` the end is a date whose whole day is shown."""
    if start and end:
        properties = layer.temporalProperties()
        properties.setIsActive(True)
        properties.setMode(Qgis.VectorTemporalMode.FeatureDateTimeStartAndEndFromFields)
        properties.setStartField(start)
        properties.setEndField(end)
        properties.setLimitMode(Qgis.VectorTemporalLimitMode.IncludeBeginExcludeEnd)
        if last_day_included:  # a date as end: up to the start of the next day
            properties.setMode(Qgis.VectorTemporalMode.FeatureDateTimeStartAndEndFromExpressions)
            properties.setStartExpression(f'to_datetime("{start}")')
            properties.setEndExpression(f"to_datetime(\"{end}\") + to_interval('1 day')")


def _fixed_range(layer, first_day, last_day):
    """The layer shown from the start of ``first_day`` to the end of ``last_day`` (ISO dates)."""
    from qgis.core import QgsDateTimeRange
    from qgis.PyQt.QtCore import QDate, QDateTime, QTime

    first, last = (QDate.fromString(str(text or "")[:10], "yyyy-MM-dd") for text in (first_day, last_day))
    if first.isValid() and last.isValid():
        properties = layer.temporalProperties()
        properties.setIsActive(True)
        properties.setMode(Qgis.VectorTemporalMode.FixedTemporalRange)
        properties.setFixedTemporalRange(
            QgsDateTimeRange(QDateTime(first, QTime(0, 0)), QDateTime(last.addDays(1), QTime(0, 0)), True, False)
        )


def field_named(layer, name):
    """The layer's field for ``name``: itself, in another case, or cut to the 10 characters a
    shapefile keeps (incident_count is incident_c there); None when it has none."""
    names = layer.fields().names()
    for candidate in (name, name[:10]):
        found = next((n for n in names if n.lower() == candidate.lower()), None)
        if found:
            return found
    return None


def _categorise(layer, field, classes, wide=False):
    """Polygons a little transparent with a grey outline (the streets beneath stay readable);
    lines wider the stronger the class, the quiet class thin, ``wide`` ones (a plan drawn
    over hot streets) wider still."""
    categories = []
    for value, colour, label in classes:
        symbol = QgsSymbol.defaultSymbol(layer.geometryType())
        symbol.setColor(QColor(colour))
        if layer.geometryType() == POLYGON_GEOMETRY:
            symbol.symbolLayer(0).setStrokeColor(QColor("#8c8c8c"))
            symbol.symbolLayer(0).setStrokeWidth(0.1)
            symbol.setOpacity(0.8)
        elif layer.geometryType() == LINE_GEOMETRY:
            strength = abs(value) if isinstance(value, int) else 2
            symbol.setWidth(0.3 if colour == NOT_SIGNIFICANT else (1.6 if wide else 0.7) + 0.4 * strength)
        categories.append(QgsRendererCategory(value, symbol, label))
    layer.setRenderer(QgsCategorizedSymbolRenderer(field, categories))


def _graduate_segments(layer, field):
    """Segments by count: grey when none, then wider and redder by percentile of the rest
    (up to the median, 80th, 95th, 99th, and above), so the few hot streets stand out."""
    values = np.sort(layer_numbers(layer, field))
    values = values[np.isfinite(values) & (values != 0)]
    if not len(values):
        return
    uppers = np.unique(np.append(np.percentile(values, [50, 80, 95, 99], method="higher"), values[-1]))
    styles = [("#fed976", 0.3), ("#feb24c", 0.45), ("#fd8d3c", 0.7), ("#e31a1c", 1.1), ("#800026", 1.6)][-len(uppers) :]
    ranges = [QgsRendererRange(-0.5, 0.5, _line(layer, "#c8c8c8", 0.2), "no incidents")]
    lower = 0.5
    for upper, (colour, width) in zip(uppers, styles):
        first = int(np.ceil(lower))
        label = f"{first:,}" if first == int(upper) else f"{first:,}-{int(upper):,}"
        ranges.append(QgsRendererRange(lower, float(upper), _line(layer, colour, width), label))
        lower = float(upper) + 0.5 if float(upper).is_integer() else float(upper)
    layer.setRenderer(QgsGraduatedSymbolRenderer(field, ranges))


# Near-repeat risk zones by the days their raised risk still lasts after the data date: the
# freshest (most days left) darkest; zones whose risk has ended grey.
DAYS_LEFT_CLASSES = (
    (-1e9, -0.5, "#bdbdbd", "Risk has ended"),
    (-0.5, 0.5, "#fee5d9", "Ends on the latest incident's date"),
    (0.5, 2.5, "#fcae91", "1-2 more days"),
    (2.5, 7.5, "#fb6a4a", "3-7 more days"),
    (7.5, 14.5, "#de2d26", "8-14 more days"),
    (14.5, 1e9, "#a50f15", "15 or more days"),
)


def _graduate_days_left(layer, field):
    """Risk zones by days left, a little transparent so the streets beneath stay readable."""
    ranges = []
    for lower, upper, colour, label in DAYS_LEFT_CLASSES:
        symbol = QgsSymbol.defaultSymbol(layer.geometryType())
        symbol.setColor(QColor(colour))
        symbol.setOpacity(0.6)
        if layer.geometryType() == POLYGON_GEOMETRY:
            symbol.symbolLayer(0).setStrokeColor(QColor("#8c8c8c"))
            symbol.symbolLayer(0).setStrokeWidth(0.1)
        ranges.append(QgsRendererRange(lower, upper, symbol, label))
    layer.setRenderer(QgsGraduatedSymbolRenderer(field, ranges))


def _graduate_density(layer, field):
    """Streets by density per km: thin and pale where low, wide and dark red where high, in
    classes at the 50th, 80th, 95th and 99th percentiles of the streets with any density."""
    values = layer_numbers(layer, field)
    values = np.sort(values[np.isfinite(values) & (values > 0)])
    if not len(values):
        return
    uppers = np.unique(np.append(np.percentile(values, [50, 80, 95, 99]), values[-1]))
    styles = [("#fed976", 0.3), ("#feb24c", 0.5), ("#fd8d3c", 0.8), ("#e31a1c", 1.2), ("#800026", 1.8)][-len(uppers) :]
    ranges, lower = [QgsRendererRange(0.0, 0.0, _line(layer, "#d9d9d9", 0.15), "0 per km")], 0.0
    for upper, (colour, width) in zip(uppers, styles):
        label = f"{readable(lower)} - {readable(upper)} per km"
        ranges.append(QgsRendererRange(lower, float(upper), _line(layer, colour, width), label))
        lower = float(upper)
    layer.setRenderer(QgsGraduatedSymbolRenderer(field, ranges))


def readable(value):
    """A legend number as people read it: 31,814, 636, 12.3, 0.0042 (never 6.36e+03)."""
    value = float(value)
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return np.format_float_positional(value, precision=3, unique=True, fractional=False, trim="-")


def _line(layer, colour, width):
    symbol = QgsSymbol.defaultSymbol(layer.geometryType())
    symbol.setColor(QColor(colour))
    symbol.setWidth(width)
    return symbol


def _rescale_ramp(layer):
    peak = layer.dataProvider().bandStatistics(1, STATISTIC_MAX).maximumValue
    renderer = layer.renderer()
    ramp = renderer.shader().rasterShaderFunction()
    items = [
        QgsColorRampShader.ColorRampItem(item.value * peak, item.color, "none" if item.value == 0 else readable(item.value * peak))
        for item in ramp.colorRampItemList()
    ]
    ramp.setColorRampItemList(items)
    legend = QgsColorRampLegendNodeSettings()
    digits = QgsBasicNumericFormat()
    digits.setNumberDecimalPlaces(0 if peak >= 100 else 3)
    digits.setShowTrailingZeros(False)
    legend.setNumericFormat(digits)
    ramp.setLegendSettings(legend)
    ramp.setMinimumValue(0.0)
    ramp.setMaximumValue(peak)
    renderer.setClassificationMin(0.0)
    renderer.setClassificationMax(peak)


def band_description(layer):
    """The first band's description (GDAL's; QGIS 3.22's provider API does not offer it)."""
    provider = layer.dataProvider()
    if hasattr(provider, "bandDescription"):
        return provider.bandDescription(1)
    from osgeo import gdal

    dataset = gdal.Open(layer.source().split("|")[0]) if layer.source() else None
    return dataset.GetRasterBand(1).GetDescription() if dataset is not None else ""


def recognised_style(layer, record=None):
    """The default style that fits a layer this plugin made, known by its fields (Gi_Bin,
    COType, visits_per_shift, incident_count on lines) or, for a raster, by its provenance
    or a band described as a density ("incidents per km²"); None for anything else."""
    if layer.type() == RASTER_LAYER:
        made_by_kde = record is not None and record.get("algorithm") == "hotspotpolicing:kerneldensity"
        return "density" if made_by_kde or " per " in layer.bandName(1) + band_description(layer) else None
    if field_named(layer, "STEP_START") and field_named(layer, "gi_bin"):
        return "cube"
    if field_named(layer, "CHANGE") and field_named(layer, "Q_VALUE"):  # before gi_bin: a change test keeps its units' fields
        return "change"
    for field, style in (
        ("visits_per_shift", "dosage"),
        ("days_left", "risk_days"),
        ("pattern_code", "emerging"),
        ("gi_bin", "gi_bin"),
        ("cotype", "cotype"),
    ):
        if field_named(layer, field):
            return style
    if (field_named(layer, "DENSITY") or field_named(layer, "DENSITY_MEAN")) and layer.geometryType() == LINE_GEOMETRY:
        return "network_density"
    if field_named(layer, "incident_count") and layer.geometryType() == LINE_GEOMETRY:
        return "segments"
    return None


def has_own_style(layer):
    """Whether someone styled the layer: anything but QGIS's random single symbol or grey band."""
    renderer = layer.renderer()
    return renderer is not None and renderer.type() not in ("singleSymbol", "singlebandgray", "multibandcolor")
