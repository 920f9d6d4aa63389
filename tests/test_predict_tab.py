"""The Predict tab as a person uses it: choose a stored trial, open a CSV file, press Predict, read the table
(predicted class, probability, top three), export it; bad input is one line, and a bad row does not stop the rest.

A store with one MLP trained on a CSV file (with a categorical column) is built once; each test uses its own copy."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from window_helpers import RUN_TIMEOUT_MS, window_on

from app.main_window import MainWindow
from trainers.api import TrialStore, run_training
from trainers.spec.config import DataConfig, ModelConfig, RunConfig, TrainConfig

HEADER = ["height", "colour", "weight", "species"]


def _write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def _rows(n: int) -> list[list[str]]:
    rng = np.random.default_rng(5)
    return [
        [
            f"{10 + 3 * (i % 3) + rng.normal():.3f}",
            "red green blue".split()[i % 3],
            f"{50 + rng.normal():.2f}",
            "cat dog eel".split()[i % 3],
        ]
        for i in range(n)
    ]


@pytest.fixture(scope="module")
def built_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("predict-tab")
    data = DataConfig(source="csv", path=str(_write(folder / "animals.csv", HEADER, _rows(90))))
    cfg = RunConfig(
        data=data,
        model=ModelConfig(hidden_layers=1, hidden_units=16),
        train=TrainConfig(epochs=2, batch_size=16, threads=1, device="cpu"),
    )
    with TrialStore(str(folder / "trials.db")) as store:
        assert run_training(cfg, store=store).status == "completed"
    return folder


@pytest.fixture
def window(qtbot, store_url: str) -> Iterator[MainWindow]:
    with window_on(qtbot, store_url, "predict") as w:
        yield w


def _predict(qtbot, window: MainWindow) -> None:
    tab = window.predict
    with qtbot.waitSignal(window.runner.finished, timeout=RUN_TIMEOUT_MS):
        qtbot.mouseClick(tab.predict_button, Qt.LeftButton)


def test_predict_a_csv_fills_the_table_and_exports_it(qtbot, window: MainWindow, tmp_path: Path) -> None:
    tab = window.predict
    assert tab.model_combo.count() == 1 and tab.model_combo.currentData() == 1  # the stored trial, listed
    assert not tab.predict_button.isEnabled()  # no input yet
    rows = _rows(12)
    rows[4][1] = "purple"  # a colour the model never saw: this row only is not predicted
    tab.set_input([str(_write(tmp_path / "new.csv", HEADER, rows))])
    assert tab.predict_button.isEnabled()
    _predict(qtbot, window)
    table = tab.results
    assert table.rowCount() == 12
    assert table.cell_text(0, "Input") == "1" and table.cell_text(0, "Predicted") in ("cat", "dog", "eel")
    assert 0 < float(table.cell_text(0, "Probability")) <= 1
    assert table.cell_text(0, "Top 3").count(" ") >= 5 and table.cell_text(0, "True class") == rows[0][3]
    assert "'purple' was not seen in training" in table.cell_text(4, "Problem")
    assert table.cell_text(4, "Predicted") == ""
    message = tab.message.text()
    assert "11 of 12 inputs predicted" in message and "purple" in message and "\n" not in message
    assert tab.export_button.isEnabled()
    assert tab.export_csv(str(tmp_path / "out.csv"))
    with open(tmp_path / "out.csv", newline="") as fh:
        written = list(csv.DictReader(fh))
    assert len(written) == 12 and written[0]["predicted"] == table.cell_text(0, "Predicted")


def test_a_dropped_bad_csv_is_one_line_and_the_table_stays_empty(qtbot, window: MainWindow, tmp_path: Path) -> None:
    tab = window.predict
    path = _write(tmp_path / "short.csv", ["height", "colour"], [["10", "red"]])
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    drop = QDropEvent(
        QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier
    )
    with qtbot.waitSignal(window.runner.finished, timeout=RUN_TIMEOUT_MS):
        tab.dropEvent(drop)  # a drop predicts at once when a model is chosen
    assert tab.inputs == [str(path)]
    assert tab.results.rowCount() == 0 and not tab.export_button.isEnabled()
    line = tab.message.text()
    assert "missing column(s) 'weight'" in line and "short.csv" in line and "\n" not in line
    assert tab.message.property("kind") == "error"


def test_alt_keys_of_the_tab_do_not_collide(window: MainWindow) -> None:
    import re

    def key(label: str) -> str:
        found = re.search(r"&([^&])", label)
        return found.group(1).lower() if found else ""

    window_wide = [key(a.text()) for a in window.menuBar().actions()]
    window_wide += [key(window.tabs.tabText(i)) for i in range(window.tabs.count())]
    tab = window.predict
    buttons = (tab.ensemble_button, tab.images_button, tab.folder_button, tab.csv_button, tab.predict_button)
    labels = [b.text() for b in (*buttons, tab.export_button)] + [tab.model_label.text()]
    keys = [key(label) for label in labels]
    assert all(keys) and len(set(keys)) == len(keys) and not set(keys) & set(window_wide), labels
