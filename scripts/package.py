"""Build the release zip: one top folder ``hotspot_policing`` with the plugin's tracked files
(no tests, benchmarks, dev scripts or caches), as the QGIS plugin repository expects.

    /usr/bin/python3 scripts/package.py dist     (or: make package)
"""

import configparser
import os
import subprocess
import sys
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHIPPED = ("metadata.txt", "LICENSE", "README.md", "__init__.py", "plugin.py", "core/", "docs/", "processing/", "ui/", "resources/")
LIMIT_BYTES = 25 * 1024 * 1024


def main(out_dir):
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    files = sorted(f for f in tracked if f.startswith(SHIPPED) and "__pycache__" not in f and not f.endswith(".pyc"))
    metadata = configparser.ConfigParser()
    metadata.read(os.path.join(ROOT, "metadata.txt"), encoding="utf-8")
    version = metadata["general"]["version"]
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, f"hotspot_policing-{version}.zip")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in files:
            archive.write(os.path.join(ROOT, name), f"hotspot_policing/{name}")
    size = os.path.getsize(path)
    if size > LIMIT_BYTES:
        sys.exit(f"{path} is {size / 2**20:.1f} MiB, over the plugin repository's 25 MB limit")
    print(f"{path}: {len(files)} files, {size / 2**20:.1f} MiB")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "dist")
