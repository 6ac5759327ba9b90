"""What Gi* and Local Moran's I share: parameters, reading, weights, inference, writing.

A subclass names its output fields and implements ``statistic()``; this base does the rest,
so both tools read the same inputs, build the same weights and report the same problems."""

from enum import IntEnum

import numpy as np
from qgis.core import (
    QgsProcessingException,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterField,
    QgsWkbTypes,
)

from ...core import local_stats
from ...core import weights as spatial_weights
from ..compat import LINE_GEOMETRY, LINE_SOURCE, NUMERIC_FIELD, POINT_SOURCE, POLYGON_GEOMETRY, POLYGON_SOURCE
from ..layers import ALL_FIELDS, COUNT_NAMES, is_count
from ..reports import number
from ..sinks import Column
from .base import HotspotAlgorithm, stage

# Enum positions are public (models store them): only ever append.
WEIGHT_TYPES = (
    "Fixed distance band",
    "K nearest neighbours",
    "Contiguity (polygons sharing an edge or corner)",
    "Street network (street segments a few junctions apart)",
)


class Neighbours(IntEnum):
    """The WEIGHTS enum (positions are public)."""

    DISTANCE_BAND = 0
    K_NEAREST = 1
    CONTIGUITY = 2
    NETWORK = 3


WEIGHTS_HELP = (
    "<p>Give a layer with one feature per place and the <i>Value field</i> to test, e.g. the incident_count of "
    "'Assign incidents to street segments' or of a grid. <i>Neighbours</i> says which places each is "
    "compared with: those within the <i>Distance band</i> (0: the smallest that gives every feature a neighbour), "
    "the <i>Number of neighbours (k)</i> nearest, polygons that touch, or street segments a few junctions apart. "
    "With many places tested at once, tick the <i>False discovery rate (FDR) correction</i> to keep chance hot "
    "spots out. <i>Permutations</i> (e.g. 999) give p-values that do not lean on the normal curve.</p>"
    "<p>Features without a value or without neighbours get empty results; the log counts them.</p>"
)


