#!/usr/bin/env bash
# Regenerate resources/screenshots/training.png from the real window under Xvfb.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v xvfb-run >/dev/null || { echo "needs xvfb-run (apt-get install -y xvfb)" >&2; exit 2; }
PY="${PYTHON:-.venv/bin/python}"
env -u QT_QPA_PLATFORM xvfb-run -a -s "-screen 0 1440x900x24" "$PY" packaging/screenshot.py "$@"
