# Hot Spot Policing: make demo | test | bench | install | package | lint
SYSTEM_PYTHON := /usr/bin/python3
VENV := .venv
PYTHON := $(VENV)/bin/python
export QT_QPA_PLATFORM ?= offscreen
QGIS_PLUGINS := $(HOME)/.local/share/QGIS/QGIS3/profiles/default/python/plugins

.PHONY: deps venv test demo bench install package lint clean

deps:
	bash scripts/install_system_deps.sh

$(VENV)/.ready: requirements-test.txt constraints.txt
	$(SYSTEM_PYTHON) -m venv --system-site-packages $(VENV)
	$(PYTHON) -m pip install -q --disable-pip-version-check -c constraints.txt -r requirements-test.txt
	touch $@

venv: deps $(VENV)/.ready

# A throw-away PostgreSQL + PostGIS server (scripts/postgis.sh) in a temporary folder runs for
# the tests (tests/test_postgis.py); it is stopped and its folder removed afterwards, whatever
# pytest's outcome (or an interrupt). Its connection reaches pytest as HOTSPOT_POLICING_PG*.
# TESTS=tests/test_postgis.py runs only some tests (default: all of tests/).
test: venv
	@pgdir=$$(mktemp -d "$${TMPDIR:-/tmp}/hotspot_policing_pg.XXXXXX") || exit 1; \
	trap 'bash scripts/postgis.sh stop "$$pgdir"; exit 130' INT TERM HUP; \
	bash scripts/postgis.sh start "$$pgdir" && eval "$$(bash scripts/postgis.sh env "$$pgdir")" && \
	$(VENV)/bin/pytest -q $(or $(TESTS),tests); status=$$?; \
	bash scripts/postgis.sh stop "$$pgdir"; exit $$status

demo: deps
	$(SYSTEM_PYTHON) scripts/demo.py out

bench: venv
	$(SYSTEM_PYTHON) benchmarks/bench_kde.py
	$(PYTHON) -P benchmarks/bench_local_stats.py
	$(SYSTEM_PYTHON) benchmarks/bench_segments.py
	$(SYSTEM_PYTHON) benchmarks/bench_dosage.py
	$(SYSTEM_PYTHON) benchmarks/bench_scaling.py --largest 1000000
	$(SYSTEM_PYTHON) benchmarks/bench_postgis.py
	$(SYSTEM_PYTHON) benchmarks/bench_hot_streets.py
	$(PYTHON) -P benchmarks/bench_emerging.py
	$(SYSTEM_PYTHON) benchmarks/bench_nearrepeat.py
	$(SYSTEM_PYTHON) benchmarks/bench_aoristic.py
	$(SYSTEM_PYTHON) benchmarks/bench_networkkde.py
	$(SYSTEM_PYTHON) benchmarks/bench_changetest.py

lint: venv
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

install:
	mkdir -p $(QGIS_PLUGINS)
	ln -sfn $(CURDIR) $(QGIS_PLUGINS)/hotspot_policing
	@echo "Linked into $(QGIS_PLUGINS)/hotspot_policing; enable it in Plugins > Manage and Install Plugins."

package:
	$(SYSTEM_PYTHON) scripts/package.py dist

clean:
	rm -rf $(VENV) out dist
