"""History's Export model button: it asks where, the window's job runner writes and checks the folder off the GUI
thread, and the tab says where it went (or why it could not)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import pytest
from PySide6.QtWidgets import QFileDialog, QToolButton
from window_helpers import RUN_TIMEOUT_MS, window_on

from app.main_window import MainWindow
from trainers.api import TrialStore, run_training
from trainers.spec.config import RunConfig

pytestmark = pytest.mark.slow

TINY = {"train.epochs": 1, "train.threads": 1, "model.hidden_layers": 1, "model.hidden_units": 16}


@pytest.fixture(scope="module")
def built_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("export-button")
    with TrialStore(str(folder / "trials.db")) as store:
        assert run_training(RunConfig().replace(**TINY), store=store).status == "completed"
        lr_test = store.create_trial("lr_test", RunConfig().to_dict())
        store.finish_trial(lr_test, "completed")
    return folder


@pytest.fixture
def window(qtbot, store_url: str) -> Iterator[MainWindow]:
    with window_on(qtbot, store_url, "history") as w:
        yield w


def _export_button(window: MainWindow) -> QToolButton:
    tab = window.history
    buttons = [b for b in tab.findChildren(QToolButton) if b.defaultAction() is tab.actions.export_model]
    assert len(buttons) == 1
    return buttons[0]


def _export(qtbot, window: MainWindow, trial_id: int, folder: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    tab = window.history
    tab.select_ids([trial_id])
    qtbot.waitUntil(lambda: tab.stack.currentWidget() is not tab.hint, timeout=5000)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(folder))
    button = _export_button(window)
    assert button.isEnabled() and button.isVisible()
    with qtbot.waitSignal(window.runner.finished, timeout=RUN_TIMEOUT_MS):
        button.click()
        assert "Exporting trial" in tab.message.text()  # the window stays responsive while the engine works
    return tab.message.text()


def test_the_button_writes_a_checked_folder(qtbot, window: MainWindow, tmp_path: Path, monkeypatch) -> None:
    exports = tmp_path / "exports"
    exports.mkdir()
    text = _export(qtbot, window, 1, exports, monkeypatch)
    out = exports / "trial-1"
    assert f"Exported trial 1 to {out}" in text and "ONNX Runtime matches torch" in text
    assert {p.name for p in out.iterdir()} == {"model.onnx", "model.pt2", "model.pt", "signature.json", "predict.py"}
    assert json.loads((out / "signature.json").read_text())["check"]["passed"] is True
    # a second export of the same trial goes beside the first, never over it
    text = _export(qtbot, window, 1, exports, monkeypatch)
    assert f"to {exports / 'trial-1-2'}" in text and (out / "model.onnx").is_file()


def test_a_trial_without_a_model_says_why(qtbot, window: MainWindow, tmp_path: Path, monkeypatch) -> None:
    exports = tmp_path / "exports"
    exports.mkdir()
    text = _export(qtbot, window, 2, exports, monkeypatch)
    assert text.startswith("Could not export: trial 2 is a lr_test trial: only training runs and ensembles")
    assert list(exports.iterdir()) == []
