#!/usr/bin/env bash
# Installs, from Debian's packages, what the plugin, its tests and its demo need and the
# machine lacks: QGIS with PyQGIS, numpy, scipy, GDAL's Python bindings, venv, poppler, Xvfb (the
# desktop under test: scripts/desktop_screenshots.py), and PostgreSQL 15 with PostGIS 3 plus
# psycopg2 (make test runs a throw-away server: scripts/postgis.sh).
set -euo pipefail
packages=(qgis python3-qgis qgis-providers python3-numpy python3-scipy python3-gdal python3-matplotlib
          python3-venv python3-pip poppler-utils xvfb
          postgresql-15 postgresql-15-postgis-3 postgresql-15-postgis-3-scripts python3-psycopg2)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "Installing from Debian: ${missing[*]}"
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
