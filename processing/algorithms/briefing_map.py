"""hotspotpolicing:briefingmap: a one-page briefing map (PDF or PNG) from a layout template."""

import os
import re

import numpy as np
from osgeo import gdal
from qgis.core import (
    Qgis,
    QgsCoordinateTransform,
    QgsExpression,
    QgsFeatureRequest,
    QgsFillSymbol,
    QgsGeometry,
    QgsLayerTree,
    QgsLayoutExporter,
    QgsLayoutItemPicture,
    QgsLayoutPoint,
    QgsLayoutSize,
    QgsLayoutTable,
    QgsLegendStyle,
    QgsLineSymbol,
    QgsMapLayerLegendUtils,
    QgsMarkerSymbol,
    QgsPalLayerSettings,
    QgsPrintLayout,
    QgsProcessingException,
    QgsProcessingFeatureSource,
    QgsProcessingMultiStepFeedback,
    QgsProcessingParameterExtent,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterField,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterMultipleLayers,
    QgsProcessingParameterString,
    QgsProcessingUtils,
    QgsProject,
    QgsProperty,
    QgsRasterLayer,
    QgsReadWriteContext,
    QgsRectangle,
    QgsRenderContext,
    QgsRuleBasedRenderer,
    QgsScaleBarSettings,
    QgsSingleSymbolRenderer,
    QgsTextBackgroundSettings,
    QgsTextBufferSettings,
    QgsTextFormat,
    QgsVectorLayer,
    QgsVectorLayerSimpleLabeling,
    QgsWkbTypes,
)
from qgis.PyQt import sip
from qgis.PyQt.QtCore import QSize, QSizeF, Qt, QThread
from qgis.PyQt.QtGui import QColor, QFont
from qgis.PyQt.QtXml import QDomDocument

from .. import provenance
from ..compat import ANY_VECTOR, LINE_GEOMETRY, POINT_GEOMETRY, POLYGON_GEOMETRY, POLYGON_SOURCE
from ..layers import POLYGONS, latest_time, read
from ..places import name_field, near_crossings, place_names, street_field, street_network
from ..sinks import Column, memory_layer
from ..styles import apply_style, band_description, field_named, has_own_style, recognised_style
from .aoristic import heat_grid, profile_table
from .base import PLUGIN_DIR, HotspotAlgorithm, stage

DISPLAY = Qt.ItemDataRole.DisplayRole
WRAP_TEXT = getattr(getattr(Qgis, "LayoutTableWrapBehavior", None), "WrapText", None) or QgsLayoutTable.WrapBehavior.WrapText
PLACEMENT = getattr(Qgis, "LabelPlacement", None) or QgsPalLayerSettings.Placement
EMPTY_MESSAGE = getattr(getattr(Qgis, "LayoutTableEmptyBehavior", None), "ShowMessage", None) or QgsLayoutTable.EmptyTableMode.ShowMessage
CIRCLE = getattr(getattr(Qgis, "TextBackgroundShape", None), "Circle", None) or QgsTextBackgroundSettings.ShapeType.ShapeCircle
PAGES = ("A4", "Letter")
ORIENTATIONS = ("Landscape", "Portrait")
NOTE = "OFFICIAL-SENSITIVE: for police briefing only. Do not copy or share outside the force."
# Table columns after Rank and Place: (header, candidate fields in the hot spot layer, first found wins)
COLUMNS = (
    ("Pattern", ("PATTERN",)),
    ("Incidents", ("incident_count", "INCIDENT_COUNT", "count")),
    ("Harm", ("weight_sum",)),
    ("Minutes per shift", ("minutes_per_shift",)),
)
RANK_BY = ("priority_rank", "PATTERN_CODE", "incident_count", "weight_sum", "GiZScore")
# Emerging hot spot patterns in the order a briefing lists them: what needs attention now first
PATTERN_ORDER = (1, 3, 2, 4, 7, 6, 5, 8)
TEXT_AS_TEXT = (
    getattr(getattr(Qgis, "TextRenderFormat", None), "AlwaysText", None) or QgsRenderContext.TextRenderFormat.TextFormatAlwaysText
)
FIT_WIDTH = (
    getattr(getattr(Qgis, "ScaleBarSegmentSizeMode", None), "FitWidth", None) or QgsScaleBarSettings.SegmentSizeMode.SegmentSizeFitWidth
)
LEGEND_TEXT = (QgsLegendStyle.Style.Title, QgsLegendStyle.Style.Group, QgsLegendStyle.Style.Subgroup, QgsLegendStyle.Style.SymbolLabel)


