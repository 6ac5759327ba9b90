"""PostGIS as a way in and a way out, on the throw-away server ``make test`` starts
(scripts/postgis.sh; the ``postgis`` fixture skips these tests when pytest runs without it).

The sample city is loaded into PostGIS once (field types kept, geometry column ``geom``,
SRID 32630, primary key ``fid``). Reading: every incident-based algorithm gives from a
PostGIS table, a table with a SQL filter, a view and a selection of features the same
numbers and outputs as from the GeoPackage with the same filter or selection. Writing:
every vector output written into PostGIS holds the same rows and values as the same output
written into a GeoPackage, and a write PostGIS refuses is an error, never a success.
Cancel: a run reading a million PostGIS points, cancelled at the first progress report,
ends within a second."""

import math
import shutil
import time

import numpy as np
import psycopg2
import pytest
from osgeo import gdal
from qgis.core import (
    QgsApplication,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeatureSourceDefinition,
    QgsProject,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import QDateTime, Qt

from .conftest import SAMPLE_CITY
from .test_cancel import PERIODS, CancelAtFirstReport

pytestmark = pytest.mark.usefixtures("provider")

SRID = 32630
LAYERS = {  # the sample city's layers and their geometry types
    "streets": "MultiLineString",
    "incidents": "Point",
    "beats": "Polygon",
    "study_area": "Polygon",
    "patrol_pings": "Point",
    "planted_hotspots": "Polygon",
}
# Per layer an algorithm reads through each route: a filter (the same text is SQL for PostGIS
# and a subset string for the GeoPackage; the view holds the same rows) and a selection.
FILTERS = {
    "incidents": "\"offence\" IN ('burglary', 'assault')",
    "patrol_pings": "\"unit_id\" IN ('Car 2', 'Car 3')",
    "planted_hotspots": '"n_incidents" >= 1200',
}
SELECTIONS = {
    "incidents": '"harm_weight" >= 30 AND "fid" % 3 = 0',
    "patrol_pings": "\"unit_id\" = 'Car 4'",
    "planted_hotspots": "\"kind\" <> 'emerging'",
}
# "shuffled": a copy of the table whose rows lie in another order on disk (PostgreSQL returns
# rows in no fixed order: after updates, vacuum or a reload they come back in another one).
ROUTES = ["table", "sql", "view", "selection", "shuffled"]


class Database:
    """The test database: QGIS URIs and Processing destinations of its tables, and SQL."""

    def __init__(self, server):
        self.server = server
        self.connection = server.connection

    def uri(self, table, sql=""):
        kind = LAYERS.get(table.removesuffix("_only").removesuffix("_shuffled"), "Point")  # views and copies of a layer
        uri = f"{self.connection} key='fid' checkPrimaryKeyUnicity='0' srid={SRID} type={kind} table=\"public\".\"{table}\" (geom)"
        return uri + (f" sql={sql}" if sql else "")

    def layer(self, table, sql=""):
        layer = QgsVectorLayer(self.uri(table, sql), table, "postgres")
        assert layer.isValid(), f"PostGIS layer {table} is not valid: {layer.error().summary()}"
        return layer

    def destination(self, table, geometry=True):
        """A Processing destination: a new table (replaced when it exists)."""
        return f'postgis:{self.connection} table="public"."{table}"' + (" (geom)" if geometry else "")

    def read_back(self, table, geometry=True):
        """A table written by Processing, read by QGIS (its primary key found by QGIS)."""
        uri = f'{self.connection} table="public"."{table}"' + (" (geom)" if geometry else " sql=")
        layer = QgsVectorLayer(uri, table, "postgres")
        assert layer.isValid(), f"the output table {table} cannot be read: {layer.error().summary()}"
        return layer

    def execute(self, *statements):
        with psycopg2.connect(self.connection) as connection, connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
            rows = cursor.fetchall() if cursor.description else None
        connection.close()
        return rows

    def count(self, table):
        exists = self.execute(f"SELECT to_regclass('public.\"{table}\"') IS NOT NULL")[0][0]
        return self.execute(f'SELECT count(*) FROM "{table}"')[0][0] if exists else None


@pytest.fixture(scope="session")
def city(postgis):
    """The sample city in PostGIS, loaded once, with a view per filter."""
    database = Database(postgis)
    gdal.UseExceptions()
    for name in LAYERS:
        gdal.VectorTranslate(
            f"PG:{postgis.connection}",
            SAMPLE_CITY,
            layers=[name],
            accessMode="overwrite",
            layerCreationOptions=["GEOMETRY_NAME=geom", "FID=fid", "LAUNDER=NO", "SPATIAL_INDEX=GIST"],
            options=["-preserve_fid"],
        )
        # rows on disk in fid order, as they were loaded (COPY may leave a row out of place)
        database.execute(f'CLUSTER "{name}" USING "{name}_pkey"', f'ANALYZE "{name}"')
    for name, condition in FILTERS.items():
        database.execute(
            f'CREATE OR REPLACE VIEW "{name}_only" AS SELECT * FROM "{name}" WHERE {condition}',
            f'DROP TABLE IF EXISTS "{name}_shuffled"',
            "SELECT setseed(0.25)",
            f'CREATE TABLE "{name}_shuffled" AS SELECT * FROM "{name}" ORDER BY random()',
            f'ALTER TABLE "{name}_shuffled" ADD PRIMARY KEY (fid)',
        )
    return database


def gpkg(name, subset=""):
    return f"{SAMPLE_CITY}|layername={name}" + (f"|subset={subset}" if subset else "")


def test_the_sample_city_is_in_postgis_with_its_field_types(city):
    columns = city.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'public' AND table_name IN ('incidents', 'patrol_pings') ORDER BY table_name, ordinal_position"
    )
    assert columns == [
        ("incidents", "fid", "integer"),
        ("incidents", "incident_id", "integer"),
        ("incidents", "occurred_at", "timestamp with time zone"),
        ("incidents", "offence", "character varying"),
        ("incidents", "harm_weight", "double precision"),
        ("incidents", "geom", "USER-DEFINED"),
        ("patrol_pings", "fid", "integer"),
        ("patrol_pings", "unit_id", "character varying"),
        ("patrol_pings", "pinged_at", "timestamp with time zone"),
        ("patrol_pings", "geom", "USER-DEFINED"),
    ]
    names = ", ".join(f"'{name}'" for name in LAYERS)
    geometry = city.execute(f"SELECT f_table_name, srid, type FROM geometry_columns WHERE f_table_name IN ({names}) ORDER BY 1")
    assert geometry == sorted((name, SRID, kind.upper()) for name, kind in LAYERS.items())
    assert city.execute("SELECT count(*) FROM pg_index WHERE indisprimary AND indrelid::regclass::text IN (" + names + ")") == [(6,)]
    for name in LAYERS:
        reference = QgsVectorLayer(gpkg(name), name, "ogr")
        assert city.layer(name).featureCount() == reference.featureCount() > 0, name
        assert city.layer(name).fields().names() == reference.fields().names(), name
    assert city.layer("incidents_only").featureCount() == 5223 + 5067  # the burglaries and assaults
    assert [f["fid"] for f in city.layer("incidents").getFeatures()] == list(range(1, 30001))
    assert [f["fid"] for f in city.layer("incidents_shuffled").getFeatures()] != list(range(1, 30001))


