"""hotspotpolicing:observeddosage: the patrol dose actually delivered, from GPS pings."""

from datetime import datetime, timezone

import numpy as np
from qgis.core import (
    QgsCoordinateTransform,
    QgsFeature,
    QgsFields,
    QgsGeometry,
    QgsProcessingException,
    QgsProcessingParameterDistance,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterField,
    QgsProcessingParameterNumber,
    QgsWkbTypes,
)

from ...core.network import nearest_segments
from ...core.observed import points_in_polygons, presence
from ..compat import ADVANCED, ANY_VECTOR, LINE_GEOMETRY, LINE_SOURCE, POINT_SOURCE, POLYGON_GEOMETRY, POLYGON_SOURCE
from ..compat import field as make_field
from ..layers import polygon_rings, read_lines, read_points, working_crs
from .base import HotspotAlgorithm, add_features

DOUBLE = QgsProcessingParameterNumber.Type.Double


class ObservedDosage(HotspotAlgorithm):
    PINGS = "PINGS"
    HOTSPOTS = "HOTSPOTS"
    UNIT_FIELD = "UNIT_FIELD"
    TIME_FIELD = "TIME_FIELD"
    OUTPUT = "OUTPUT"
    MAX_GAP = "MAX_GAP"
    MIN_VISIT = "MIN_VISIT"
    BUFFER = "BUFFER"
    SHIFT_HOURS = "SHIFT_HOURS"
    SHIFT_START = "SHIFT_START"
    OUTPUT_SHIFTS = "OUTPUT_SHIFTS"
    GROUP_ID = "patroldosage"

    def name(self):
        return "observeddosage"

    def displayName(self):
        return self.tr("Observed patrol dosage (from GPS pings)")

    def tags(self):
        return self.tr("gps,avl,pings,patrol,dosage,dwell,presence,hot spots policing").split(",")

    def shortHelpString(self):
        return self.tr(
            "<p>Measures the patrol dose actually delivered to each hot spot from patrol units' GPS "
            "(AVL) pings, and compares it with the plan.</p>"
            "<p><b>Method.</b> A ping is in a hot spot when it lies inside the polygon (on its edge "
            "counts as inside) or, for street segments, within BUFFER of the segment. A unit's "
            "consecutive pings in one hot spot, no more than MAX_GAP minutes apart, form a dwell "
            "episode lasting from its first to its last ping; a longer gap ends it. Pings are "
            "sorted by unit and time first; pings without a time are skipped and counted. "
            "Episodes of different units that overlap at one hot spot count once: minutes_observed "
            "is police presence, officer_minutes counts every unit. visits_observed counts presence "
            "episodes of at least MIN_VISIT minutes.</p>"
            "<p><b>Output.</b> The hot spots with minutes_observed, officer_minutes, visits_observed, "
            "shifts_observed (shifts of SHIFT_HOURS from SHIFT_START with any pings), "
            "minutes_per_shift_observed and, when the layer is a patrol plan with "
            "minutes_per_shift, dose_ratio (observed / planned). OUTPUT_SHIFTS: minutes and visits "
            "per hot spot and shift. Times are read as stored (UTC for GeoPackage date-times).</p>"
        )

    def initAlgorithm(self, config=None):
        pings = QgsProcessingParameterFeatureSource(self.PINGS, self.tr("GPS pings"), [POINT_SOURCE])
        pings.setHelp(self.tr("Points from patrol units' GPS/AVL, with a unit id and a time."))
        self.addParameter(pings)
        hotspots = QgsProcessingParameterFeatureSource(
            self.HOTSPOTS, self.tr("Hot spots (polygons or street segments)"), [POLYGON_SOURCE, LINE_SOURCE]
        )
        hotspots.setHelp(self.tr("The patrolled hot spots, e.g. the output of 'Patrol dosage plan'."))
        self.addParameter(hotspots)
        unit = QgsProcessingParameterField(self.UNIT_FIELD, self.tr("Unit field"), "unit_id", self.PINGS)
        unit.setHelp(self.tr("Identifies the patrol unit (car, officer) of each ping."))
        self.addParameter(unit)
        time = QgsProcessingParameterField(self.TIME_FIELD, self.tr("Time field"), "pinged_at", self.PINGS)
        time.setHelp(self.tr("Date and time of each ping (a date-time field, or ISO 8601 text)."))
        self.addParameter(time)
        output = QgsProcessingParameterFeatureSink(self.OUTPUT, self.tr("Observed dosage"))
        output.setHelp(self.tr("The hot spots with the dose observed."))
        self.addParameter(output)
        numbers = [
            (
                self.MAX_GAP,
                "Longest gap between pings (minutes)",
                2.0,
                "A unit is still present across a gap in its pings up to this long.",
            ),
            (self.MIN_VISIT, "Shortest visit (minutes)", 1.0, "Presence episodes at least this long count as visits."),
            (self.SHIFT_HOURS, "Shift length (hours)", 8.0, "For the per-shift figures."),
            (self.SHIFT_START, "First shift starts at (hour of day)", 6.0, "Shifts are counted from this clock time each day."),
        ]
        for key, label, default, help_text in numbers:
            parameter = QgsProcessingParameterNumber(key, self.tr(label), DOUBLE, default, minValue=0.0)
            parameter.setHelp(self.tr(help_text))
            parameter.setFlags(parameter.flags() | ADVANCED)
            self.addParameter(parameter)
        buffer = QgsProcessingParameterDistance(self.BUFFER, self.tr("Distance to a street segment"), 25.0, self.HOTSPOTS, minValue=0.0)
        buffer.setHelp(self.tr("Street-segment hot spots: pings this close to the segment are in it."))
        buffer.setFlags(buffer.flags() | ADVANCED)
        self.addParameter(buffer)
        shifts = QgsProcessingParameterFeatureSink(
            self.OUTPUT_SHIFTS, self.tr("Observed dosage per shift"), ANY_VECTOR, optional=True, createByDefault=False
        )
        shifts.setHelp(self.tr("Optional table: minutes and visits per hot spot and shift."))
        self.addParameter(shifts)

    def processAlgorithm(self, parameters, context, feedback):
        pings = self.parameterAsSource(parameters, self.PINGS, context)
        hotspots = self.parameterAsSource(parameters, self.HOTSPOTS, context)
        if pings is None or hotspots is None:
            raise QgsProcessingException(self.invalidSourceError(parameters, self.PINGS if pings is None else self.HOTSPOTS))
        unit_field = self.parameterAsString(parameters, self.UNIT_FIELD, context)
        time_field = self.parameterAsString(parameters, self.TIME_FIELD, context)
        crs = working_crs(hotspots, context, feedback)
        layer = self.parameterAsVectorLayer(parameters, self.PINGS, context)
        points = read_points(pings, layer, parameters.get(self.PINGS), crs, context, columns=(unit_field, time_field))
        seconds = _seconds(points.columns[time_field])
        timed = np.isfinite(seconds)
        if (~timed).sum():
            feedback.pushWarning(self.tr("{} pings have no time and are left out.").format(int((~timed).sum())))
        if not timed.any():
            raise QgsProcessingException(
                self.tr("No ping has a time in '{}'. Choose the field that holds the ping times.").format(time_field)
            )
        x, y, seconds = points.x[timed], points.y[timed], seconds[timed]
        _, unit = np.unique(points.columns[unit_field][timed].astype(str), return_inverse=True)
        feedback.setProgress(30)

        spots, features = self._locate(parameters, context, feedback, hotspots, crs, x, y)
        feedback.setProgress(60)
        max_gap = 60.0 * self.parameterAsDouble(parameters, self.MAX_GAP, context)
        result = presence(unit, seconds, spots, len(features), max_gap, 60.0 * self.parameterAsDouble(parameters, self.MIN_VISIT, context))
        shift_seconds = 3600.0 * self.parameterAsDouble(parameters, self.SHIFT_HOURS, context)
        if shift_seconds <= 0:
            raise QgsProcessingException(self.tr("The shift length must be more than 0 hours."))
        offset = 3600.0 * self.parameterAsDouble(parameters, self.SHIFT_START, context)
        shifts_observed = len(np.unique(np.floor((seconds - offset) / shift_seconds)))
        feedback.pushInfo(
            self.tr("{} pings of {} units over {} shifts; {} presence episodes in hot spots.").format(
                len(seconds), unit.max() + 1, shifts_observed, len(result.episodes)
            )
        )
        return self._write(parameters, context, hotspots, features, result, shifts_observed, shift_seconds, offset)

    def _locate(self, parameters, context, feedback, hotspots, crs, x, y):
        """The hot spot of each ping (-1 for none) and the hot spots' (geometry, attributes)."""
        kind = QgsWkbTypes.geometryType(hotspots.wkbType())
        if kind == LINE_GEOMETRY:
            lines = read_lines(hotspots, crs, context, feedback)
            found = nearest_segments(x, y, lines.edges, lines.owner, self.parameterAsDouble(parameters, self.BUFFER, context))
            return found.segment, list(zip(lines.geometries, lines.attributes))
        if kind != POLYGON_GEOMETRY:
            raise QgsProcessingException(self.tr("Hot spots must be polygons or street segments."))
        features, polygons = [], []
        transform = None
        if hotspots.sourceCrs() != crs:
            transform = QgsCoordinateTransform(hotspots.sourceCrs(), crs, context.transformContext())
        for feature in hotspots.getFeatures():
            geometry = feature.geometry()
            if geometry.isEmpty():
                continue
            measured = geometry
            if transform is not None:
                measured = QgsGeometry(geometry)
                measured.transform(transform)
            polygons.extend((rings, len(features)) for rings in polygon_rings(measured))
            features.append((geometry, feature.attributes()))
        found = points_in_polygons(x, y, [rings for rings, _ in polygons])
        owner = np.array([index for _, index in polygons] + [-1])
        return owner[found], features

    def _write(self, parameters, context, hotspots, features, result, shifts_observed, shift_seconds, offset):
        fields = QgsFields(hotspots.fields())
        planned = hotspots.fields().lookupField("minutes_per_shift")
        added = [
            ("minutes_observed", "double"),
            ("officer_minutes", "double"),
            ("visits_observed", "int"),
            ("shifts_observed", "int"),
            ("minutes_per_shift_observed", "double"),
        ]
        added += [("dose_ratio", "double")] if planned >= 0 else []
        for name, kind in added:
            fields.append(make_field(name, kind))
        sink, destination = self.parameterAsSink(parameters, self.OUTPUT, context, fields, hotspots.wkbType(), hotspots.sourceCrs())
        batch = []
        for i, (geometry, attributes) in enumerate(features):
            per_shift = float(result.minutes[i] / shifts_observed)
            row = [float(result.minutes[i]), float(result.officer_minutes[i]), int(result.visits[i]), shifts_observed, float(per_shift)]
            if planned >= 0:
                plan = attributes[planned]
                row.append(per_shift / float(plan) if isinstance(plan, (int, float)) and plan > 0 else None)
            feature = QgsFeature(fields)
            feature.setGeometry(geometry)
            feature.setAttributes(list(attributes) + row)
            batch.append(feature)
        add_features(sink, batch)
        results = {self.OUTPUT: destination}
        if parameters.get(self.OUTPUT_SHIFTS) is not None:
            results[self.OUTPUT_SHIFTS] = self._write_shifts(parameters, context, result, shift_seconds, offset)
        return results

    def _write_shifts(self, parameters, context, result, shift_seconds, offset):
        """Presence minutes and visits per hot spot and shift (episodes split at shift ends)."""
        min_visit = 60.0 * self.parameterAsDouble(parameters, self.MIN_VISIT, context)
        totals = {}
        for spot, begin, end in result.episodes:
            first = (spot, int(np.floor((begin - offset) / shift_seconds)))
            minutes, visits = totals.get(first, (0.0, 0))
            totals[first] = (minutes, visits + int(end - begin >= min_visit))
            while True:  # the episode's minutes, split at shift ends
                shift = int(np.floor((begin - offset) / shift_seconds))
                piece_end = min(end, offset + (shift + 1) * shift_seconds)
                minutes, visits = totals.get((spot, shift), (0.0, 0))
                totals[(spot, shift)] = (minutes + (piece_end - begin) / 60.0, visits)
                if piece_end >= end:
                    break
                begin = piece_end
        fields = QgsFields()
        for name, kind in (("hotspot", "int"), ("shift_start", "string"), ("minutes_observed", "double"), ("visits_observed", "int")):
            fields.append(make_field(name, kind))
        sink, destination = self.parameterAsSink(parameters, self.OUTPUT_SHIFTS, context, fields, QgsWkbTypes.Type.NoGeometry)
        batch = []
        for (spot, shift), (minutes, visits) in sorted(totals.items()):
            start = datetime.fromtimestamp(offset + shift * shift_seconds, tz=timezone.utc).strftime("%Y-%m-%d %H:%M")
            feature = QgsFeature(fields)
            feature.setAttributes([int(spot) + 1, start, float(minutes), int(visits)])
            batch.append(feature)
        add_features(sink, batch)
        return destination


def _seconds(column):
    """Ping times as seconds since 1970: numbers already are; text is read as ISO 8601."""
    if column.dtype.kind not in "UO":
        return column.astype(float)
    parsed = np.array([np.datetime64(v.replace(" ", "T"), "ms") if v else np.datetime64("NaT") for v in column])
    return np.where(np.isnat(parsed), np.nan, parsed.astype("datetime64[ms]").astype(np.int64) / 1000.0)