class BriefingMap(HotspotAlgorithm, name="briefingmap", group="maps"):
    LAYERS, TITLE, SUBTITLE, EXTENT, TOP_N, OUTPUT = "LAYERS", "TITLE", "SUBTITLE", "EXTENT", "TOP_N", "OUTPUT"
    HOTSPOTS, PAGE, ORIENTATION, DATA_DATE, NOTE, DISTRICTS = "HOTSPOTS", "PAGE", "ORIENTATION", "DATA_DATE", "NOTE", "DISTRICTS"
    DISTRICT_FIELD, HOUR_PROFILE = "DISTRICT_FIELD", "HOUR_PROFILE"

    DISPLAY_NAME = "Briefing map (PDF or PNG)"
    TAGS = "briefing,map,pdf,png,print,layout,export,patrol,roll call"
    HELP = (
        "<p>Where should patrols go this shift, and why? One page for the briefing: the map of the "
        "chosen layers with the top hot spots numbered on it, the same numbers in a table beside it "
        "(rank, place, incidents, harm and planned minutes, as far as the layer has them), legend, "
        "scale bar, north arrow, the date the data run to and a handling note.</p>"
        "<p><b>What the page shows.</b> Layers styled in the project keep their style; a result of "
        "this plugin without one (hot spots, density, counted segments, a patrol plan) gets its "
        "default style, and other layers a quiet one (grey streets, outlined areas, small dots). A "
        "patrol plan is drawn on top in dark purple (areas with a black outline), a colour no hot spot "
        "class uses, also for colour-blind readers; then points, lines, areas and rasters, so streets stay "
        "visible over translucent hot spots. Streets are labelled with their names. The scale bar and "
        "north arrow sit under the map, the legend and table beside it; a long legend wraps into two "
        "columns and shrinks to stay on the page.</p>"
        "<p><b>Places and dates.</b> A street segment is named by its cross streets ('15th Avenue "
        "between Elm St and Oak St'); an area by its own name field, else by the nearest crossing of "
        "the streets on the map ('near 5th Avenue / Elm St'); never by an id number. 'Data up to' is "
        "the latest incident date behind the layers (recorded with this plugin's results, or a date "
        "field of a point layer on the map), not today; the Data date field overrides it.</p>"
        "<p><b>The table.</b> It lists the top features (Hot spots in the table) of 'Hot spots for the "
        "table', by default the patrol plan among the map layers, else the first vector layer: by "
        "priority rank, or else by incidents, harm or Gi* z-score.</p>"
        "<p><b>One page per district.</b> With Districts, the map zooms to each district in turn, draws "
        "its boundary, the title names it and the table lists the top hot spots inside it: one "
        "multi-page PDF, or one PNG per district named after it. The name comes from District name "
        "field, else from a text field that tells the districts apart.</p>"
        "<p>The page comes from a print layout template in the plugin's resources/layouts (A4 or "
        "Letter, landscape or portrait); edit those in QGIS's layout designer to change the look. No "
        "basemap is needed: the map renders offline.</p>"
    )

    def initAlgorithm(self, config=None):
        layers = QgsProcessingParameterMultipleLayers(self.LAYERS, self.tr("Map layers"))
        self.add(
            layers,
            "The layers to draw, e.g. a patrol plan, hot spots and streets: the plan on top, then points, lines, areas and "
            "rasters, each kind in the order given.",
        )
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
        self.add(hotspots, "The layer listed in the table; empty: the patrol plan among the map layers, else the first vector layer.")
        self.add_enum(self.PAGE, "Page size", PAGES, 0, "Paper for the briefing map.")
        self.add_enum(self.ORIENTATION, "Orientation", ORIENTATIONS, 0, "Paper for the briefing map.")
        date = QgsProcessingParameterString(self.DATA_DATE, self.tr("Data date"), "", optional=True)
        self.add(date, "Footer: the date the data run to (empty: the latest incident date behind the layers).", advanced=True)
        note = QgsProcessingParameterString(self.NOTE, self.tr("Handling note"), NOTE, optional=True)
        self.add(note, "Footer: the handling or protective marking note.", advanced=True)
        districts = QgsProcessingParameterFeatureSource(
            self.DISTRICTS, self.tr("Districts (one page each)"), [POLYGON_SOURCE], optional=True
        )
        self.add(districts, "Optional polygons: one page per district (an atlas).")
        name = QgsProcessingParameterField(
            self.DISTRICT_FIELD, self.tr("District name field"), parentLayerParameterName=self.DISTRICTS, optional=True
        )
        self.add(
            name,
            "Names the district on its page (and its PNG file); empty: a text field that names every district apart (never an id number).",
        )
        profile = QgsProcessingParameterFeatureSource(self.HOUR_PROFILE, self.tr("When: weekday x hour table"), [ANY_VECTOR], optional=True)
        self.add(profile, "Optional: the OUTPUT_TABLE of 'When: weekday x hour profiles' for the places on the map, drawn as a grid.")

    def prepareAlgorithm(self, parameters, context, feedback):  # noqa: N802 - QGIS API
        """On the main thread, before a background run: copies of the layers to draw, so that the
        run never touches (or restyles) the project's own layers from another thread."""
        own = set(context.project().mapLayers()) if context.project() is not None else set()
        self.given, self.copies = [], []
        for layer in self.parameterAsLayerList(parameters, self.LAYERS, context):
            copy = layer.clone()
            copy.moveToThread(None)  # process() pulls it into the thread it runs in
            self.copies.append(copy)
            self.given.append((copy, provenance.of_layer(layer), layer.id() in own))
        return True

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 - QGIS API
        try:
            return super().processAlgorithm(parameters, context, feedback)
        finally:  # the copies go with the run, even when a refusal or an error leaves them in a traceback
            for layer in getattr(self, "copies", []):
                if not sip.isdeleted(layer):
                    layer.moveToThread(QThread.currentThread())
                    sip.delete(layer)
            self.given, self.copies = [], []

    def process(self, parameters, context, feedback):
        given, self.given = getattr(self, "given", []), []
        for layer, _, _ in given:  # ours from here: a refusal below leaves ordinary layers to delete
            layer.moveToThread(QThread.currentThread())
        if not given:
            raise QgsProcessingException(self.tr("Choose at least one layer to map."))
        if os.path.splitext(self.parameterAsFileOutput(parameters, self.OUTPUT, context))[1].lower() not in (".pdf", ".png"):
            raise QgsProcessingException(self.tr("The briefing map must be a .pdf or a .png file."))
        path = self.writer.file_path(self.OUTPUT)  # from here on a failed run removes it
        records = {}
        for layer, record, in_project in given:
            styled(layer, record, in_project)
            records[layer.id()] = record
        layers = sorted((layer for layer, _, _ in given), key=drawing_order)
        stage(feedback, 0, 50)(0.2)
        project = QgsProject()  # the layout's own: the user's project is never changed
        project.setMetadata(self._document_metadata(parameters, context, project))
        layout = self._layout(parameters, context, project)
        crs = layers[0].crs()
        map_item = layout.itemById("map")
        map_item.setCrs(crs)
        map_item.setExtent(fit_to_frame(self._extent(parameters, context, layers, crs), map_item.rect()))
        layout.itemById("title").setText(literal(self.parameterAsString(parameters, self.TITLE, context)))
        layout.itemById("subtitle").setText(literal(self.parameterAsString(parameters, self.SUBTITLE, context)))
        data_date = self.parameterAsString(parameters, self.DATA_DATE, context) or data_date_of(layers, records.values())
        footer = self.tr("Data up to {}.") if data_date else self.tr("Data date not recorded{}.")
        layout.itemById("footer").setText(literal(footer.format(data_date or "") + " " + self.tr("Made with Hot Spot Policing for QGIS.")))
        layout.itemById("note").setText(literal(self.parameterAsString(parameters, self.NOTE, context) or ""))
        layout.itemById("north_arrow").setPicturePath(os.path.join(PLUGIN_DIR, "resources", "icons", "north_arrow.svg"))
        scale_bar = layout.itemById("scale_bar")
        scale_bar.setSegmentSizeMode(FIT_WIDTH)
        scale_bar.setMinimumBarWidth(25)
        scale_bar.setMaximumBarWidth(50)
        districts = self._atlas(parameters, context, layout, path)
        boundaries = [outlined(districts)] if districts is not None else []
        legend_tree = fill_legend(layout.itemById("legend"), boundaries + layers, records, self.tr)
        when = self._hour_grid(layout)
        table_layer, ranks = self._table(parameters, context, layers, layout, districts)
        stage(feedback, 0, 50)(0.6)
        map_item.setLayers(([ranks] if ranks is not None else []) + boundaries + layers)  # top first
        fit_side_column(layout, layout.itemById("table_frame") if table_layer is not None else None)
        stage(feedback, 0, 50)(1.0)
        status, written = self._export(layout, path, districts, QgsProcessingMultiStepFeedback(2, feedback))
        del table_layer, ranks, legend_tree, districts, boundaries, layers, given  # kept alive until the export is done
        if when is not None:
            os.remove(when)
        stage(feedback, 50, 100)(1.0)  # cancelled during the export: what was written is removed
        if status != QgsLayoutExporter.ExportResult.Success:
            raise QgsProcessingException(self.tr("Exporting the briefing map to {} failed (error {}).").format(path, int(status)))
        if not path.lower().endswith(".pdf"):  # a PNG has no properties to hold the provenance: a .json beside it
            for page in written:
                with open(page + ".json", "w", encoding="utf-8") as handle:
                    handle.write(provenance.as_json(self.writer.provenance()))
        if len(written) > 1:
            feedback.pushInfo(self.tr("Wrote {} pages: {}").format(len(written), ", ".join(written)))
        return {self.OUTPUT: written[0]}

    def _export(self, layout, path, districts, feedback):
        """Write the page (or, with districts, page after page, which Cancel can stop): the
        export's status and the files written."""
        feedback.setCurrentStep(1)  # the second half of the progress
        pdf = path.lower().endswith(".pdf")
        settings = QgsLayoutExporter.PdfExportSettings() if pdf else QgsLayoutExporter.ImageExportSettings()
        if pdf:
            settings.textRenderFormat = TEXT_AS_TEXT  # searchable, copyable text in the PDF
            settings.exportMetadata = True  # title and provenance in the PDF's properties
        else:
            settings.dpi = 150
        # QGIS tries to georeference a PNG through GDAL, whose PNG driver cannot update a file:
        # a harmless "ERROR 6" on the console that users take for a failure. Keep it quiet.
        gdal.PushErrorHandler("CPLQuietErrorHandler")
        try:
            if districts is None:
                exporter = QgsLayoutExporter(layout)
                return (exporter.exportToPdf(path, settings) if pdf else exporter.exportToImage(path, settings)), [path]
            if pdf:
                return QgsLayoutExporter.exportToPdf(layout.atlas(), path, settings, feedback)[0], [path]
            status, _ = QgsLayoutExporter.exportToImage(layout.atlas(), os.path.splitext(path)[0], "png", settings, feedback)
            return status, self._atlas_pages(layout, path)
        finally:
            gdal.PopErrorHandler()

    def _hour_grid(self, layout):
        """The weekday x hour grid of HOUR_PROFILE (all its places together) at the foot of
        the legend's column; returns the picture's temporary file (None without a profile)."""
        profile = profile_table(self.reader, self.HOUR_PROFILE)
        if profile is None:
            return None
        path = QgsProcessingUtils.generateTempFilename("when.png")
        chart = heat_grid(profile[1].sum(axis=0), self.tr("When: share of incidents by weekday and hour"))
        chart.savefig(path, dpi=200)
        legend, footer = layout.itemById("legend"), layout.itemById("footer")
        page = layout.pageCollection().page(0).pageSize()
        width = page.width() - 10 - legend.pos().x()
        height = width * 2.8 / 8
        picture = QgsLayoutItemPicture(layout)
        picture.setId("hour_grid")
        picture.setPicturePath(path)
        picture.setResizeMode(QgsLayoutItemPicture.ResizeMode.Zoom)
        layout.addLayoutItem(picture)
        picture.attemptMove(QgsLayoutPoint(legend.pos().x(), footer.pos().y() - 3 - height))
        picture.attemptResize(QgsLayoutSize(width, height))
        return path

    def _document_metadata(self, parameters, context, project):
        """The PDF's title, author and subject: the map's title and this run's provenance."""
        metadata = project.metadata()
        metadata.setTitle(self.parameterAsString(parameters, self.TITLE, context))
        metadata.setAuthor("Hot Spot Policing for QGIS")
        metadata.setAbstract(provenance.as_text(self.writer.provenance()))
        return metadata

    def _atlas_pages(self, layout, path):
        """The files an atlas export wrote, page by page, recorded so a failed run removes them."""
        atlas, pages = layout.atlas(), []
        atlas.beginRender()
        for page in range(atlas.count()):
            atlas.seekTo(page)
            name = os.path.join(os.path.dirname(path), atlas.currentFilename() + ".png")
            self.writer.written.append((name, name))
            pages.append(name)
        atlas.endRender()
        return pages

    def _atlas(self, parameters, context, layout, path):
        """Turn the layout into an atlas over the districts, when they are given; the title
        names each district by DISTRICT_FIELD, else by a text field that tells them apart."""
        source = self.reader.source(self.DISTRICTS, needs=POLYGONS)
        if source is None:
            return None
        districts = source.materialize(QgsFeatureRequest())
        if districts.featureCount() == 0:
            raise QgsProcessingException(self.tr("The districts layer has no features."))
        districts.setName(self.tr("District boundary"))
        name = self.parameterAsString(parameters, self.DISTRICT_FIELD, context) or name_field(districts)
        atlas = layout.atlas()
        atlas.setCoverageLayer(districts)
        atlas.setEnabled(True)
        map_item = layout.itemById("map")
        map_item.setAtlasDriven(True)
        map_item.setAtlasMargin(0.08)
        if name:
            self.reader.feedback.pushInfo(self.tr("Districts named by their field '{}'.").format(name))
            column = QgsExpression.quotedColumnRef(name)
            label = layout.itemById("title")
            label.setText(label.text() + f": [% {column} %]")
            atlas.setPageNameExpression(column)
            # file names from the data: only letters, digits, - and _ (no folders, no quotes), and
            # numbered when two districts would otherwise share one
            safe = f"regexp_replace(to_string({column}), '[^A-Za-z0-9_-]+', '_')"
            names = [re.sub(r"[^A-Za-z0-9_-]+", "_", str(f[name])) for f in districts.getFeatures()]
            if len(set(names)) < len(names):
                safe += " || '_' || to_string(@atlas_featurenumber)"
            stem = re.sub(r"[^A-Za-z0-9_-]+", "_", os.path.basename(os.path.splitext(path)[0]))
            atlas.setFilenameExpression(f"{QgsExpression.quotedString(stem + '_')} || {safe}")
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

    def _street_network(self, layers, context, crs):
        """The largest named line layer on the map, cut at its junctions, to find cross streets."""
        named = [layer for layer in layers if isinstance(layer, QgsVectorLayer) and layer.geometryType() == LINE_GEOMETRY]
        named = [layer for layer in named if street_field(layer.fields())]
        if not named:
            return None
        layer = max(named, key=lambda item: item.featureCount())
        name = street_field(layer.fields())
        return street_network(read(QgsProcessingFeatureSource(layer, context), layer, None, crs, context, [name]), name)

    def _places(self, hotspots, source, layers, context):
        """What to call each hot spot, as people know the place: a street segment by its cross
        streets; an area by its own name field, else by the nearest street crossing on the map;
        None when there is nothing but an id to go by."""
        street, own = street_field(hotspots.fields), name_field(source, unique=False, names_only=True)
        if street is not None and QgsWkbTypes.geometryType(hotspots.wkb_type) == LINE_GEOMETRY:
            return place_names(hotspots, self._street_network(layers, context, hotspots.crs))
        if own is not None:
            return ["" if value is None else str(value) for value in hotspots.values(own)]
        network = self._street_network(layers, context, hotspots.crs)
        return near_crossings(*hotspots.centroids(), network) if network is not None else None

    def _table(self, parameters, context, layers, layout, districts):
        """A small memory layer holding the top rows, in order, shown by the layout's table, and a
        point layer of their rank numbers for the map. Per district the table holds every hot spot
        (with its geometry) and shows the top ones inside the district of the page; the map shows
        the numbers of those."""
        top_n = self.parameterAsInt(parameters, self.TOP_N, context)
        source, layer, value = self.reader.source(self.HOTSPOTS), None, parameters.get(self.HOTSPOTS)
        if source is None:
            vectors = [item for item in layers if isinstance(item, QgsVectorLayer)]
            layer = next((item for item in vectors if is_plan(item)), vectors[0] if vectors else None)
            source, value = (QgsProcessingFeatureSource(layer, context) if layer is not None else None), None
        else:
            layer = self.parameterAsVectorLayer(parameters, self.HOTSPOTS, context)
        frame = layout.itemById("table_frame")
        if source is None or top_n == 0:
            frame.setVisibility(False)
            return None, None
        names = source.fields().names()
        columns = [
            (header, next(f for f in candidates if f in names)) for header, candidates in COLUMNS if any(f in names for f in candidates)
        ]
        wanted = [f for _, f in columns] + [f for f in RANK_BY if f in names]
        wanted += [f for f in (street_field(source.fields()), name_field(source, unique=False, names_only=True)) if f]
        hotspots = read(source, layer, value, source.sourceCrs(), context, list(dict.fromkeys(wanted)), keep=True)
        rank_by = next((field for field in RANK_BY if field in names), None)
        order, ranks = np.arange(len(hotspots)), None
        if rank_by is not None:
            rank = hotspots.numbers(rank_by)
            key = rank if rank_by == "priority_rank" else -rank
            if rank_by == "PATTERN_CODE":  # by pattern, then by incidents within a pattern
                order_of = {code: position for position, code in enumerate(PATTERN_ORDER)}
                urgency = np.array([order_of.get(code, len(PATTERN_ORDER)) for code in rank])
                key = urgency * 1e12 - np.nan_to_num(hotspots.numbers("INCIDENT_COUNT") if "INCIDENT_COUNT" in names else 0)
            order = np.lexsort((key, np.isnan(key)))  # NULL ranks last
            if rank_by == "priority_rank":  # a plan: its ranked (patrolled) places, numbered as planned
                order = order[~np.isnan(rank[order])]
                ranks = rank[order].astype(int)
        if ranks is None:
            ranks = np.arange(1, len(order) + 1)
        if "weight_sum" in wanted and "incident_count" in wanted:
            if np.array_equal(hotspots.numbers("weight_sum"), hotspots.numbers("incident_count"), equal_nan=True):
                columns = [(header, f) for header, f in columns if f != "weight_sum"]  # no weight field: the "harm" is the count again
        rows = order if districts is not None else order[:top_n]
        headers = ["Rank"] + [header for header, _ in columns]
        values = [[f"{r:,}" for r in ranks[: len(rows)]]] + [
            [readable(v) for v in np.array(hotspots.values(f), dtype=object)[rows]] for _, f in columns
        ]
        places = self._places(hotspots, source, layers, context)
        if places is not None:
            headers.insert(1, "Place")
            values.insert(1, np.array(places, dtype=object)[rows].tolist())
        table_layer = memory_layer(
            "top hot spots",
            [Column(header.replace(" ", "_"), "string", v) for header, v in zip(headers, values)],
            geometry=[hotspots.wkb[i] for i in rows] if districts is not None else None,
            wkb_type=source.wkbType() if districts is not None else QgsWkbTypes.Type.NoGeometry,
            crs=source.sourceCrs() if districts is not None else None,
        )
        table = frame.multiFrame()
        table.setVectorLayer(table_layer)
        table.setMaximumNumberOfFeatures(top_n)
        table.setFilterToAtlasFeature(districts is not None)
        table.setWrapBehavior(WRAP_TEXT)
        table.setEmptyTableBehavior(EMPTY_MESSAGE)
        table.setEmptyTableMessage(self.tr("None in this district.") if districts is not None else self.tr("None."))
        headed = table.columns()
        for column, header in zip(headed, headers):
            column.setHeading(header)
        table.setColumns(headed)
        shown = rows_per_district(districts, hotspots, rows, top_n, context) if districts is not None else {None: range(len(rows))}
        return table_layer, rank_labels(hotspots, rows, values[0], shown)