# --- reading ------------------------------------------------------------------------------
class Inputs:
    """The inputs of one run: from PostGIS or from the GeoPackage, with ``route`` applied to
    the layer ``routed`` (the layers of a selection are added to the project)."""

    def __init__(self, city, store, route, routed):
        self.city, self.store, self.route, self.routed = city, store, route, routed
        self.layers = []

    def __call__(self, name):
        # Processing takes a PostGIS layer as "postgres://" and its QGIS URI (as qgis_process and models do)
        if name != self.routed or self.route == "table":
            return "postgres://" + self.city.uri(name) if self.store == "postgis" else gpkg(name)
        if self.route == "sql":
            return "postgres://" + self.city.uri(name, sql=FILTERS[name]) if self.store == "postgis" else gpkg(name, FILTERS[name])
        if self.route == "view":
            return "postgres://" + self.city.uri(f"{name}_only") if self.store == "postgis" else gpkg(name, FILTERS[name])
        if self.route == "shuffled":
            return "postgres://" + self.city.uri(f"{name}_shuffled") if self.store == "postgis" else gpkg(name)
        layer = self.city.layer(name) if self.store == "postgis" else QgsVectorLayer(gpkg(name), name, "ogr")
        layer.selectByExpression(SELECTIONS[name])
        assert 0 < layer.selectedFeatureCount() < layer.featureCount()
        QgsProject.instance().addMapLayer(layer)
        self.layers.append(layer)
        return QgsProcessingFeatureSourceDefinition(layer.id(), selectedFeaturesOnly=True)

    def close(self):
        for layer in self.layers:
            QgsProject.instance().removeMapLayer(layer.id())
        self.layers = []


