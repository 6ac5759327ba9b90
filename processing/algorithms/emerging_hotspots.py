"""hotspotpolicing:emerginghotspots: where crime is new, intensifying, persistent, diminishing,
sporadic or oscillating: a space-time cube, Gi* over the whole cube, a Mann-Kendall trend per
place and ArcGIS's 17 categories."""

import html
from dataclasses import dataclass

import numpy as np
from qgis.core import (
    QgsProcessingException,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterField,
    QgsProcessingParameterFileDestination,
    QgsWkbTypes,
)
from scipy import sparse

from ...core import emerging, local_stats
from ...core import weights as spatial_weights
from ..compat import DOUBLE, POLYGON_SOURCE
from ..layers import POLYGONS, TIME_NAMES, is_time
from ..reports import day, figure, image, number, page, wall_clock
from ..sinks import Column, polygons_wkb
from .base import ZoneAlgorithm, stage
from .grid import CELL_SHAPES, CellShape, cells_of, make_grid

TIME_UNITS = ("Day", "Week", "Month", "Year")
MIN_STEPS = 10
MAX_BINS = 20_000_000  # locations x steps: about 2 GB of working arrays
MAX_TREND_PAIRS = 5_000_000_000  # locations x steps^2 / 2 comparisons of the trend test: about a minute
AUTOMATIC_NEIGHBOURS = 8
FEW_PLACES = 30