def styled(layer, record, in_project):
    """Make a copy of a layer look as the briefing draws it. A layer someone styled keeps its
    look; a file Processing opened by path first gets the style stored with it; a result of
    this plugin still without a style gets its default style, anything else a quiet one. A
    patrol plan gets a black outline, a street network its names."""
    if not in_project and isinstance(layer, (QgsVectorLayer, QgsRasterLayer)):
        layer.loadDefaultStyle()  # Processing opens file inputs without their stored style
    style = recognised_style(layer, record)
    if not has_own_style(layer):
        if style is not None:
            apply_style(layer, style, record)
        elif isinstance(layer, QgsVectorLayer):
            quiet(layer)
    if is_plan(layer) and layer.geometryType() == POLYGON_GEOMETRY:
        renderer = layer.renderer()
        for i, category in enumerate(getattr(renderer, "categories", list)()):
            symbol = category.symbol().clone()
            symbol.symbolLayer(0).setStrokeColor(QColor("#000000"))  # patrol cells stand out whatever lies beneath
            symbol.symbolLayer(0).setStrokeWidth(0.5)
            symbol.setOpacity(1.0)
            renderer.updateCategorySymbol(i, symbol)
    if is_street_network(layer, style) and not layer.labelsEnabled():
        label_streets(layer)
    return layer


