"""A store that goes away mid-run: the run goes on, its finished epochs wait locally and are written once the
database is back, and the trial ends as it would have; past the time limit the run stops, naming the local file that
keeps what it could not write, and the next open of the store writes it."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from trainers.spec.config import RunConfig
from trainers.spec.errors import StoreError
from trainers.spec.events import ListSink
from trainers.spec.store_events import StoreReachable, StoreUnreachable, store_notice
from trainers.store import TrialStore
from trainers.store.outbox import LIMIT_ENV
from trainers.training.loop import Callback, Learner
from trainers.training.run import run_training

CFG = RunConfig().replace(
    **{
        "data.source": "digits",
        "data.train_fraction": 0.2,
        "train.epochs": 4,
        "train.checkpoints": False,
        "train.threads": 1,
        "train.device": "cpu",
        "model.hidden_units": 32,
    }
)


class Outage:
    """The store's database refuses every statement while `away` is set, as a vanished file or a stopped server
    does: the store's real engine, with its connections failing."""

    def __init__(self, store: TrialStore) -> None:
        self.away = threading.Event()
        self.store = store
        event.listen(store.engine, "before_cursor_execute", self._refuse)

    def _refuse(self, *_args: Any) -> None:
        if self.away.is_set():
            raise sqlite3.OperationalError("unable to open database file")


class AwayDuring(Callback):
    """Takes the database away after `down` epochs and brings it back after `up` (None: never)."""

    order = 50  # after the store recorder

    def __init__(self, outage: Outage, down: int, up: int | None) -> None:
        self.outage, self.down, self.up = outage, down, up

    def after_epoch(self, learner: Learner) -> None:
        if learner.epoch == self.down:
            # the epoch was handed to the store's thread (training does not wait for it): it lands before the outage
            while self.outage.store.outbox.pending:
                threading.Event().wait(0.01)
            self.outage.away.set()
        if learner.epoch == self.up:
            self.outage.away.clear()


def _spools(home: Path) -> list[Path]:
    return sorted((home / "unsent").glob("*.json"))


@pytest.mark.slow
def test_a_store_away_mid_run_loses_no_epoch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data_home = tmp_path / "home"
    monkeypatch.setenv("TUNELAB_DATA_DIR", str(data_home))
    sink = ListSink()
    with TrialStore(str(tmp_path / "trials.db")) as store:
        outage = Outage(store)
        result = run_training(CFG, sink=sink, store=store, extra_callbacks=[AwayDuring(outage, down=1, up=3)])
        assert result.status == "completed" and result.epochs_run == 4
        trial = store.get_trial(result.trial_id)
        assert trial.status == "completed" and trial.epochs_run == 4 and trial.ended_at is not None
        assert [e.epoch for e in store.epochs(result.trial_id)] == [1, 2, 3, 4]
        assert trial.best_epoch is not None and trial.diagnosis is not None
        assert trial.device == "cpu" and trial.heartbeat_at is not None and store.heartbeat.trial_ids == []
    away = sink.of(StoreUnreachable)
    assert away and away[0].pending >= 1 and "unable to open database file" in away[0].reason
    assert sink.of(StoreReachable) and sink.of(StoreReachable)[-1].written >= 2  # epochs 2 and 3 waited
    assert "store unreachable, retrying" in away[0].line
    assert store_notice(sink.events) == sink.of(StoreReachable)[-1].line
    assert _spools(data_home) == []  # nothing waits any more


@pytest.mark.slow
def test_a_store_away_past_the_limit_stops_the_run_and_keeps_its_epochs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_home = tmp_path / "home"
    monkeypatch.setenv("TUNELAB_DATA_DIR", str(data_home))
    monkeypatch.setenv(LIMIT_ENV, "0.5")
    db = str(tmp_path / "trials.db")
    store = TrialStore(db)
    outage = Outage(store)
    slow = _SlowEpochs(0.3)  # epochs long enough for the limit to pass during the run
    with pytest.raises(StoreError, match="unreachable for over 0.5 s") as raised:
        run_training(
            CFG.replace(**{"train.epochs": 6}), store=store, extra_callbacks=[AwayDuring(outage, 1, None), slow]
        )
    store.close()
    spools = _spools(data_home)
    assert len(spools) == 1 and str(spools[0]) in str(raised.value)
    ops = json.loads(spools[0].read_text())["ops"]
    epochs = [op["epoch"] for op in ops if op["op"] == "epoch"]
    assert epochs and epochs[0] == 2 and ops[-1]["status"] == "failed"
    with TrialStore(db) as again:  # the database is back: this open writes what waited
        (trial,) = again.list_trials()
        assert [e.epoch for e in again.epochs(trial.id)] == [1, *epochs]
        assert trial.status == "failed" and "unreachable" in trial.message and trial.epochs_run == epochs[-1]
    assert _spools(data_home) == []


