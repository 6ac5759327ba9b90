"""The plugin in the real QGIS desktop (scripts/desktop_screenshots.py): QGIS under Xvfb with
the plugin enabled in a private profile, the sample city loaded, the detector and briefing
dialogs opened from the menu and run with their defaults. Checks what a person would see: no
error, dialogs that fit on a small laptop's screen, screenshots and a PDF page that are not
blank, results described in the dialog, and a default patrol plan that patrols the significant
hot spots (Gi_Bin = 3) of the optimized hot spots. Skipped without Xvfb, qgis or pdftoppm.

The screenshots stay in the test's temporary folder; to look at them, run
/usr/bin/python3 scripts/desktop_screenshots.py out/desktop."""

import importlib.util
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "scripts", "desktop_screenshots.py")
spec = importlib.util.spec_from_file_location("desktop_screenshots", SCRIPT)  # a script, not on sys.path
desktop_screenshots = importlib.util.module_from_spec(spec)
spec.loader.exec_module(desktop_screenshots)
MISSING = desktop_screenshots.missing_tools()
pytestmark = pytest.mark.skipif(bool(MISSING), reason=f"needs {', '.join(MISSING)} (scripts/install_system_deps.sh installs them)")


def distinct_colours(path):
    """How many colours a grid of 40 x 40 points of the PNG shows (1: a blank picture)."""
    from qgis.PyQt.QtGui import QImage

    image = QImage(path)
    assert not image.isNull(), path
    return len({image.pixel(image.width() * i // 40, image.height() * j // 40) for i in range(40) for j in range(40)})


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    out = tmp_path_factory.mktemp("desktop")
    report = desktop_screenshots.run(str(out))
    assert not report["errors"], "\n".join(report["errors"])
    return report


def test_screenshots_and_the_briefing_page_are_not_blank(session):
    names = [os.path.basename(path) for path in session["screenshots"]]
    assert len(names) == 10 and names[1] == "02_detector_defaults.png" and names[-1] == "10_briefing_done.png"
    for path in session["screenshots"] + session["pages"]:
        assert distinct_colours(path) > 20, path
    assert len(session["pages"]) >= 1
    assert session["briefing"].startswith("Saved")


def test_dialogs_fit_on_the_screen(session):
    _, _, width, height = session["screen"]
    for key in ("detector_geometry", "briefing_geometry"):
        x, y, w, h = session[key]
        assert 0 <= x and 0 <= y and x + w <= width and y + h <= height, (key, session[key], session["screen"])


def test_the_dialog_says_what_it_found(session):
    density, hot_spots = session["detector"]
    assert density["message"].startswith("Done. Density of ")
    assert hot_spots["message"].startswith("Done. ") and " hot spot cells (99 % confidence: " in hot_spots["message"]
    assert "Patrol plan: 10 places" in hot_spots["message"]


def test_the_default_patrol_plan_patrols_the_significant_hot_spots(session):
    layers = {layer["name"]: layer for layer in session["layers"]}
    plan = next(layer for name, layer in layers.items() if name.startswith("Patrol plan"))
    hot_spots = next(layer for name, layer in layers.items() if name.startswith("Hot spots"))
    assert plan["gi_bin"] and set(plan["gi_bin"]) == {3}, plan["gi_bin"]
    assert hot_spots["gi_bin"].count(3) >= len(plan["gi_bin"])


def test_the_script_runs_from_the_command_line(tmp_path):
    """Usage without a folder: the docstring, and a non-zero exit."""
    done = subprocess.run([sys.executable, SCRIPT], capture_output=True, text=True)
    assert done.returncode != 0 and "desktop_screenshots.py out/desktop" in done.stderr