def quiet(layer):
    """A layer nobody styled that is no result (streets, districts, incidents): grey streets,
    outlined areas, small translucent dots; never a random colour over the hot spots."""
    kind = layer.geometryType()
    if kind == POLYGON_GEOMETRY:
        symbol = QgsFillSymbol.createSimple({"style": "no", "outline_color": "#4d4d4d", "outline_width": "0.35"})
    elif kind == LINE_GEOMETRY:
        symbol = QgsLineSymbol.createSimple({"color": "#737373", "width": "0.3"})
    elif kind == POINT_GEOMETRY:
        symbol = QgsMarkerSymbol.createSimple({"name": "circle", "color": "#525252", "size": "0.7", "outline_style": "no"})
        symbol.setOpacity(0.5)
    else:
        return
    layer.setRenderer(QgsSingleSymbolRenderer(symbol))


def drawing_order(layer):
    """Top first: the plan, then points, lines, areas and rasters, each as given: streets are
    seen over the hot spots, and no filled area hides a point."""
    if is_plan(layer):
        return 0
    if not isinstance(layer, QgsVectorLayer):
        return 4
    return {POINT_GEOMETRY: 1, LINE_GEOMETRY: 2}.get(layer.geometryType(), 3)


def is_plan(layer):
    return isinstance(layer, QgsVectorLayer) and all(field_named(layer, name) for name in ("priority_rank", "visits_per_shift"))


