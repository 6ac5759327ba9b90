"""hotspotpolicing:briefingmap: a one-page briefing map (PDF or PNG) from a layout template."""

import os
from datetime import date

import numpy as np
from qgis.core import (
    Qgis,
    QgsCoordinateTransform,
    QgsFeatureRequest,
    QgsLayerTree,
    QgsLayoutExporter,
    QgsPrintLayout,
    QgsProcessingAlgorithm,
    QgsProcessingException,
    QgsProcessingFeatureSource,
    QgsProcessingParameterExtent,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterField,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterMultipleLayers,
    QgsProcessingParameterString,
    QgsProject,
    QgsReadWriteContext,
    QgsRectangle,
    QgsRenderContext,
    QgsScaleBarSettings,
    QgsVectorLayer,
    QgsWkbTypes,
)
from qgis.PyQt.QtXml import QDomDocument

from ..compat import ANY_VECTOR, POLYGON_SOURCE
from ..layers import read
from ..sinks import Column, memory_layer
from .base import PLUGIN_DIR, HotspotAlgorithm, stage

PAGES = ("A4", "Letter")
ORIENTATIONS = ("Landscape", "Portrait")
NOTE = "OFFICIAL-SENSITIVE: for police briefing only. Do not copy or share outside the force."
# Table columns: (header, candidate fields in the hot spot layer, first found wins)
COLUMNS = (
    ("Rank", ("priority_rank",)),
    ("Place", ("street_name", "name", "segment_id", "cell_id", "beat_id")),
    ("Incidents", ("incident_count", "count")),
    ("Harm", ("weight_sum",)),
    ("Minutes per shift", ("minutes_per_shift",)),
)
RANK_BY = ("priority_rank", "incident_count", "weight_sum", "GiZScore")
TEXT_AS_TEXT = (
    getattr(getattr(Qgis, "TextRenderFormat", None), "AlwaysText", None) or QgsRenderContext.TextRenderFormat.TextFormatAlwaysText
)
FIT_WIDTH = (
    getattr(getattr(Qgis, "ScaleBarSegmentSizeMode", None), "FitWidth", None) or QgsScaleBarSettings.SegmentSizeMode.SegmentSizeFitWidth
)


