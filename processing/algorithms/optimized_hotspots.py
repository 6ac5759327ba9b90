"""hotspotpolicing:optimizedhotspots: incidents to square or hexagon cells, then Gi* with
FDR at an automatically chosen scale: the one-click statistical hot spot map."""

import numpy as np
from qgis.core import (
    QgsProcessingException,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFeatureSource,
    QgsWkbTypes,
)

from ...core import local_stats, optimized
from ...core import weights as spatial_weights
from ..compat import POLYGON_SOURCE
from ..layers import POLYGONS
from ..reports import number
from ..sinks import Column, polygons_wkb
from .base import IncidentAlgorithm, stage
from .grid import CELL_SHAPES, CellShape, cells_of, make_grid

MIN_INCIDENTS = 30


class OptimizedHotspots(IncidentAlgorithm, name="optimizedhotspots", methods="2.6", icon="hexagons"):
    INPUT, CELL_SHAPE, CELL_SIZE, DISTANCE, STUDY_AREA = "INPUT", "CELL_SHAPE", "CELL_SIZE", "DISTANCE", "STUDY_AREA"
    OUTPUT = "OUTPUT"

    DISPLAY_NAME = "Optimized hot spots (grid or hexagons)"
    TAGS = "optimized,hot spot,hotspot,gi*,getis,fishnet,grid,hexagon,hexbin,fdr,crime"
    HELP = (
        "<p>Where are the statistically significant hot spots? The one-click answer: incidents are counted in "
        "hexagons (or squares) and each cell is compared with its surroundings, so only concentrations beyond chance "
        "are marked hot.</p>"
        "<p>Give the <i>Incidents</i> and, best, a <i>Study area</i>: the polygons where crime can happen (the city "
        "without its lakes and fields); empty cells inside it count too. Without one, only cells with incidents are "
        "analysed. Left at 0, <i>Cell size</i> and <i>Distance band</i> (how far a cell's surroundings reach) are "
        "chosen from the data, and the log says which and why. A <i>Weight field</i> (e.g. harm) tests the harm per "
        "cell instead of the count. At least 30 incidents are needed.</p>"
        "<p><b>Reading the result.</b> Gi_Bin 3, 2, 1: a hot spot with 99, 95 or 90 % confidence (after the false "
        "discovery rate correction); -1 to -3: a cold spot; 0: not significant. Each cell also has cell_id, "
        "incident_count (and weight_sum), GiZScore, GiPValue and NNeighbors. Large empty areas inside the study area "
        "make ordinary places look hot: draw it where crime can happen.</p>"
    )

    def initAlgorithm(self, config=None):
        self.add_incident_parameters("Optional: analyse the sum of this field per cell (e.g. a harm index) instead of the count.")
        self.add_enum(self.CELL_SHAPE, "Cell shape", CELL_SHAPES, CellShape.HEXAGON, "Square cells (a fishnet) or hexagons.")
        size_help = "Width of the squares or height of the hexagons. 0: the shorter side of the area / 50."
        self.add_distance(self.CELL_SIZE, "Cell size (0 = automatic)", 0.0, self.INPUT, size_help)
        distance_help = "Gi* neighbourhood. 0: the first peak of spatial autocorrelation (as ArcGIS)."
        self.add_distance(self.DISTANCE, "Distance band (0 = automatic)", 0.0, self.INPUT, distance_help)
        area = QgsProcessingParameterFeatureSource(self.STUDY_AREA, self.tr("Study area"), [POLYGON_SOURCE], optional=True)
        self.add(area, "Optional polygons where incidents can happen: cells are made inside them, empty cells included.")
        self.add(
            QgsProcessingParameterFeatureSink(self.OUTPUT, self.tr("Optimized hot spots")),
            "The analysed cells with their counts and Gi* results.",
        )
        self.add_results(("CELL_SIZE_USED", "DISTANCE_USED", "CELL_COUNT", "HOT_CELLS"))

    def process(self, parameters, context, feedback):
        crs = self.reader.crs(self.INPUT)
        points, weights = self.read_incidents(parameters, context, crs, progress=stage(feedback, 0, 20))
        self.reader.source(self.STUDY_AREA, needs=POLYGONS)
        area = self.reader.read(self.STUDY_AREA, crs, progress=stage(feedback, 20, 25))
        x, y = points.x, points.y
        if area is None:  # without a study area the incidents set the extent: far ones are left out
            near = self.near_incidents(points, feedback, "they are left out, so they do not stretch the grid over empty land.")
            x, y, weights = x[near], y[near], None if weights is None else weights[near]
        if len(x) < MIN_INCIDENTS:
            raise QgsProcessingException(
                self.tr("Only {} incidents; optimized hot spots needs at least {}. Widen the date range or the area.").format(
                    len(x), MIN_INCIDENTS
                )
            )
        if area is not None and len(area) == 0:
            raise QgsProcessingException(self.tr("The study area layer has no polygons."))
        if np.ptp(x) == 0 and np.ptp(y) == 0 and area is None:
            raise QgsProcessingException(
                self.tr("All {} incidents are at one place: there is no pattern to find. Check their geocoding.").format(len(x))
            )
        shape = CellShape(self.parameterAsEnum(parameters, self.CELL_SHAPE, context))
        size = self.parameterAsDouble(parameters, self.CELL_SIZE, context)
        grid, size, (xmin, ymin, xmax, ymax) = make_grid(shape, size, x, y, area, feedback, self.tr)
        keys_a, keys_b, cell = cells_of(grid, x, y, area, (xmin, ymin, xmax, ymax))
        inside = cell >= 0
        counts = np.bincount(cell[inside], minlength=len(keys_a))
        sums = np.bincount(cell[inside], weights[inside] if weights is not None else None, minlength=len(keys_a)).astype(float)
        if not inside.all():
            feedback.pushInfo(
                self.tr("{} incidents lie in cells whose centre is outside the study area and are left out.").format(int((~inside).sum()))
            )
        if area is not None and counts.sum() < MIN_INCIDENTS:
            raise QgsProcessingException(
                self.tr("Only {} incidents fall in the study area; optimized hot spots needs at least {}.").format(
                    int(counts.sum()), MIN_INCIDENTS
                )
            )
        cx, cy = grid.centres(keys_a, keys_b)
        analysed = sums if weights is not None else counts.astype(float)
        if len(cx) < 3 or np.ptp(analysed) == 0:
            raise QgsProcessingException(
                self.tr("The {} cells hold the same value, so there is nothing to compare. Use smaller cells or a study area.").format(
                    len(cx)
                )
            )
        if area is None:
            feedback.pushWarning(self.tr("No study area: only the {} cells holding incidents are analysed.").format(len(cx)))

        distance = self.parameterAsDouble(parameters, self.DISTANCE, context)
        if distance == 0:
            start, isolated = optimized.starting_distance(cx, cy)
            if isolated:
                feedback.pushWarning(
                    self.tr("{} cells lie far from every other cell; the distance band is not stretched to reach them.").format(isolated)
                )
            distance, how, _ = optimized.automatic_distance(cx, cy, analysed, start, progress=stage(feedback, 30, 60))
            widest = optimized.WIDEST_BAND * min(xmax - xmin, ymax - ymin)
            if distance > widest:
                how = self.tr("{}, limited to a fifth of the area's shorter side").format(self.tr(how))
            distance = max(min(distance, widest), 0.001 * max(xmax - xmin, ymax - ymin))
            feedback.pushInfo(self.tr("Automatic distance band ({}): {}.").format(self.tr(how), number(distance)))
        neighbours = spatial_weights.distance_band(cx, cy, distance)
        counts_nb = spatial_weights.cardinality(neighbours)
        z = local_stats.gi_star(analysed, spatial_weights.with_self(neighbours))
        z[counts_nb == 0] = np.nan
        p = local_stats.two_sided_p(z)
        bins = local_stats.confidence_bins(z, p, fdr=True).astype(float)
        bins[~np.isfinite(z)] = np.nan
        if (counts_nb == 0).any():
            feedback.pushWarning(
                self.tr("{} cells have no neighbour within {}; their results are NULL.").format(
                    int((counts_nb == 0).sum()), number(distance)
                )
            )
        feedback.pushInfo(
            self.tr("{} hot spot cells and {} cold spot cells at 90 % confidence or more (FDR-corrected).").format(
                int((bins > 0).sum()), int((bins < 0).sum())
            )
        )
        if not (bins > 0).any():
            feedback.pushWarning(
                self.tr(
                    "No hot spot found with cells of {} and a distance band of {}. Try a study area (STUDY_AREA), a smaller "
                    "distance band (DISTANCE), or a longer period: {} incidents may be too few."
                ).format(number(size), number(distance), number(int(counts.sum())))
            )
        columns = [Column("cell_id", "int", np.arange(1, len(cx) + 1)), Column("incident_count", "int", counts, self.tr("Incidents"))]
        if weights is not None:
            weight_field = self.parameterAsString(parameters, self.WEIGHT_FIELD, context)
            columns.append(Column("weight_sum", "double", sums, self.tr("Sum of {}").format(weight_field)))
        columns += [
            Column("GiZScore", "double", z),
            Column("GiPValue", "double", p),
            Column("Gi_Bin", "int", bins, self.tr("Hot/cold spot confidence")),
            Column("NNeighbors", "int", counts_nb),
        ]
        destination = self.writer.features(
            self.OUTPUT,
            columns,
            geometry=polygons_wkb(grid.rings(cx, cy)),
            wkb_type=QgsWkbTypes.Type.Polygon,
            crs=crs,
            style="gi_bin",
            progress=stage(feedback, 65, 100),
        )
        return {
            self.OUTPUT: destination,
            "CELL_SIZE_USED": size,
            "DISTANCE_USED": distance,
            "CELL_COUNT": len(cx),
            "HOT_CELLS": int((bins > 0).sum()),
        }