def is_street_network(layer, style):
    """Plain street centre-lines with names (no result of this plugin)."""
    return isinstance(layer, QgsVectorLayer) and layer.geometryType() == LINE_GEOMETRY and style is None and street_field(layer.fields())


def label_streets(layer):
    """Street names along the streets, small and grey with a white halo, below the rank numbers."""
    settings = QgsPalLayerSettings()
    settings.fieldName = street_field(layer.fields())
    settings.setFormat(text_format(6.0, "#333333", bold=False))
    settings.placement = PLACEMENT.Line
    settings.lineSettings().setMergeLines(True)  # one name per street, not one per piece
    settings.obstacleSettings().setIsObstacle(False)  # on a dense grid every name would cross a street, and none be placed
    settings.priority = 3
    layer.setLabeling(QgsVectorLayerSimpleLabeling(settings))
    layer.setLabelsEnabled(True)


def text_format(size, colour, bold):
    text = QgsTextFormat()
    font = QFont()
    font.setBold(bold)
    text.setFont(font)
    text.setSize(size)
    text.setColor(QColor(colour))
    halo = QgsTextBufferSettings()
    halo.setEnabled(True)
    halo.setSize(0.8)
    halo.setColor(QColor("#ffffff"))
    text.setBuffer(halo)
    return text


