"""hotspotpolicing:patroldosage: from hot spots to minutes, visits and a patrol schedule."""

import numpy as np
from qgis.core import (
    NULL,
    QgsFeature,
    QgsFields,
    QgsProcessingException,
    QgsProcessingOutputNumber,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterField,
    QgsProcessingParameterNumber,
    QgsWkbTypes,
)

from ...core.dosage import allocate, schedule
from ..compat import ADVANCED, ANY_VECTOR, NUMERIC_FIELD
from ..compat import field as make_field
from ..styles import style_on_completion
from .base import HotspotAlgorithm, add_features

SELECTIONS = (
    "Top MAX_HOTSPOTS by risk",
    "Significant hot spots (Gi_Bin = 3), up to MAX_HOTSPOTS",
    "Smallest set holding RISK_SHARE % of the risk",
)
INTEGER = QgsProcessingParameterNumber.Type.Integer
DOUBLE = QgsProcessingParameterNumber.Type.Double


class PatrolDosage(HotspotAlgorithm):
    HOTSPOTS = "HOTSPOTS"
    RISK_FIELD = "RISK_FIELD"
    PATROL_MINUTES = "PATROL_MINUTES"
    VISIT_MIN = "VISIT_MIN"
    VISIT_MAX = "VISIT_MAX"
    MAX_HOTSPOTS = "MAX_HOTSPOTS"
    SHIFT_HOURS = "SHIFT_HOURS"
    SEED = "SEED"
    OUTPUT = "OUTPUT"
    OUTPUT_SCHEDULE = "OUTPUT_SCHEDULE"
    SELECTION = "SELECTION"
    RISK_SHARE = "RISK_SHARE"
    SHIFTS = "SHIFTS"
    SHIFT_START = "SHIFT_START"
    GROUP_ID = "patroldosage"

    def name(self):
        return "patroldosage"

    def displayName(self):
        return self.tr("Patrol dosage plan")

    def tags(self):
        return self.tr("patrol,dosage,koper,visits,minutes,schedule,hot spots policing,deployment").split(",")

    def shortHelpString(self):
        return self.tr(
            "<p>Turns hot spots into a patrol plan: which hot spots, how many minutes and visits "
            "each per shift, and a randomised schedule of the visits.</p>"
            "<p><b>Evidence.</b> Short stops of about 10 to 15 minutes deter longest (Koper 1995, "
            "<i>Justice Quarterly</i> 12(4)); the Sacramento experiment made random 12-16 minute "
            "visits at least every two hours (Telep, Mitchell &amp; Weisburd 2014). Weight risk by "
            "harm (e.g. a crime harm index) to put the dose where the harm is.</p>"
            "<p><b>Method.</b> The chosen hot spots are ranked by RISK_FIELD. Each gets at least one "
            "visit of VISIT_MIN minutes; the rest of PATROL_MINUTES follows risk, each hot spot "
            "capped at one visit of VISIT_MAX per two hours of the shift, and the minutes are rounded "
            "down to whole visits of VISIT_MIN to VISIT_MAX minutes: the plan never exceeds the "
            "budget and a riskier hot spot never gets fewer minutes. If the budget cannot give every "
            "chosen hot spot one visit, the riskiest that fit are funded and the log says what "
            "budget would cover them all. In the schedule each hot spot's shift is split into as "
            "many windows as it has visits and each visit starts at a random time in its window "
            "(repeatable with SEED): unpredictable, yet spread through the shift.</p>"
            "<p><b>Output.</b> The chosen hot spots with priority_rank, visits_per_shift and "
            "minutes_per_shift; OUTPUT_SCHEDULE: one row per visit (shift, visit_order, "
            "priority_rank, planned_start, start_minute, minutes).</p>"
        )

    def initAlgorithm(self, config=None):
        hotspots = QgsProcessingParameterFeatureSource(self.HOTSPOTS, self.tr("Hot spots"))
        hotspots.setHelp(
            self.tr("Polygons, cells, street segments or points with a risk value (e.g. optimized hot spots or counted segments).")
        )
        self.addParameter(hotspots)
        risk = QgsProcessingParameterField(
            self.RISK_FIELD, self.tr("Risk field"), parentLayerParameterName=self.HOTSPOTS, type=NUMERIC_FIELD
        )
        risk.setHelp(self.tr("Risk of each hot spot, e.g. incident_count, weight_sum (harm) or GiZScore. Not negative."))
        self.addParameter(risk)
        numbers = [
            (self.PATROL_MINUTES, "Patrol minutes per shift", DOUBLE, 120.0, "Officer-minutes per shift available for hot spot visits."),
            (self.VISIT_MIN, "Shortest visit (minutes)", INTEGER, 10, "Koper (1995): at least about 10 minutes."),
            (self.VISIT_MAX, "Longest visit (minutes)", INTEGER, 15, "Koper (1995): little more effect beyond about 15 minutes."),
            (self.MAX_HOTSPOTS, "Hot spots to patrol (at most)", INTEGER, 10, "How many hot spots to choose at most."),
            (self.SHIFT_HOURS, "Shift length (hours)", DOUBLE, 8.0, "Visits are spread over the shift, one per two hours at most."),
            (self.SEED, "Random seed", INTEGER, 1, "Seed of the schedule: the same seed gives the same schedule."),
        ]
        for key, label, kind, default, help_text in numbers:
            parameter = QgsProcessingParameterNumber(key, self.tr(label), kind, default, minValue=0)
            parameter.setHelp(self.tr(help_text))
            self.addParameter(parameter)
        output = QgsProcessingParameterFeatureSink(self.OUTPUT, self.tr("Patrol dosage"))
        output.setHelp(self.tr("The chosen hot spots with priority_rank, visits_per_shift and minutes_per_shift."))
        self.addParameter(output)
        plan = QgsProcessingParameterFeatureSink(self.OUTPUT_SCHEDULE, self.tr("Patrol schedule"), ANY_VECTOR, optional=True)
        plan.setHelp(self.tr("One row per planned visit: shift, visit order, hot spot, planned start and minutes."))
        self.addParameter(plan)
        selection = QgsProcessingParameterEnum(
            self.SELECTION, self.tr("Choose hot spots"), options=[self.tr(s) for s in SELECTIONS], defaultValue=0
        )
        selection.setHelp(self.tr("Which features become patrolled hot spots."))
        self.addParameter(selection)
        extra = [
            (
                self.RISK_SHARE,
                "Share of risk (%)",
                DOUBLE,
                50.0,
                "With 'smallest set holding RISK_SHARE %': the share of all risk to cover.",
            ),
            (self.SHIFTS, "Shifts to schedule", INTEGER, 7, "How many shifts the schedule covers (e.g. 7: a week of one shift a day)."),
            (
                self.SHIFT_START,
                "Shift start (hour of day)",
                DOUBLE,
                8.0,
                "Clock time the shift starts, for planned_start (e.g. 22 for a night shift).",
            ),
        ]
        for key, label, kind, default, help_text in extra:
            parameter = QgsProcessingParameterNumber(key, self.tr(label), kind, default, minValue=0)
            parameter.setHelp(self.tr(help_text))
            parameter.setFlags(parameter.flags() | ADVANCED)
            self.addParameter(parameter)
        for key, label in (
            ("HOTSPOTS_FUNDED", "Hot spots funded"),
            ("MINUTES_PLANNED", "Minutes planned per shift"),
            ("BUDGET_NEEDED", "Minutes one visit to every chosen hot spot needs"),
        ):
            self.addOutput(QgsProcessingOutputNumber(key, self.tr(label)))

    def checkParameterValues(self, parameters, context):  # noqa: N802 - QGIS API
        if self.parameterAsInt(parameters, self.VISIT_MIN, context) > self.parameterAsInt(parameters, self.VISIT_MAX, context):
            return False, self.tr("The shortest visit (VISIT_MIN) is longer than the longest (VISIT_MAX); swap or correct them.")
        if self.parameterAsInt(parameters, self.VISIT_MIN, context) <= 0:
            return False, self.tr("The shortest visit (VISIT_MIN) must be at least 1 minute (10 is the evidence-based choice).")
        if self.parameterAsDouble(parameters, self.PATROL_MINUTES, context) <= 0:
            return False, self.tr("The patrol budget (PATROL_MINUTES) is zero: give the minutes per shift available for hot spot visits.")
        if self.parameterAsDouble(parameters, self.SHIFT_HOURS, context) <= 0:
            return False, self.tr("The shift length (SHIFT_HOURS) must be more than 0.")
        return super().checkParameterValues(parameters, context)

    def processAlgorithm(self, parameters, context, feedback):
        source = self.parameterAsSource(parameters, self.HOTSPOTS, context)
        if source is None:
            raise QgsProcessingException(self.invalidSourceError(parameters, self.HOTSPOTS))
        ok, message = self.checkParameterValues(parameters, context)
        if not ok:
            raise QgsProcessingException(message)
        field = self.parameterAsString(parameters, self.RISK_FIELD, context)
        index = source.fields().lookupField(field)
        features = list(source.getFeatures())
        if not features:
            raise QgsProcessingException(self.tr("The hot spot layer has no features."))
        raw = [f.attribute(index) for f in features]
        risk = np.array([np.nan if v is None or v == NULL else float(v) for v in raw])
        if np.isnan(risk).any():
            feedback.pushWarning(self.tr("{} features have no risk value and are not chosen.").format(int(np.isnan(risk).sum())))
        if (risk[np.isfinite(risk)] < 0).any():
            raise QgsProcessingException(
                self.tr("'{}' has negative values; risk must be zero or more (use counts or harm, not z-scores, or filter).").format(field)
            )
        chosen = self._choose(parameters, context, source, features, np.nan_to_num(risk, nan=-1.0))
        if len(chosen) == 0:
            raise QgsProcessingException(
                self.tr("No feature qualifies as a hot spot with this choice; check the risk field or the selection rule.")
            )

        budget = self.parameterAsDouble(parameters, self.PATROL_MINUTES, context)
        shift_minutes = 60.0 * self.parameterAsDouble(parameters, self.SHIFT_HOURS, context)
        visit_min = self.parameterAsInt(parameters, self.VISIT_MIN, context)
        visit_max = self.parameterAsInt(parameters, self.VISIT_MAX, context)
        plan = allocate(risk[chosen], budget, shift_minutes, visit_min, visit_max)
        if plan.funded < len(chosen):
            feedback.pushWarning(
                self.tr(
                    "{} minutes per shift cannot give all {} chosen hot spots a {}-minute visit: "
                    "the {} riskiest are funded; {} minutes would cover them all."
                ).format(budget, len(chosen), visit_min, plan.funded, plan.budget_needed)
            )
        feedback.pushInfo(
            self.tr("{} minutes of {} planned for {} hot spots per shift.").format(int(plan.minutes.sum()), budget, plan.funded)
        )

        rank = np.empty(len(chosen), dtype=int)
        rank[np.argsort(-risk[chosen], kind="stable")] = np.arange(1, len(chosen) + 1)
        fields = QgsFields(source.fields())
        for name, kind in (("priority_rank", "int"), ("visits_per_shift", "int"), ("minutes_per_shift", "int")):
            fields.append(make_field(name, kind))
        sink, destination = self.parameterAsSink(parameters, self.OUTPUT, context, fields, source.wkbType(), source.sourceCrs())
        batch = []
        for i, position in enumerate(chosen):
            feature = QgsFeature(fields)
            feature.setGeometry(features[position].geometry())
            feature.setAttributes(features[position].attributes() + [int(rank[i]), int(plan.visits[i]), int(plan.minutes[i])])
            batch.append(feature)
        add_features(sink, batch)
        style_on_completion(context, destination, "dosage")
        results = {
            self.OUTPUT: destination,
            "HOTSPOTS_FUNDED": plan.funded,
            "MINUTES_PLANNED": int(plan.minutes.sum()),
            "BUDGET_NEEDED": plan.budget_needed,
        }
        if parameters.get(self.OUTPUT_SCHEDULE) is not None:
            results[self.OUTPUT_SCHEDULE] = self._write_schedule(parameters, context, plan, rank, shift_minutes)
        return results

    def _choose(self, parameters, context, source, features, risk):
        """Positions of the features that become hot spots."""
        limit = self.parameterAsInt(parameters, self.MAX_HOTSPOTS, context)
        order = np.argsort(-risk, kind="stable")
        order = order[risk[order] >= 0]
        rule = self.parameterAsEnum(parameters, self.SELECTION, context)
        if rule == 1:
            gi_bin = source.fields().lookupField("Gi_Bin")
            if gi_bin < 0:
                raise QgsProcessingException(
                    self.tr("The layer has no Gi_Bin field; run Gi* or optimized hot spots first, or choose by risk.")
                )
            order = np.array([p for p in order if features[p].attribute(gi_bin) == 3], dtype=int)
        elif rule == 2:
            share = self.parameterAsDouble(parameters, self.RISK_SHARE, context) / 100.0
            cumulative = np.cumsum(risk[order])
            order = (
                order[: int(np.searchsorted(cumulative, share * cumulative[-1] * (1 - 1e-12))) + 1]
                if len(order) and cumulative[-1] > 0
                else order[:0]
            )
        return order[:limit] if limit else order

    def _write_schedule(self, parameters, context, plan, rank, shift_minutes):
        fields = QgsFields()
        for name, kind in (
            ("shift", "int"),
            ("visit_order", "int"),
            ("priority_rank", "int"),
            ("planned_start", "string"),
            ("start_minute", "int"),
            ("minutes", "int"),
        ):
            fields.append(make_field(name, kind))
        sink, destination = self.parameterAsSink(parameters, self.OUTPUT_SCHEDULE, context, fields, QgsWkbTypes.Type.NoGeometry)
        start_hour = self.parameterAsDouble(parameters, self.SHIFT_START, context)
        rows = schedule(
            plan, shift_minutes, self.parameterAsInt(parameters, self.SHIFTS, context), self.parameterAsInt(parameters, self.SEED, context)
        )
        batch = []
        for shift, order, spot, start, minutes in rows:
            clock = int(round(start_hour * 60)) + start
            feature = QgsFeature(fields)
            feature.setAttributes([shift, order, int(rank[spot]), f"{(clock // 60) % 24:02d}:{clock % 60:02d}", start, minutes])
            batch.append(feature)
        add_features(sink, batch)
        return destination
