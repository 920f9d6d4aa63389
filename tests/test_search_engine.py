"""The search engine on the real parts: Optuna's journal beside a real SQLite store, TuneLab training trials on the
bundled digits, pruning through the loop's callback, stop requests, worker processes and LR-finder seeding."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import optuna
import pytest
from optuna.pruners import BasePruner
from optuna.trial import TrialState

import trainers.search.study as study_module
from trainers.api import TrialStore, load_search_result, run_search, run_training, search_trial_events
from trainers.search.lr_seed import centred_range
from trainers.search.pruning import PruningCallback
from trainers.search.samplers import check_sampler
from trainers.search.search import trial_threads
from trainers.search.storage import open_storage, study_storage_url
from trainers.search.study import create_search
from trainers.search.workers import worker_command
from trainers.spec.config import RunConfig
from trainers.spec.errors import ConfigError, StoreError
from trainers.spec.events import EpochEnded, ListSink, RunControl
from trainers.spec.search_events import SearchEnded, SearchStarted, SearchTrialEnded, SearchTrialReported
from trainers.spec.search_settings import SearchSettings
from trainers.spec.search_space import SearchSpace
from trainers.training.loop import CancelFit

ROOT = Path(__file__).resolve().parents[1]
# Tiny trials: a fifth of digits, a small MLP, no checkpoints, one thread.
BASE = RunConfig().replace(
    **{
        "data.source": "digits",
        "data.train_fraction": 0.2,
        "train.epochs": 3,
        "train.checkpoints": False,
        "train.threads": 1,
        "model.hidden_units": 64,
    }
)
LR_SPACE = {"lr": "log:1e-4:1e-1", "dropout": "float:0:0.5"}


def settings(**changes: Any) -> SearchSettings:
    return SearchSettings().replace(**{"trials": 3, "lr_finder_seed": False, "pruner": "none", **changes})


def searched(db: Path, space: dict[str, str], sink: Any = None, cfg: RunConfig = BASE, **changes: Any) -> Any:
    with TrialStore(str(db)) as store:
        result = run_search(cfg, SearchSpace.from_dict(space, cfg), settings(**changes), store=store, sink=sink)
        trials = store.list_trials(order_by="id", descending=False)
    return result, trials


def journal(db: Path, name: str) -> optuna.Study:
    """The study as any Optuna user opens it: load_study on a JournalStorage of the journal file."""
    backend = optuna.storages.journal.JournalFileBackend(str(db.with_name(db.stem + ".optuna.journal")))
    return optuna.load_study(study_name=name, storage=optuna.storages.JournalStorage(backend))


# ---- storage beside the store -------------------------------------------------------------------------------------


def test_a_sqlite_store_keeps_its_studies_in_a_journal_file_beside_it(tmp_path: Path) -> None:
    assert study_storage_url(f"sqlite:///{tmp_path}/runs.db") == str(tmp_path / "runs.optuna.journal")
    assert study_storage_url(str(tmp_path / "sub" / "runs.db")) == str(tmp_path / "sub" / "runs.optuna.journal")


def test_a_postgresql_store_keeps_its_studies_in_their_own_schema_on_the_same_server() -> None:
    url = study_storage_url("postgresql+psycopg://ann:secret@db.example:5432/tunelab")
    assert url.startswith("postgresql+psycopg://ann:secret@db.example:5432/tunelab?")
    assert "options=-csearch_path%3Dtunelab_optuna" in url or "options=-csearch_path=tunelab_optuna" in url


def test_a_store_no_other_process_can_reach_cannot_hold_a_search() -> None:
    with pytest.raises(StoreError, match="in memory"):
        study_storage_url("sqlite://")
    with pytest.raises(StoreError, match="SQLite or PostgreSQL"):
        study_storage_url("mysql://ann@db.example/tunelab")


def test_a_sampler_whose_package_is_missing_is_refused_naming_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    space = SearchSpace.from_dict(LR_SPACE, BASE)
    real = __import__("importlib").util.find_spec
    monkeypatch.setattr("importlib.util.find_spec", lambda name, *a: None if name == "cmaes" else real(name, *a))
    with pytest.raises(ConfigError) as err:
        check_sampler(space, settings(sampler="cmaes"))
    assert err.value.field == "search_run.sampler" and "pip install cmaes" in str(err.value)
    check_sampler(space, settings(sampler="tpe"))


def test_the_lr_range_is_centred_on_the_band_keeping_its_width_within_the_users_bounds() -> None:
    low, high = centred_range(1e-5, 1e-1, (1e-3, 1e-3))  # 4 decades around 1e-3: 1e-5..1e-1 again
    assert low == pytest.approx(1e-5) and high == pytest.approx(1e-1)
    low, high = centred_range(1e-5, 1e-1, (1e-2, 1e-2))  # around 1e-2: 1e-4..1e0, clipped to 1e-1
    assert low == pytest.approx(1e-4) and high == pytest.approx(1e-1)
    assert centred_range(1e-5, 1e-3, (1e-2, 3e-2)) is None  # the band lies above the range: left alone


def test_workers_share_the_cores_and_an_explicit_thread_count_wins() -> None:
    from trainers.jobs.setup import physical_cores

    assert trial_threads(BASE, 4) == 1
    assert trial_threads(BASE.replace(**{"train.threads": 0}), 2) == max(1, physical_cores() // 2)
    cmd = worker_command("/x/runs.optuna.journal", "search-3", 1, 2)
    assert cmd[cmd.index("worker") :][:5] == ["worker", "--storage", "/x/runs.optuna.journal", "--study", "search-3"]
    assert ["--worker-index", "1"] == cmd[cmd.index("--worker-index") : cmd.index("--worker-index") + 2]
    assert ["--threads", "2"] == cmd[cmd.index("--threads") : cmd.index("--threads") + 2]


# ---- the pruning callback -----------------------------------------------------------------------------------------


class FakeTrial:
    """Records reports; says prune from epoch `prune_at` on."""

    def __init__(self, prune_at: int) -> None:
        self.prune_at = prune_at
        self.reports: list[tuple[float, int]] = []

    def report(self, value: float, step: int) -> None:
        self.reports.append((value, step))

    def should_prune(self) -> bool:
        return self.reports[-1][1] >= self.prune_at


def _learner(epoch: int, acc: float, epochs: int = 5) -> Any:
    return SimpleNamespace(
        epoch=epoch,
        val=SimpleNamespace(acc=acc, loss=1 - acc),
        settings=SimpleNamespace(epochs=epochs),
        status="completed",
        message="",
    )


def test_the_callback_reports_every_epoch_and_ends_the_run_as_pruned_when_told() -> None:
    trial = FakeTrial(prune_at=2)
    cb = PruningCallback(trial, "val_acc", "median")
    first = _learner(1, 0.5)
    cb.after_epoch(first)
    assert trial.reports == [(0.5, 1)] and first.status == "completed"
    second = _learner(2, 0.6)
    with pytest.raises(CancelFit):
        cb.after_epoch(second)
    assert second.status == "pruned" and "pruned at epoch 2 by the median pruner" in second.message
    assert trial.reports == [(0.5, 1), (0.6, 2)] and cb.pruned_at == 2
    last = _learner(5, 0.7)
    cb.after_epoch(last)  # the last epoch is never pruned: the trial has finished
    assert last.status == "completed"


def test_without_a_pruner_reports_are_written_behind_training_and_all_there_once_flushed() -> None:
    study = optuna.create_study(direction="maximize")
    trial = study.ask()
    storage = study._storage
    gate = threading.Event()
    written = storage.set_trial_intermediate_value

    def slow_write(trial_id: int, step: float, value: float) -> None:  # a storage that takes its time
        gate.wait(30)
        written(trial_id, step, value)

    storage.set_trial_intermediate_value = slow_write
    cb = PruningCallback(trial, "val_acc", "none")
    for epoch, acc in ((1, 0.5), (2, 0.6), (3, 0.7)):
        cb.after_epoch(_learner(epoch, acc, epochs=3))  # returns while the write waits: training goes on
    assert storage.get_trial(trial._trial_id).intermediate_values == {}
    gate.set()
    cb.flush()
    assert storage.get_trial(trial._trial_id).intermediate_values == {1: 0.5, 2: 0.6, 3: 0.7}
    study.tell(trial, 0.7)


class PruneFromEpoch2(BasePruner):
    """Prunes every trial at epoch 2: a pruned trial, deterministically."""

    def prune(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
        return (trial.last_step or 0) >= 2


@pytest.mark.slow
def test_a_pruned_trial_has_status_pruned_and_keeps_its_epochs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(study_module, "make_pruner", lambda settings, epochs: PruneFromEpoch2())
    db = tmp_path / "runs.db"
    result, trials = searched(db, LR_SPACE, trials=2, pruner="median")
    assert result.counts == {"complete": 0, "pruned": 2, "failed": 0, "stopped": 0}
    with TrialStore(str(db)) as store:
        for t in (t for t in trials if t.kind == "train"):
            assert t.status == "pruned" and t.epochs_run == 2 and t.epochs_planned == 3
            assert [e.epoch for e in store.epochs(t.id)] == [1, 2]
            assert "pruned at epoch 2" in t.message
            assert t.diagnosis is not None  # diagnosed like a stopped run
    study = journal(db, result.study)
    assert all(t.state == TrialState.PRUNED and sorted(t.intermediate_values) == [1, 2] for t in study.trials)
    assert all(t.state == TrialState.PRUNED and t.last_step == 2 for t in study.trials)
    assert all("status" not in t.user_attrs for t in study.trials)  # the state says it: no write spent on it


# ---- samplers and pruners end to end ------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("sampler", ["tpe", "random", "cmaes", "gp"])
def test_each_sampler_runs_a_search_of_tuneLab_trials(tmp_path: Path, sampler: str) -> None:
    db = tmp_path / "runs.db"
    result, trials = searched(db, LR_SPACE, sampler=sampler, seed=7)
    assert result.status == "completed" and result.counts["complete"] == 3
    train = [t for t in trials if t.kind == "train"]
    assert len(train) == 3 and [t.extra["optuna_trial"] for t in train] == [0, 1, 2]
    assert all(t.extra["search_id"] == result.search_id and t.extra["study"] == result.study for t in train)
    best = next(t for t in train if t.id == result.best_trial_id)
    assert result.best_value == pytest.approx(best.best_val_acc)
    assert result.best_params["optim.lr"] == pytest.approx(best.lr)


@pytest.mark.slow
def test_the_grid_sampler_visits_each_combination_once_and_stops_at_the_grid(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    space = {"batch_size": "choice:32,64", "optim.name": "choice:adam,sgd"}
    result, trials = searched(db, space, sampler="grid", trials=10)
    assert sum(result.counts.values()) == 4  # the grid's size, though 10 trials were allowed
    seen = {(t.batch_size, t.optimizer) for t in trials if t.kind == "train"}
    assert seen == {(32, "adam"), (32, "sgd"), (64, "adam"), (64, "sgd")}


@pytest.mark.slow
@pytest.mark.parametrize("pruner", ["none", "median", "halving", "hyperband"])
def test_each_pruner_runs_a_search_and_the_study_sees_every_value(tmp_path: Path, pruner: str) -> None:
    db = tmp_path / "runs.db"
    result, trials = searched(db, LR_SPACE, pruner=pruner, trials=4, min_epochs_before_pruning=1)
    assert sum(result.counts.values()) == 4 and result.counts["failed"] == result.counts["stopped"] == 0
    train = {t.extra["optuna_trial"]: t for t in trials if t.kind == "train"}
    study = journal(db, result.study)
    assert len(study.trials) == 4 and study.user_attrs["space"] == SearchSpace.from_dict(LR_SPACE, BASE).to_dict()
    for t in study.trials:
        stored = train[t.number]
        assert t.user_attrs["trial_id"] == stored.id and stored.status in ("completed", "pruned")
        assert sorted(t.intermediate_values) == list(range(1, stored.epochs_run + 1))
        if t.state == TrialState.COMPLETE:
            assert t.value == pytest.approx(stored.best_val_acc)
        else:
            assert t.state == TrialState.PRUNED and stored.status == "pruned"


@pytest.mark.slow
def test_a_search_minimising_val_loss_gives_the_study_that_direction(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    result, trials = searched(db, LR_SPACE, trials=2, monitor="val_loss")
    study = journal(db, result.study)
    assert study.direction == optuna.study.StudyDirection.MINIMIZE
    best = next(t for t in trials if t.id == result.best_trial_id)
    assert result.best_value == pytest.approx(best.best_val_loss)


# ---- the search trial, events, stop -------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_search_is_a_trial_of_kind_search_with_its_plan_best_and_counts(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    sink = ListSink()
    result, trials = searched(db, LR_SPACE, sink=sink)
    search = next(t for t in trials if t.kind == "search")
    assert search.id == result.search_id and search.status == "completed"
    plan = search.extra["search"]
    assert plan["sampler"] == "tpe" and plan["study"] == f"search-{search.id}" and plan["storage"] == result.storage
    assert plan["budget"] == {"trials": 3, "timeout_s": 0.0, "epochs": 0}
    assert search.extra["result"]["best_trial_id"] == result.best_trial_id
    assert search.extra["result"]["counts"] == {"complete": 3, "pruned": 0, "failed": 0, "stopped": 0}
    assert search.best_val_acc == pytest.approx(result.best_value)
    started, ended = sink.of(SearchStarted), sink.of(SearchEnded)
    assert len(started) == 1 and started[0].storage == result.storage and ended[-1].result == result
    assert [e.number for e in sink.of(SearchTrialEnded)] == [0, 1, 2]
    assert_reports_match(sink)
    with TrialStore(str(db)) as store:
        assert load_search_result(store, result.search_id).best_trial_id == result.best_trial_id
        assert [e.trial_id for e in search_trial_events(store, result.search_id)] == [
            e.trial_id for e in sink.of(SearchTrialEnded)
        ]


def assert_reports_match(sink: ListSink) -> None:
    """Each trial's epoch reports came before its end, and are the values its end lists (what the pruner saw)."""
    for ended in sink.of(SearchTrialEnded):
        reports = [e for e in sink.of(SearchTrialReported) if e.number == ended.number]
        assert [r.epoch for r in reports] == list(range(1, ended.epochs + 1))
        assert tuple(r.value for r in reports) == pytest.approx(ended.intermediate)
        assert sink.events.index(reports[-1]) < sink.events.index(ended)


