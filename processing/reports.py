"""Numeric results and the HTML reports that show them, in one place: every result's label,
numbers written the way people read them, and the page around a report."""

import base64
import datetime
import html
import io
import math
import re

# Every QgsProcessingOutputNumber of the plugin, with the label the log and reports show.
LABELS = {
    "BANDWIDTH_USED": "Bandwidth used",
    "CELL_SIZE_USED": "Cell size used",
    "INCIDENT_COUNT": "Incidents used",
    "DISTANCE_USED": "Distance band used",
    "CELL_COUNT": "Cells analysed",
    "SEGMENT_COUNT": "Segments",
    "MATCHED": "Incidents assigned to a segment",
    "UNMATCHED": "Incidents beyond the tolerance",
    "AT_INTERSECTIONS": "Incidents assigned to intersections",
    "GINI": "Gini coefficient",
    "GENERALIZED_GINI": "Generalized Gini (Bernasco & Steenbeek 2017)",
    "PCT_UNITS_50": "% of units holding 50% of incidents",
    "PCT_UNITS_25": "% of units holding 25% of incidents",
    "PCT_UNITS_WITH_CRIME": "% of units with at least one incident",
    "UNITS": "Units",
    "TOTAL": "Incidents counted (the sum of the field, or those in the study area)",
    "HOTSPOTS_FUNDED": "Hot spots funded",
    "MINUTES_PLANNED": "Minutes planned per shift",
    "BUDGET_NEEDED": "Minutes one visit to every chosen hot spot needs",
    "HIT_RATE": "Hit rate (share of incidents in the hot spots)",
    "PAI": "Predictive Accuracy Index (PAI)",
    "PEI": "Prediction Efficiency Index (PEI)",
    "RRI": "Recapture Rate Index (RRI)",
    "AREA_SHARE": "Share of the area (or street length) flagged",
    "CAPTURED": "Incidents in the hot spots",
    "NEIGHBORHOOD_USED": "Neighbourhood along the network used",
    "HOT_SEGMENTS": "Hot street segments (any confidence)",
    "HOT_CELLS": "Hot spot cells (any confidence)",
    "SIGNIFICANT_BANDS": "Distance and time bands with significant near repeats",
    "RISK_DISTANCE": "Near-repeat risk zone reach (0: none)",
    "RISK_DAYS": "Near-repeat risk zone duration in days (0: none)",
    "STEP_COUNT": "Time steps analysed",
    "SKIPPED": "Incidents skipped (no time, or ending before they start)",
    "LOCATION_COUNT": "Places with incidents analysed",
    "TESTED": "Units with incidents in either period (tested)",
    "INCREASES": "Units with a significant increase",
    "DECREASES": "Units with a significant decrease",
    "TOTAL_BEFORE": "Incidents in the units, before period",
    "TOTAL_AFTER": "Incidents in the units, after period",
    "R_BEFORE": "Incidents in the targets, before",
    "R_AFTER": "Incidents in the targets, after",
    "D_BEFORE": "Incidents in the catchment, before",
    "D_AFTER": "Incidents in the catchment, after",
    "C_BEFORE": "Incidents in the controls, before",
    "C_AFTER": "Incidents in the controls, after",
    "RES": "Relative effect size (above 1: crime fell in the targets relative to the controls)",
    "RES_LOW": "Relative effect size, 95% interval, lower end",
    "RES_HIGH": "Relative effect size, 95% interval, upper end",
    "WDQ": "Weighted displacement quotient (positive: diffusion of benefits; negative: displacement)",
    "TNE": "Total net effect (incidents prevented; negative: added)",
}


def number(value):
    """A figure as people read it: 30,000 (not 3e+04), 1.234, 0.01234; NaN as 'not computed'."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "not computed"
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"


def wall_clock(seconds):
    """Seconds since 1970 on the data's own clock as a date-time without a zone."""
    return datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=float(seconds))


def day(seconds):
    """The date of a time (seconds since 1970 on the data's clock), as 2025-12-31."""
    return wall_clock(seconds).date().isoformat()


def log_figures(feedback, figures, keys, tr):
    for key in keys:
        feedback.pushInfo(f"{tr(LABELS[key])}: {number(figures[key])}")


def figures_table(figures, keys, tr):
    rows = "".join(f"<tr><td>{html.escape(tr(LABELS[key]))}</td><td>{number(figures[key])}</td></tr>" for key in keys)
    return f"<table>{rows}</table>"


def page(title, body):
    """An HTML report: ``title`` (plain text) over ``body`` (HTML)."""
    return (
        f"<html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;max-width:720px}td{padding:2px 12px}</style></head>"
        f"<body><h2>{html.escape(title)}</h2>{body}</body></html>"
    )


def figure(width, height):
    """A matplotlib figure (inches) on the Agg canvas, through matplotlib's object interface:
    pyplot would switch the backend of a running QGIS."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    drawing = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(drawing)
    return drawing


def image(drawing, alt):
    """A figure as an <img> with the PNG inside the page, so the report is one file."""
    buffer = io.BytesIO()
    drawing.tight_layout()
    drawing.savefig(buffer, format="png")
    return f"<img alt='{html.escape(alt)}' src='data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode('ascii')}'/>"


def plain_text(markup):
    """Help written in HTML as plain text for a terminal (qgis_process help)."""
    text = re.sub(r"</p>\s*", "\n\n", markup)
    text = re.sub(r"<br\s*/?>", "\n", text)
    text = re.sub(r"<sub>(.*?)</sub>", r"_\1", text)
    text = re.sub(r"<sup>(.*?)</sup>", r"^\1", text)
    return html.unescape(re.sub(r"<[^>]+>", "", text)).strip()