class LocalStatisticAlgorithm(HotspotAlgorithm, icon="hexagons"):
    INPUT, FIELD, WEIGHTS, DISTANCE, NEIGHBORS = "INPUT", "FIELD", "WEIGHTS", "DISTANCE", "NEIGHBORS"
    NETWORK_STEPS, PERMUTATIONS, FDR, SEED, OUTPUT = "NETWORK_STEPS", "PERMUTATIONS", "FDR", "SEED", "OUTPUT"

    STYLE = None  # name of the style applied to the output

    FIELDS = ()  # (name, kind, alias) of the fields the statistic adds

    def statistic(self, values, neighbours, p_values, fdr):
        """Arrays (one per output field, in order) for the features with a value."""
        raise NotImplementedError

    def initAlgorithm(self, config=None):
        source = QgsProcessingParameterFeatureSource(self.INPUT, self.tr("Input layer"), [POINT_SOURCE, LINE_SOURCE, POLYGON_SOURCE])
        self.add(source, "Points, street segments or polygons (e.g. grid cells) with a numeric value such as an incident count.")
        field = QgsProcessingParameterField(
            self.FIELD, self.tr("Value field"), "incident_count", self.INPUT, type=NUMERIC_FIELD, optional=True
        )
        self.add(field, "The numeric value analysed, e.g. incident_count or a harm total. Empty: incident_count, if any.")
        kinds_help = "How neighbours are defined: a fixed distance band, k nearest neighbours, or shared edges and corners (polygons)."
        self.add_enum(self.WEIGHTS, "Neighbours", WEIGHT_TYPES, Neighbours.DISTANCE_BAND, kinds_help)
        distance_help = "Features within this distance are neighbours (distance band only). 0: the least distance giving every feature one."
        self.add_distance(self.DISTANCE, "Distance band (0 = automatic)", 0.0, self.INPUT, distance_help)
        self.add_number(self.NEIGHBORS, "Number of neighbours (k)", 8, "How many nearest features are neighbours.", integer=True, minimum=1)
        steps_help = "Street network: segments up to this many junctions apart are neighbours (1: sharing a junction)."
        self.add_number(self.NETWORK_STEPS, "Junctions apart (street network)", 1, steps_help, integer=True, minimum=1, maximum=20)
        permutations_help = "How often the values are shuffled to judge significance (e.g. 999); 0: p-values from the normal curve."
        self.add_number(self.PERMUTATIONS, "Permutations (0 = analytical p-values)", 0, permutations_help, integer=True, maximum=99999)
        fdr = QgsProcessingParameterBoolean(self.FDR, self.tr("False discovery rate (FDR) correction"), defaultValue=False)
        self.add(fdr, "Benjamini-Hochberg correction of the confidence levels for the many tests made at once.")
        self.add_number(
            self.SEED, "Random seed", 1, "Seed of the permutations, so a run can be repeated exactly.", integer=True, advanced=True
        )
        output = QgsProcessingParameterFeatureSink(self.OUTPUT, self.tr(self.displayName()))
        self.add(output, "The input features with the statistic's fields added.")

    def process(self, parameters, context, feedback):
        source = self.reader.source(self.INPUT)
        field = self.reader.amount_field(self.FIELD, self.INPUT, COUNT_NAMES, accept=is_count)
        kind = Neighbours(self.parameterAsEnum(parameters, self.WEIGHTS, context))
        geometry_type = QgsWkbTypes.geometryType(source.wkbType())
        if kind == Neighbours.CONTIGUITY and geometry_type != POLYGON_GEOMETRY:
            raise QgsProcessingException(
                self.tr("Contiguity needs polygons; for points use a fixed distance band or k nearest neighbours.")
            )
        if kind == Neighbours.NETWORK and geometry_type != LINE_GEOMETRY:
            raise QgsProcessingException(
                self.tr("Street network neighbours need line segments (e.g. from 'Street centre-lines to street segments').")
            )
        crs = self.reader.crs(self.INPUT)
        table = self.reader.read(self.INPUT, crs, ALL_FIELDS, keep=True, progress=stage(feedback, 0, 30))
        if table.skipped:
            feedback.pushWarning(self.tr("Skipped {} features without geometry.").format(table.skipped))
        all_values = table.numbers(field)
        valid = np.flatnonzero(np.isfinite(all_values))
        if len(all_values) - len(valid):
            feedback.pushWarning(
                self.tr("{} features have no value in '{}': they are left out and get NULL results.").format(
                    len(all_values) - len(valid), field
                )
            )
        if len(valid) < 3:
            raise QgsProcessingException(
                self.tr("Only {} features have a value in '{}'; at least 3 are needed (30 or more for a meaningful result).").format(
                    len(valid), field
                )
            )
        values = all_values[valid]
        if np.ptp(values) == 0:
            raise QgsProcessingException(
                self.tr("Every feature has the same value in '{}' (zero variance), so there is no pattern to test.").format(field)
            )

        x, y = table.centroids()
        neighbours = self._neighbours(parameters, context, feedback, kind, table, valid, x[valid], y[valid])
        counts = spatial_weights.cardinality(neighbours)
        isolated = int((counts == 0).sum())
        if isolated == len(valid):
            raise QgsProcessingException(self._isolated_message(isolated, x[valid], y[valid], kind))
        if isolated:
            feedback.pushWarning(self._isolated_message(isolated, x[valid], y[valid], kind) + self.tr(" Their results are NULL."))

        feedback.setProgressText(self.tr("Computing the statistic…"))
        permutations = self.parameterAsInt(parameters, self.PERMUTATIONS, context)
        p_values = None
        if permutations:
            p_values = local_stats.permutation_p(
                values,
                neighbours,
                permutations,
                self.parameterAsInt(parameters, self.SEED, context),
                progress=stage(feedback, 35, 70),
                order=np.argsort(table.ids[valid], kind="stable"),  # by feature id: the same p-values in any row order
            )
        results = self.statistic(values, neighbours, p_values, self.parameterAsBool(parameters, self.FDR, context))
        tested = valid[counts > 0]
        columns = []
        for (name, kind_name, alias), result in zip(self.FIELDS, results):
            full = np.full(len(table), None, dtype=object) if np.asarray(result).dtype.kind in "OU" else np.full(len(table), np.nan)
            full[tested] = np.asarray(result)[counts > 0]
            columns.append(Column(name, kind_name, full, self.tr(alias)))
        destination = self.writer.features(self.OUTPUT, columns, base=table, style=self.STYLE, progress=stage(feedback, 70, 100))
        return {self.OUTPUT: destination}

    def _neighbours(self, parameters, context, feedback, kind, table, valid, x, y):
        if kind == Neighbours.K_NEAREST:
            k = self.parameterAsInt(parameters, self.NEIGHBORS, context)
            if k >= len(valid):
                raise QgsProcessingException(
                    self.tr("k = {} needs more than {} features with a value; there are {}.").format(k, k, len(valid))
                )
            return spatial_weights.k_nearest(x, y, k)
        if kind in (Neighbours.CONTIGUITY, Neighbours.NETWORK):
            vertex_row = np.repeat(table.ring_owner(), table.sizes)
            position = np.full(len(table), -1)
            position[valid] = np.arange(len(valid))
            keep = position[vertex_row] >= 0
            span = max(np.ptp(x), np.ptp(y), 1.0)
            touching = spatial_weights.contiguity(
                table.vertices[keep, 0], table.vertices[keep, 1], position[vertex_row[keep]], len(valid), tolerance=span * 1e-7
            )
            if kind == Neighbours.NETWORK:
                return spatial_weights.within_steps(touching, self.parameterAsInt(parameters, self.NETWORK_STEPS, context))
            return touching
        distance = self.parameterAsDouble(parameters, self.DISTANCE, context)
        if distance == 0:
            distance = spatial_weights.distance_for_one_neighbour(x, y)
            feedback.pushInfo(self.tr("Automatic distance band (every feature has at least one neighbour): {}.").format(number(distance)))
        return spatial_weights.distance_band(x, y, distance)

    def _isolated_message(self, isolated, x, y, kind):
        message = self.tr("{} of {} features have no neighbour.").format(isolated, len(x))
        if kind == Neighbours.DISTANCE_BAND:
            needed = spatial_weights.distance_for_one_neighbour(x, y)
            message += self.tr(" A distance band of at least {} gives every feature a neighbour (or use k nearest neighbours).").format(
                number(needed)
            )
        return message
