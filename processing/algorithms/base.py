"""What every Hot Spot Policing algorithm shares: translation, instances, groups, icon, help
link, and one way to run: inputs through the one reader, outputs through the one writer,
Cancel and bad input handled once, results as plain Python numbers."""

import calendar
import math
import os

import numpy as np
from qgis.core import (
    QgsApplication,
    QgsProcessingAlgorithm,
    QgsProcessingException,
    QgsProcessingOutputNumber,
    QgsProcessingParameterDateTime,
    QgsProcessingParameterDistance,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterField,
    QgsProcessingParameterNumber,
)
from qgis.PyQt.QtCore import QCoreApplication, QUrl
from qgis.PyQt.QtGui import QIcon

from ...core import Canceled, InputError, harm
from ...core.dosage import DEFAULT_SHIFT_HOURS, DEFAULT_SHIFT_START
from ...core.geometry import far_from_the_rest
from ..compat import ADVANCED, DATE_PARAMETER, LINE_SOURCE, NUMERIC_FIELD, POINT_SOURCE, POLYGON_SOURCE
from ..layers import ALL_FIELDS, LINES, POINTS, POLYGONS, Reader
from ..reports import LABELS, plain_text
from ..sinks import Writer

PLUGIN_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ICONS_DIR = os.path.join(PLUGIN_DIR, "resources", "icons")
ICON_PATH = os.path.join(ICONS_DIR, "hotspot_policing.svg")
METHODS_PATH = os.path.join(PLUGIN_DIR, "docs", "methods.md")

# Group ids are stable (models store them); the names are what the toolbox shows. The toolbox
# sorts groups by name, so the numbers list them in the order of the work: find, when, streets,
# plan, evaluate, brief. The menu follows the same order.
GROUPS = {
    "hotspotdetection": "1. Where: hot spots",
    "when": "2. When: time patterns",
    "streetsegments": "3. Street segments",
    "patroldosage": "4. Patrol plans",
    "evaluation": "5. Did it work",
    "maps": "6. Maps",
}
# Each group's icon (resources/icons/<name>.svg); an algorithm may pick its own on its class line.
GROUP_ICONS = {
    "hotspotdetection": "density",
    "when": "clock",
    "streetsegments": "street",
    "patroldosage": "patrol",
    "evaluation": "check",
    "maps": "map",
}


def icon_path(name):
    """The path of resources/icons/<name>.svg."""
    return os.path.join(ICONS_DIR, f"{name}.svg")


def stage(feedback, start, end):
    """A progress callback for one stage of a run, from ``start`` to ``end`` percent: it
    raises Canceled as soon as the user has pressed Cancel (core code calls it often)."""

    def report(fraction):
        feedback.setProgress(start + (end - start) * min(max(fraction, 0.0), 1.0))
        if feedback.isCanceled():
            raise Canceled()

    return report


INPUT_RULES = (
    "<p>Inputs are never changed and an output may not replace one. Layers need a CRS; features without a geometry are "
    "left out and counted; output fields that already exist are replaced. Distances are in the layer's units; a layer in "
    "degrees is measured in metres in its UTM zone. Bad values are refused naming the field and feature (README: Awkward "
    "input).</p>"
)