def reading_runs(inputs, folder):
    """Per algorithm: (the layer the route applies to, its parameters)."""
    return {
        "kerneldensity": (
            "incidents",
            {"INPUT": inputs("incidents"), "BANDWIDTH": 150.0, "CELL_SIZE": 10.0, "OUTPUT": f"{folder}/kde.tif"},
        ),
        "gistar": (
            "incidents",
            {
                "INPUT": inputs("incidents"),
                "FIELD": "harm_weight",
                "WEIGHTS": 1,
                "NEIGHBORS": 8,
                "PERMUTATIONS": 99,
                "OUTPUT": f"{folder}/gi.gpkg",
            },
        ),
        "optimizedhotspots": (
            "incidents",
            {"INPUT": inputs("incidents"), "STUDY_AREA": inputs("study_area"), "OUTPUT": f"{folder}/ohs.gpkg"},
        ),
        "assignincidents": (
            "incidents",
            {
                "INCIDENTS": inputs("incidents"),
                "SEGMENTS": inputs("streets"),
                "WEIGHT_FIELD": "harm_weight",
                "OUTPUT": f"{folder}/counts.gpkg",
            },
        ),
        "observeddosage": (
            "patrol_pings",
            {
                "PINGS": inputs("patrol_pings"),
                "HOTSPOTS": inputs("planted_hotspots"),
                "UNIT_FIELD": "unit_id",
                "TIME_FIELD": "pinged_at",
                "OUTPUT": f"{folder}/observed.gpkg",
                "OUTPUT_SHIFTS": f"{folder}/shifts.gpkg",
            },
        ),
        "evaluateforecast": (
            "incidents",
            {
                "HOTSPOTS": inputs("planted_hotspots"),
                "INCIDENTS": inputs("incidents"),
                "STUDY_AREA": inputs("study_area"),
                "UNITS": inputs("beats"),
                "INCIDENTS_BEFORE": inputs("incidents"),
            },
        ),
        "emerginghotspots": (
            "incidents",
            {
                "INPUT": inputs("incidents"),
                "STUDY_AREA": inputs("study_area"),
                "OUTPUT": f"{folder}/emerging.gpkg",
                "OUTPUT_CUBE": f"{folder}/cube.gpkg",
            },
        ),
        "nearrepeat": (
            "incidents",
            {
                "INPUT": inputs("incidents"),
                "TIME_FIELD": "occurred_at",
                "SPATIAL_BANDS": "0,1,51,101",
                "PERMUTATIONS": 99,
                "OUTPUT_TABLE": f"{folder}/near_repeat.gpkg",
                "OUTPUT_RISK": f"{folder}/risk.gpkg",
            },
        ),
        "networkkde": (
            "incidents",
            {"INPUT": inputs("incidents"), "NETWORK": inputs("streets"), "BANDWIDTH": 200.0, "OUTPUT": f"{folder}/network.gpkg"},
        ),
        "aoristic": (
            "incidents",
            {
                "INPUT": inputs("incidents"),
                "ZONES": inputs("planted_hotspots"),
                "OUTPUT_TABLE": f"{folder}/when.gpkg",
                "OUTPUT": f"{folder}/when_zones.gpkg",
            },
        ),
        "changetest": (
            "incidents",
            {
                "INPUT": inputs("incidents"),
                "UNITS": inputs("beats"),
                **PERIODS,
                "OUTPUT": f"{folder}/change.gpkg",
            },
        ),
        "evaluateintervention": (
            "incidents",
            {
                "TARGETS": inputs("planted_hotspots"),
                "INCIDENTS": inputs("incidents"),
                "STUDY_AREA": inputs("study_area"),
                **PERIODS,
            },
        ),
        "concentration": ("planted_hotspots", {"INPUT": inputs("planted_hotspots"), "FIELD": "n_incidents"}),
        "patroldosage": (
            "planted_hotspots",
            {
                "HOTSPOTS": inputs("planted_hotspots"),
                "RISK_FIELD": "n_incidents",
                "OUTPUT": f"{folder}/plan.gpkg",
                "OUTPUT_SCHEDULE": f"{folder}/schedule.gpkg",
            },
        ),
    }