class StopAtSecondTrial:
    """Asks for a stop during the second trial's second epoch."""

    def __init__(self, control: RunControl) -> None:
        self.control = control
        self.events: list[Any] = []

    def emit(self, event: Any) -> None:
        self.events.append(event)
        ended = sum(isinstance(e, SearchTrialEnded) for e in self.events)
        if ended == 1 and isinstance(event, EpochEnded) and event.epoch == 1:
            self.control.stop()


@pytest.mark.slow
def test_a_stop_keeps_every_finished_trial_and_marks_the_running_one_stopped(tmp_path: Path) -> None:
    db, control = tmp_path / "runs.db", RunControl()
    sink = StopAtSecondTrial(control)
    with TrialStore(str(db)) as store:
        result = run_search(
            BASE, SearchSpace.from_dict(LR_SPACE, BASE), settings(trials=5), store=store, sink=sink, control=control
        )
        train = store.list_trials(kind="train", order_by="id", descending=False)
        search = store.get_trial(result.search_id)
    assert result.status == "stopped" and search.status == "stopped"
    assert result.counts == {"complete": 1, "pruned": 0, "failed": 0, "stopped": 1}
    assert [t.status for t in train] == ["completed", "stopped"]
    assert train[0].epochs_run == 3 and train[1].epochs_run == 1  # the stopped trial keeps its finished epoch
    study = journal(db, result.study)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE, TrialState.FAIL]
    assert study.trials[1].user_attrs["status"] == "stopped"