class HotspotAlgorithm(QgsProcessingAlgorithm):
    """Base class: subclasses give their id, group and methods section on the class line, set
    DISPLAY_NAME, TAGS and HELP, declare their parameters and implement ``process()`` with
    ``self.reader`` and ``self.writer``."""

    GROUP_ID = "hotspotdetection"
    ICON = None  # resources/icons/<ICON>.svg; None: the group's icon
    METHODS_SECTION = None  # the section of docs/methods.md with the method's formulas
    NAME = DISPLAY_NAME = TAGS = HELP = ""  # id, toolbox name, search tags (comma separated), help (HTML)

    def __init_subclass__(cls, name=None, group=None, methods=None, icon=None, **kwargs):
        """``class KernelDensity(HotspotAlgorithm, name="kerneldensity", methods="1")``: the id,
        the toolbox group, the docs/methods.md section and the icon (else the group's), on the
        class line."""
        super().__init_subclass__(**kwargs)
        cls.NAME = name or cls.NAME
        cls.GROUP_ID = group or cls.GROUP_ID
        cls.METHODS_SECTION = methods or cls.METHODS_SECTION
        cls.ICON = icon or cls.ICON

    def name(self):
        return self.NAME

    def displayName(self):
        return self.tr(self.DISPLAY_NAME)

    def tags(self):
        return self.tr(self.TAGS).split(",")

    def help(self):
        return self.tr(self.HELP)

    def tr(self, text):
        return QCoreApplication.translate(type(self).__name__, text)

    def createInstance(self):
        return type(self)()

    def group(self):
        return self.tr(GROUPS[self.GROUP_ID])

    def groupId(self):
        return self.GROUP_ID

    def icon(self):
        return QIcon(self.svgIconPath())

    def svgIconPath(self):  # noqa: N802 - QGIS API
        return icon_path(self.ICON or GROUP_ICONS[self.GROUP_ID])

    def shortHelpString(self):
        note = ""
        if self.METHODS_SECTION:
            note = self.tr("<p>Formulas, sources and the choices we made: docs/methods.md, section {} (the Help button opens it).</p>")
            note = note.format(self.METHODS_SECTION)
        text = self.help() + self.tr(INPUT_RULES) + note
        return plain_text(text) if QgsApplication.platform() == "qgis_process" else text  # a terminal shows no HTML

    def helpUrl(self):
        return QUrl.fromLocalFile(METHODS_PATH).toString() if self.METHODS_SECTION else ""

    # --- declaring parameters: every one with help, rare ones Advanced --------------------
    def add(self, parameter, help_text, advanced=False):
        parameter.setHelp(self.tr(help_text))
        if advanced:
            parameter.setFlags(parameter.flags() | ADVANCED)
        self.addParameter(parameter)
        return parameter

    def add_number(self, key, label, default, help_text, integer=False, minimum=0.0, maximum=None, advanced=False):
        kind = QgsProcessingParameterNumber.Type.Integer if integer else QgsProcessingParameterNumber.Type.Double
        limits = {"minValue": minimum} | ({"maxValue": maximum} if maximum is not None else {})
        return self.add(QgsProcessingParameterNumber(key, self.tr(label), kind, default, **limits), help_text, advanced)

    def add_distance(self, key, label, default, parent, help_text, advanced=False):
        return self.add(QgsProcessingParameterDistance(key, self.tr(label), default, parent, minValue=0.0), help_text, advanced)

    def add_enum(self, key, label, options, default, help_text, advanced=False):
        return self.add(
            QgsProcessingParameterEnum(key, self.tr(label), [self.tr(o) for o in options], defaultValue=int(default)), help_text, advanced
        )

    def add_date(self, key, label, help_text):
        """An optional calendar date (a period's first or last day)."""
        return self.add(QgsProcessingParameterDateTime(key, self.tr(label), DATE_PARAMETER, optional=True), help_text)

    def date_seconds(self, parameters, key, context, end_of_day=False):
        """The date of ``key`` as seconds since 1970 on the data's own clock (its midnight, or
        the next midnight when ``end_of_day``: an END date includes its whole day); None when
        left empty."""
        if parameters.get(key) in (None, ""):
            return None
        date = self.parameterAsDateTime(parameters, key, context).date()
        if not date.isValid():
            raise QgsProcessingException(self.tr("{} ({}) is not a date: give one as 2025-01-31.").format(key, parameters.get(key)))
        return calendar.timegm((date.year(), date.month(), date.day(), 0, 0, 0)) + (86400.0 if end_of_day else 0.0)

    def add_results(self, keys):
        """Numeric results, labelled as reports.LABELS says; returned as plain numbers."""
        for key in keys:
            self.addOutput(QgsProcessingOutputNumber(key, self.tr(LABELS[key])))

    def positive(self, parameters, key, context, example):
        """A distance or number that must be more than 0; refused otherwise, with an example."""
        value = self.parameterAsDouble(parameters, key, context)
        if not value > 0:  # NaN too
            raise QgsProcessingException(
                self.tr("{} ({}) must be greater than 0 (e.g. {}).").format(self.parameterDefinition(key).description(), key, example)
            )
        return value

    def processAlgorithm(self, parameters, context, feedback):
        self.reader = Reader(self, parameters, context, feedback)
        self.writer = Writer(self, parameters, context, feedback)
        try:
            stage(feedback, 0, 0)(0.0)  # cancelled before it began
            self._check_numbers(parameters, context)
            ok, message = self.checkParameterValues(parameters, context)  # again: not every route asks first
            if not ok:
                raise QgsProcessingException(message)
            self.writer.check_destinations()
            results = self.process(parameters, context, feedback)
        except Canceled:
            self.writer.discard()
            feedback.pushInfo(self.tr("Cancelled: nothing was written."))
            return {}
        except InputError as error:
            self.writer.discard()
            raise QgsProcessingException(str(error)) from None
        except BaseException:
            self.writer.discard()
            raise
        finally:  # they refer back to the algorithm: a cycle would keep the run's context (and
            # its layers) alive until Python's collector runs, possibly after QGIS has shut down
            self.reader = self.writer = None
        feedback.setProgress(100)
        return {key: _plain(value) for key, value in results.items()}

    def _check_numbers(self, parameters, context):
        """Every number given is a number: NaN and infinity are refused, naming the parameter."""
        for definition in self.parameterDefinitions():
            if definition.type() in ("number", "distance") and parameters.get(definition.name()) not in (None, ""):
                value = self.parameterAsDouble(parameters, definition.name(), context)
                if not math.isfinite(value):
                    raise QgsProcessingException(
                        self.tr("{} ({}) is {}: give a number.").format(definition.description(), definition.name(), value)
                    )

    def process(self, parameters, context, feedback):
        raise NotImplementedError