ROUTED = {name: routed for name, (routed, _) in reading_runs(lambda name: name, "").items()}


def run_reading(city, store, name, route, folder):
    """Run ``name`` on the inputs of ``store`` with ``route``: (results, outputs read back)."""
    folder.mkdir()
    inputs = Inputs(city, store, route, ROUTED[name])
    try:
        _, parameters = reading_runs(inputs, folder)[name]
        import processing

        results = processing.run(f"hotspotpolicing:{name}", parameters)
    finally:
        inputs.close()
    numbers = {key: value for key, value in results.items() if isinstance(value, (int, float))}
    outputs = {}
    for key, value in results.items():
        if isinstance(value, str) and value.endswith(".tif"):
            dataset = gdal.Open(value)
            outputs[key] = (dataset.GetGeoTransform(), dataset.ReadAsArray())
            dataset = None
        elif isinstance(value, str) and value.endswith(".gpkg"):
            outputs[key] = table(QgsVectorLayer(value, key, "ogr"))
    return numbers, outputs


def reading_params():
    for name in ROUTED:
        for route in ROUTES:
            yield pytest.param(name, route, id=f"{name}-{route}")


@pytest.mark.parametrize(("name", "route"), reading_params())
def test_postgis_inputs_give_what_the_geopackage_gives(city, tmp_path, name, route):
    expected_numbers, expected_outputs = run_reading(city, "geopackage", name, route, tmp_path / "geopackage")
    numbers, outputs = run_reading(city, "postgis", name, route, tmp_path / "postgis")
    assert numbers.keys() == expected_numbers.keys()
    for key, value in expected_numbers.items():
        assert numbers[key] == pytest.approx(value, rel=1e-9, abs=1e-12), key
    assert outputs.keys() == expected_outputs.keys()
    for key, expected in expected_outputs.items():
        if isinstance(expected[1], np.ndarray):  # a raster: its grid and its cells
            assert outputs[key][0] == pytest.approx(expected[0])
            assert outputs[key][1].shape == expected[1].shape
            np.testing.assert_allclose(outputs[key][1], expected[1], rtol=1e-6, atol=1e-12)
        else:
            assert_same_table(outputs[key], expected, key)


# --- writing ------------------------------------------------------------------------------
TABLES = ("OUTPUT_SCHEDULE", "OUTPUT_SHIFTS")  # outputs without geometry


def writing_runs(layer, segments):
    """Per algorithm: its parameters with inputs from ``layer(name, subset)`` (GeoPackage
    sources), and its vector outputs."""
    local = {"INPUT": layer("incidents"), "FIELD": "harm_weight", "WEIGHTS": 1, "NEIGHBORS": 8, "PERMUTATIONS": 99}
    return {
        "gistar": (local, ["OUTPUT"]),
        "localmoran": ({**local, "INPUT": layer("incidents", FILTERS["incidents"])}, ["OUTPUT"]),  # gistar's writer, on fewer rows
        "optimizedhotspots": ({"INPUT": layer("incidents"), "STUDY_AREA": layer("study_area")}, ["OUTPUT"]),
        "streetsegments": ({"INPUT": layer("streets")}, ["OUTPUT"]),
        "assignincidents": (  # onto street segments, with separate intersections: every output has rows
            {"INCIDENTS": layer("incidents"), "SEGMENTS": segments, "WEIGHT_FIELD": "harm_weight", "INTERSECTION_RULE": 1},
            ["OUTPUT", "OUTPUT_INCIDENTS", "OUTPUT_INTERSECTIONS"],
        ),
        "patroldosage": ({"HOTSPOTS": layer("planted_hotspots"), "RISK_FIELD": "n_incidents"}, ["OUTPUT", "OUTPUT_SCHEDULE"]),
        "observeddosage": (
            {"PINGS": layer("patrol_pings"), "HOTSPOTS": layer("planted_hotspots"), "UNIT_FIELD": "unit_id", "TIME_FIELD": "pinged_at"},
            ["OUTPUT", "OUTPUT_SHIFTS"],
        ),
    }


def writing_param(name):
    return pytest.param(name)