def rows_per_district(districts, hotspots, rows, top_n, context):
    """{district feature id: positions in ``rows`` of the top ``top_n`` hot spots that meet it},
    as the table shows them on that district's page."""
    transform = QgsCoordinateTransform(districts.crs(), hotspots.source_crs or hotspots.crs, context.transformContext())
    shapes = [QgsGeometry() for _ in rows]
    for shape, row in zip(shapes, rows):
        shape.fromWkb(hotspots.wkb[row])
    shown = {}
    for district in districts.getFeatures():
        area = QgsGeometry(district.geometry())
        area.transform(transform)
        engine = QgsGeometry.createGeometryEngine(area.constGet())
        engine.prepareGeometry()
        inside = (i for i, shape in enumerate(shapes) if engine.intersects(shape.constGet()))
        shown[district.id()] = [i for _, i in zip(range(top_n), inside)]
    return shown


def rank_labels(hotspots, rows, ranks, shown):
    """A point layer of the table's rank numbers, each on its place: black on a white disc,
    beside the place so its colour stays visible. ``shown``: {district id (None without
    districts): positions in ``rows``}; on a district's page only that district's numbers show."""
    picked = [(district, i) for district, positions in shown.items() for i in positions]
    places = []
    for _, i in picked:
        shape = QgsGeometry()
        shape.fromWkb(hotspots.wkb[rows[i]])
        places.append(shape.pointOnSurface().asWkb())
    layer = memory_layer(
        "ranks",
        [
            Column("rank", "string", [ranks[i] for _, i in picked]),
            Column("district", "int", [d if d is not None else -1 for d, _ in picked]),
        ],
        geometry=places,
        wkb_type=QgsWkbTypes.Type.Point,
        crs=hotspots.source_crs or hotspots.crs,
    )
    layer.setRenderer(QgsSingleSymbolRenderer(QgsMarkerSymbol.createSimple({"name": "circle", "size": "0", "outline_style": "no"})))
    text = text_format(7.0, "#000000", bold=True)
    text.buffer().setEnabled(False)
    disc = QgsTextBackgroundSettings()
    disc.setEnabled(True)
    disc.setType(CIRCLE)
    disc.setSize(QSizeF(0.5, 0.5))
    disc.setFillColor(QColor("#ffffff"))
    disc.setStrokeColor(QColor("#000000"))
    disc.setStrokeWidth(0.3)
    text.setBackground(disc)
    settings = QgsPalLayerSettings()
    settings.fieldName = "rank"
    settings.setFormat(text)
    settings.placement = PLACEMENT.OrderedPositionsAroundPoint
    settings.dist = 0.5
    settings.priority = 10
    settings.displayAll = True  # every number shows, even where labels crowd
    if None not in shown:
        settings.dataDefinedProperties().setProperty(
            QgsPalLayerSettings.Property.Show, QgsProperty.fromExpression('"district" = @atlas_featureid')
        )
    layer.setLabeling(QgsVectorLayerSimpleLabeling(settings))
    layer.setLabelsEnabled(True)
    return layer


