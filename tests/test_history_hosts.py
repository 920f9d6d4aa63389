"""The window for a store shared by several hosts: History shows which host and device ran each trial (and sorts by
them), and the status bar says "store unreachable, retrying" while a run's store is away."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_history_tab import click_header, column
from window_helpers import window_on

from trainers.spec.store_events import StoreReachable, StoreUnreachable
from trainers.store import TrialStore
from trainers.store.recovery import HOST_ENV


def _trial(store: TrialStore, device: str | None, acc: float) -> int:
    tid = store.create_trial("train", {}, device=device, dataset="digits")
    store.finish_trial(tid, "completed", best_val_acc=acc)
    return tid


def test_history_shows_and_sorts_host_and_device(qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    with TrialStore(url) as store:
        for host, device, acc in (("gpu-b", "cuda:1", 0.9), ("gpu-a", "cuda:0", 0.8), ("desk", "cpu", 0.7)):
            monkeypatch.setenv(HOST_ENV, host)
            _trial(store, device, acc)
        monkeypatch.setenv(HOST_ENV, "old")
        _trial(store, None, 0.6)  # a trial of an earlier version: no device known
    with window_on(qtbot, url, "history") as w:
        tab = w.history
        qtbot.waitUntil(lambda: tab.model.rowCount() == 4, timeout=10_000)
        assert column(tab, "host") == ["gpu-b", "gpu-a", "desk", "old"]  # ranked by accuracy
        assert column(tab, "device") == ["cuda:1", "cuda:0", "cpu", ""]
        click_header(qtbot, tab, "host")  # the store sorts by host, one way or the other
        by_host = ["desk", "gpu-a", "gpu-b", "old"]
        qtbot.waitUntil(lambda: column(tab, "host") in (by_host, by_host[::-1]), timeout=10_000)


def test_the_status_bar_says_when_the_store_is_away_and_back(qtbot, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'trials.db'}"
    with window_on(qtbot, url, "training") as w:
        away = StoreUnreachable("postgresql://lab@db/tunelab", "connection refused", 2, 12.0, 600.0, "/x/unsent.json")
        w.runner.events.emit(None, [away])
        assert w.statusBar().currentMessage().startswith("store unreachable, retrying")
        w.runner.events.emit(None, [StoreReachable("postgresql://lab@db/tunelab", 2, 14.0)])
        assert w.statusBar().currentMessage().startswith("store reachable again")
