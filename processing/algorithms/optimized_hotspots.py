"""hotspotpolicing:optimizedhotspots: incidents to square or hexagon cells, then Gi* with
FDR at an automatically chosen scale: the one-click statistical hot spot map."""

import numpy as np
from qgis.core import (
    QgsFeature,
    QgsFields,
    QgsGeometry,
    QgsPointXY,
    QgsProcessingException,
    QgsProcessingOutputNumber,
    QgsProcessingParameterDistance,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterField,
    QgsWkbTypes,
)

from ...core import local_stats, optimized, tessellation
from ...core import weights as spatial_weights
from ..compat import NUMERIC_FIELD, POINT_GEOMETRY, POINT_SOURCE, POLYGON_SOURCE
from ..compat import field as make_field
from ..layers import PreparedArea, read_points, union_of, working_crs
from ..styles import style_on_completion
from .base import HotspotAlgorithm, add_features

CELL_SHAPES = ("Square (fishnet)", "Hexagon")
MIN_INCIDENTS = 30
MAX_CELLS = 2_000_000


class OptimizedHotspots(HotspotAlgorithm):
    INPUT = "INPUT"
    WEIGHT_FIELD = "WEIGHT_FIELD"
    CELL_SHAPE = "CELL_SHAPE"
    CELL_SIZE = "CELL_SIZE"
    DISTANCE = "DISTANCE"
    STUDY_AREA = "STUDY_AREA"
    OUTPUT = "OUTPUT"

    def name(self):
        return "optimizedhotspots"

    def displayName(self):
        return self.tr("Optimized hot spots (grid or hexagons)")

    def tags(self):
        return self.tr("optimized,hot spot,hotspot,gi*,getis,fishnet,grid,hexagon,hexbin,fdr,crime").split(",")

    def shortHelpString(self):
        return self.tr(
            "<p>The one-click answer to 'where are the statistically significant hot spots?': "
            "incidents are counted in square or hexagonal cells and Getis-Ord Gi* with the false "
            "discovery rate correction marks the significant hot and cold cells.</p>"
            "<p><b>Cells.</b> With a study area, every cell whose centre lies in it is analysed "
            "(empty cells included) and incidents outside it are left out; without one, only cells "
            "holding at least one incident are analysed, as ArcGIS's Optimized Hot Spot Analysis "
            "does. CELL_SIZE 0 = automatic: the shorter side of the study area (or of the "
            "incidents' extent) / 50, the default of R's sfhotspot. Hexagons are flat-topped, "
            "CELL_SIZE high.</p>"
            "<p><b>Distance band.</b> DISTANCE 0 = automatic, as ArcGIS: the first peak of "
            "global Moran's I z-score over up to 20 distance bands (Incremental Spatial "
            "Autocorrelation), from the distance that gives every cell a neighbour in steps of half of it; "
            "without a peak, the mean distance to the k-th nearest cell, k = 5 % of the cells "
            "(3 to 30). Every choice is written to the log.</p>"
            "<p><b>Statistic.</b> Gi* (Ord &amp; Getis 1995) of the incident count (or of the sum of "
            "WEIGHT_FIELD, e.g. harm) with a fixed distance band, analytical p-values and the "
            "Benjamini-Hochberg (1995) correction, as ArcGIS. Output: the cells with cell_id, "
            "incident_count, weight_sum (with a weight field), GiZScore, GiPValue, Gi_Bin (3 / 2 / 1: "
            "hot spot with 99 / 95 / 90 % confidence, negative: cold spot) and NNeighbors.</p>"
            "<p>At least 30 incidents are needed. Large empty areas inside the study area make "
            "ordinary places look hot: draw the study area where crime can happen.</p>"
        )

    def initAlgorithm(self, config=None):
        source = QgsProcessingParameterFeatureSource(self.INPUT, self.tr("Incidents"), [POINT_SOURCE])
        source.setHelp(self.tr("Point layer of incidents."))
        self.addParameter(source)
        weight = QgsProcessingParameterField(
            self.WEIGHT_FIELD, self.tr("Weight field (e.g. harm)"), parentLayerParameterName=self.INPUT, type=NUMERIC_FIELD, optional=True
        )
        weight.setHelp(self.tr("Optional: analyse the sum of this field per cell (e.g. a harm index) instead of the count."))
        self.addParameter(weight)
        shape = QgsProcessingParameterEnum(
            self.CELL_SHAPE, self.tr("Cell shape"), options=[self.tr(s) for s in CELL_SHAPES], defaultValue=1
        )
        shape.setHelp(self.tr("Square cells (a fishnet) or hexagons."))
        self.addParameter(shape)
        size = QgsProcessingParameterDistance(self.CELL_SIZE, self.tr("Cell size (0 = automatic)"), 0.0, self.INPUT, minValue=0.0)
        size.setHelp(self.tr("Width of the squares or height of the hexagons. 0: the shorter side of the area / 50."))
        self.addParameter(size)
        distance = QgsProcessingParameterDistance(self.DISTANCE, self.tr("Distance band (0 = automatic)"), 0.0, self.INPUT, minValue=0.0)
        distance.setHelp(self.tr("Gi* neighbourhood. 0: the first peak of spatial autocorrelation (as ArcGIS)."))
        self.addParameter(distance)
        area = QgsProcessingParameterFeatureSource(self.STUDY_AREA, self.tr("Study area"), [POLYGON_SOURCE], optional=True)
        area.setHelp(self.tr("Optional polygons where incidents can happen: cells are made inside them, empty cells included."))
        self.addParameter(area)
        output = QgsProcessingParameterFeatureSink(self.OUTPUT, self.tr("Optimized hot spots"))
        output.setHelp(self.tr("The analysed cells with their counts and Gi* results."))
        self.addParameter(output)
        self.addOutput(QgsProcessingOutputNumber("CELL_SIZE_USED", self.tr("Cell size used")))
        self.addOutput(QgsProcessingOutputNumber("DISTANCE_USED", self.tr("Distance band used")))
        self.addOutput(QgsProcessingOutputNumber("CELL_COUNT", self.tr("Cells analysed")))

    def processAlgorithm(self, parameters, context, feedback):
        source = self.parameterAsSource(parameters, self.INPUT, context)
        if source is None:
            raise QgsProcessingException(self.invalidSourceError(parameters, self.INPUT))
        if QgsWkbTypes.geometryType(source.wkbType()) != POINT_GEOMETRY:
            raise QgsProcessingException(self.tr("Optimized hot spots needs incident points; convert other geometries to points first."))
        crs = working_crs(source, context, feedback)
        weight_field = self.parameterAsString(parameters, self.WEIGHT_FIELD, context) or None
        layer = self.parameterAsVectorLayer(parameters, self.INPUT, context)
        points = read_points(source, layer, parameters.get(self.INPUT), crs, context, weight_field)
        x, y, w = points.x, points.y, points.values
        if weight_field is not None:
            if np.isnan(w).any() or (w < 0).any():
                raise QgsProcessingException(
                    self.tr("The weight field '{}' has NULL or negative values; fill or filter them first.").format(weight_field)
                )

        area = self._study_area(parameters, context, crs)
        if len(x) < MIN_INCIDENTS:
            raise QgsProcessingException(
                self.tr("Only {} incidents; optimized hot spots needs at least {}. Widen the date range or the area.").format(
                    len(x), MIN_INCIDENTS
                )
            )
        if feedback.isCanceled():
            return {}

        bounds = area.geometry.boundingBox() if area is not None else None
        xmin, ymin, xmax, ymax = (
            (bounds.xMinimum(), bounds.yMinimum(), bounds.xMaximum(), bounds.yMaximum()) if bounds else (x.min(), y.min(), x.max(), y.max())
        )
        size = self.parameterAsDouble(parameters, self.CELL_SIZE, context)
        if size == 0:
            size = optimized.automatic_cell_size(max(xmax - xmin, 1e-9), max(ymax - ymin, 1e-9))
            if size <= 0:
                raise QgsProcessingException(self.tr("All incidents are at one place: give a cell size."))
            feedback.pushInfo(self.tr("Automatic cell size (shorter side of the area / 50): {:.6g}.").format(size))
        estimated = (xmax - xmin) * (ymax - ymin) / size**2
        if estimated > MAX_CELLS:
            raise QgsProcessingException(
                self.tr("About {:,.0f} cells would be made (more than {:,}). Use a cell size of at least {:.4g}.").format(
                    estimated, MAX_CELLS, np.sqrt((xmax - xmin) * (ymax - ymin) / MAX_CELLS)
                )
            )
        shape = self.parameterAsEnum(parameters, self.CELL_SHAPE, context)
        grid = tessellation.HexagonGrid(size, xmin, ymin) if shape == 1 else tessellation.SquareGrid(size, xmin, ymin)
        keys_a, keys_b, counts, sums = self._cells(grid, x, y, w, area, bounds, feedback)
        if area is not None and counts.sum() < MIN_INCIDENTS:
            raise QgsProcessingException(
                self.tr("Only {} incidents fall in the study area; optimized hot spots needs at least {}.").format(
                    int(counts.sum()), MIN_INCIDENTS
                )
            )
        cx, cy = grid.centres(keys_a, keys_b)
        analysed = sums if weight_field else counts.astype(float)
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
            start = spatial_weights.distance_for_one_neighbour(cx, cy)
            distance, how, _ = optimized.automatic_distance(cx, cy, analysed, start)
            distance = max(distance, 0.001 * max(xmax - xmin, ymax - ymin))
            feedback.pushInfo(self.tr("Automatic distance band ({}): {:.6g}.").format(self.tr(how), distance))
        neighbours = spatial_weights.distance_band(cx, cy, distance)
        counts_nb = spatial_weights.cardinality(neighbours)
        z = local_stats.gi_star(analysed, spatial_weights.with_self(neighbours))
        z[counts_nb == 0] = np.nan
        p = local_stats.two_sided_p(z)
        bins = local_stats.confidence_bins(z, p, fdr=True)
        if (counts_nb == 0).any():
            feedback.pushWarning(
                self.tr("{} cells have no neighbour within {:.6g}; their results are NULL.").format(int((counts_nb == 0).sum()), distance)
            )
        feedback.pushInfo(
            self.tr("{} hot spot cells and {} cold spot cells at 90 % confidence or more (FDR-corrected).").format(
                int((bins > 0).sum()), int((bins < 0).sum())
            )
        )
        if feedback.isCanceled():
            return {}

        fields = QgsFields()
        specs = [("cell_id", "int", None), ("incident_count", "int", self.tr("Incidents"))]
        if weight_field:
            specs.append(("weight_sum", "double", self.tr("Sum of {}").format(weight_field)))
        specs += [
            ("GiZScore", "double", None),
            ("GiPValue", "double", None),
            ("Gi_Bin", "int", self.tr("Hot/cold spot confidence")),
            ("NNeighbors", "int", None),
        ]
        for name, kind, alias in specs:
            fields.append(make_field(name, kind, alias))
        sink, destination = self.parameterAsSink(parameters, self.OUTPUT, context, fields, QgsWkbTypes.Type.Polygon, crs)
        if sink is None:
            raise QgsProcessingException(self.invalidSinkError(parameters, self.OUTPUT))
        batch = []
        for i in range(len(cx)):
            feature = QgsFeature(fields)
            feature.setGeometry(QgsGeometry.fromPolygonXY([[QgsPointXY(px, py) for px, py in grid.ring(cx[i], cy[i])]]))
            finite = np.isfinite(z[i])
            row = [i + 1, int(counts[i])] + ([float(sums[i])] if weight_field else [])
            row += [float(z[i]) if finite else None, float(p[i]) if finite else None, int(bins[i]) if finite else None, int(counts_nb[i])]
            feature.setAttributes(row)
            batch.append(feature)
            if len(batch) == 10000:
                add_features(sink, batch)
                batch = []
                feedback.setProgress(60 + 40 * i / len(cx))
        add_features(sink, batch)
        style_on_completion(context, destination, "gi_bin")
        return {self.OUTPUT: destination, "CELL_SIZE_USED": size, "DISTANCE_USED": distance, "CELL_COUNT": len(cx)}

    def _study_area(self, parameters, context, crs):
        """The study area, ready for point-in-polygon tests in the working CRS (or None)."""
        area_source = self.parameterAsSource(parameters, self.STUDY_AREA, context)
        return None if area_source is None else PreparedArea(union_of(area_source, crs, context))

    def _cells(self, grid, x, y, w, area, bounds, feedback):
        """Cell keys with counts and weight sums: without a study area the occupied cells;
        with one, every cell whose centre lies in it, with the incidents of those cells."""
        col, row = grid.keys(x, y)
        keys_a, keys_b, counts, sums = tessellation.count_by_cell(col, row, w)
        if area is None:
            return keys_a, keys_b, counts, sums
        all_a, all_b = grid.covering(bounds.xMinimum(), bounds.yMinimum(), bounds.xMaximum(), bounds.yMaximum())
        cx, cy = grid.centres(all_a, all_b)
        inside = area.contains_all(cx, cy)
        kept = np.column_stack([all_a[inside], all_b[inside]])
        occupied = np.column_stack([keys_a, keys_b])
        union, position = np.unique(np.concatenate([kept, occupied]), axis=0, return_inverse=True)
        position = position.ravel()
        in_area = np.zeros(len(union), dtype=bool)
        in_area[position[: len(kept)]] = True
        all_counts, all_sums = np.zeros(len(union), dtype=counts.dtype), np.zeros(len(union))
        all_counts[position[len(kept) :]] = counts
        all_sums[position[len(kept) :]] = sums
        left_out = int(all_counts[~in_area].sum())
        if left_out:
            feedback.pushInfo(
                self.tr("{} incidents lie in cells whose centre is outside the study area and are left out.").format(left_out)
            )
        return union[in_area, 0], union[in_area, 1], all_counts[in_area], all_sums[in_area]
