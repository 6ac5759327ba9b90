"""hotspotpolicing:kerneldensity: a kernel density hot spot map (GeoTIFF) from incidents."""

import math

import numpy as np
from qgis.core import (
    QgsProcessingException,
    QgsProcessingParameterExtent,
    QgsProcessingParameterRasterDestination,
    QgsUnitTypes,
)

from ...core import kde
from ..compat import METERS, UNKNOWN_DISTANCE_UNIT
from ..layers import unit_name
from ..reports import number
from .base import IncidentAlgorithm, stage

# Enum positions are public (models store them): only ever append.
KERNEL_LABELS = ("Quartic (biweight)", "Gaussian", "Epanechnikov", "Triangular", "Uniform")
AREA_UNITS = (
    ("Square kilometres", "km²", 1e6),
    ("Square miles", "mi²", 1609.344**2),
    ("Hectares", "ha", 1e4),
    ("Square map units", "map unit²", None),
)
MAX_CELLS = 100_000_000


class KernelDensity(IncidentAlgorithm, name="kerneldensity", methods="1"):
    INPUT, KERNEL, BANDWIDTH, CELL_SIZE, EXTENT, AREA_UNIT = "INPUT", "KERNEL", "BANDWIDTH", "CELL_SIZE", "EXTENT", "AREA_UNIT"
    OUTPUT = "OUTPUT"

    DISPLAY_NAME = "Kernel density hot spot map"
    TAGS = "kde,heatmap,hot spot,hotspot,density,crime,quartic,incidents"
    HELP = (
        "<p>Where is crime densest? Turns incident points into a smooth density surface, the classic hot spot map: "
        "the redder a place, the more incidents (or harm) per square kilometre around it.</p>"
        "<p>Give the <i>Incidents</i> and, optionally, a <i>Weight field</i> such as a crime harm index. Left at 0, "
        "<i>Bandwidth</i> and <i>Cell size</i> are chosen from the data, as ArcGIS does; a larger bandwidth gives "
        "broader, smoother hot spots, a smaller one picks out single blocks. <i>Density per</i> sets the unit of the "
        "legend.</p>"
        "<p><b>Reading the map.</b> Each cell holds the incidents (or harm) per area unit around it. A density map "
        "shows where crime concentrates, not whether that is more than chance: 'Optimized hot spots' tests that. The "
        "bandwidth and cell size used are in the log and in a provenance file (<i>output</i>.json) beside the raster.</p>"
    )

    def initAlgorithm(self, config=None):
        self.add_incident_parameters(
            "Optional non-negative weight per incident, such as a crime harm index. Empty: each incident counts 1."
        )
        self.add_enum(
            self.KERNEL, "Kernel", KERNEL_LABELS, 0, "Shape of each incident's contribution. Quartic is the crime-mapping standard."
        )
        bandwidth_help = "Search radius of the kernel (standard deviation for the Gaussian). 0 uses ArcGIS's spatial Silverman rule."
        self.add_distance(self.BANDWIDTH, "Bandwidth (search radius; 0 = automatic)", 0.0, self.INPUT, bandwidth_help)
        self.add_distance(
            self.CELL_SIZE,
            "Cell size (0 = automatic)",
            0.0,
            self.INPUT,
            "Width of the output cells. 0 uses the shorter side of the extent / 250.",
        )
        extent = QgsProcessingParameterExtent(self.EXTENT, self.tr("Output extent"), optional=True)
        self.add(extent, "Area to map. Empty: the incidents' extent grown by the bandwidth.", advanced=True)
        self.add_enum(
            self.AREA_UNIT,
            "Density per",
            [u[0] for u in AREA_UNITS],
            0,
            "Area unit of the output density, e.g. incidents per square kilometre.",
        )
        self.add(
            QgsProcessingParameterRasterDestination(self.OUTPUT, self.tr("Kernel density")), "GeoTIFF of density per the chosen area unit."
        )
        self.add_results(("BANDWIDTH_USED", "CELL_SIZE_USED", "INCIDENT_COUNT"))

    def process(self, parameters, context, feedback):
        crs = self.reader.crs(self.INCIDENTS)
        kernel = kde.KERNELS[self.parameterAsEnum(parameters, self.KERNEL, context)]
        feedback.setProgressText(self.tr("Reading incidents…"))
        points, weights = self.read_incidents(parameters, context, crs, progress=stage(feedback, 0, 10))
        feedback.pushInfo(
            self.tr("Read {:,} incidents ({} reader).").format(len(points.x), "GDAL Arrow" if points.fast else "QGIS feature")
        )
        consequence = "they do not set the automatic bandwidth or the map's extent, and fall off the map unless EXTENT includes them."
        near = self.near_incidents(points, feedback, consequence)
        bandwidth, cell, grid = self._grid(parameters, context, kernel, points, weights, near, feedback)
        area_label, to_area_unit = self._area_unit(parameters, context, crs)

        feedback.setProgressText(self.tr("Computing the density surface…"))
        in_area_units = (weights if weights is not None else 1.0) * np.full(len(points.x), to_area_unit)  # per area unit, not per map unit²
        surface = kde.density(points.x, points.y, grid, kernel, bandwidth, in_area_units, progress=stage(feedback, 10, 95))

        self.writer.choices.update(
            kernel=kernel,
            bandwidth=bandwidth,
            bandwidth_automatic=self.parameterAsDouble(parameters, self.BANDWIDTH, context) == 0,
            cell_size=cell,
            cell_size_automatic=self.parameterAsDouble(parameters, self.CELL_SIZE, context) == 0,
            grid={"xmin": grid.xmin, "ymin": grid.ymin, "columns": grid.ncols, "rows": grid.nrows},
            crs=crs.authid() or crs.toWkt(),
            incidents=int(len(points.x)),
            total_weight=float(weights.sum()) if weights is not None else float(len(points.x)),
            units=f"{'harm' if weights is not None else 'incidents'} per {area_label}",
        )
        output = self.writer.raster(self.OUTPUT, surface, grid, crs, self.writer.choices["units"], style="density")
        return {self.OUTPUT: output, "BANDWIDTH_USED": bandwidth, "CELL_SIZE_USED": cell, "INCIDENT_COUNT": len(points.x)}

    def _grid(self, parameters, context, kernel, points, weights, near, feedback):
        bandwidth = self.parameterAsDouble(parameters, self.BANDWIDTH, context)
        cell = self.parameterAsDouble(parameters, self.CELL_SIZE, context)
        if bandwidth < 0 or cell < 0:
            raise QgsProcessingException(self.tr("Bandwidth and cell size must be positive (or 0 for automatic)."))
        if bandwidth == 0:
            bandwidth = kde.automatic_bandwidth(points.x[near], points.y[near], None if weights is None else weights[near], kernel)
            feedback.pushInfo(
                self.tr("Automatic bandwidth (ArcGIS spatial Silverman rule): {} {}.").format(number(bandwidth), unit_name(points.crs))
            )
        reach = bandwidth * (3.0 if kernel == "gaussian" else 1.0)
        if self.parameterAsString(parameters, self.EXTENT, context):
            extent = self.parameterAsExtent(parameters, self.EXTENT, context, points.crs)
            if extent.isEmpty() or extent.width() <= 0 or extent.height() <= 0:
                raise QgsProcessingException(
                    self.tr("The output extent is empty. Give an extent with a width and a height, or leave it empty.")
                )
            bounds = (extent.xMinimum(), extent.yMinimum(), extent.xMaximum(), extent.yMaximum())
        else:
            x, y = points.x[near], points.y[near]
            bounds = (x.min() - reach, y.min() - reach, x.max() + reach, y.max() + reach)
        width, height = bounds[2] - bounds[0], bounds[3] - bounds[1]
        if cell == 0:
            cell = kde.automatic_cell_size(width, height)
            feedback.pushInfo(
                self.tr("Automatic cell size (shorter side of the extent / 250): {} {}.").format(number(cell), unit_name(points.crs))
            )
        cells = math.ceil(width / cell) * math.ceil(height / cell)
        if cells > MAX_CELLS:
            smallest = math.sqrt(width * height / MAX_CELLS)
            raise QgsProcessingException(
                self.tr("The raster would have {:,} cells (more than {:,}). Use a cell size of at least {} or a smaller extent.").format(
                    cells, MAX_CELLS, number(smallest)
                )
            )
        if bandwidth < cell:
            feedback.pushWarning(
                self.tr(
                    "The bandwidth ({}) is smaller than the cell size ({}): the map will look spotty. "
                    "Use a smaller cell size or a larger bandwidth."
                ).format(number(bandwidth), number(cell))
            )
        return bandwidth, cell, kde.grid_for_extent(*bounds, cell)

    def _area_unit(self, parameters, context, crs):
        label, unit_label, square_metres = AREA_UNITS[self.parameterAsEnum(parameters, self.AREA_UNIT, context)]
        if square_metres is None:
            return unit_label, 1.0
        metres = QgsUnitTypes.fromUnitToUnitFactor(crs.mapUnits(), METERS)
        if not metres or crs.mapUnits() == UNKNOWN_DISTANCE_UNIT:
            raise QgsProcessingException(
                self.tr("The CRS's map units are unknown, so density per {} cannot be computed. Choose 'Square map units'.").format(
                    label.lower()
                )
            )
        # density per square map unit -> per square metre -> per area unit
        return unit_label, square_metres / metres**2
