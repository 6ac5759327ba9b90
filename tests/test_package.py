"""The release zip: one top folder hotspot_policing, LICENSE and metadata inside, no tests,
benchmarks, dev scripts or caches, under the plugin repository's 25 MB."""

import os
import subprocess
import sys
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_release_zip(tmp_path):
    subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "package.py"), str(tmp_path)], check=True, capture_output=True)
    (path,) = tmp_path.glob("hotspot_policing-*.zip")
    names = zipfile.ZipFile(path).namelist()
    assert all(n.startswith("hotspot_policing/") for n in names)
    for required in ("LICENSE", "metadata.txt", "__init__.py", "plugin.py", "core/kde.py", "processing/provider.py"):
        assert f"hotspot_policing/{required}" in names
    assert not any(part in n for n in names for part in ("/tests/", "/benchmarks/", "/scripts/", "__pycache__", ".pyc"))
    assert path.stat().st_size < 25 * 1024 * 1024
    # Every icon the toolbox, the menu and the layouts use ships (a new one must be added to git).
    icons = sorted(f for f in os.listdir(os.path.join(ROOT, "resources", "icons")) if f.endswith(".svg"))
    assert len(icons) > 6
    assert [i for i in icons if f"hotspot_policing/resources/icons/{i}" not in names] == []
