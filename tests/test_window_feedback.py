"""What the window says as it is used: the unsaved mark and the question before a config is replaced, the status
bar for every kind of job and after a stop, feedback while the engine loads, and the keyboard-shortcut list."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox
from test_close_races import Owner, gated_job
from window_helpers import shown_window

from app.help_dialog import ShortcutsDialog
from app.job_runner import EngineJob
from app.main_window import MainWindow
from app.training.run_progress import RunProgress
from app.worker import JobOutcome
from trainers.spec.events import BatchEnded, FitStarted


@pytest.fixture
def window(qtbot) -> Iterator[MainWindow]:
    with shown_window(qtbot) as w:
        yield w


def test_unsaved_edits_are_marked_and_asked_about_before_open(qtbot, window: MainWindow, tmp_path, monkeypatch):
    assert not window.windowTitle().endswith("*")
    window.training.form.set_field("optim.lr", 0.01)
    assert window.windowTitle() == "TuneLab — untitled*"
    opened: list = []
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: opened.append(1) or ("", ""))
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Cancel)
    window.open_action.trigger()
    window.new_action.trigger()
    assert not opened and window.training.form.config().optim.lr == 0.01  # Cancel keeps the edits
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)
    window.open_action.trigger()
    assert opened
    path = tmp_path / "run.toml"
    assert window.save_config(path)
    assert window.windowTitle() == "TuneLab — run.toml"
    window.training.form.set_field("optim.lr", 0.001)
    window.training.form.set_field("optim.lr", 0.01)  # back to what is saved: nothing unsaved
    assert window.windowTitle() == "TuneLab — run.toml"


def test_the_status_bar_drops_the_eta_once_a_run_is_stopped(window: MainWindow) -> None:
    tab = window.training
    tab.progress = RunProgress.begin()
    tab.progress.update([FitStarted(1, 10, 4, 100, 20, 0, 1, "cpu"), BatchEnded(1, 1, 1, 1.0, 0.1, 1.0, 25)])
    tab._emit_status()
    assert "ETA" in window.run_status.text()
    result = SimpleNamespace(
        trial_id=1, status="stopped", epochs_run=0, best_val_acc=None, test_acc=None, seconds=1.0, message=""
    )
    tab.on_job_outcome(JobOutcome(result))
    assert "ETA" not in window.run_status.text() and "stopped" in window.run_status.text()


def test_the_status_bar_follows_other_jobs_too(qtbot, window: MainWindow) -> None:
    gate = threading.Event()
    job = gated_job(gate)
    lr_test = EngineJob(job.work, "An LR finder test", "LR finder")
    assert window.runner.start(lr_test, Owner())
    assert window.run_status.text() == "An LR finder test is running (LR finder tab)…"
    gate.set()
    qtbot.waitUntil(lambda: window.runner.idle, timeout=10_000)
    assert window.run_status.text() == "An LR finder test ended."


def test_train_while_the_engine_loads_says_so_at_once(window: MainWindow, monkeypatch) -> None:
    monkeypatch.setattr(window.runner, "start", lambda job, owner: True)  # nothing actually starts
    assert window.training.start()
    assert "still loading" in window.training.panel.message.text()
    window.training.form.set_engine_ready()
    assert window.training.start()
    assert "still loading" not in window.training.panel.message.text()


def test_f1_lists_the_keyboard_shortcuts(qtbot, window: MainWindow) -> None:
    qtbot.keyClick(window, Qt.Key.Key_F1)
    qtbot.waitUntil(
        lambda: any(isinstance(w, ShortcutsDialog) and w.isVisible() for w in QApplication.topLevelWidgets())
    )
    dialog = next(w for w in QApplication.topLevelWidgets() if isinstance(w, ShortcutsDialog))
    rows = {dialog.table.item(r, 1).text(): dialog.table.item(r, 0).text() for r in range(dialog.table.rowCount())}
    assert rows["Run → Train"].startswith("Ctrl+Return")
    assert rows["Help → Keyboard shortcuts"] == "F1"
    assert "Run → Stop" in rows and "File → Open config…" in rows
    dialog.close()


def test_the_form_says_target_column_as_the_readme_and_cli_do(window: MainWindow) -> None:
    assert window.training.form.label("data.target_column").text() == "Target column"
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert "--target-column" in readme


def test_the_banner_quotes_the_value_as_typed_now_by_the_fields_label(qtbot, window: MainWindow) -> None:
    line = window.training.form.editor("optim.lr").focus_widget()
    line.selectAll()
    qtbot.keyClicks(line, "-")
    qtbot.keyClicks(line, "2")
    text = window.training.panel.message.text()
    assert "Learning rate: -2.0 is not allowed" in text and "'-'" not in text  # not the keystroke before
    assert text.startswith("Cannot train yet: Learning rate:") and "optim.lr" not in text
    line.selectAll()
    qtbot.keyClicks(line, "0,001")
    text = window.training.panel.message.text()
    assert "'0,001'" in text and "comma" in text
    assert "comma" in window.training.form.editor("optim.lr").error()
    assert "comma" in window.training.panel.train_button.toolTip()


def test_the_lr_finder_bar_shows_the_iterations_a_sweep_ran(window: MainWindow) -> None:
    from trainers.spec.events import LrFinderCurve, LrFinderResult

    lrs = tuple(10.0 ** (-5 + i * 0.05) for i in range(82))
    curve = LrFinderCurve(0, lrs, tuple(2.0 for _ in lrs), tuple(2.0 for _ in lrs), None, "the loss diverged")
    result = LrFinderResult(3, "completed", (curve,), {}, {}, None, (), "", 1.0)
    tab = window.lr_finder
    tab.progress.setMaximum(100)
    tab._take_outcome(JobOutcome(result))
    assert tab.progress.text().startswith("82 of 100 iterations")  # not "iteration 100 / 100"
