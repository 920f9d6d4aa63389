"""One Optuna trial as one TuneLab training trial: the config sampled from the space into the base config, trained
through run_training (the one job lifecycle) with the pruner's callback, and told back to the study.

The value is the kept epoch's monitored metric (the epoch whose weights were kept, as History ranks it). A pruned
run is told PRUNED and keeps its epochs with the store status "pruned"; a failed run, a sampled combination the
config refuses, or a run that diverged before any value, is told FAIL; a stopped run is told FAIL with the user
attribute status "stopped". The training trial's extra holds {"search_id", "study", "optuna_trial", "worker"}; the
Optuna trial's user attributes hold "trial_id", and "status" and "message" where its state alone does not say how it
ended (FAIL, or COMPLETE after a divergence). Every attribute is a write to the storage (about 3 ms on a journal, for
its fsync), so nothing the intermediate values already say (epochs run, the epoch it was pruned at) is written."""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from typing import Any

import optuna
from optuna.trial import TrialState

from trainers.data import DatasetBundle, load_dataset
from trainers.search.liveness import beat_interval, heartbeat, storage_of
from trainers.search.pruning import PRUNED, EpochStop, PruningCallback, reports_flushed
from trainers.search.results import ended_event
from trainers.search.storage import GRACE_S
from trainers.search.study import LoadedSearch
from trainers.spec.config import DataConfig, RunConfig
from trainers.spec.errors import TuneLabError
from trainers.spec.events import EpochEnded, Event, FitEnded, FitStarted, RunControl, Sink
from trainers.spec.search_events import SearchTrialEnded, SearchTrialReported
from trainers.spec.search_space import sample_config
from trainers.store import TrialStore
from trainers.training.run import run_training


@dataclass
class TrialRunner:
    """What every trial of one worker shares."""

    search: LoadedSearch
    store: TrialStore
    threads: int  # train.threads of each trial
    sink: Sink
    control: RunControl = field(default_factory=RunControl)
    epoch_stop: threading.Event = field(default_factory=threading.Event)  # stop after the current epoch
    grace_s: float = GRACE_S  # how long a trial may go without a heartbeat before other workers take it for dead
    max_trials: int | None = None  # `tunelab worker --max-trials`: this worker ends after so many trials
    idle_exit_s: float | None = None  # `--idle-exit`: it ends after finding nothing to start for so long
    _data: tuple[DataConfig, DatasetBundle] | None = field(default=None, init=False, repr=False)

    def data_for(self, cfg: RunConfig) -> DatasetBundle | None:
        """The trial's data, loaded once for all of this worker's trials that read the same data (a search rarely
        searches over it; digits takes about 50 ms a trial to load). None when it cannot be loaded: the trial then
        loads it itself and fails with the reason, as any run does."""
        if self._data is None or self._data[0] != cfg.data:
            try:
                self._data = (cfg.data, load_dataset(cfg.data))
            except TuneLabError:
                self._data = None
                return None
        return self._data[1]


class _LinkSink:
    """Passes the trial's events on, with a SearchTrialReported after each epoch, and records its TuneLab trial id on
    the Optuna trial as soon as it exists, so a trial whose worker dies can still be found in the store."""

    def __init__(self, inner: Sink, trial: optuna.Trial, monitor: str) -> None:
        self.inner, self.trial, self.monitor = inner, trial, monitor
        self.trial_id: int | None = None

    def emit(self, event: Event) -> None:
        if isinstance(event, FitStarted) and event.trial_id is not None:
            self.trial.set_user_attr("trial_id", event.trial_id)
            self.trial_id = event.trial_id
        self.inner.emit(event)
        if isinstance(event, EpochEnded):  # what the pruner is told (PruningCallback reads the same epoch)
            value = event.val_loss if self.monitor == "val_loss" else event.val_acc
            if value is not None and math.isfinite(value):
                self.inner.emit(SearchTrialReported(self.trial.number, self.trial_id, event.epoch, value))


def run_one(runner: TrialRunner, trial: optuna.Trial) -> SearchTrialEnded:
    """Train the asked `trial` and tell the study how it ended."""
    search = runner.search
    try:
        cfg, _params = sample_config(search.space, search.trial_base(runner.threads), trial)
    except TuneLabError as exc:  # a sampled combination the config refuses
        return _tell_failed(search.study, trial, str(exc))
    pruning = PruningCallback(trial, search.settings.monitor, search.settings.pruner)
    sink = _LinkSink(runner.sink, trial, search.settings.monitor)
    link: dict[str, Any] = {
        "search_id": search.search_id,
        "study": search.name,
        "optuna_trial": trial.number,
        "worker": search.worker_index,
    }
    try:
        with heartbeat(search.study, trial._trial_id, beat_interval(runner.grace_s)), reports_flushed(pruning):
            result = run_training(
                cfg,
                sink=sink,
                control=runner.control,
                store=runner.store,
                bundle=runner.data_for(cfg),
                extra_callbacks=[pruning, EpochStop(runner.epoch_stop)],
                trial_extra=link,
            )
    except TuneLabError as exc:  # refused before its trial existed (the device, say)
        return _tell_failed(search.study, trial, str(exc))
    except BaseException:
        _tell_failed(search.study, trial, "the worker failed while training this trial")
        raise
    return _tell(search, trial, result, linked=sink.trial_id == result.trial_id)


def objective_value(result: FitEnded, monitor: str) -> float | None:
    """The kept epoch's monitored value, when it is a number."""
    value = result.best_val_loss if monitor == "val_loss" else result.best_val_acc
    return value if value is not None and math.isfinite(value) else None


def _tell(search: LoadedSearch, trial: optuna.Trial, result: FitEnded, linked: bool) -> SearchTrialEnded:
    value = objective_value(result, search.settings.monitor)
    if result.status == PRUNED:
        state = TrialState.PRUNED
    elif result.status in ("completed", "diverged") and value is not None:
        state = TrialState.COMPLETE  # a run that diverged after a kept epoch still says how good its values were
    else:
        state = TrialState.FAIL
    attrs: dict[str, Any] = {} if linked else {"trial_id": result.trial_id}
    if state == TrialState.FAIL or result.status == "diverged":
        attrs.update(status=result.status, message=result.message)
    for key, item in attrs.items():
        trial.set_user_attr(key, item)
    search.study.tell(trial, value if state == TrialState.COMPLETE else None, state=state)
    return ended_event(storage_of(search.study).get_trial(trial._trial_id))


def _tell_failed(study: optuna.Study, trial: optuna.Trial, message: str) -> SearchTrialEnded:
    trial.set_user_attr("status", "failed")
    trial.set_user_attr("message", message)
    study.tell(trial, state=TrialState.FAIL)
    return ended_event(storage_of(study).get_trial(trial._trial_id))