class _SlowEpochs(Callback):
    order = 60

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def after_epoch(self, learner: Learner) -> None:
        threading.Event().wait(self.seconds)


def test_a_refused_write_still_raises_at_once(tmp_path: Path) -> None:
    """Only an unreachable database is waited for: a write the store refuses is an error, as before."""
    with TrialStore(str(tmp_path / "trials.db")) as store:
        tid = store.create_trial("train", {})
        store.add_epoch(
            tid,
            1,
            train_loss=1.0,
            train_acc=None,
            val_loss=None,
            val_acc=None,
            lr=None,
            seconds=None,
            samples_per_sec=None,
        )
        with pytest.raises(StoreError, match="already recorded"):
            store.add_epoch(
                tid,
                1,
                train_loss=1.0,
                train_acc=None,
                val_loss=None,
                val_acc=None,
                lr=None,
                seconds=None,
                samples_per_sec=None,
            )
        assert store.outbox.pending == 0


class ServerAway(Callback):
    """Stops the PostgreSQL server after epoch `down` and starts it again after epoch `up`."""

    order = 50

    def __init__(self, cluster: Any, down: int, up: int) -> None:
        self.cluster, self.down, self.up = cluster, down, up

    def after_epoch(self, learner: Learner) -> None:
        if learner.epoch == self.down:
            self.cluster.stop()
        if learner.epoch == self.up:
            self.cluster.start()


@pytest.mark.slow
def test_postgresql_stopped_and_started_mid_run_loses_no_epoch(
    pg_cluster: Any, pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_home = tmp_path / "home"
    monkeypatch.setenv("TUNELAB_DATA_DIR", str(data_home))
    sink = ListSink()
    try:
        with TrialStore(pg_url) as store:
            result = run_training(CFG, sink=sink, store=store, extra_callbacks=[ServerAway(pg_cluster, 1, 3)])
    finally:
        if not pg_cluster.running:
            pg_cluster.start()
    assert result.status == "completed" and result.epochs_run == 4
    with TrialStore(pg_url) as store:
        trial = store.get_trial(result.trial_id)
        assert trial.status == "completed" and trial.epochs_run == 4 and trial.ended_at is not None
        assert [e.epoch for e in store.epochs(result.trial_id)] == [1, 2, 3, 4]
    away = sink.of(StoreUnreachable)
    assert away and away[0].pending >= 1 and "s3cret" not in away[0].line + away[0].reason
    assert sink.of(StoreReachable) and sink.of(StoreReachable)[-1].written >= 2
    assert _spools(data_home) == []


class StudyAway(Callback):
    """Takes the study's database away after epoch `down` (before the pruner reports that epoch)."""

    order = 16  # after the store recorder (12), before the pruner's report (18)

    def __init__(self, engine: Any, down: int) -> None:
        self.away = threading.Event()
        self.down = down
        event.listen(engine, "before_cursor_execute", self._refuse)

    def _refuse(self, *_args: Any) -> None:
        if self.away.is_set():
            raise sqlite3.OperationalError("unable to open database file")

    def after_epoch(self, learner: Learner) -> None:
        if learner.epoch == self.down:
            self.away.set()


@pytest.mark.slow
def test_a_search_trial_goes_on_while_the_studys_database_is_away(tmp_path: Path) -> None:
    import optuna

    from trainers.search.pruning import PruningCallback

    storage = optuna.storages.RDBStorage(f"sqlite:///{tmp_path / 'study.db'}")
    study = optuna.create_study(storage=storage, direction="maximize")
    trial = study.ask()
    away = StudyAway(storage.engine, down=2)
    with TrialStore(str(tmp_path / "trials.db")) as store:
        result = run_training(CFG, store=store, extra_callbacks=[away, PruningCallback(trial, "val_acc", "median")])
        assert result.status == "completed" and [e.epoch for e in store.epochs(result.trial_id)] == [1, 2, 3, 4]
    away.away.clear()
    assert sorted(storage.get_trial(trial._trial_id).intermediate_values) == [1]  # reported while it was there
