"""Help → About: the version from pyproject.toml, PyTorch and Qt versions, the device, licences, Copy."""

from __future__ import annotations

import tomllib
from pathlib import Path

import PySide6
from PySide6.QtGui import QGuiApplication

from app.about_dialog import DETECTING, AboutDialog
from app.about_info import bundled_data_licences, component_rows
from app.main_window import MainWindow

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT_VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def test_about_shows_versions_device_and_licences(qtbot) -> None:
    dialog = AboutDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.device.text() != DETECTING, timeout=60_000)
    text = dialog.as_text()
    assert f"TuneLab {PYPROJECT_VERSION}" in text
    assert f"PySide6 {PySide6.__version__}" in text
    assert "PyTorch: " in text and "torchvision: " in text
    assert dialog.device.text().startswith(("CPU", "CUDA", "Apple GPU"))
    assert "CC BY 4.0" in text and "Alpaydin" in text  # the bundled digits' attribution
    assert "TuneLab: MIT" in text
    dialog.copy_button.click()
    assert QGuiApplication.clipboard().text() == dialog.as_text()


def test_component_licences_come_from_metadata() -> None:
    rows = {name: (version, licence) for name, version, licence in component_rows()}
    assert rows["Qt for Python"][1].startswith("LGPL-3.0")
    assert all(version != "not installed" and licence for version, licence in rows.values())
    assert bundled_data_licences() == [
        "digits.csv.gz: E. Alpaydin, C. Kaynak (1998), UCI Machine Learning Repository; licence CC BY 4.0"
    ]


def test_help_about_opens_the_dialog_without_blocking(qtbot) -> None:
    window = MainWindow()
    qtbot.addWidget(window)
    window._about()  # returns at once: the dialog is window-modal, not a nested event loop
    dialog = window.findChild(AboutDialog)
    assert dialog is not None and dialog.isVisible()
    assert PYPROJECT_VERSION in dialog.windowTitle()
    dialog.close()
