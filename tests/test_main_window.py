"""The main window as a person uses it: forms, Train/Pause/Stop, live plots, errors, closing, files."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog
from window_helpers import RUN_TIMEOUT_MS, close_and_answer, shown_window

from app.ensembles import EnsembleTab
from app.history import HistoryTab
from app.lr_finder.lr_finder_tab import LrFinderTab
from app.main_window import MainWindow
from trainers.spec.config import RunConfig
from trainers.spec.events import BatchEnded, EpochEnded
from trainers.store import TrialStore

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def window(qtbot) -> Iterator[MainWindow]:
    with shown_window(qtbot) as w:
        yield w


def configure(window: MainWindow, **changes) -> None:
    window.training.form.set_config(RunConfig().replace(**changes))


def type_into(qtbot, window: MainWindow, key: str, text: str) -> None:
    widget = window.training.form.editor(key).focus_widget()
    widget.selectAll()
    qtbot.keyClicks(widget, text)


def run_to_end(qtbot, window: MainWindow, start=None):
    with qtbot.waitSignal(window.training.run_finished, timeout=RUN_TIMEOUT_MS) as blocker:
        (start or (lambda: qtbot.mouseClick(window.training.panel.train_button, Qt.LeftButton)))()
    return blocker.args[0]


@pytest.mark.slow
def test_train_from_widgets_fills_plots_and_store(qtbot, window: MainWindow) -> None:
    type_into(qtbot, window, "train.epochs", "3")
    type_into(qtbot, window, "train.batch_size", "128")
    assert window.training.panel.train_button.isEnabled()
    epochs_seen: list[int] = []
    window.training.events_received.connect(
        lambda events: epochs_seen.extend(e.epoch for e in events if isinstance(e, EpochEnded))
    )
    outcome = run_to_end(qtbot, window)
    r = outcome.result
    assert r.status == "completed" and r.epochs_run == 3
    assert epochs_seen == [1, 2, 3]
    plots = window.training.plots
    assert len(plots.plot("accuracy").buffer("validation")) == 3
    assert len(plots.plot("gap").buffer("validation − training loss")) == 3
    batch_loss = plots.plot("loss").buffer("train (batch)")
    assert len(batch_loss) == len(plots.plot("lr").buffer("learning rate")) > 0
    assert batch_loss.x[-1] == pytest.approx(3.0)  # the last batch ends epoch 3
    with TrialStore() as store:  # the default store, exactly as the CLI uses it
        trial = store.get_trial(r.trial_id)
        assert trial.status == "completed" and trial.epochs_run == 3
        assert trial.config["train"]["batch_size"] == 128
        assert [e.val_acc for e in store.epochs(r.trial_id)] == pytest.approx(
            list(plots.plot("accuracy").buffer("validation").y)
        )
    assert "completed" in window.training.panel.message.text()
    assert window.training.form.editor("train.epochs").focus_widget().isEnabled()  # unlocked after the run


def test_invalid_field_disables_train_with_reason(qtbot, window: MainWindow) -> None:
    type_into(qtbot, window, "optim.lr", "abc")
    panel = window.training.panel
    assert not panel.train_button.isEnabled()
    assert panel.message.text() == "Cannot train yet: Learning rate: 'abc' is not allowed; must be a number in (0, 100]"
    assert panel.train_button.toolTip() == panel.message.text()  # the disabled button says why
    qtbot.keyClick(window, Qt.Key_Return, Qt.ControlModifier)  # the shortcut must not start it either
    assert not window.training.running
    type_into(qtbot, window, "optim.lr", "0.01")
    assert panel.train_button.isEnabled()
    assert "Cannot train" not in panel.message.text()


@pytest.mark.slow
def test_pause_resume_then_stop_mid_epoch(qtbot, window: MainWindow) -> None:
    configure(window, **{"train.epochs": 50, "train.batch_size": 1})  # ~1,200 tiny batches an epoch
    batches: list[BatchEnded] = []
    window.training.events_received.connect(lambda ev: batches.extend(e for e in ev if isinstance(e, BatchEnded)))
    qtbot.keyClick(window, Qt.Key_Return, Qt.ControlModifier)
    assert window.training.running
    assert not window.training.form.editor("train.epochs").focus_widget().isEnabled()  # locked while it runs
    qtbot.waitUntil(lambda: len(batches) > 20, timeout=RUN_TIMEOUT_MS)
    window.training.toggle_pause()
    assert window.training.paused and window.training.panel.pause_button.text() == "Res&ume"
    qtbot.wait(300)  # anything already under way arrives in this time
    count = len(batches)
    qtbot.wait(300)
    assert len(batches) == count  # nothing trains while paused
    window.training.toggle_pause()
    qtbot.waitUntil(lambda: len(batches) > count, timeout=RUN_TIMEOUT_MS)
    assert batches[-1].epoch == 1
    outcome = run_to_end(qtbot, window, start=lambda: qtbot.keyClick(window, Qt.Key_Escape))
    r = outcome.result
    assert r.status == "stopped" and r.epochs_run == 0
    with TrialStore() as store:
        assert store.get_trial(r.trial_id).status == "stopped"
    assert window.training.panel.train_button.isEnabled()


@pytest.mark.slow
def test_worker_error_is_shown_and_next_run_works(qtbot, window: MainWindow, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,label\n1,2,x\n3,oops,y\n" + "".join(f"{i},{i},x\n" for i in range(30)))
    configure(window, **{"data.source": "csv", "data.path": str(bad), "train.epochs": 1})
    outcome = run_to_end(qtbot, window)
    r = outcome.result
    assert r.status == "failed"
    message = window.training.panel.message.text()
    assert "failed" in message and "bad.csv" in message
    assert window.training.panel.message.property("kind") == "error"
    with TrialStore() as store:
        assert store.get_trial(r.trial_id).status == "failed"
    configure(window, **{"train.epochs": 1})
    assert run_to_end(qtbot, window).result.status == "completed"


@pytest.mark.slow
def test_close_during_run_asks_stops_and_records_stopped(qtbot, window: MainWindow) -> None:
    configure(window, **{"train.epochs": 500})
    started: list = []
    window.training.events_received.connect(started.append)
    window.training.start()
    qtbot.waitUntil(lambda: bool(started), timeout=RUN_TIMEOUT_MS)
    close_and_answer(window, yes=False)
    assert window.isVisible() and window.training.running  # "No" keeps it open and training
    with qtbot.waitSignal(window.training.run_finished, timeout=RUN_TIMEOUT_MS) as blocker:
        close_and_answer(window, yes=True)
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=5000)
    assert not window.training.running
    r = blocker.args[0].result
    with TrialStore() as store:
        assert store.get_trial(r.trial_id).status == "stopped"


def test_save_new_open_round_trip_through_file_menu(qtbot, window: MainWindow, tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "run.toml"
    type_into(qtbot, window, "optim.lr", "0.003")
    type_into(qtbot, window, "train.epochs", "7")
    saved = window.training.form.config()
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), "TOML (*.toml)"))
    window.save_as_action.trigger()
    assert path.is_file() and "TuneLab — run.toml" == window.windowTitle()
    window.new_action.trigger()
    assert window.training.form.config().to_dict() == RunConfig().to_dict()
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), "TOML (*.toml)"))
    window.open_action.trigger()
    assert window.training.form.config().to_dict() == saved.to_dict()
    window.recent_menu.aboutToShow.emit()
    assert [a.text() for a in window.recent_menu.actions()] == [str(path.resolve())]


def test_opening_a_bad_config_file_says_which_field(window: MainWindow, tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[optim]\nlr = -2\n")
    before = window.training.form.config().to_dict()
    assert not window.open_config(path)
    text = window.training.panel.message.text()
    assert "optim.lr" in text and "bad.toml" in text
    assert window.training.form.config().to_dict() == before


def test_tabs_lr_finder_history_and_ensembles_are_real(window: MainWindow) -> None:
    names = [window.tabs.tabText(i).replace("&", "") for i in range(window.tabs.count())]
    assert names == ["Training", "LR finder", "Search", "History", "Ensembles", "Predict"]
    assert window.tabs.widget(1) is window.lr_finder and isinstance(window.lr_finder, LrFinderTab)
    assert window.lr_finder.run_button.isEnabled() and not hasattr(window.lr_finder, "label")
    assert window.tabs.widget(2) is window.search
    assert window.tabs.widget(3) is window.history and isinstance(window.history, HistoryTab)
    assert window.tabs.widget(4) is window.ensembles and isinstance(window.ensembles, EnsembleTab)


@pytest.mark.slow
def test_window_shows_without_importing_torch() -> None:
    code = (
        "import sys\nfrom app.launch import make_application\nfrom app.main_window import MainWindow\n"
        "app = make_application(); w = MainWindow(); w.show(); app.processEvents()\n"
        "print('torch' in sys.modules, w.isVisible())"
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == ["False", "True"], out.stderr


@pytest.mark.slow
def test_version_and_help_need_no_display() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    for flag, expected in (("--version", "tunelab "), ("--help", "open the TuneLab window")):
        out = subprocess.run(
            [sys.executable, "-m", "app", flag], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
        )
        assert out.returncode == 0 and expected in out.stdout, out.stderr


@pytest.mark.slow
def test_self_test_trains_and_reports_one_line() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "app", "--self-test"],
        cwd=ROOT,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tunelab self-test passed: 2 epochs on digits")


def test_alt_keys_of_tabs_menus_and_run_buttons_do_not_collide(qtbot, window) -> None:
    import re

    def key(text: str) -> str:
        found = re.search(r"&([^&])", text)
        return found.group(1).lower() if found else ""

    window_wide = [key(a.text()) for a in window.menuBar().actions()]
    # every tab but Predict has its Alt letter (all of "Predict"'s are taken: app/main_window.py)
    tabs = [i for i in range(window.tabs.count()) if window.tabs.widget(i) is not window.predict]
    window_wide += [key(window.tabs.tabText(i)) for i in tabs]
    assert all(window_wide) and len(set(window_wide)) == len(window_wide)
    panel = window.training.panel
    texts = [
        panel.train_button.text(),
        panel.stop_button.text(),
        panel.pause_button.text(),
        window.lr_finder.run_button.text(),
        window.ensembles.run_button.text(),
        window.search.run_button.text(),
    ]
    panel.set_paused(True)
    texts.append(panel.pause_button.text())
    for text in texts:
        assert key(text) not in window_wide, text


def test_alt_and_a_tabs_number_shows_that_tab_predict_included(qtbot, window) -> None:
    keys = [Qt.Key.Key_1, Qt.Key.Key_2, Qt.Key.Key_3, Qt.Key.Key_4, Qt.Key.Key_5, Qt.Key.Key_6]
    assert window.tabs.count() == len(keys)
    for index in reversed(range(window.tabs.count())):  # from the last: the first tab is the one on show
        qtbot.keyClick(window, keys[index], Qt.KeyboardModifier.AltModifier)
        assert window.tabs.currentIndex() == index
    assert window.tabs.widget(5) is window.predict
    assert window.tab_actions[5].text() == "Predict tab"