def _plain(value):
    """numpy scalars as Python int/float (qgis_process and models drop numpy values)."""
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


class IncidentAlgorithm(HotspotAlgorithm):
    """Algorithms over incident points with an optional weight (e.g. harm): the same
    parameters, the same reading and the same checks of the weights."""

    INCIDENTS = "INPUT"  # parameter keys are public: a subclass may use another
    WEIGHT_FIELD = "WEIGHT_FIELD"

    def add_incident_parameters(self, weight_help):
        self.add_incidents_parameter()
        self.add_weight_parameter(weight_help)

    def add_incidents_parameter(self):
        source = QgsProcessingParameterFeatureSource(self.INCIDENTS, self.tr("Incidents"), [POINT_SOURCE])
        self.add(source, "Point layer of incidents (multipoints count once per point).")

    def add_weight_parameter(self, weight_help):
        label = self.tr("Weight field (e.g. harm)")
        self.add(QgsProcessingParameterField(self.WEIGHT_FIELD, label, None, self.INCIDENTS, NUMERIC_FIELD, optional=True), weight_help)

    def read_incidents(self, parameters, context, crs, fields=(), keep=False, progress=None):
        """The incident points in ``crs`` and their checked weights (None without a weight
        field). ``fields``: more fields to read (ALL_FIELDS to write the incidents back)."""
        self.reader.source(self.INCIDENTS, needs=POINTS)
        weight_field = self.parameterAsString(parameters, self.WEIGHT_FIELD, context) or None
        if weight_field:
            weight_field = self.reader.amount_field(self.WEIGHT_FIELD, self.INCIDENTS)
        wanted = fields if isinstance(fields, str) else list(fields) + ([weight_field] if weight_field else [])
        incidents = self.reader.read(self.INCIDENTS, crs, wanted, keep=keep, progress=progress)
        if incidents.skipped:
            self.reader.feedback.pushWarning(self.tr("Skipped {} incidents without a point geometry.").format(incidents.skipped))
        weights = None
        if weight_field:
            weights = harm.checked_weights(incidents.numbers(weight_field), weight_field, incidents.ids)[incidents.part_owner]
        return incidents, weights

    def near_incidents(self, points, feedback, consequence):
        """Which incident points lie near the rest (core.geometry.far_from_the_rest); the
        others are named in a warning that says ``consequence``."""
        near = ~far_from_the_rest(points.x, points.y)
        if not near.all():
            rows = np.unique(points.part_owner[~near])
            ids = ", ".join(str(i) for i in points.ids[rows][:5]) + (" ..." if len(rows) > 5 else "")
            feedback.pushWarning(
                self.tr("{} incidents lie far outside the rest (features {}): {} Check where they were geocoded.").format(
                    int((~near).sum()), ids, self.tr(consequence)
                )
            )
        return near