def outlined(districts):
    """The districts as outlines: the page's own district bold, its neighbours thin."""
    root = QgsRuleBasedRenderer.Rule(None)
    for label, expression, colour, width in (
        ("This district", "@atlas_featureid = $id", "#000000", "1.0"),
        ("Other districts", "ELSE", "#8c8c8c", "0.3"),
    ):
        symbol = QgsFillSymbol.createSimple({"style": "no", "outline_color": colour, "outline_width": width})
        root.appendChild(
            QgsRuleBasedRenderer.Rule(symbol, 0, 0, expression if expression != "ELSE" else "", label, "", expression == "ELSE")
        )
    districts.setRenderer(QgsRuleBasedRenderer(root))
    return districts


def readable(value):
    """A table cell as people read it: 1,234 and 12.5, never 1.2e+03; blank for NULL."""
    if value is None or isinstance(value, str):
        return value or ""
    if isinstance(value, (bool, np.bool_)):
        return str(value)
    number = float(value)
    if not np.isfinite(number):
        return ""
    return f"{number:,.0f}" if number.is_integer() or abs(number) >= 100 else f"{number:,.1f}"


def weighted(record):
    """Whether a result is about harm (a weight field, or a harm or weight sum analysed)."""
    values = (record or {}).get("parameters", {})
    weight = str(values.get("WEIGHT_FIELD", "") or "")
    field = str(values.get("FIELD", "") or "").lower()
    return weight not in ("", "None") or field in ("weight_sum", "harm") or "harm" in field


def legend_name(layer, record):
    """A layer's name in the legend, in plain words: what it shows, harm or incidents, units."""
    style = recognised_style(layer, record)
    harm = weighted(record)
    what = "harm" if harm else "incidents"
    if style == "density":
        units = ((record or {}).get("choices") or {}).get("units") or band_description(layer)
        return f"{'Harm' if harm else 'Incident'} density ({units or 'per map unit²'})"
    if style == "gi_bin":
        places = "streets" if layer.geometryType() == LINE_GEOMETRY else "spots"
        return f"Hot and cold {places} of {what} (Gi*)"
    if style == "cotype":
        return f"Clusters and outliers of {what} (Local Moran's I)"
    if style == "segments":
        return "Incidents per street segment"  # the style grades incident_count, even when harm was summed too
    if style == "dosage":
        return "Patrol plan, numbered as in the table"
    if style == "emerging":
        return f"Trends of {what} hot spots (emerging hot spot analysis)"
    if style == "change":
        return f"Change in {what} per place (significant rises and falls)"
    if style == "network_density":
        return f"{'Harm' if harm else 'Incidents'} per km of street (network density)"
    if style == "cube":
        return f"Hot and cold spots of {what} per time step (Gi*)"
    if is_street_network(layer, style):
        return "Streets"
    name = layer.name()
    path, _, options = layer.source().partition("|")
    table = next((o.split("=", 1)[1] for o in options.split("|") if o.startswith("layername=")), None)
    if table and name == os.path.splitext(os.path.basename(path))[0]:  # opened by path: the file's name says less than the table's
        name = table
    name = name.replace("_", " ").strip()
    return name[:1].upper() + name[1:]


def data_date_of(layers, records):
    """The latest incident date behind the map: recorded in the results' provenance, else in
    a date field of a point layer drawn (the incidents); "" when neither knows."""
    dates = [i.get("latest_time") for record in records if record for i in record.get("inputs", [])]
    if not any(dates):
        dates = [latest_time(layer) for layer in layers if isinstance(layer, QgsVectorLayer) and layer.geometryType() == POINT_GEOMETRY]
    dates = [d for d in dates if d]
    return max(dates)[:10] if dates else ""


def literal(text):
    """Text a layout label prints exactly as written: labels evaluate [% ... %] as expressions
    (a title could print the analyst's login), so the whole text becomes one quoted string,
    with any '[%' or '%]' inside split across two strings (the label would end it there)."""
    if not text:
        return ""
    quoted = QgsExpression.quotedString(text).replace("[%", "[' || '%").replace("%]", "%' || ']")
    return f"[% {quoted} %]"


def small_text(text, size, bold):
    text = QgsTextFormat(text)
    font = text.font()
    font.setBold(bold)
    text.setFont(font)
    text.setSize(size)
    return text


