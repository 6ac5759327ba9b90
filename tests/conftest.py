"""Test set-up: the checkout is imported as the package ``hotspot_policing``.

The repository root must never be on sys.path: its ``processing/`` folder would shadow
QGIS's own ``processing`` module. So the root is linked under its plugin name in a
temporary folder, and that folder goes on sys.path (pytest runs with
--import-mode=importlib, so it inserts nothing itself)."""

import atexit
import os
import shutil
import sys
import tempfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PLUGINS_DIR = tempfile.mkdtemp(prefix="hotspot_policing_plugins_")
os.symlink(ROOT, os.path.join(PLUGINS_DIR, "hotspot_policing"))
atexit.register(shutil.rmtree, PLUGINS_DIR, ignore_errors=True)
sys.path.insert(0, PLUGINS_DIR)
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# QGIS may touch a GeoPackage's header when it opens it: tests read a copy of the sample city.
SAMPLE_CITY = os.path.join(PLUGINS_DIR, "sample_city.gpkg")
shutil.copyfile(os.path.join(ROOT, "resources", "sample_data", "sample_city.gpkg"), SAMPLE_CITY)


_EXIT_STATUS = []


def pytest_sessionfinish(session, exitstatus):
    _EXIT_STATUS.append(int(exitstatus))


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    """End the process once pytest has reported, before Python's final garbage collection:
    sip wrappers of Qt objects that QGIS already deleted at its exit (tasks, algorithms of
    finished dialog runs) would be deleted a second time there and crash the interpreter
    after every test has passed. The exit status is pytest's own."""
    shutil.rmtree(PLUGINS_DIR, ignore_errors=True)  # what atexit would have done
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(_EXIT_STATUS[0] if _EXIT_STATUS else 0)


@pytest.fixture(scope="session")
def provider(qgis_processing):
    """Our Processing provider, registered once for the session."""
    from qgis.core import QgsApplication

    from hotspot_policing.processing.provider import HotspotPolicingProvider

    registry = QgsApplication.processingRegistry()
    existing = registry.providerById("hotspotpolicing")
    if existing is not None:
        return existing
    instance = HotspotPolicingProvider()
    registry.addProvider(instance)
    return instance


@pytest.fixture(scope="session")
def postgis():
    """The throw-away PostgreSQL + PostGIS server ``make test`` starts (scripts/postgis.sh):
    host, port, dbname, user, and ``connection``, their libpq/QGIS form. Without its
    HOTSPOT_POLICING_PG* variables (pytest run by hand) the PostGIS tests are skipped; with
    them, a server that cannot be reached is an error."""
    import types

    names = ("HOST", "PORT", "DATABASE", "USER")
    values = {name: os.environ.get(f"HOTSPOT_POLICING_PG{name}") for name in names}
    if not all(values.values()):
        pytest.skip(
            "PostGIS tests need the throw-away PostgreSQL + PostGIS server that `make test` starts "
            "(scripts/postgis.sh): run `make test` (only these: `make test TESTS=tests/test_postgis.py`)"
        )
    import psycopg2

    server = types.SimpleNamespace(host=values["HOST"], port=int(values["PORT"]), dbname=values["DATABASE"], user=values["USER"])
    server.connection = f"dbname='{server.dbname}' host={server.host} port={server.port} user='{server.user}'"
    try:
        psycopg2.connect(server.connection, connect_timeout=10).close()
    except psycopg2.Error as error:
        pytest.fail(f"the PostGIS server of HOTSPOT_POLICING_PG* cannot be reached ({server.connection}): {error}")
    return server


@pytest.fixture(scope="session")
def hexagon_plan(provider, tmp_path_factory):
    """The detector's default: optimized hot spots (hexagons) on the sample city, and the
    default patrol plan made from them."""
    import processing

    folder = tmp_path_factory.mktemp("hexagon_plan")
    hot = processing.run(
        "hotspotpolicing:optimizedhotspots",
        {
            "INPUT": f"{SAMPLE_CITY}|layername=incidents",
            "CELL_SHAPE": 1,
            "STUDY_AREA": f"{SAMPLE_CITY}|layername=study_area",
            "OUTPUT": str(folder / "hot.gpkg"),
        },
    )["OUTPUT"]
    plan = processing.run("hotspotpolicing:patroldosage", {"HOTSPOTS": hot, "OUTPUT": str(folder / "plan.gpkg")})["OUTPUT"]
    return hot, plan
