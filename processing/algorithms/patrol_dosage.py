"""hotspotpolicing:patroldosage: from hot spots to minutes, visits and a patrol schedule."""

import calendar
import datetime

import numpy as np
from qgis.core import (
    QgsProcessingException,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterField,
    QgsProcessingParameterNumber,
)

from ...core.dosage import Selection, allocate, choose_hotspots, profiled_schedule, schedule
from ...core.harm import checked_amounts
from ..compat import ANY_VECTOR, NUMERIC_FIELD
from ..layers import ALL_FIELDS, RISK_NAMES, is_count
from ..places import place_names
from ..reports import day, number, wall_clock
from ..sinks import Column
from .aoristic import WEEKDAYS, profile_table
from .base import DosageAlgorithm, stage

SELECTIONS = (
    "The riskiest",
    "Only significant hot spots (99 % confidence), riskiest first",
    "The fewest holding a share of the risk",
    "Automatic: the significant hot spots when the layer has them, else the riskiest",
)
INTEGER = QgsProcessingParameterNumber.Type.Integer
DOUBLE = QgsProcessingParameterNumber.Type.Double


class PatrolDosage(DosageAlgorithm, name="patroldosage", methods="4.1-4.3"):
    HOTSPOTS, RISK_FIELD, PATROL_MINUTES, VISIT_MIN = "HOTSPOTS", "RISK_FIELD", "PATROL_MINUTES", "VISIT_MIN"
    VISIT_MAX, MAX_HOTSPOTS, SEED, OUTPUT, OUTPUT_SCHEDULE = "VISIT_MAX", "MAX_HOTSPOTS", "SEED", "OUTPUT", "OUTPUT_SCHEDULE"
    SELECTION, RISK_SHARE, SHIFTS, UNITS = "SELECTION", "RISK_SHARE", "SHIFTS", "UNITS"
    HOUR_PROFILE, PROFILE_ID_FIELD, FIRST_DAY = "HOUR_PROFILE", "PROFILE_ID_FIELD", "FIRST_DAY"

    DISPLAY_NAME = "Patrol dosage plan"
    TAGS = "patrol,dosage,koper,visits,minutes,schedule,hot spots policing,deployment"
    HELP = (
        "<p>Which hot spots should patrols visit, for how long and how often? Turns a hot spot layer into a plan of "
        "minutes and visits per shift and a randomised schedule of the visits.</p>"
        "<p>Give the <i>Hot spots</i> (e.g. the result of 'Optimized hot spots' or 'Hot streets') and the <i>Patrol "
        "minutes per shift</i> officers can spend there. By default the significant hot spots are chosen when the "
        "layer has them, else the riskiest, up to <i>Hot spots to patrol (at most)</i>, ranked by the <i>Risk "
        "field</i> (empty: harm, else the incident count; an id is refused). Each gets at least one visit; the rest of "
        "the minutes follows risk, in visits from the <i>Shortest visit</i> to the <i>Longest visit</i> (10 to 15 "
        "minutes: short stops deter longest, Koper 1995). If the minutes cannot cover every chosen hot spot, the "
        "riskiest are funded and the log says what budget would cover them all.</p>"
        "<p>The schedule spreads the visits through the shift at random but repeatable times among the <i>Patrol "
        "units</i>; with an <i>Hour profile</i> from 'When: weekday x hour profiles' the visits go to the hours when "
        "each hot spot's crime happens.</p>"
        "<p><b>Reading the result.</b> The chosen hot spots with priority_rank, visits_per_shift and "
        "minutes_per_shift; the <i>Patrol schedule</i>: one row per visit with shift, unit, place (named by its street "
        "and cross streets, or a name field), planned start and end.</p>"
    )

    def initAlgorithm(self, config=None):
        hotspots = QgsProcessingParameterFeatureSource(self.HOTSPOTS, self.tr("Hot spots"))
        self.add(hotspots, "Polygons, cells, street segments or points with a risk value (e.g. optimized hot spots or counted segments).")
        risk = QgsProcessingParameterField(self.RISK_FIELD, self.tr("Risk field"), None, self.HOTSPOTS, NUMERIC_FIELD, optional=True)
        self.add(
            risk,
            "Risk of each hot spot: a count or harm, never an id. Empty: weight_sum (harm), else incident_count, when the layer has them.",
        )
        self.add_number(self.PATROL_MINUTES, "Patrol minutes per shift", 120.0, "Officer-minutes per shift available for hot spot visits.")
        self.add_number(self.VISIT_MIN, "Shortest visit (minutes)", 10, "Koper (1995): at least about 10 minutes.", integer=True)
        self.add_number(
            self.VISIT_MAX, "Longest visit (minutes)", 15, "Koper (1995): little more effect beyond about 15 minutes.", integer=True
        )
        self.add_number(self.MAX_HOTSPOTS, "Hot spots to patrol (at most)", 10, "The most hot spots to choose (0: no limit).", integer=True)
        self.add_number(self.SEED, "Random seed", 1, "Seed of the schedule: the same seed gives the same schedule.", integer=True)
        self.add_shift_hours()
        plan_help = "The chosen hot spots with priority_rank, visits_per_shift and minutes_per_shift."
        self.add(QgsProcessingParameterFeatureSink(self.OUTPUT, self.tr("Patrol dosage")), plan_help)
        schedule = QgsProcessingParameterFeatureSink(self.OUTPUT_SCHEDULE, self.tr("Patrol schedule"), ANY_VECTOR, optional=True)
        self.add(schedule, "One row per planned visit: shift, visit order, hot spot, planned start and minutes.")
        self.add_enum(self.SELECTION, "Choose hot spots", SELECTIONS, Selection.AUTOMATIC, "Which features become patrolled hot spots.")
        share_help = "With 'The fewest holding a share of the risk': the share of all risk to cover."
        self.add_number(self.RISK_SHARE, "Share of risk (%)", 50.0, share_help, maximum=100.0, advanced=True)
        shifts_help = "How many shifts the schedule covers (e.g. 7: a week of one shift a day)."
        self.add_number(self.SHIFTS, "Shifts to schedule", 7, shifts_help, integer=True, advanced=True)
        units_help = "Patrol units (cars, foot patrols) sharing the visits; no unit is scheduled in two places at once."
        self.add_number(self.UNITS, "Patrol units", 1, units_help, integer=True, minimum=1)
        self.add_shift_start()
        profile = QgsProcessingParameterFeatureSource(
            self.HOUR_PROFILE, self.tr("Hour profile (weekday x hour table)"), [ANY_VECTOR], optional=True
        )
        self.add(profile, "Optional: the weekday x hour table of 'When: weekday x hour profiles', to place visits in the riskiest hours.")
        profile_id = QgsProcessingParameterField(
            self.PROFILE_ID_FIELD, self.tr("Hot spot id in the profile"), None, self.HOTSPOTS, optional=True
        )
        self.add(profile_id, "The hot spots' field matching the profile's ZONE_ID. Empty: the feature id.", advanced=True)
        self.add_date(self.FIRST_DAY, "First day of the schedule", "The day of shift 1 (empty: a Monday); one shift a day follows.")
        self.add_results(("HOTSPOTS_FUNDED", "MINUTES_PLANNED", "BUDGET_NEEDED"))

    def checkParameterValues(self, parameters, context):  # noqa: N802 - QGIS API
        if self.parameterAsInt(parameters, self.VISIT_MIN, context) > self.parameterAsInt(parameters, self.VISIT_MAX, context):
            return False, self.tr("The shortest visit (VISIT_MIN) is longer than the longest (VISIT_MAX); swap or correct them.")
        if self.parameterAsInt(parameters, self.VISIT_MIN, context) <= 0:
            return False, self.tr("The shortest visit (VISIT_MIN) must be at least 1 minute (10 is the evidence-based choice).")
        if self.parameterAsDouble(parameters, self.PATROL_MINUTES, context) <= 0:
            return False, self.tr("The patrol budget (PATROL_MINUTES) is zero: give the minutes per shift available for hot spot visits.")
        return super().checkParameterValues(parameters, context)

    def process(self, parameters, context, feedback):
        source = self.reader.source(self.HOTSPOTS)
        hotspots = self.reader.read(self.HOTSPOTS, source.sourceCrs(), ALL_FIELDS, keep=True, progress=stage(feedback, 0, 40))
        if len(hotspots) == 0:
            raise QgsProcessingException(self.tr("The hot spot layer '{}' has no features with a geometry.").format(hotspots.name))
        field = self.reader.amount_field(self.RISK_FIELD, self.HOTSPOTS, RISK_NAMES, accept=is_count)
        risk = checked_amounts(hotspots.numbers(field), field, "risk", hotspots.ids)
        if np.isnan(risk).any():
            feedback.pushWarning(self.tr("{} features have no risk value and are not chosen.").format(int(np.isnan(risk).sum())))
        rule = Selection(self.parameterAsEnum(parameters, self.SELECTION, context))
        gi_bin = hotspots.numbers("Gi_Bin") if "Gi_Bin" in hotspots.columns else None
        if rule == Selection.AUTOMATIC:
            rule = Selection.SIGNIFICANT if gi_bin is not None and (gi_bin == 3).any() else Selection.TOP_BY_RISK
            feedback.pushInfo(
                self.tr("Hot spots chosen among the significant ones (Gi_Bin = 3), by '{}'.").format(field)
                if rule == Selection.SIGNIFICANT
                else self.tr("Hot spots chosen as the riskiest by '{}' (the layer has no significant hot spots).").format(field)
            )
        chosen = choose_hotspots(
            risk,
            rule,
            self.parameterAsInt(parameters, self.MAX_HOTSPOTS, context),
            self.parameterAsDouble(parameters, self.RISK_SHARE, context) / 100.0,
            gi_bin,
        )
        if len(chosen) == 0:
            raise QgsProcessingException(
                self.tr("No feature qualifies as a hot spot with this choice; check the risk field or the selection rule.")
            )

        budget = self.parameterAsDouble(parameters, self.PATROL_MINUTES, context)
        shift_hours, shift_start = self.shifts(parameters, context)
        visit_min = self.parameterAsInt(parameters, self.VISIT_MIN, context)
        visit_max = self.parameterAsInt(parameters, self.VISIT_MAX, context)
        plan = allocate(risk[chosen], budget, 60.0 * shift_hours, visit_min, visit_max)
        if plan.funded < len(chosen):
            feedback.pushWarning(
                self.tr(
                    "{} minutes per shift cannot give all {} chosen hot spots a {}-minute visit: "
                    "the {} riskiest are funded; {} minutes would cover them all."
                ).format(number(budget), len(chosen), visit_min, plan.funded, number(plan.budget_needed))
            )
        feedback.pushInfo(
            self.tr("{} minutes of {} planned for {} hot spots per shift.").format(
                number(int(plan.minutes.sum())), number(budget), plan.funded
            )
        )
        rank = np.arange(1, len(chosen) + 1)  # chosen is riskiest first
        visits = None
        profiles = self._profiles(parameters, context, feedback, hotspots, chosen)
        shifts, seed, units = (self.parameterAsInt(parameters, key, context) for key in (self.SHIFTS, self.SEED, self.UNITS))
        first_day = self.date_seconds(parameters, self.FIRST_DAY, context)
        if first_day is None:  # the coming Monday: a schedule is for the days ahead
            today = datetime.date.today()
            first_day = calendar.timegm((today + datetime.timedelta(days=7 - today.weekday())).timetuple())
            if parameters.get(self.OUTPUT_SCHEDULE) is not None:
                feedback.pushInfo(self.tr("The schedule starts on Monday {} (FIRST_DAY was left empty).").format(day(first_day)))
        first_weekday = int((first_day // 86400 + 3) % 7)  # 1970-01-01 was a Thursday
        weekdays = (first_weekday + np.arange(shifts)) % 7
        if parameters.get(self.OUTPUT_SCHEDULE) is not None:  # made before anything is written: it may be refused
            if profiles is None:
                visits = schedule(plan, 60.0 * shift_hours, shifts, seed, units)
            else:
                visits = profiled_schedule(plan, profiles, 60.0 * shift_hours, (weekdays * 24 + shift_start) % 168, seed, units)
        destination = self.writer.features(
            self.OUTPUT,
            [
                Column("priority_rank", "int", rank),
                Column("visits_per_shift", "int", plan.visits),
                Column("minutes_per_shift", "int", plan.minutes),
            ],
            base=hotspots,
            rows=chosen,
            style="dosage",
            progress=stage(feedback, 40, 70),
        )
        results = {
            self.OUTPUT: destination,
            "HOTSPOTS_FUNDED": plan.funded,
            "MINUTES_PLANNED": int(plan.minutes.sum()),
            "BUDGET_NEEDED": plan.budget_needed,
        }
        if visits is not None:
            clock = int(round(shift_start * 60)) + visits.start
            places = np.array(place_names(hotspots), dtype=object)[chosen]
            begins = first_day + 86400.0 * (visits.shift - 1) + 60.0 * clock  # one shift a day from FIRST_DAY
            results[self.OUTPUT_SCHEDULE] = self.writer.table(
                self.OUTPUT_SCHEDULE,
                [
                    Column("shift", "int", visits.shift),
                    Column("start_time", "datetime", [wall_clock(t) for t in begins]),
                    Column("end_time", "datetime", [wall_clock(t) for t in begins + 60.0 * visits.minutes]),
                    Column("weekday", "string", np.array(WEEKDAYS, dtype=object)[weekdays[visits.shift - 1]]),
                    Column("unit", "int", visits.unit),
                    Column("visit_order", "int", visits.order),
                    Column("priority_rank", "int", rank[visits.spot]),
                    Column("place", "string", places[visits.spot]),
                    Column("planned_start", "string", clock_text(clock)),
                    Column("planned_end", "string", clock_text(clock + visits.minutes)),
                    Column("start_minute", "int", visits.start),
                    Column("minutes", "int", visits.minutes),
                ],
                style="schedule",
                progress=stage(feedback, 70, 100),
            )
        return results

    def _profiles(self, parameters, context, feedback, hotspots, chosen):
        """The 168 weekday-hour weights of each chosen hot spot, from HOUR_PROFILE (None
        without one); hot spots the table does not name get none (visits spread evenly)."""
        profile = profile_table(self.reader, self.HOUR_PROFILE)
        if profile is None:
            return None
        names, weights = profile
        field = self.parameterAsString(parameters, self.PROFILE_ID_FIELD, context)
        if field:
            field = self.reader.existing_field(field, self.PROFILE_ID_FIELD, self.reader.source(self.HOTSPOTS))
            ids = hotspots.texts(field)[chosen]
        else:
            ids = np.array([str(i) for i in hotspots.ids[chosen]])
        if len(names) == 1 and names[0] not in ids:  # one profile (e.g. 'all'): every hot spot's
            return np.repeat(weights, len(chosen), axis=0)
        position = np.searchsorted(names, ids)
        found = (position < len(names)) & (names[np.minimum(position, len(names) - 1)] == ids)
        if not found.any():
            raise QgsProcessingException(
                self.tr(
                    "No hot spot is named in the hour profile's ZONE_ID (it holds e.g. {}): set PROFILE_ID_FIELD to the field "
                    "the profile was made with."
                ).format(", ".join(names[:3]))
            )
        if not found.all():
            feedback.pushWarning(self.tr("{} hot spots have no hour profile: their visits are spread evenly.").format(int((~found).sum())))
        return np.where(found[:, None], weights[np.minimum(position, len(names) - 1)], 0.0)


def clock_text(minutes):
    """Minutes since midnight (any number of days) as HH:MM."""
    minutes = np.asarray(minutes, dtype=np.int64)
    hours, mins = (minutes // 60) % 24, minutes % 60
    return np.char.add(np.char.add(np.char.zfill(hours.astype(str), 2), ":"), np.char.zfill(mins.astype(str), 2)).astype(object)
