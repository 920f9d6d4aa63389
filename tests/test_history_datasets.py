"""History names each trial's data by its file or folder and ranks within one dataset by default: the one of the
most recent trial, until the user picks another or "All datasets"."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
from history_wait import settled
from window_helpers import window_on

from app.history.columns import COLUMN_INDEX
from app.history.filter_bar import ALL_DATASETS
from app.history.history_tab import HistoryTab
from app.main_window import MainWindow
from trainers.api import TrialStore, trial_summary
from trainers.spec.config import RunConfig


def add(store: TrialStore, cfg: RunConfig, acc: float) -> int:
    trial_id = store.create_trial("train", cfg.to_dict(), **trial_summary(cfg))
    store.finish_trial(trial_id, "completed", best_val_acc=acc, best_val_loss=1 - acc)
    return trial_id


@pytest.fixture
def iris(tmp_path: Path) -> RunConfig:
    path = tmp_path / "iris.csv"
    path.write_text("a,b,species\n1,2,x\n3,4,y\n")
    return RunConfig().replace(**{"data.source": "csv", "data.path": str(path)})


@pytest.fixture
def window(qtbot, tmp_path: Path, iris: RunConfig) -> Iterator[MainWindow]:
    url = f"sqlite:///{tmp_path / 'trials.db'}"
    with TrialStore(url) as store:
        add(store, iris, 1.0)  # 1: a perfect score on a tiny table
        for i, acc in enumerate((0.90, 0.95, 0.80)):  # 2-4: digits, the most recent
            add(store, RunConfig().replace(**{"train.seed": i}), acc)
    with window_on(qtbot, url, "history") as w:
        yield w


def column(tab: HistoryTab, key: str) -> list[str]:
    settled(tab)  # the store is read off the GUI thread
    m = tab.model
    return [m.data(m.index(row, COLUMN_INDEX[key])) for row in range(m.rowCount())]


def test_history_ranks_within_the_most_recent_trials_dataset_and_names_the_file(qtbot, window: MainWindow) -> None:
    tab, combo = window.history, window.history.filters.combos["dataset"]
    assert combo.currentText() == "digits"
    assert [combo.itemText(i) for i in range(combo.count())] == [ALL_DATASETS, "csv: iris.csv", "digits"]
    assert column(tab, "id") == ["3", "2", "4"] and column(tab, "rank") == ["1", "2", "3"]
    tab.filters.choose("dataset", None)
    assert column(tab, "id") == ["1", "3", "2", "4"]
    assert column(tab, "dataset") == ["csv: iris.csv", "digits", "digits", "digits"]
    qtbot.keyClicks(tab.filters.search, "iris")
    qtbot.waitUntil(lambda: column(tab, "id") == ["1"], timeout=3000)


def test_the_dataset_choice_follows_new_trials_until_the_user_picks_one(
    qtbot, window: MainWindow, iris: RunConfig
) -> None:
    tab, combo = window.history, window.history.filters.combos["dataset"]
    with TrialStore(window.history.store_url) as store:
        new = add(store, iris, 0.5)
    tab.refresh(choices=True)
    settled(tab)
    assert combo.currentText() == "csv: iris.csv" and column(tab, "id") == ["1", str(new)]
    combo.activated.emit(combo.findText("digits"))  # as a click on the choice does
    combo.setCurrentIndex(combo.findText("digits"))
    with TrialStore(window.history.store_url) as store:
        add(store, iris, 0.4)
    tab.refresh(choices=True)
    settled(tab)
    assert combo.currentText() == "digits" and column(tab, "id") == ["3", "2", "4"]
