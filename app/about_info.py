"""What Help → About shows, as plain strings: versions, components and licences, the device found.

Versions and licences come from the installed distributions' metadata (bundled with the frozen app), so
nothing here imports torch; only `device_line` does, and it runs off the GUI thread.
"""

from __future__ import annotations

import re
import sys
import threading
from concurrent.futures import Future
from importlib.metadata import PackageNotFoundError, metadata

from resources import resource_path

APP_LICENCE = "MIT"
# (shown name, distribution name) of what TuneLab is built on.
COMPONENTS = (
    ("PyTorch", "torch"),
    ("torchvision", "torchvision"),
    ("Qt for Python", "PySide6_Essentials"),
    ("pyqtgraph", "pyqtgraph"),
    ("qasync", "qasync"),
    ("NumPy", "numpy"),
    ("SciPy", "scipy"),
    ("SQLAlchemy", "SQLAlchemy"),
    ("Pillow", "pillow"),
    ("Optuna", "optuna"),
    ("ONNX", "onnx"),
    ("ONNX Script", "onnxscript"),
    ("ONNX Runtime", "onnxruntime"),
)
_device: Future[str] | None = None
_device_lock = threading.Lock()


def component_rows() -> list[tuple[str, str, str]]:
    """(name, version, licence) of each component; "not installed" where its metadata is missing."""
    rows = []
    for shown, dist in COMPONENTS:
        try:
            meta = metadata(dist)
        except PackageNotFoundError:
            rows.append((shown, "not installed", ""))
            continue
        rows.append((shown, meta["Version"], licence_of(meta)))
    return rows


def licence_of(meta) -> str:
    """The SPDX expression, else the short licence field, else the OSI classifier."""
    for field in ("License-Expression", "License"):
        value = (meta.get(field) or "").strip()
        if value and "\n" not in value and len(value) <= 200:  # not a whole licence text
            return value
    classifiers = [c.rsplit("::", 1)[-1].strip() for c in meta.get_all("Classifier") or [] if "License ::" in c]
    return classifiers[0] if classifiers else "see its licence file"


def bundled_data_licences() -> list[str]:
    """One line per bundled data file, from resources/data/README.md: file, creators, licence."""
    text = resource_path("data", "README.md").read_text(encoding="utf-8")
    file = re.search(r"`([^`]+)`", text)
    creators = re.search(r"^- Creators:\s*(.+)$", text, re.M)
    licence = re.search(r"^- Licence:\s*(.+?)\.?$", text, re.M)
    if not (file and creators and licence):
        return ["resources/data/README.md: the bundled data's attribution could not be read"]
    return [f"{file.group(1)}: {creators.group(1).rstrip('.')}; licence {licence.group(1)}"]


def licence_texts_folder() -> str | None:
    """Where the frozen app keeps its components' dist-info folders, with their licence files."""
    return getattr(sys, "_MEIPASS", None) if getattr(sys, "frozen", False) else None


def qt_versions() -> str:
    import PySide6
    from PySide6.QtCore import qVersion

    return f"Qt {qVersion()}, PySide6 {PySide6.__version__}"


def python_version() -> str:
    return f"{sys.version.split()[0]}{' (frozen app)' if getattr(sys, 'frozen', False) else ''}"


def device_line() -> Future[str]:
    """The device found, computed once per process in a background thread (it imports the engine)."""
    global _device
    with _device_lock:
        if _device is None:
            _device = Future()
            threading.Thread(target=_detect, args=(_device,), name="tunelab-about-device", daemon=True).start()
        return _device


def _detect(result: Future[str]) -> None:
    try:
        from trainers.api import describe_devices

        result.set_result(describe_devices())
    except Exception as exc:
        result.set_result(f"unknown: the training engine could not load ({type(exc).__name__}: {exc})")
