"""core/ must run without QGIS or Qt: imported in a bare interpreter, it pulls in neither."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORE = os.path.join(ROOT, "core")


def test_core_imports_neither_qgis_nor_qt():
    modules = sorted(f[:-3] for f in os.listdir(CORE) if f.endswith(".py") and f != "__init__.py")
    assert modules, "core/ has no modules"
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module('hotspot_policing.core.' + name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('qgis', 'PyQt5', 'PyQt6', 'PySide2', 'PySide6', 'sip'))\n"
        "print(','.join(bad))\n"
    )
    parent = os.path.dirname(os.path.realpath(sys.modules["hotspot_policing"].__file__))
    link_dir = next(p for p in sys.path if os.path.realpath(os.path.join(p, "hotspot_policing")) == parent)
    result = subprocess.run(
        [sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": link_dir}, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


def test_core_sources_have_no_qgis_or_qt_import():
    for name in os.listdir(CORE):
        if name.endswith(".py"):
            with open(os.path.join(CORE, name), encoding="utf-8") as handle:
                for line in handle:
                    stripped = line.strip()
                    assert not stripped.startswith(("import qgis", "from qgis", "import PyQt", "from PyQt")), f"{name}: {stripped}"