def fill_legend(legend, layers, records, tr):
    """The legend of ``layers`` under plain names, listing only the classes the map shows and
    no band names ("Band 1 (Gray)" tells a reader nothing); returns its layer tree, which
    must live as long as the layout."""
    tree = QgsLayerTree()
    for layer in layers:
        tree.addLayer(layer).setName(tr(legend_name(layer, records.get(layer.id()))))
    legend.setAutoUpdateModel(False)
    legend.model().setRootGroup(tree)
    for tree_layer in tree.findLayers():
        nodes = legend.model().layerLegendNodes(tree_layer, True)
        shown = [i for i, node in enumerate(nodes) if not str(node.data(DISPLAY) or "").startswith("Band ")]
        if len(shown) < len(nodes):
            QgsMapLayerLegendUtils.setLegendNodeOrder(tree_layer, shown)
            legend.model().refreshLayerLegend(tree_layer)
    legend.setLegendFilterByMapEnabled(True)
    return tree


def fit_to_frame(extent, frame):
    """``extent`` grown in one direction to the map frame's shape: setExtent would otherwise
    resize the frame over the legend and the table."""
    centre, ratio = extent.center(), frame.width() / frame.height()
    width, height = max(extent.width(), extent.height() * ratio), max(extent.height(), extent.width() / ratio)
    return QgsRectangle(centre.x() - width / 2, centre.y() - height / 2, centre.x() + width / 2, centre.y() + height / 2)


def fit_side_column(layout, frame):
    """Legend and table share the column beside the map (landscape: the table under the
    legend; portrait: beside it), above the footer. The legend wraps into two columns and then
    shrinks until it leaves the table the room its rows need (at least 60 % of the column);
    a legend too long even then is cut at its frame, never drawn over the page's edge. The
    table's text then shrinks until every row fits."""
    legend, bottom_item = layout.itemById("legend"), layout.itemById("hour_grid") or layout.itemById("footer")
    width, top = legend.rect().width(), legend.pos().y()
    bottom = bottom_item.pos().y() - 3
    below = frame is not None and abs(frame.pos().x() - legend.pos().x()) < 1
    table = frame.multiFrame() if frame is not None else None
    page = layout.pageCollection().page(0).pageSize()
    if table is not None:
        table_width = page.width() - 10 - frame.pos().x()
        set_table_text(table, 7.0, table_width)
    # the legend lists only the classes the map shows, and learns its size when drawn: draw once, small
    QgsLayoutExporter(layout).renderPageToImage(0, QSize(240, 170))
    need = table.totalSize().height() + 3 if below else 0.0
    room = max(bottom - top - need, (bottom - top) * 0.4 if below else bottom - top)
    sizes = {style: legend_text_size(legend, style) for style in LEGEND_TEXT}
    for scale, columns in ((scale, columns) for scale in (1.0, 0.9, 0.8, 0.7, 0.6, 0.5) for columns in (1, 2)):
        legend.setColumnCount(columns)
        legend.setSplitLayer(columns > 1)
        for style, size in sizes.items():
            set_legend_text_size(legend, style, size * scale)
        legend.setSymbolHeight(3.0 * scale)
        legend.setSymbolWidth(6.0 * scale)
        legend.adjustBoxSize()
        if legend.rect().height() <= room and legend.rect().width() <= width:
            break
    else:
        legend.setResizeToContents(False)
        legend.attemptResize(QgsLayoutSize(width, room))
    if table is None:
        return
    table_top = top + legend.rect().height() + 3 if below else frame.pos().y()
    height = max(bottom - table_top, 20)
    frame.attemptMove(QgsLayoutPoint(frame.pos().x(), table_top))
    frame.attemptResize(QgsLayoutSize(table_width, height))
    for size in (7.0, 6.5, 6.0, 5.5, 5.0):  # the largest text with which every row fits
        set_table_text(table, size, table_width - 1)
        if table.totalSize().height() <= height:
            break


def set_table_text(table, size, width):
    """Table text of ``size`` points; columns that fill ``width`` mm, the place widest (long
    names wrap instead of leaving the page)."""
    table.setContentTextFormat(small_text(table.contentTextFormat(), size, bold=False))
    table.setHeaderTextFormat(small_text(table.headerTextFormat(), size, bold=True))
    columns = table.columns()
    shares = {"Rank": 0.09, "Place": 0.45}  # the rest share what is left
    fixed = sum(shares.get(column.heading(), 0.0) for column in columns)
    others = max(sum(column.heading() not in shares for column in columns), 1)
    for column in columns:
        column.setWidth(width * shares.get(column.heading(), (1.0 - fixed) / others) - 2)
    table.setColumns(columns)
    table.refresh()


def legend_text_size(legend, style):
    text = legend.rstyle(style)
    return text.textFormat().size() if hasattr(text, "textFormat") else text.font().pointSizeF()


def set_legend_text_size(legend, style, size):
    text = legend.rstyle(style)
    if hasattr(text, "textFormat"):  # QGIS 3.30+
        text_format = text.textFormat()
        text_format.setSize(size)
        text.setTextFormat(text_format)
    else:
        font = text.font()
        font.setPointSizeF(size)
        text.setFont(font)
    legend.setStyle(style, text)
