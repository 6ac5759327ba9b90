"""The plugin in the real QGIS desktop, as an analyst meets it: screenshots and the briefing PDF.

    /usr/bin/python3 scripts/desktop_screenshots.py out/desktop

Starts a virtual X server (Xvfb, 1366 x 768: a small laptop's screen) and /usr/bin/qgis on a
private profile (QGIS_CUSTOM_CONFIG_PATH) with this checkout linked and enabled as the plugin
``hotspot_policing``. scripts/desktop_session.py, run inside QGIS (``qgis --code``), loads the
sample city, opens the detector and briefing dialogs from the plugin's menu, runs them with
their defaults and saves PNG screenshots and ``session.json`` (what the dialogs said and made)
into the folder; the briefing PDF is turned into PNG pages with pdftoppm.
"""

import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SESSION = os.path.join(ROOT, "scripts", "desktop_session.py")
SAMPLE_CITY = os.path.join(ROOT, "resources", "sample_data", "sample_city.gpkg")
SCREEN = "1366x768x24"
SETTINGS = """[PythonPlugins]
hotspot_policing=true
processing=true

[qgis]
checkVersion=false
"""


def missing_tools():
    """The programs this needs that the machine lacks (install them: scripts/install_system_deps.sh)."""
    return [tool for tool in ("Xvfb", "qgis", "pdftoppm") if shutil.which(tool) is None]


def start_xvfb(log):
    """A virtual X server on a free display: (process, ':N')."""
    read, write = os.pipe()
    command = ["Xvfb", "-displayfd", str(write), "-screen", "0", SCREEN, "-nolisten", "tcp"]
    server = subprocess.Popen(command, pass_fds=(write,), stdout=log, stderr=subprocess.STDOUT)
    os.close(write)
    with os.fdopen(read) as pipe:
        number = pipe.readline().strip()
    if not number:
        server.kill()
        raise RuntimeError("Xvfb did not start")
    return server, f":{number}"


def make_profile(home):
    """A QGIS profile folder with the plugin linked in and enabled; returns the config path."""
    config = os.path.join(home, "config")
    profile = os.path.join(config, "profiles", "default")
    os.makedirs(os.path.join(profile, "python", "plugins"))
    os.symlink(ROOT, os.path.join(profile, "python", "plugins", "hotspot_policing"))
    os.makedirs(os.path.join(profile, "QGIS"))
    with open(os.path.join(profile, "QGIS", "QGIS3.ini"), "w", encoding="utf-8") as handle:
        handle.write(SETTINGS)
    return config


def run(out, timeout=600):
    """Everything above; returns session.json's content, with 'pages' (the PDF's PNG pages)
    and in 'errors' also a QGIS that hung or ended early."""
    out = os.path.abspath(out)
    os.makedirs(out, exist_ok=True)
    for old in glob.glob(os.path.join(out, "*.png")) + glob.glob(os.path.join(out, "*.pdf")) + glob.glob(os.path.join(out, "*.json")):
        os.remove(old)
    home = tempfile.mkdtemp(prefix="hotspot_policing_desktop_")
    city = os.path.join(home, "sample_city.gpkg")  # QGIS may touch a GeoPackage's header: a copy
    shutil.copyfile(SAMPLE_CITY, city)
    env = {key: value for key, value in os.environ.items() if key not in ("QT_QPA_PLATFORM", "PYTHONPATH")}
    env |= {
        "QGIS_CUSTOM_CONFIG_PATH": make_profile(home),
        "HOTSPOT_POLICING_SHOTS": out,
        "HOTSPOT_POLICING_SAMPLE": city,
        "HOME": home,  # nothing of the user's own QGIS or Qt settings
    }
    problems = []
    with open(os.path.join(out, "xvfb.log"), "w", encoding="utf-8") as xvfb_log, open(os.path.join(out, "qgis.log"), "w") as log:
        server, env["DISPLAY"] = start_xvfb(xvfb_log)
        try:
            qgis = subprocess.Popen(["qgis", "--nologo", "--noversioncheck", "--code", SESSION], env=env, stdout=log, stderr=log)
            try:
                qgis.wait(timeout)
            except subprocess.TimeoutExpired:
                qgis.send_signal(signal.SIGUSR1)  # the session writes where it hangs into stacks.txt
                time.sleep(2)
                qgis.kill()
                qgis.wait()
                problems.append(f"QGIS did not finish within {timeout} s: see stacks.txt and qgis.log in {out}")
        finally:
            server.terminate()
            server.wait()
            shutil.rmtree(home, ignore_errors=True)
    report = {"errors": []}
    if os.path.exists(os.path.join(out, "session.json")):
        with open(os.path.join(out, "session.json"), encoding="utf-8") as handle:
            report = json.load(handle)
    if not report.get("finished") and not problems:
        problems.append(f"QGIS ended before the session finished (exit code {qgis.returncode}): see qgis.log in {out}")
    report["errors"] += problems
    pdf = os.path.join(out, "briefing.pdf")
    if os.path.exists(pdf):
        subprocess.run(["pdftoppm", "-r", "80", "-png", pdf, os.path.join(out, "briefing_page")], check=True)
    report["pages"] = sorted(glob.glob(os.path.join(out, "briefing_page*.png")))
    return report


def main(argv):
    if len(argv) != 2:
        sys.exit(__doc__)
    missing = missing_tools()
    if missing:
        sys.exit(f"Missing {', '.join(missing)}: run scripts/install_system_deps.sh")
    report = run(argv[1])
    for name in report.get("screenshots", []) + report["pages"]:
        print(os.path.join(argv[1], os.path.basename(name)))
    for error in report.get("errors", []):
        print("ERROR:", error, file=sys.stderr)
    return 1 if report.get("errors") else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
