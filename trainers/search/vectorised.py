"""Vectorised trials: a batch of asked trials whose configs differ only in continuous hyperparameters trains as one
stack (trainers/search/stacked_trials.py), so K trials cost about one.

The search setting `vectorise` (K >= 2) makes the trials loop ask K trials at a time. Their sampled configs are
grouped by everything but the continuous fields (CONTINUOUS, and the schedule: each member follows its own); a
group of two or more trains stacked, a trial alone (or one a stack cannot hold: another family, reduce-on-plateau,
a training split too big for memory) trains as usual. Each member is its own TuneLab train trial linked to its
Optuna trial, reports every epoch to it, and is pruned on its own: it leaves the stack with its epochs so far and
ends "pruned", while the rest train on. The Optuna trials of a stack are told when the stack ends."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import optuna
from optuna.trial import TrialState

from trainers.data.bundle import DatasetBundle
from trainers.jobs.setup import torch_threads
from trainers.search.budget import trial_limit
from trainers.search.liveness import beat_interval, heartbeat, storage_of
from trainers.search.objective import TrialRunner, _LinkSink, _tell, _tell_failed, run_one
from trainers.search.pruning import EpochStop, PruningCallback, reports_flushed
from trainers.search.results import budget_used, ended_event
from trainers.search.stacked_trials import StackMember, run_stacked, stack_key
from trainers.spec.config import RunConfig
from trainers.spec.errors import TuneLabError
from trainers.spec.search_events import SearchTrialEnded
from trainers.spec.search_settings import SearchSettings
from trainers.spec.search_space import sample_config


def vectorising(settings: SearchSettings) -> bool:
    return settings.vectorise >= 2


def group_indices(cfgs: list[RunConfig | None]) -> list[list[int]]:
    """The configs grouped by stack_key, each group in the order its first member came; a config that cannot stack
    (None: it could not be sampled) is a group of its own."""
    groups: list[list[int]] = []
    by_key: dict[str, list[int]] = {}
    for i, cfg in enumerate(cfgs):
        key = stack_key(cfg) if cfg is not None else None
        if key is None:
            groups.append([i])
        elif key in by_key:
            by_key[key].append(i)
        else:
            by_key[key] = [i]
            groups.append(by_key[key])
    return groups


def ask_count(runner: TrialRunner) -> int:
    """How many trials to ask at once: the stack size, within what is left of the trial budget (at least 1)."""
    search = runner.search
    k = search.settings.vectorise
    limit = trial_limit(search)
    if not vectorising(search.settings) or limit is None:
        return max(1, k)
    trials = search.study.get_trials(deepcopy=False)
    running = sum(1 for t in trials if t.state == TrialState.RUNNING)
    return max(1, min(k, limit - budget_used(trials) - running))


def run_batch(runner: TrialRunner, trials: list[optuna.Trial]) -> Iterator[SearchTrialEnded]:
    """Train the asked trials, stacked where they can be; yields how each ended, a group at a time. Every trial beats
    from now until it is told, so one waiting for an earlier group never looks dead to another worker."""
    search = runner.search
    with ExitStack() as beats:
        interval = beat_interval(runner.grace_s)
        for t in trials:
            beats.enter_context(heartbeat(search.study, t._trial_id, interval))
        cfgs: list[RunConfig | None] = []
        for t in trials:
            try:
                cfgs.append(sample_config(search.space, search.trial_base(runner.threads), t)[0])
            except TuneLabError as exc:  # a sampled combination the config refuses
                cfgs.append(None)
                yield _tell_failed(search.study, t, str(exc))
        for group in group_indices(cfgs):
            if cfgs[group[0]] is None:
                continue
            if _stopping(runner):
                yield from (_tell_failed_stopped(runner, trials[i]) for i in group)
                continue
            if len(group) == 1:
                yield run_one(runner, trials[group[0]])
            else:
                yield from run_stack(runner, [(trials[i], cfgs[i]) for i in group])


def run_stack(runner: TrialRunner, members: list[tuple[optuna.Trial, Any]]) -> list[SearchTrialEnded]:
    """Train the trials' configs as one stack and tell each trial how its member ended. Where the data cannot be
    held in memory (or cannot be read), each trial runs on its own instead (and reports its own error)."""
    search = runner.search
    cfgs: list[RunConfig] = [cfg for _, cfg in members]
    data = _stack_data(runner, cfgs[0])
    if data is None:
        return [run_one(runner, t) for t, _ in members]
    monitor, pruner = search.settings.monitor, search.settings.pruner
    sinks = [_LinkSink(runner.sink, t, monitor) for t, _ in members]
    reports = [PruningCallback(t, monitor, pruner) for t, _ in members]
    stack = [
        StackMember(cfg, sink, [report], _link(runner, t)) for (t, cfg), sink, report in zip(members, sinks, reports)
    ]
    try:
        with reports_flushed(*reports):
            results = run_stacked(
                stack, data, store=runner.store, control=runner.control, stack_callbacks=[EpochStop(runner.epoch_stop)]
            )
    except TuneLabError as exc:  # refused before its trials existed (the device, say)
        return [_tell_failed(search.study, t, str(exc)) for t, _ in members]
    except BaseException:
        for t, _ in members:
            _tell_failed(search.study, t, "the worker failed while training this trial")
        raise
    return [
        _tell(search, t, result, linked=sink.trial_id == result.trial_id)
        for (t, _), sink, result in zip(members, sinks, results)
    ]


def _link(runner: TrialRunner, trial: optuna.Trial) -> dict[str, Any]:
    search = runner.search
    return {
        "search_id": search.search_id,
        "study": search.name,
        "optuna_trial": trial.number,
        "worker": search.worker_index,
    }


def _stack_data(runner: TrialRunner, cfg: RunConfig) -> DatasetBundle | None:
    """The stack's data, read once for all its members (and kept for the worker's next trials on it); None when it
    cannot be read or is not held in memory."""
    try:
        with torch_threads(cfg.train.threads):
            data = runner.data_for(cfg)
    except Exception:  # each trial, run on its own, records why
        return None
    return data if data is not None and data.train.in_memory else None


def _stopping(runner: TrialRunner) -> bool:
    return runner.control.stop_requested or runner.epoch_stop.is_set()


def _tell_failed_stopped(runner: TrialRunner, trial: optuna.Trial) -> SearchTrialEnded:
    """A trial asked with others but never started because a stop came first: told FAIL with the status "stopped"."""
    study = runner.search.study
    trial.set_user_attr("status", "stopped")
    trial.set_user_attr("message", "stopped by request before it started")
    study.tell(trial, state=TrialState.FAIL)
    return ended_event(storage_of(study).get_trial(trial._trial_id))