@pytest.mark.slow
def test_an_earlier_store_gains_a_search_with_nothing_lost(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    with TrialStore(str(db)) as store:
        before = [run_training(BASE.replace(**{"train.seed": s}), store=store).trial_id for s in (1, 2)]
        old = [
            (t.id, t.status, t.best_val_acc, t.epochs_run) for t in store.list_trials(order_by="id", descending=False)
        ]
        old_epochs = [store.epochs(i) for i in before]
    assert not db.with_name("runs.optuna.journal").exists()
    result, trials = searched(db, LR_SPACE, trials=2)
    with TrialStore(str(db)) as store:
        assert [
            (t.id, t.status, t.best_val_acc, t.epochs_run) for t in store.list_trials(order_by="id", descending=False)
        ][:2] == old
        assert [store.epochs(i) for i in before] == old_epochs
    assert result.counts["complete"] == 2 and len(trials) == 2 + 1 + 2
    assert result.search_id > max(before)


@pytest.mark.slow
def test_lr_finder_seeding_centres_the_range_and_tries_its_rate_first(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    result, trials = searched(db, {"lr": "log:1e-5:1"}, trials=2, lr_finder_seed=True)
    kinds = [t.kind for t in trials]
    assert kinds == ["search", "lr_test", "train", "train"]
    seed = result.lr_seed
    assert seed["lr_finder_trial"] == trials[1].id and seed["range_before"] == "log:1e-05:1"
    study = journal(db, result.study)
    assert seed["band"][0] <= seed["band"][1]  # digits gives the finder an agreed band, inside 1e-5..1
    assert study.trials[0].params["optim.lr"] == pytest.approx(seed["first_rate"])
    assert study.trials[0].user_attrs["lr_finder_seed"] is True
    assert study.user_attrs["space"]["optim.lr"] == seed["range_after"] != seed["range_before"]
    assert trials[0].extra["lr_seed"] == seed


# ---- workers ------------------------------------------------------------------------------------------------------

# Trials long enough (a second or two) that two workers started together both get some.
WORKER_CFG = BASE.replace(
    **{"data.train_fraction": 1.0, "train.epochs": 6, "train.batch_size": 8, "model.hidden_units": 256}
)


@pytest.mark.slow
def test_two_worker_processes_share_a_fresh_journal_and_respect_the_budget(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    sink = ListSink()
    result, trials = searched(
        db, LR_SPACE, sink=sink, cfg=WORKER_CFG.replace(**{"train.threads": 0}), trials=6, workers=2
    )
    study = journal(db, result.study)
    finished = [t for t in study.trials if t.state.is_finished()]
    assert len(finished) == len(study.trials) == 6 and result.counts["complete"] == 6
    train = [t for t in trials if t.kind == "train"]
    assert {t.extra["worker"] for t in train} == {0, 1}
    assert len(train) == 6 and all(t.status == "completed" for t in train)
    from trainers.jobs.setup import physical_cores

    assert {t.config["train"]["threads"] for t in train} == {max(1, physical_cores() // 2)}
    assert sorted(e.number for e in sink.of(SearchTrialEnded)) == list(range(6))
    # the study's own times: a worker's trial has a duration although no FitEnded of it reached this process
    assert all(e.seconds is not None and e.seconds > 0 for e in sink.of(SearchTrialEnded))
    assert_reports_match(sink)  # polled from the study while the workers ran


def _worker(storage: str, name: str, index: int) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "trainers.cli.main", "worker", "--storage", storage, "--study", name]
    cmd += ["--worker-index", str(index), "--grace", "2", "--quiet"]
    return subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_a_killed_workers_trial_is_failed_and_rerun_and_the_rest_of_the_search_finishes(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    storage = study_storage_url(str(db))
    with TrialStore(str(db)):
        pass
    space = SearchSpace.from_dict(LR_SPACE, WORKER_CFG)
    search = create_search(storage, None, WORKER_CFG, space, settings(trials=4), f"sqlite:///{db}")
    victim, survivor = _worker(storage, search.name, 0), _worker(storage, search.name, 1)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # wait until worker 0 is inside a trial
            with TrialStore(str(db), read_only=True) as store:
                running = store.list_trials(kind="train", status="running")
            if any(t.extra.get("worker") == 0 for t in running):
                break
            time.sleep(0.05)
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(30)
        out, err = survivor.communicate(timeout=240)
    finally:
        for p in (victim, survivor):
            if p.poll() is None:
                p.kill()
    assert survivor.returncode == 0, err
    study = journal(db, search.name)
    states = [t.state for t in study.trials]
    assert TrialState.RUNNING not in states and TrialState.WAITING not in states
    killed = [t for t in study.trials if t.user_attrs.get("status") == "interrupted"]
    assert len(killed) == 1 and killed[0].state == TrialState.FAIL
    assert any(t.system_attrs.get("failed_trial") == killed[0].number for t in study.trials)  # its params ran again
    assert sum(t.state == TrialState.COMPLETE for t in study.trials) == 4  # the budget, made up by the survivor
    with TrialStore(str(db)) as store:  # the killed trial's TuneLab trial, its process gone, is marked interrupted
        statuses = [t.status for t in store.list_trials(kind="train")]
    assert statuses.count("interrupted") == 1 and statuses.count("completed") == 4


def test_a_worker_on_a_study_that_is_not_there_says_so(tmp_path: Path) -> None:
    from trainers.search.study import load_search

    with pytest.raises(StoreError, match="no Optuna journal"):
        load_search(str(tmp_path / "none.optuna.journal"), "search-1")
    open_storage(str(tmp_path / "empty.optuna.journal"))
    with pytest.raises(StoreError, match="no study named search-9"):
        load_search(str(tmp_path / "empty.optuna.journal"), "search-9")


class StopAtFirstTrial:
    def __init__(self, control: RunControl) -> None:
        self.control = control

    def emit(self, event: Any) -> None:
        if isinstance(event, SearchTrialEnded):
            self.control.stop()


@pytest.mark.slow
def test_a_stop_ends_worker_processes_after_their_epoch_and_keeps_what_finished(tmp_path: Path) -> None:
    db, control = tmp_path / "runs.db", RunControl()
    space = SearchSpace.from_dict(LR_SPACE, WORKER_CFG)
    with TrialStore(str(db)) as store:
        result = run_search(
            WORKER_CFG,
            space,
            settings(trials=20, workers=2),
            store=store,
            sink=StopAtFirstTrial(control),
            control=control,
        )
        train = store.list_trials(kind="train")
    assert result.status == "stopped" and result.counts["complete"] >= 1 and result.counts["failed"] == 0
    assert sum(result.counts.values()) == len(train) < 20
    stopped = [t for t in train if t.status == "stopped"]
    assert len(stopped) == result.counts["stopped"] and all(t.status in ("completed", "stopped") for t in train)
    assert all(t.epochs_run >= 1 and "stopped by request after epoch" in t.message for t in stopped)  # its epoch kept
    study = journal(db, result.study)
    assert all(t.state.is_finished() for t in study.trials)


class FirstReport:
    def __init__(self) -> None:
        self.seen = threading.Event()

    def emit(self, event: Any) -> None:
        if isinstance(event, SearchTrialReported):
            self.seen.set()


def _epochs_stored(db: Path) -> int:
    with TrialStore(str(db), read_only=True) as store:
        return sum(len(store.epochs(t.id)) for t in store.list_trials(kind="train"))


@pytest.mark.slow
def test_a_paused_search_holds_its_worker_processes_and_goes_on_when_resumed(tmp_path: Path) -> None:
    db, control, first = tmp_path / "runs.db", RunControl(), FirstReport()
    space = SearchSpace.from_dict(LR_SPACE, WORKER_CFG)
    out: dict[str, Any] = {}

    def search() -> None:
        with TrialStore(str(db)) as store:
            out["result"] = run_search(
                WORKER_CFG, space, settings(trials=4, workers=2), store=store, sink=first, control=control
            )

    thread = threading.Thread(target=search)
    thread.start()
    try:
        assert first.seen.wait(180)
        control.pause()
        time.sleep(3)  # the workers hear it within half a second and hold before their next batch
        before = _epochs_stored(db)
        time.sleep(3)
        held = _epochs_stored(db)
    finally:
        control.resume()
        thread.join(300)
    assert held == before >= 1  # nothing trained while paused
    result = out["result"]
    assert result.status == "completed" and result.counts == {**result.counts, "complete": 4, "failed": 0}
    assert _epochs_stored(db) == 4 * WORKER_CFG.train.epochs  # their heartbeats went on: no trial taken for dead


@pytest.mark.slow
def test_a_time_budget_alone_ends_the_search(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    result, trials = searched(db, LR_SPACE, trials=0, timeout_s=1.0)
    assert result.status == "completed" and result.counts["complete"] >= 1
    search = next(t for t in trials if t.kind == "search")
    assert search.extra["search"]["budget"] == {"trials": 0, "timeout_s": 1.0, "epochs": 0}
