"""hotspotpolicing:concentration: how concentrated crime is across units (Lorenz, Gini)."""

import numpy as np
from qgis.core import (
    QgsProcessingException,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterField,
    QgsProcessingParameterFileDestination,
)

from ...core.concentration import concentration
from ...core.harm import checked_amounts
from .. import reports
from ..compat import NUMERIC_FIELD
from ..layers import COUNT_NAMES, is_count
from .base import HotspotAlgorithm, stage

RESULTS = ("GINI", "GENERALIZED_GINI", "PCT_UNITS_50", "PCT_UNITS_25", "PCT_UNITS_WITH_CRIME", "UNITS", "TOTAL")


class Concentration(HotspotAlgorithm, name="concentration", group="streetsegments", methods="3.4"):
    INPUT, FIELD, OUTPUT_HTML = "INPUT", "FIELD", "OUTPUT_HTML"

    DISPLAY_NAME = "Crime concentration (Lorenz curve, Gini)"
    TAGS = "concentration,gini,lorenz,law of crime concentration,weisburd,street segments,micro places"
    HELP = (
        "<p>How concentrated is crime? The share of places (street segments, cells, addresses) that hold half and a "
        "quarter of the incidents, the Lorenz curve and the Gini coefficient. The law of crime concentration: about "
        "half of crime falls on 2-6 % of street segments (Weisburd 2015).</p>"
        "<p>Give every place, those without crime included (e.g. the output of 'Assign incidents to street segments'), "
        "and the <i>Count field</i>; an empty value counts as zero. When incidents are fewer than places, the ordinary "
        "Gini overstates concentration; the generalized Gini (Bernasco &amp; Steenbeek 2017) allows for it.</p>"
        "<p><b>Result.</b> The figures as results (PCT_UNITS_50, PCT_UNITS_25, GINI, GENERALIZED_GINI, ...) and an "
        "HTML report with the Lorenz curve.</p>"
    )

    def initAlgorithm(self, config=None):
        self.add(
            QgsProcessingParameterFeatureSource(self.INPUT, self.tr("Units (segments, cells, addresses)")),
            "One feature per unit, zero-count units included.",
        )
        field = QgsProcessingParameterField(
            self.FIELD, self.tr("Count field"), "incident_count", self.INPUT, type=NUMERIC_FIELD, optional=True
        )
        self.add(field, "Incidents (or harm) per unit. Empty: incident_count (or count, weight_sum) when the layer has it.")
        report = QgsProcessingParameterFileDestination(
            self.OUTPUT_HTML, self.tr("Concentration report"), self.tr("HTML files (*.html)"), optional=True
        )
        self.add(report, "HTML report with the figures and the Lorenz curve.")
        self.add_results(RESULTS)

    def process(self, parameters, context, feedback):
        field = self.reader.amount_field(self.FIELD, self.INPUT, COUNT_NAMES, accept=is_count)
        units = self.reader.read(self.INPUT, None, [field], geometry=False, progress=stage(feedback, 0, 60))
        raw = checked_amounts(units.numbers(field), field, "count", units.ids)
        missing = int(np.isnan(raw).sum())
        counts = np.nan_to_num(raw, nan=0.0)
        if missing:
            feedback.pushWarning(self.tr("{} units have no value in '{}' and count as zero.").format(missing, field))
        if len(counts) == 0:
            raise QgsProcessingException(self.tr("The layer '{}' has no features.").format(units.name))
        if counts.sum() <= 0:
            raise QgsProcessingException(self.tr("Every unit has zero in '{}': there is no crime to be concentrated.").format(field))
        result = concentration(counts)
        figures = {
            "GINI": result.gini,
            "GENERALIZED_GINI": result.generalized_gini,
            "PCT_UNITS_50": result.pct_units_50,
            "PCT_UNITS_25": result.pct_units_25,
            "PCT_UNITS_WITH_CRIME": result.pct_units_with_crime,
            "UNITS": result.units,
            "TOTAL": result.total,
        }
        reports.log_figures(feedback, figures, RESULTS, self.tr)
        if self.parameterAsFileOutput(parameters, self.OUTPUT_HTML, context):
            figures[self.OUTPUT_HTML] = self.writer.text(self.OUTPUT_HTML, self._report(units.name, field, result, figures))
        return figures

    def _report(self, layer_name, field, result, figures):
        return reports.page(
            f"{self.tr('Crime concentration')}: {layer_name} ({field})",
            f"<p>{figures['PCT_UNITS_50']:.1f} % of the {result.units:,} units hold half of the {reports.number(result.total)} incidents; "
            f"{figures['PCT_UNITS_25']:.1f} % hold a quarter.</p>{reports.figures_table(figures, RESULTS, self.tr)}"
            f"<p>{_lorenz_chart(result)}</p>"
            "<p>Sources: Weisburd (2015), <i>Criminology</i> 53(2); Bernasco &amp; Steenbeek (2017), "
            "<i>Journal of Quantitative Criminology</i> 33.</p>",
        )


def _lorenz_chart(result):
    """The Lorenz curve, units most affected first, with perfect and attainable equality."""
    figure = reports.figure(6, 4.5)
    axes = figure.add_subplot()
    axes.plot(100 * result.lorenz_x, 100 * result.lorenz_y, color="#bd0026", label="Lorenz curve")
    axes.plot([0, 100], [0, 100], color="#888888", linestyle="--", label="perfect equality")
    attainable = min(1.0, result.total / result.units) * 100
    axes.plot([0, attainable, 100], [0, 100, 100], color="#4575b5", linestyle=":", label="most equal attainable")
    axes.axhline(50, color="#cccccc", linewidth=0.8)
    axes.axvline(result.pct_units_50, color="#cccccc", linewidth=0.8)
    axes.set_xlabel("% of units (most incidents first)")
    axes.set_ylabel("% of incidents")
    axes.set_xlim(0, 100)
    axes.set_ylim(0, 100)
    axes.legend(loc="lower right")
    return reports.image(figure, "Lorenz curve")
