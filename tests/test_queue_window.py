"""Run on workers in the window: the Training tab's "Queue for workers" and History's re-runs "on workers" queue runs
in a real SQLite store (status "queued", nothing trained here), and History shows them as queued."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
from history_wait import settled
from PySide6.QtCore import Qt
from window_helpers import window_on

from app.history.columns import COLUMN_INDEX
from app.main_window import MainWindow
from trainers.api import TrialStore, queue_run
from trainers.spec.config import RunConfig

TINY = RunConfig().replace(**{"data.source": "digits", "data.train_fraction": 0.1, "train.epochs": 1})


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    url = str(tmp_path / "trials.db")
    with TrialStore(url) as store:
        done = store.create_trial("train", TINY.to_dict(), seed=TINY.train.seed, dataset="digits")
        store.finish_trial(done, "completed")
    return url


@pytest.fixture
def window(qtbot, store_url: str) -> Iterator[MainWindow]:
    with window_on(qtbot, store_url, "history", TINY) as w:
        settled(w.history)
        yield w


def statuses(window: MainWindow) -> dict[int, str]:
    settled(window.history)
    m = window.history.model
    rows = range(m.rowCount())
    ids = [int(m.data(m.index(r, COLUMN_INDEX["id"]))) for r in rows]
    return dict(zip(ids, [m.data(m.index(r, COLUMN_INDEX["status"])) for r in rows], strict=True))


def test_history_shows_a_queued_trial_as_queued(qtbot, store_url: str) -> None:
    with TrialStore(store_url) as store:
        queued = queue_run(store, TINY)
    with window_on(qtbot, store_url, "history") as w:
        assert statuses(w)[queued] == "queued"


def test_queue_for_workers_queues_the_forms_config_without_training(qtbot, window: MainWindow, store_url: str) -> None:
    training = window.training
    window.tabs.setCurrentWidget(training)
    assert training.panel.queue_button.isEnabled()
    with qtbot.waitSignal(training.queued, timeout=30_000) as done:
        qtbot.mouseClick(training.panel.queue_button, Qt.MouseButton.LeftButton)
    trial_id = done.args[0]
    assert training.panel.message.text().startswith(f"Trial {trial_id} queued for workers")
    assert window.runner.idle  # nothing trains here
    with TrialStore(store_url) as store:
        trial = store.get_trial(trial_id)
    assert (trial.status, trial.epochs_run, trial.dataset) == ("queued", 0, "digits")
    window.tabs.setCurrentWidget(window.history)
    qtbot.waitUntil(lambda: statuses(window).get(trial_id) == "queued", timeout=30_000)


def test_reruns_on_workers_are_queued_with_new_seeds(qtbot, window: MainWindow, store_url: str) -> None:
    tab = window.history
    tab.select_ids([1])
    settled(tab)
    tab.rerun.seeds.setValue(2)
    tab.rerun.on_workers.setChecked(True)
    assert tab.rerun.button.isEnabled()
    with qtbot.waitSignal(tab.rerun.queued, timeout=30_000) as done:
        qtbot.mouseClick(tab.rerun.button, Qt.MouseButton.LeftButton)
    queued = done.args[0]
    assert isinstance(queued, list) and len(queued) == 2 and window.runner.idle
    assert tab.message.text().startswith("Queued 2 re-runs for workers")
    with TrialStore(store_url) as store:
        trials = [store.get_trial(i) for i in queued]
    assert [t.status for t in trials] == ["queued", "queued"] and {t.seed for t in trials} == {1, 2}
    qtbot.waitUntil(lambda: all(statuses(window).get(i) == "queued" for i in queued), timeout=30_000)