@pytest.fixture(scope="module")
def own_city(tmp_path_factory):
    """A copy of the sample city for the writing tests, and its layers' sources. A run that
    fails keeps its input open as long as its exception lives (the traceback's frames hold
    the algorithm's feature sources), which can break later tests reading the same
    GeoPackage: these runs may fail, so they read a file no other test reads."""
    import processing

    folder = tmp_path_factory.mktemp("own_city")
    path = str(folder / "sample_city.gpkg")
    shutil.copyfile(SAMPLE_CITY, path)

    def layer(name, subset=""):
        return f"{path}|layername={name}" + (f"|subset={subset}" if subset else "")

    segments = processing.run("hotspotpolicing:streetsegments", {"INPUT": layer("streets"), "OUTPUT": str(folder / "segments.gpkg")})
    return writing_runs(layer, segments["OUTPUT"])


@pytest.mark.parametrize("name", [writing_param(name) for name in writing_runs(lambda name, subset="": name, "")])
def test_vector_outputs_written_into_postgis_hold_what_a_geopackage_holds(city, own_city, tmp_path, name):
    import processing

    parameters, keys = own_city[name]
    tables = {key: f"out_{name}_{key.lower()}" for key in keys}
    city.execute(*(f'DROP TABLE IF EXISTS "{table}"' for table in tables.values()))
    expected = processing.run(f"hotspotpolicing:{name}", {**parameters, **{key: str(tmp_path / f"{key}.gpkg") for key in keys}})
    destinations = {key: city.destination(tables[key], geometry=key not in TABLES) for key in keys}
    try:
        results = processing.run(f"hotspotpolicing:{name}", {**parameters, **destinations})
    except QgsProcessingException:
        results = None  # an error is allowed, if nothing claims success: checked below
    counts = {key: city.count(table) for key, table in tables.items()}
    written = {key: QgsVectorLayer(expected[key], key, "ogr").featureCount() for key in keys}
    assert results is not None, f"the run failed (rows written: {counts}, a GeoPackage gets {written})"
    assert counts == written
    for key in keys:
        assert results[key].startswith("postgis:") and tables[key] in results[key]
        assert_same_table(
            table(city.read_back(tables[key], geometry=key not in TABLES)),
            table(QgsVectorLayer(expected[key], key, "ogr")),
            key,
        )
    numbers = {key: value for key, value in expected.items() if isinstance(value, (int, float))}
    assert {key: results[key] for key in numbers} == pytest.approx(numbers)


def test_a_write_postgis_refuses_is_an_error(city):
    """A destination in a schema that does not exist: an error, never a success."""
    import processing

    parameters = {"INPUT": "postgres://" + city.uri("incidents"), "FIELD": "harm_weight", "WEIGHTS": 1, "NEIGHBORS": 8}
    destination = f'postgis:{city.connection} table="no_such_schema"."gi" (geom)'
    with pytest.raises(QgsProcessingException, match="no_such_schema"):
        processing.run("hotspotpolicing:gistar", {**parameters, "PERMUTATIONS": 0, "OUTPUT": destination})


# --- cancel -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def million(city):
    """A million random points in the sample city's square, made by PostgreSQL itself."""
    city.execute(
        "DROP TABLE IF EXISTS million",
        "CREATE TABLE million AS SELECT g AS fid, (random() * 10)::float8 AS harm_weight, "
        f"ST_SetSRID(ST_MakePoint(440000 + random() * 6000, 4470000 + random() * 5000), {SRID})::geometry(Point, {SRID}) AS geom "
        "FROM generate_series(1, 1000000) AS g",
        "ALTER TABLE million ADD PRIMARY KEY (fid)",
        "ANALYZE million",
    )
    yield "postgres://" + city.uri("million")
    city.execute("DROP TABLE million")


@pytest.mark.parametrize("name", ["kerneldensity", "optimizedhotspots"])
def test_cancel_while_reading_a_million_postgis_points(city, million, tmp_path, name):
    parameters = {"INPUT": million}
    if name == "kerneldensity":
        parameters.update({"BANDWIDTH": 150.0, "CELL_SIZE": 10.0, "OUTPUT": str(tmp_path / "kde.tif")})
    else:
        parameters.update({"STUDY_AREA": "postgres://" + city.uri("study_area"), "OUTPUT": str(tmp_path / "ohs.gpkg")})
    algorithm = QgsApplication.processingRegistry().createAlgorithmById(f"hotspotpolicing:{name}")
    context = QgsProcessingContext()
    context.setProject(QgsProject.instance())
    feedback = CancelAtFirstReport()
    started = time.perf_counter()
    results, ok = algorithm.run(parameters, context, feedback)
    ended = time.perf_counter()
    assert feedback.cancelled_at is not None, "no progress was reported"
    assert ended - feedback.cancelled_at < 1.0, f"ended {ended - feedback.cancelled_at:.2f} s after Cancel (run: {ended - started:.2f} s)"
    assert ok and results == {}, results
    assert feedback.errors == []
    assert list(tmp_path.iterdir()) == []


