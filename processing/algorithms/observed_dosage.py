"""hotspotpolicing:observeddosage: the patrol dose actually delivered, from GPS pings."""

import numpy as np
from qgis.core import (
    QgsProcessingException,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterField,
    QgsProcessingParameterNumber,
)

from ...core.dosage import split_by_shift
from ...core.observed import duty_shifts, presence
from ..compat import ANY_VECTOR, LINE_SOURCE, POINT_SOURCE, POLYGON_SOURCE
from ..layers import ALL_FIELDS, LINES, POLYGONS, TIME_NAMES, UNIT_NAMES, is_time
from ..reports import number
from ..sinks import Column
from .base import DosageAlgorithm, stage

DOUBLE = QgsProcessingParameterNumber.Type.Double


class ObservedDosage(DosageAlgorithm, name="observeddosage", methods="4.4"):
    PINGS, HOTSPOTS, UNIT_FIELD, TIME_FIELD, OUTPUT = "PINGS", "HOTSPOTS", "UNIT_FIELD", "TIME_FIELD", "OUTPUT"
    MAX_GAP, MIN_VISIT, BUFFER, OUTPUT_SHIFTS = "MAX_GAP", "MIN_VISIT", "BUFFER", "OUTPUT_SHIFTS"

    DISPLAY_NAME = "Observed patrol dosage (from GPS pings)"
    TAGS = "gps,avl,pings,patrol,dosage,dwell,presence,hot spots policing"
    HELP = (
        "<p>Did the patrols deliver the planned dose? Measures from patrol units' GPS (AVL) pings how many minutes "
        "and visits each hot spot actually received, and compares them with the plan.</p>"
        "<p>Give the <i>GPS pings</i> with their <i>Unit field</i> and <i>Time field</i>, and the <i>Hot spots</i>, "
        "best the output of 'Patrol dosage plan'. A unit is present while its pings stay in the hot spot (street "
        "segments: within the <i>Distance to a street segment</i>) with no gap longer than the <i>Longest gap between "
        "pings</i>; two units there at once count once. Stays of at least the <i>Shortest visit</i> are visits.</p>"
        "<p><b>Reading the result.</b> The hot spots with minutes_observed, officer_minutes (every unit counted), "
        "visits_observed, shifts_observed, minutes_per_shift_observed and, for a patrol plan, dose_ratio (observed / "
        "planned: below 1, less than planned). <i>Observed dosage per shift</i> gives minutes and visits per hot spot "
        "and shift. Times are read as stored (UTC for GeoPackage date-times).</p>"
    )

    def initAlgorithm(self, config=None):
        pings = QgsProcessingParameterFeatureSource(self.PINGS, self.tr("GPS pings"), [POINT_SOURCE])
        self.add(pings, "Points from patrol units' GPS/AVL, with a unit id and a time.")
        hotspots = QgsProcessingParameterFeatureSource(
            self.HOTSPOTS, self.tr("Hot spots (polygons or street segments)"), [POLYGON_SOURCE, LINE_SOURCE]
        )
        self.add(hotspots, "The patrolled hot spots, e.g. the output of 'Patrol dosage plan'.")
        unit = QgsProcessingParameterField(self.UNIT_FIELD, self.tr("Unit field"), "unit_id", self.PINGS, optional=True)
        self.add(
            unit, "Identifies the patrol unit (car, officer) of each ping. Empty: a field named unit_id, unit, vehicle, car or callsign."
        )
        time = QgsProcessingParameterField(self.TIME_FIELD, self.tr("Time field"), "pinged_at", self.PINGS, optional=True)
        self.add(time, "Date and time of each ping (a date-time field, or ISO 8601 text). Empty: the first date-time field.")
        self.add(QgsProcessingParameterFeatureSink(self.OUTPUT, self.tr("Observed dosage")), "The hot spots with the dose observed.")
        gap_help = "A unit is still present across a gap in its pings up to this long."
        self.add_number(self.MAX_GAP, "Longest gap between pings (minutes)", 2.0, gap_help, advanced=True)
        self.add_number(
            self.MIN_VISIT, "Shortest visit (minutes)", 1.0, "Presence episodes at least this long count as visits.", advanced=True
        )
        self.add_shift_hours(advanced=True)
        self.add_shift_start()
        buffer_help = "Street-segment hot spots: pings this close to the segment are in it."
        self.add_distance(self.BUFFER, "Distance to a street segment", 25.0, self.HOTSPOTS, buffer_help, advanced=True)
        shifts = QgsProcessingParameterFeatureSink(
            self.OUTPUT_SHIFTS, self.tr("Observed dosage per shift"), ANY_VECTOR, optional=True, createByDefault=False
        )
        self.add(shifts, "Optional table: minutes and visits per hot spot and shift.")

    def process(self, parameters, context, feedback):
        unit_field = self.reader.field(self.UNIT_FIELD, self.PINGS, UNIT_NAMES)
        time_field = self.reader.field(self.TIME_FIELD, self.PINGS, TIME_NAMES, accept=is_time)
        self.reader.source(self.HOTSPOTS, needs=(POLYGONS, LINES))
        crs = self.reader.crs(self.HOTSPOTS)
        pings = self.reader.read(self.PINGS, crs, [unit_field, time_field], progress=stage(feedback, 0, 30))
        seconds = pings.seconds(time_field)[pings.part_owner]
        timed = np.isfinite(seconds)
        if (~timed).sum():
            feedback.pushWarning(self.tr("{} pings have no time and are left out.").format(int((~timed).sum())))
        if not timed.any():
            raise QgsProcessingException(
                self.tr("No ping has a time in '{}'. Choose the field that holds the ping times.").format(time_field)
            )
        x, y, seconds = pings.x[timed], pings.y[timed], seconds[timed]
        _, unit = np.unique(pings.texts(unit_field)[pings.part_owner][timed], return_inverse=True)
        hotspots = self.reader.read(self.HOTSPOTS, crs, ALL_FIELDS, keep=True, progress=stage(feedback, 30, 40))
        buffer = self.parameterAsDouble(parameters, self.BUFFER, context)
        spots = hotspots.locate(x, y, buffer, progress=stage(feedback, 40, 60))
        max_gap = 60.0 * self.parameterAsDouble(parameters, self.MAX_GAP, context)
        min_visit = 60.0 * self.parameterAsDouble(parameters, self.MIN_VISIT, context)
        result = presence(unit, seconds, spots, len(hotspots), max_gap, min_visit)
        shift_hours, shift_start = self.shifts(parameters, context)
        on_duty, any_duty = duty_shifts(unit, seconds, max_gap, shift_start, shift_hours)
        shifts_observed = len(on_duty) or len(any_duty)
        feedback.pushInfo(
            self.tr("{} pings of {} units; patrols were on duty for at least half of {} shifts; {} presence episodes in hot spots.").format(
                number(len(seconds)), unit.max() + 1, len(on_duty), number(len(result.spot))
            )
        )
        if len(any_duty) > len(on_duty):
            feedback.pushInfo(
                self.tr(
                    "{} more shifts saw patrols for less than half the shift (e.g. a car finishing late): doses per shift leave them out."
                ).format(len(any_duty) - len(on_duty))
                if len(on_duty)
                else self.tr("No shift had patrols for half its length: doses per shift divide by the {} shifts with any.").format(
                    len(any_duty)
                )
            )
        per_shift = result.minutes / shifts_observed if shifts_observed else np.full(len(hotspots), np.nan)  # no shift: NULL
        columns = [
            Column("minutes_observed", "double", result.minutes),
            Column("officer_minutes", "double", result.officer_minutes),
            Column("visits_observed", "int", result.visits),
            Column("shifts_observed", "int", np.full(len(hotspots), shifts_observed)),
            Column("minutes_per_shift_observed", "double", per_shift),
        ]
        if "minutes_per_shift" in hotspots.columns:
            planned = hotspots.numbers("minutes_per_shift")
            columns.append(Column("dose_ratio", "double", np.where(planned > 0, per_shift / np.where(planned > 0, planned, 1), np.nan)))
        results = {self.OUTPUT: self.writer.features(self.OUTPUT, columns, base=hotspots, progress=stage(feedback, 60, 90))}
        if parameters.get(self.OUTPUT_SHIFTS) is not None:
            results[self.OUTPUT_SHIFTS] = self._write_shifts(result, min_visit, shift_start, shift_hours, stage(feedback, 90, 100))
        return results

    def _write_shifts(self, result, min_visit, shift_start, shift_hours, progress):
        """Presence minutes and visits per hot spot and shift (episodes split at shift ends;
        a visit counts in the shift it began)."""
        spot, shift, seconds, first = split_by_shift(result.spot, result.begin, result.end, shift_start, shift_hours)
        pairs, position = np.unique(np.column_stack([spot, shift]), axis=0, return_inverse=True)
        position = position.ravel()
        minutes = np.bincount(position, seconds / 60.0, len(pairs))
        began = np.unique(np.column_stack([result.spot, first]), axis=0, return_inverse=True)
        visit_pairs, visit_position = began[0], began[1].ravel()
        visits_per_pair = np.bincount(visit_position, (result.end - result.begin) >= min_visit, len(visit_pairs))
        visits = np.zeros(len(pairs))
        lookup = np.searchsorted(pairs[:, 0] * (1 << 32) + pairs[:, 1], visit_pairs[:, 0] * (1 << 32) + visit_pairs[:, 1])
        visits[lookup] = visits_per_pair
        starts = (3600.0 * (shift_start + pairs[:, 1] * shift_hours)).astype("datetime64[s]")
        labels = np.datetime_as_string(starts, unit="m").astype(object)
        return self.writer.table(
            self.OUTPUT_SHIFTS,
            [
                Column("hotspot", "int", pairs[:, 0] + 1),
                Column("shift_start", "string", [label.replace("T", " ") for label in labels]),
                Column("minutes_observed", "double", minutes),
                Column("visits_observed", "int", visits),
            ],
            progress=progress,
        )