class BriefingMap(HotspotAlgorithm, name="briefingmap", group="maps"):
    LAYERS, TITLE, SUBTITLE, EXTENT, TOP_N, OUTPUT = "LAYERS", "TITLE", "SUBTITLE", "EXTENT", "TOP_N", "OUTPUT"
    HOTSPOTS, PAGE, ORIENTATION, DATA_DATE, NOTE, DISTRICTS = "HOTSPOTS", "PAGE", "ORIENTATION", "DATA_DATE", "NOTE", "DISTRICTS"
    DISTRICT_FIELD = "DISTRICT_FIELD"

    DISPLAY_NAME = "Briefing map (PDF or PNG)"
    TAGS = "briefing,map,pdf,png,print,layout,export,patrol,roll call"
    HELP = (
        "<p>Exports a one-page map for the patrol briefing: title, period, the map of the chosen "
        "layers (styled as they are), legend, scale bar, north arrow, a table of the top hot "
        "spots (rank, place, incidents, harm and planned minutes, as far as the hot spot layer "
        "has them), the data date and a handling note.</p>"
        "<p>The page comes from a print layout template in the plugin's resources/layouts "
        "(A4 or Letter, landscape or portrait); edit those templates in QGIS's layout designer "
        "to change the look. No basemap is needed: the map renders offline; add a basemap "
        "layer to LAYERS to include one. The table lists the TOP_N features of HOTSPOTS (by "
        "default the first vector layer of LAYERS) by priority_rank, or else by incident_count, "
        "weight_sum or GiZScore.</p>"
        "<p><b>One page per district.</b> With DISTRICTS (polygons) and DISTRICT_FIELD, the map "
        "zooms to each district in turn (an atlas), the title names it and the table lists the "
        "top hot spots inside it: one multi-page PDF, or one PNG per district named after it.</p>"
    )

    def flags(self):
        return super().flags() | QgsProcessingAlgorithm.Flag.FlagNoThreading  # layouts render on the main thread

    def initAlgorithm(self, config=None):
        layers = QgsProcessingParameterMultipleLayers(self.LAYERS, self.tr("Map layers (top first)"))
        self.add(layers, "The layers to draw, e.g. a patrol plan, hot spots and streets, in drawing order top first.")
        self.add(QgsProcessingParameterString(self.TITLE, self.tr("Title"), "Hot spots"), "Large title at the top of the page.")
        subtitle = QgsProcessingParameterString(self.SUBTITLE, self.tr("Subtitle (period)"), "", optional=True)
        self.add(subtitle, "E.g. 'Burglary, 28 days to 24 November 2026'.")
        self.add(QgsProcessingParameterExtent(self.EXTENT, self.tr("Map extent"), optional=True), "Area to show; empty: all map layers.")
        self.add_number(
            self.TOP_N, "Hot spots in the table", 10, "Rows of the top hot spots table (0: no table).", integer=True, maximum=40
        )
        output = QgsProcessingParameterFileDestination(
            self.OUTPUT, self.tr("Briefing map"), self.tr("PDF files (*.pdf);;PNG images (*.png)")
        )
        self.add(output, "A .pdf or .png file.")
        hotspots = QgsProcessingParameterFeatureSource(self.HOTSPOTS, self.tr("Hot spots for the table"), [ANY_VECTOR], optional=True)
        self.add(hotspots, "The layer listed in the table; empty: the first vector layer of the map layers.")
        self.add_enum(self.PAGE, "Page size", PAGES, 0, "Paper for the briefing map.")
        self.add_enum(self.ORIENTATION, "Orientation", ORIENTATIONS, 0, "Paper for the briefing map.")
        date = QgsProcessingParameterString(self.DATA_DATE, self.tr("Data date"), "", optional=True)
        self.add(date, "Footer: the date the data run to (empty: today).", advanced=True)
        note = QgsProcessingParameterString(self.NOTE, self.tr("Handling note"), NOTE, optional=True)
        self.add(note, "Footer: the handling or protective marking note.", advanced=True)
        districts = QgsProcessingParameterFeatureSource(
            self.DISTRICTS, self.tr("Districts (one page each)"), [POLYGON_SOURCE], optional=True
        )
        self.add(districts, "Optional polygons: one page per district (an atlas).")
        name = QgsProcessingParameterField(
            self.DISTRICT_FIELD, self.tr("District name field"), parentLayerParameterName=self.DISTRICTS, optional=True
        )
        self.add(name, "Names the district on its page (and its PNG file).")

    def process(self, parameters, context, feedback):
        layers = self.parameterAsLayerList(parameters, self.LAYERS, context)
        if not layers:
            raise QgsProcessingException(self.tr("Choose at least one layer to map."))
        path = self.writer.file_path(self.OUTPUT)
        if os.path.splitext(path)[1].lower() not in (".pdf", ".png"):
            raise QgsProcessingException(self.tr("The briefing map must be a .pdf or a .png file."))
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
            raise QgsProcessingException(self.tr("Cannot write to {}: choose a folder that exists and can be written.").format(folder))
        project = context.project() or QgsProject()
        layout = self._layout(parameters, context, project)
        crs = layers[0].crs()
        map_item = layout.itemById("map")
        map_item.setCrs(crs)
        map_item.setLayers(layers)
        map_item.setExtent(self._extent(parameters, context, layers, crs))
        legend_tree = QgsLayerTree()
        for layer in layers:
            legend_tree.addLayer(layer)
        legend = layout.itemById("legend")
        legend.setAutoUpdateModel(False)
        legend.model().setRootGroup(legend_tree)
        legend.setLegendFilterByMapEnabled(True)  # only the classes the map shows
        legend.setSymbolHeight(3.0)
        scale_bar = layout.itemById("scale_bar")
        scale_bar.setSegmentSizeMode(FIT_WIDTH)
        scale_bar.setMinimumBarWidth(25)
        scale_bar.setMaximumBarWidth(50)
        layout.itemById("north_arrow").setPicturePath(os.path.join(PLUGIN_DIR, "resources", "icons", "north_arrow.svg"))
        layout.itemById("title").setText(self.parameterAsString(parameters, self.TITLE, context))
        layout.itemById("subtitle").setText(self.parameterAsString(parameters, self.SUBTITLE, context))
        data_date = self.parameterAsString(parameters, self.DATA_DATE, context) or date.today().isoformat()
        layout.itemById("footer").setText(self.tr("Data up to {}. Made with Hot Spot Policing for QGIS.").format(data_date))
        layout.itemById("note").setText(self.parameterAsString(parameters, self.NOTE, context) or "")
        districts = self._atlas(parameters, context, layout, path)
        table_layer = self._table(parameters, context, layers, layout, per_district=districts is not None)
        stage(feedback, 0, 50)(1.0)  # the export itself cannot be interrupted: last chance to stop

        pdf = path.lower().endswith(".pdf")
        settings = QgsLayoutExporter.PdfExportSettings() if pdf else QgsLayoutExporter.ImageExportSettings()
        if pdf:
            settings.textRenderFormat = TEXT_AS_TEXT  # searchable, copyable text in the PDF
        else:
            settings.dpi = 150
        if districts is not None:
            if pdf:
                status, _ = QgsLayoutExporter.exportToPdf(layout.atlas(), path, settings)
            else:
                status, _ = QgsLayoutExporter.exportToImage(layout.atlas(), os.path.splitext(path)[0], "png", settings)
        else:
            exporter = QgsLayoutExporter(layout)
            status = exporter.exportToPdf(path, settings) if pdf else exporter.exportToImage(path, settings)
        del table_layer, legend_tree, districts  # kept alive until the export is done
        if status != QgsLayoutExporter.ExportResult.Success:
            raise QgsProcessingException(self.tr("Exporting the briefing map to {} failed (error {}).").format(path, int(status)))
        return {self.OUTPUT: path}

    def _atlas(self, parameters, context, layout, path):
        """Turn the layout into an atlas over the districts, when they are given."""
        source = self.parameterAsSource(parameters, self.DISTRICTS, context)
        if source is None:
            return None
        districts = source.materialize(QgsFeatureRequest())
        if districts.featureCount() == 0:
            raise QgsProcessingException(self.tr("The districts layer has no features."))
        name = self.parameterAsString(parameters, self.DISTRICT_FIELD, context)
        atlas = layout.atlas()
        atlas.setCoverageLayer(districts)
        atlas.setEnabled(True)
        map_item = layout.itemById("map")
        map_item.setAtlasDriven(True)
        map_item.setAtlasMargin(0.08)
        if name:
            label = layout.itemById("title")
            label.setText(label.text() + ': [% "' + name + '" %]')
            atlas.setPageNameExpression(f'"{name}"')
            stem = os.path.basename(os.path.splitext(path)[0]).replace("'", "")
            atlas.setFilenameExpression(f"'{stem}_' || \"{name}\"")
        return districts

    def _layout(self, parameters, context, project):
        page = PAGES[self.parameterAsEnum(parameters, self.PAGE, context)].lower()
        orientation = ORIENTATIONS[self.parameterAsEnum(parameters, self.ORIENTATION, context)].lower()
        template = os.path.join(PLUGIN_DIR, "resources", "layouts", f"briefing_{page}_{orientation}.qpt")
        document = QDomDocument()
        with open(template, encoding="utf-8") as handle:
            document.setContent(handle.read())
        layout = QgsPrintLayout(project)
        layout.loadFromTemplate(document, QgsReadWriteContext())
        return layout

    def _extent(self, parameters, context, layers, crs):
        if self.parameterAsString(parameters, self.EXTENT, context):
            return self.parameterAsExtent(parameters, self.EXTENT, context, crs)
        extent = QgsRectangle()
        for layer in layers:
            box = QgsCoordinateTransform(layer.crs(), crs, context.transformContext()).transformBoundingBox(layer.extent())
            extent.combineExtentWith(box)
        extent.scale(1.05)
        return extent

    def _table(self, parameters, context, layers, layout, per_district=False):
        """A small memory layer holding the top rows, in order, shown by the layout's table;
        per district it holds every hot spot (with its geometry) and the table shows the top
        ones inside the district of the page."""
        top_n = self.parameterAsInt(parameters, self.TOP_N, context)
        source, layer, value = self.reader.source(self.HOTSPOTS), None, parameters.get(self.HOTSPOTS)
        if source is None:
            layer = next((item for item in layers if isinstance(item, QgsVectorLayer)), None)
            source, value = (QgsProcessingFeatureSource(layer, context) if layer is not None else None), None
        else:
            layer = self.parameterAsVectorLayer(parameters, self.HOTSPOTS, context)
        frame = layout.itemById("table_frame")
        if source is None or top_n == 0:
            frame.setVisibility(False)
            return None
        names = source.fields().names()
        columns = [
            (header, next(f for f in candidates if f in names)) for header, candidates in COLUMNS if any(f in names for f in candidates)
        ]
        wanted = list(dict.fromkeys([f for _, f in columns] + [f for f in RANK_BY if f in names]))
        hotspots = read(source, layer, value, source.sourceCrs(), context, wanted, keep=per_district)
        rank_by = next((field for field in RANK_BY if field in names), None)
        order = np.arange(len(hotspots))
        if rank_by is not None:
            rank = hotspots.numbers(rank_by)
            key = rank if rank_by == "priority_rank" else -rank
            order = np.lexsort((key, np.isnan(key)))  # NULL ranks last
        if not per_district:
            order = order[:top_n]
        values = [[("" if v is None else str(v)) for v in np.array(hotspots.values(f), dtype=object)[order]] for _, f in columns]
        table_layer = memory_layer(
            "top hot spots",
            [Column(header.replace(" ", "_"), "string", v) for (header, _), v in zip(columns, values)],
            geometry=[hotspots.wkb[i] for i in order] if per_district else None,
            wkb_type=source.wkbType() if per_district else QgsWkbTypes.Type.NoGeometry,
            crs=source.sourceCrs() if per_district else None,
        )
        table = frame.multiFrame()
        table.setVectorLayer(table_layer)
        table.setMaximumNumberOfFeatures(top_n)
        table.setFilterToAtlasFeature(per_district)
        headed = table.columns()
        for column, (header, _) in zip(headed, columns):
            column.setHeading(header)
        table.setColumns(headed)
        table.refresh()
        return table_layer