class ZoneAlgorithm(IncidentAlgorithm):
    """Incidents taken per zone the user gives: polygons hold the incidents inside them,
    street segments those within SNAP_TOLERANCE (as 'Assign incidents'). The same three
    parameters and the same assignment in every tool that profiles or counts per zone."""

    ZONES, ZONE_ID_FIELD, SNAP_TOLERANCE = "ZONES", "ZONE_ID_FIELD", "SNAP_TOLERANCE"

    def add_zone_parameters(self, label, zones_help, id_help):
        zones = QgsProcessingParameterFeatureSource(self.ZONES, self.tr(label), [POLYGON_SOURCE, LINE_SOURCE], optional=True)
        self.add(zones, zones_help)
        self.add(QgsProcessingParameterField(self.ZONE_ID_FIELD, self.tr("Zone id field"), None, self.ZONES, optional=True), id_help)
        snap_help = "With street segments as zones: incidents farther than this from every segment are left out."
        self.add_distance(self.SNAP_TOLERANCE, "Snapping tolerance (segments)", 30.0, self.ZONES, snap_help, advanced=True)

    def zones_source(self):
        """The ZONES source (polygons or lines), None when left empty."""
        return self.reader.source(self.ZONES, needs=(POLYGONS, LINES))

    def read_zones(self, parameters, context, crs, points, read_progress=None, locate_progress=None):
        """(zones, the zone of each incident point (-1: none), the zone id field or "")."""
        zones = self.reader.read(self.ZONES, crs, ALL_FIELDS, keep=True, progress=read_progress)
        tolerance = self.parameterAsDouble(parameters, self.SNAP_TOLERANCE, context)
        place = zones.locate(points.x, points.y, tolerance, progress=locate_progress)
        id_field = self.parameterAsString(parameters, self.ZONE_ID_FIELD, context)
        if id_field:
            id_field = self.reader.existing_field(id_field, self.ZONE_ID_FIELD, self.zones_source())
        return zones, place, id_field


class DosageAlgorithm(HotspotAlgorithm, group="patroldosage"):
    """Patrol dosage algorithms: the same shift parameters, with the same defaults."""

    SHIFT_HOURS, SHIFT_START = "SHIFT_HOURS", "SHIFT_START"

    def add_shift_hours(self, advanced=False):
        help_text = "Length of a shift; visits are spread over it and doses are counted per shift."
        self.add_number(
            self.SHIFT_HOURS, "Shift length (hours)", DEFAULT_SHIFT_HOURS, help_text, minimum=0.5, maximum=24.0, advanced=advanced
        )

    def add_shift_start(self):
        help_text = "Clock time the first shift of the day starts (e.g. 22 for a night shift); shifts follow one another."
        self.add_number(self.SHIFT_START, "Shift start (hour of day)", DEFAULT_SHIFT_START, help_text, maximum=24.0, advanced=True)

    def shifts(self, parameters, context):
        """(shift length in hours, start hour), checked."""
        hours = self.parameterAsDouble(parameters, self.SHIFT_HOURS, context)
        if not 0.5 <= hours <= 24:
            raise QgsProcessingException(
                self.tr("The shift length (SHIFT_HOURS) must be between 0.5 and 24 hours; it is {}.").format(hours)
            )
        return hours, self.parameterAsDouble(parameters, self.SHIFT_START, context)