class EmergingHotspots(ZoneAlgorithm, name="emerginghotspots", group="when", methods="2.7"):
    TIME_FIELD = "TIME_FIELD"
    CELL_SHAPE, CELL_SIZE, STUDY_AREA = "CELL_SHAPE", "CELL_SIZE", "STUDY_AREA"
    TIME_STEP, TIME_UNIT, START, END = "TIME_STEP", "TIME_UNIT", "START", "END"
    NEIGHBORHOOD_DISTANCE, NEIGHBORHOOD_STEPS, FDR, PERMUTATIONS, SEED = (
        "NEIGHBORHOOD_DISTANCE",
        "NEIGHBORHOOD_STEPS",
        "FDR",
        "PERMUTATIONS",
        "SEED",
    )
    OUTPUT, OUTPUT_CUBE, OUTPUT_HTML = "OUTPUT", "OUTPUT_CUBE", "OUTPUT_HTML"

    DISPLAY_NAME = "Emerging hot spots (space-time trends)"
    TAGS = "emerging,hot spot,space-time,cube,trend,mann-kendall,gi*,new,intensifying,persistent,diminishing,sporadic,crime"
    HELP = (
        "<p>Where is crime getting worse, and where is it easing? Sorts each place (hexagon, grid cell, beat or "
        "street segment) into the categories of ArcGIS's Emerging Hot Spot Analysis: new, consecutive, intensifying, "
        "persistent, diminishing, sporadic, oscillating or historical hot spot (or cold spot), or no pattern.</p>"
        "<p>Give the <i>Incidents</i> with their <i>Time field</i>, and your own <i>Zones</i> or none (cells are "
        "made). Incidents are counted per place and time step (<i>Time step</i> x <i>Time unit</i>: a month by "
        "default) from the <i>Start date</i> to the <i>End date</i>; at least 10 steps are needed, and a last step "
        "the end date cuts short is left out. Each place and step is tested for a hot spot against its neighbours "
        "in space and time, and each place's series for a trend.</p>"
        "<p><b>Reading the result.</b> Every place with PATTERN (in words), PATTERN_CODE, TREND_Z and TREND_P (the "
        "trend and its significance), HOT_STEPS, COLD_STEPS and INCIDENT_COUNT. The optional <i>Space-time cube</i> has "
        "one feature per place and step (STEP_START, STEP_END, COUNT, Gi_Bin) to play with the temporal controller; "
        "the <i>Summary report</i> counts the places per category.</p>"
    )

    def initAlgorithm(self, config=None):
        self.add_incidents_parameter()
        time = QgsProcessingParameterField(self.TIME_FIELD, self.tr("Time field"), "occurred_at", self.INCIDENTS, optional=True)
        self.add(time, "When each incident happened (date-time, date, ISO text or epoch seconds). Empty: the first time field.")
        self.add_weight_parameter("Optional: sum this field per place and step (e.g. a harm index) instead of counting.")
        self.add_zone_parameters(
            "Zones (beats, segments)",
            "Optional polygons or street segments to count in. Empty: a grid of cells (Cell shape, Cell size).",
            "The zones' identifier, written into the cube. Empty: the feature id, as zone_id.",
        )
        self.add_enum(self.CELL_SHAPE, "Cell shape (without zones)", CELL_SHAPES, CellShape.HEXAGON, "Square cells or hexagons.")
        size_help = "Width of the squares or height of the hexagons. 0: the shorter side of the area / 50."
        self.add_distance(self.CELL_SIZE, "Cell size (0 = automatic)", 0.0, self.INCIDENTS, size_help)
        area = QgsProcessingParameterFeatureSource(self.STUDY_AREA, self.tr("Study area (without zones)"), [POLYGON_SOURCE], optional=True)
        self.add(area, "Optional polygons: cells whose centre lies in them are made; incidents elsewhere are left out.")
        self.add_number(self.TIME_STEP, "Time step (number of units)", 1, "Number of time units per step.", integer=True, minimum=1)
        self.add_enum(self.TIME_UNIT, "Time unit", TIME_UNITS, 2, "Calendar unit of a step: days, weeks (from Monday), months, years.")
        self.add_date(self.START, "Start date", "First day of the period (empty: the first incident's step).")
        self.add_date(self.END, "End date (inclusive)", "Last day of the period (empty: the last incident's day).")
        distance_help = "Places whose centres lie this close are neighbours. 0: the median distance to the 8th nearest place."
        self.add_distance(self.NEIGHBORHOOD_DISTANCE, "Neighbourhood distance (0 = automatic)", 0.0, self.INCIDENTS, distance_help)
        steps_help = "How many earlier steps belong to a bin's neighbourhood (ArcGIS's neighbourhood time step)."
        self.add_number(self.NEIGHBORHOOD_STEPS, "Neighbourhood time steps", 1, steps_help, integer=True, minimum=0)
        fdr = QgsProcessingParameterBoolean(self.FDR, self.tr("False discovery rate correction"), True)
        self.add(fdr, "Benjamini-Hochberg correction of the bins' confidence levels (as ArcGIS).")
        permutations_help = "0: analytical p-values (as ArcGIS). e.g. 199: conditional permutation p-values (as sfdep)."
        self.add_number(self.PERMUTATIONS, "Permutations", 0, permutations_help, integer=True, minimum=0, maximum=9999, advanced=True)
        self.add_number(self.SEED, "Random seed", 1, "Seed of the permutations, so a run repeats.", integer=True, advanced=True)
        self.add(QgsProcessingParameterFeatureSink(self.OUTPUT, self.tr("Emerging hot spots")), "Every place with its pattern.")
        cube = QgsProcessingParameterFeatureSink(self.OUTPUT_CUBE, self.tr("Space-time cube"), optional=True, createByDefault=False)
        self.add(cube, "One feature per place and step, to play with the temporal controller.")
        report = QgsProcessingParameterFileDestination(
            self.OUTPUT_HTML, self.tr("Summary report"), self.tr("HTML files (*.html)"), optional=True, createByDefault=False
        )
        self.add(report, "How many places fall in each category, and counts over time of the busiest places.")
        self.add_results(("STEP_COUNT", "LOCATION_COUNT", "DISTANCE_USED", "CELL_SIZE_USED", "INCIDENT_COUNT"))

    def process(self, parameters, context, feedback):
        zones_source = self.zones_source()
        crs = self.reader.crs(self.ZONES if zones_source is not None else self.INCIDENTS)
        time_field = self.reader.field(self.TIME_FIELD, self.INCIDENTS, TIME_NAMES, accept=is_time)
        points, weights = self.read_incidents(parameters, context, crs, fields=[time_field], progress=stage(feedback, 0, 20))
        seconds = points.seconds(time_field)[points.part_owner]
        edges, step_of = self._steps(parameters, context, feedback, seconds)
        place, places = self._places(parameters, context, feedback, points, zones_source, crs)

        used = (place >= 0) & (step_of >= 0)
        n_steps = len(edges) - 1
        bins = np.bincount(place[used] * n_steps + step_of[used], minlength=len(places.cx) * n_steps).reshape(-1, n_steps)
        sums = bins.astype(float)
        if weights is not None:
            sums = np.bincount(place[used] * n_steps + step_of[used], weights[used], len(places.cx) * n_steps).reshape(-1, n_steps)
        analysed = np.flatnonzero(bins.sum(axis=1) > 0)
        self._check_cube(analysed, sums, n_steps)
        feedback.pushInfo(
            self.tr("{} incidents in {} places with incidents x {} steps.").format(number(int(used.sum())), len(analysed), n_steps)
        )

        if len(analysed) < FEW_PLACES:
            feedback.pushWarning(
                self.tr("Only {} places: patterns of micro places hide in large zones. Use smaller zones, segments or a grid.").format(
                    len(analysed)
                )
            )
        cx, cy = places.cx[analysed], places.cy[analysed]
        distance = self.parameterAsDouble(parameters, self.NEIGHBORHOOD_DISTANCE, context)
        if distance == 0:
            distance = automatic_distance(cx, cy)
            feedback.pushInfo(
                self.tr("Automatic neighbourhood distance (median distance to the 8th nearest place): {}.").format(number(distance))
            )
        neighbours = spatial_weights.distance_band(cx, cy, distance)
        lonely = int((spatial_weights.cardinality(neighbours) == 0).sum())
        if lonely:
            feedback.pushWarning(
                self.tr("{} places have no neighbour within {}: their bins are compared over time only.").format(lonely, number(distance))
            )
        steps_back = self.parameterAsInt(parameters, self.NEIGHBORHOOD_STEPS, context)
        values = sums[analysed]
        z = emerging.space_time_gi_star(values, neighbours, steps_back)
        p = self._p_values(parameters, context, feedback, values, z, neighbours, steps_back)
        fdr = self.parameterAsBoolean(parameters, self.FDR, context)
        gi_bin = local_stats.confidence_bins(z.ravel(), p.ravel(), fdr=fdr).reshape(z.shape)
        stage(feedback, 75, 80)(0.0)
        trend_z, trend_p = emerging.mann_kendall(z)
        codes = emerging.classify(gi_bin, trend_z, trend_p)

        n = len(places.cx)
        code = np.zeros(n, dtype=int)
        code[analysed] = codes
        columns = places.id_columns + [
            Column("PATTERN", "string", [emerging.PATTERNS[c] for c in code]),
            Column("PATTERN_CODE", "int", code),
            Column("TREND_Z", "double", _spread(trend_z, analysed, n)),
            Column("TREND_P", "double", _spread(trend_p, analysed, n)),
            Column("HOT_STEPS", "int", _spread((gi_bin > 0).sum(axis=1), analysed, n, 0)),
            Column("COLD_STEPS", "int", _spread((gi_bin < 0).sum(axis=1), analysed, n, 0)),
            Column("INCIDENT_COUNT", "int", bins.sum(axis=1)),
        ]
        tally = {emerging.PATTERNS[c]: int((code == c).sum()) for c in emerging.PATTERNS if (code == c).any()}
        feedback.pushInfo(self.tr("Places per pattern: {}.").format(", ".join(f"{k} {v}" for k, v in tally.items())))
        results = {
            self.OUTPUT: self.writer.features(
                self.OUTPUT,
                columns,
                base=places.base,
                geometry=places.wkb,
                wkb_type=places.wkb_type,
                crs=crs if places.base is None else None,
                style="emerging",
                progress=stage(feedback, 80, 90),
            ),
            "STEP_COUNT": n_steps,
            "LOCATION_COUNT": len(analysed),
            "DISTANCE_USED": distance,
            "CELL_SIZE_USED": places.cell_size,
            "INCIDENT_COUNT": int(used.sum()),
        }
        if self.parameterAsOutputLayer(parameters, self.OUTPUT_CUBE, context):
            results[self.OUTPUT_CUBE] = self._write_cube(places, analysed, edges, bins[analysed], z, p, gi_bin, crs, feedback)
        if self.parameterAsFileOutput(parameters, self.OUTPUT_HTML, context):
            report = self._report(points.name, tally, edges, bins, places, code, results)
            results[self.OUTPUT_HTML] = self.writer.text(self.OUTPUT_HTML, report)
        return results

    # --- the period and its steps ----------------------------------------------------------
    def _steps(self, parameters, context, feedback, seconds):
        """Edges of the calendar steps and each incident's step (-1 outside the period)."""
        missing = np.isnan(seconds)
        if missing.all():
            raise QgsProcessingException(self.tr("No incident has a time: check the time field (TIME_FIELD)."))
        if missing.any():
            feedback.pushWarning(self.tr("{} incidents without a time are left out.").format(int(missing.sum())))
        start = self.date_seconds(parameters, self.START, context)
        end = self.date_seconds(parameters, self.END, context, end_of_day=True)
        start = np.nanmin(seconds) if start is None else start
        end = (np.floor(np.nanmax(seconds) / 86400) + 1) * 86400 if end is None else end
        if end <= start:
            raise QgsProcessingException(
                self.tr("The period ends ({}) before it starts ({}): check START and END.").format(day(end - 1), day(start))
            )
        step = self.parameterAsInt(parameters, self.TIME_STEP, context)
        unit = emerging.UNITS[self.parameterAsEnum(parameters, self.TIME_UNIT, context)]
        edges, dropped = emerging.calendar_steps(start, end, step, unit)
        n_steps = len(edges) - 1
        if n_steps < MIN_STEPS:
            raise QgsProcessingException(
                self.tr(
                    "From {} to {} there are {} whole steps of {} {}(s); emerging hot spots need at least {}. "
                    "Use a shorter TIME_STEP or TIME_UNIT, or a longer period (START, END)."
                ).format(day(start), day(end - 1), max(n_steps, 0), step, unit, MIN_STEPS)
            )
        if dropped:
            feedback.pushInfo(self.tr("The last step, from {}, would end after {}: it is left out.").format(day(edges[-1]), day(end - 1)))
        step_of = np.searchsorted(edges, seconds, side="right") - 1
        step_of[missing | (step_of >= n_steps) | (seconds < edges[0])] = -1
        outside = int((step_of < 0).sum() - missing.sum())
        if outside:
            feedback.pushInfo(
                self.tr("{} incidents lie outside the steps ({} to {}) and are left out.").format(
                    outside, day(edges[0]), day(edges[-1] - 1)
                )
            )
        feedback.pushInfo(self.tr("{} steps of {} {}(s), {} to {}.").format(n_steps, step, unit, day(edges[0]), day(edges[-1] - 1)))
        return edges, step_of

    # --- the places: zones, or grid cells ---------------------------------------------------
    def _places(self, parameters, context, feedback, points, zones_source, crs):
        """Each incident point's place (-1 for none) and the places."""
        if zones_source is not None:
            zones, place, id_field = self.read_zones(parameters, context, crs, points, stage(feedback, 20, 25), stage(feedback, 25, 35))
            if (place < 0).any():
                feedback.pushWarning(self.tr("{} incidents fall in no zone and are left out.").format(int((place < 0).sum())))
            if id_field:
                kind = zones.fields.field(id_field)
                kind = "int64" if kind.isNumeric() and kind.type() != DOUBLE else "double" if kind.isNumeric() else "string"
                ids = Column(id_field, kind, zones.values(id_field))
            else:
                ids = Column("zone_id", "int64", zones.ids)
            cx, cy = zones.centroids()
            return place, Places(cx, cy, [], ids, base=zones)
        self.reader.source(self.STUDY_AREA, needs=POLYGONS)
        area = self.reader.read(self.STUDY_AREA, crs, progress=stage(feedback, 20, 25))
        x, y = points.x, points.y
        if area is None:
            near = self.near_incidents(points, feedback, "they are left out, so they do not stretch the grid over empty land.")
            if np.ptp(x[near]) == 0 and np.ptp(y[near]) == 0:
                raise QgsProcessingException(self.tr("All incidents are at one place: there is no pattern to find. Check their geocoding."))
        else:
            near = np.ones(len(x), dtype=bool)
        shape = CellShape(self.parameterAsEnum(parameters, self.CELL_SHAPE, context))
        grid, size, bounds = make_grid(
            shape, self.parameterAsDouble(parameters, self.CELL_SIZE, context), x[near], y[near], area, feedback, self.tr
        )
        keys_a, keys_b, place = cells_of(grid, x, y, area, bounds)
        place[~near] = -1
        if area is not None and (place < 0).any():
            feedback.pushInfo(self.tr("{} incidents lie outside the study area's cells and are left out.").format(int((place < 0).sum())))
        cx, cy = grid.centres(keys_a, keys_b)
        ids = Column("cell_id", "int", np.arange(1, len(cx) + 1))
        return place, Places(cx, cy, [ids], ids, wkb=polygons_wkb(grid.rings(cx, cy)), wkb_type=QgsWkbTypes.Type.Polygon, cell_size=size)

    def _check_cube(self, analysed, sums, n_steps):
        if len(analysed) < 3:
            raise QgsProcessingException(
                self.tr("Only {} places hold incidents in the period: widen the period or the area, or use smaller cells.").format(
                    len(analysed)
                )
            )
        if len(analysed) * n_steps > MAX_BINS:
            raise QgsProcessingException(
                self.tr("{:,} places x {} steps are {:,} bins (at most {:,}): use longer steps or larger cells.").format(
                    len(analysed), n_steps, len(analysed) * n_steps, MAX_BINS
                )
            )
        if len(analysed) * n_steps * n_steps / 2 > MAX_TREND_PAIRS:
            raise QgsProcessingException(
                self.tr("{} steps are too many for the trend test over {:,} places: use longer steps (e.g. weeks, not days).").format(
                    n_steps, len(analysed)
                )
            )
        values = sums[analysed]
        if np.ptp(values) == 0:
            raise QgsProcessingException(self.tr("Every bin of the cube holds the same value: there is nothing to compare."))

    def _p_values(self, parameters, context, feedback, values, z, neighbours, steps_back):
        """Analytical p-values, or conditional permutation p-values over the cube's bins."""
        permutations = self.parameterAsInt(parameters, self.PERMUTATIONS, context)
        if permutations == 0:
            return local_stats.two_sided_p(z)
        n_loc, n_steps = values.shape
        band = sparse.diags([1.0] * (steps_back + 1), [-k for k in range(steps_back + 1)], shape=(n_steps, n_steps))
        space = neighbours + sparse.identity(n_loc, format="csr")
        cube = (sparse.kron(space, band, format="csr") - sparse.identity(n_loc * n_steps, format="csr")).tocsr()
        cube.eliminate_zeros()
        seed = self.parameterAsInt(parameters, self.SEED, context)
        p = local_stats.permutation_p(values.ravel(), cube, permutations, seed, progress=stage(feedback, 40, 75))
        return p.reshape(z.shape)

    # --- outputs ------------------------------------------------------------------------------
    def _write_cube(self, places, analysed, edges, counts, z, p, gi_bin, crs, feedback):
        n_steps = len(edges) - 1
        rows = np.repeat(analysed, n_steps)
        starts = [wall_clock(s) for s in edges[:-1]] * len(analysed)
        ends = [wall_clock(s) for s in edges[1:]] * len(analysed)
        id_column = places.cube_id
        columns = [
            Column(id_column.name, id_column.kind, np.asarray(id_column.values)[rows]),
            Column("STEP_START", "datetime", starts),
            Column("STEP_END", "datetime", ends),
            Column("COUNT", "int", counts.ravel()),
            Column("GiZScore", "double", z.ravel()),
            Column("GiPValue", "double", p.ravel()),
            Column("Gi_Bin", "int", gi_bin.ravel()),
        ]
        wkb = places.wkb if places.wkb is not None else places.base.wkb
        wkb_type = places.wkb_type if places.wkb_type is not None else places.base.wkb_type
        source_crs = crs if places.base is None else places.base.source_crs
        return self.writer.features(
            self.OUTPUT_CUBE,
            columns,
            geometry=[wkb[i] for i in rows],
            wkb_type=wkb_type,
            crs=source_crs,
            style="cube",
            progress=stage(feedback, 90, 100),
        )

    def _report(self, layer_name, tally, edges, bins, places, code, results):
        rows = "".join(
            f"<tr><td>{html.escape(name)}</td><td>{count:,}</td></tr>" for name, count in sorted(tally.items(), key=lambda item: -item[1])
        )
        busiest = np.argsort(-bins.sum(axis=1), kind="stable")[:5]
        chart = figure(7, 3.5)
        axes = chart.add_subplot()
        starts = [wall_clock(s) for s in edges[:-1]]
        for i in busiest:
            axes.plot(starts, bins[i], marker=".", label=f"{places.cube_id.values[i]}: {emerging.PATTERNS[code[i]]}")
        axes.set_ylabel("incidents per step")
        axes.legend(fontsize=7)
        chart.autofmt_xdate()
        return page(
            f"{self.tr('Emerging hot spots')}: {layer_name}",
            f"<p>{results['STEP_COUNT']} steps from {day(edges[0])} to {day(edges[-1] - 1)}; {results['LOCATION_COUNT']:,} places "
            f"with incidents; {number(results['INCIDENT_COUNT'])} incidents.</p>"
            f"<table><tr><th>Pattern</th><th>Places</th></tr>{rows}</table>"
            f"<h3>{self.tr('The five busiest places')}</h3><p>{image(chart, 'Counts over time of the busiest places')}</p>"
            "<p>Method: space-time Getis-Ord Gi* (Ord &amp; Getis 1995) over the whole cube, Benjamini-Hochberg (1995) "
            "correction, Mann-Kendall trend test (Mann 1945; Kendall 1975), categories of ArcGIS Pro's Emerging Hot Spot "
            "Analysis.</p>",
        )


@dataclass
class Places:
    """The places of the cube: centres, the columns that name them in OUTPUT and in the cube,
    the zones they come from (or the grid cells' geometries) and the cell size (0 for zones)."""

    cx: np.ndarray
    cy: np.ndarray
    id_columns: list
    cube_id: Column
    base: object = None
    wkb: list = None
    wkb_type: int = None
    cell_size: float = 0.0


def automatic_distance(x, y):
    """The median distance from a place to its 8th nearest place (the ring around a square
    cell; rounded up a hair so that places exactly that far are in)."""
    from scipy.spatial import cKDTree

    k = min(AUTOMATIC_NEIGHBOURS, len(x) - 1)
    distances, _ = cKDTree(np.column_stack([x, y])).query(np.column_stack([x, y]), k + 1)
    return float(np.median(distances[:, k])) * (1 + 1e-9)


def _spread(values, rows, n, fill=np.nan):
    out = np.full(n, fill, dtype=float)
    out[rows] = values
    return out