# --- tables -------------------------------------------------------------------------------
def table(layer):
    """A layer as (field names, rows): each row its geometry (WKT, mm) and plain values,
    rows sorted (PostgreSQL need not return them in the order they were written). The
    table's own key is named "<key>": a GeoPackage calls it fid; a PostGIS table made by
    Processing keeps the output's fid field as its key or, without one, adds "id"."""
    assert layer.isValid(), layer.source()
    names = layer.fields().names()
    for index in layer.dataProvider().pkAttributeIndexes():
        if names[index] in ("fid", "id"):
            names[index] = "<key>"
    rows = []
    for feature in layer.getFeatures():
        shape = feature.geometry()
        rows.append(((None if shape.isNull() else shape.asWkt(3)), *(_plain(v) for v in feature.attributes())))
    return names, sorted(rows, key=_sort_key)


def _plain(value):
    if type(value) in (int, float, str):
        return value
    if value is None or (hasattr(value, "isNull") and value.isNull()):
        return None
    if hasattr(value, "toMSecsSinceEpoch"):  # a date-time: its instant; one without a time zone is UTC, as the plugin reads it
        if value.timeSpec() == Qt.TimeSpec.LocalTime:
            value = QDateTime(value.date(), value.time(), Qt.TimeSpec.UTC)
        return ("datetime", value.toMSecsSinceEpoch())
    if hasattr(value, "toPyDate"):
        return value.toPyDate().isoformat()
    return value


def _sort_key(row):
    return [(0, "") if v is None else (1, f"{v:.6g}") if type(v) is float else (2, str(v)) for v in row]


def assert_same_table(got, expected, label):
    got_names, got_rows = got
    names, rows = expected
    assert got_names == names, f"{label}: fields differ"
    assert len(got_rows) == len(rows), f"{label}: {len(got_rows)} rows, expected {len(rows)}"
    for got_row, row in zip(got_rows, rows):
        same = all(
            (isinstance(a, float) or isinstance(b, float))
            and a is not None
            and b is not None
            and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
            or a == b
            for a, b in zip(got_row, row)
        )
        assert same, f"{label}: row {got_row} differs from {row}"


def test_a_postgis_table_is_read_by_gdal_in_bulk_and_a_selection_by_qgis(city):
    """Tables, views and SQL filters stream through GDAL's PostgreSQL driver (the fast path
    that keeps a million incidents from PostGIS within 5x of a GeoPackage); a selection
    needs QGIS's feature iterator. Both give the same incidents."""
    import processing
    from qgis.core import QgsProcessingContext, QgsProcessingFeatureSourceDefinition, QgsProcessingFeedback

    class Kept(QgsProcessingFeedback):
        def __init__(self):
            super().__init__()
            self.lines = []

        def pushInfo(self, info):  # noqa: N802 - QGIS API
            self.lines.append(info)

    def reader_of(value):
        feedback = Kept()
        context = QgsProcessingContext()
        context.setProject(QgsProject.instance())
        parameters = {"INPUT": value, "BANDWIDTH": 150.0, "CELL_SIZE": 25.0, "OUTPUT": "TEMPORARY_OUTPUT"}
        result = processing.run("hotspotpolicing:kerneldensity", parameters, context=context, feedback=feedback)
        return next(line for line in feedback.lines if line.startswith("Read ")), result["INCIDENT_COUNT"]

    whole, count = reader_of("postgres://" + city.uri("incidents"))
    assert "GDAL Arrow" in whole and count == 30000
    filtered, filtered_count = reader_of("postgres://" + city.uri("incidents", sql=FILTERS["incidents"]))
    assert "GDAL Arrow" in filtered and 0 < filtered_count < count
    layer = city.layer("incidents")
    QgsProject.instance().addMapLayer(layer)
    layer.selectByIds(list(range(1, 101)))
    selected, selected_count = reader_of(QgsProcessingFeatureSourceDefinition(layer.id(), True))
    QgsProject.instance().removeMapLayer(layer.id())
    assert "QGIS feature" in selected and selected_count == 100
