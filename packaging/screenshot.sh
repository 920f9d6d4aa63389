#!/usr/bin/env bash
# Regenerate resources/screenshots/training.png from the real window under Xvfb
# (--fit: window-1280x720.png and window-2x.png, the window as it opens on those screens).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v xvfb-run >/dev/null || { echo "needs xvfb-run (apt-get install -y xvfb)" >&2; exit 2; }
PY="${PYTHON:-.venv/bin/python}"
if [ "${1:-}" = "--fit" ]; then  # the window as it opens on a 1280×720 screen, and at 2× on a 2560×1440 one
    shots=resources/screenshots
    env -u QT_QPA_PLATFORM xvfb-run -a -s "-screen 0 1280x720x24" "$PY" packaging/screenshot.py --fit "$shots/window-1280x720.png"
    env -u QT_QPA_PLATFORM QT_SCALE_FACTOR=2 xvfb-run -a -s "-screen 0 2560x1440x24" \
        "$PY" packaging/screenshot.py --fit "$shots/window-2x.png"
    if command -v optipng >/dev/null; then optipng -quiet -o2 "$shots"/window-*.png; fi
    exit 0
fi
env -u QT_QPA_PLATFORM xvfb-run -a -s "-screen 0 1440x900x24" "$PY" packaging/screenshot.py "$@"
