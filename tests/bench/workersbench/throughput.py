"""Searches run by `tunelab worker` processes against one store: N workers started at once on a fresh database, and
trials per hour with 2 workers against 1 (one torch thread each, so two workers use the two cores)."""

from __future__ import annotations

import subprocess
import time
from typing import Any

from optuna.trial import TrialState

from trainers.api import SearchSettings, TrialStore
from trainers.search.storage import study_storage_url
from trainers.search.study import create_search, quiet_optuna
from trainers.search.workers import worker_command
from trainers.spec.config import RunConfig
from trainers.spec.search_space import SearchSpace

TINY = RunConfig().replace(
    **{
        "train.threads": 1,
        "train.checkpoints": False,
        "train.epochs": 1,
        "model.hidden_units": 64,
        "data.train_fraction": 0.1,
    }
)
SPACE = {"model.dropout": "float:0:0.5"}  # the work per trial does not depend on the value


def _parsed(cfg: RunConfig) -> SearchSpace:
    return SearchSpace.from_dict(SPACE, cfg)


def _start(store_url: str, cfg: RunConfig, trials: int, workers: int) -> tuple[Any, str]:
    quiet_optuna()
    storage = study_storage_url(store_url)
    settings = SearchSettings().replace(trials=trials, pruner="none", lr_finder_seed=False, workers=workers)
    search = create_search(storage, None, cfg, _parsed(cfg), settings, store_url)
    return search, storage


def _run(storage: str, name: str, workers: int) -> tuple[list[int], list[bytes], float]:
    t0 = time.perf_counter()
    procs = [
        subprocess.Popen(worker_command(storage, name, i, 1), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for i in range(workers)
    ]
    errors = [p.communicate()[1] for p in procs]
    return [p.returncode for p in procs], errors, time.perf_counter() - t0


def workers_at_once(store_url: str, count: int) -> tuple[int, int, int]:
    """(workers that failed, trials failed, trials completed) for `count` workers started together."""
    search, storage = _start(store_url, TINY, count, count)
    codes, errors, seconds = _run(storage, search.name, count)
    bad = [i for i, c in enumerate(codes) if c != 0]
    for i in bad[:2]:
        print(f"    worker {i} exited {codes[i]}: {errors[i].decode()[-300:]}")
    trials = search.study.get_trials(deepcopy=False)
    failed = sum(t.state == TrialState.FAIL for t in trials)
    done = sum(t.state == TrialState.COMPLETE for t in trials)
    with TrialStore(store_url, read_only=True) as store:
        stored = len(store.list_trials(kind="train", status="completed"))
    print(
        f"  {count} workers at once on a fresh store: {len(bad)} failed workers, {failed} failed trials, "
        f"{done} complete ({stored} in the store), {seconds:.1f} s"
    )
    return len(bad), failed, done


def hour_long_ratio(more: tuple[float, float], fewer: tuple[float, float]) -> float:
    """How many times the trials of an hour-long search `more` runs against `fewer`, each given as (trials/hour once
    running, start-up seconds): its start-up as measured, then its running rate for the rest of the hour."""
    return more[0] * (3600 - more[1]) / (fewer[0] * (3600 - fewer[1]))


def trials_per_hour(store_url: str, workers: int, trials: int, epochs: int) -> tuple[float, float, float]:
    """(trials/hour from the workers' start to the last trial's end, trials/hour once running: each worker's rate
    between its first and its last finished trial, summed — what a long search sees, its start-up spread thin —
    and the start-up: the seconds of this search that the running rate does not account for)."""
    cfg = TINY.replace(**{"train.epochs": epochs, "model.hidden_units": 256, "data.train_fraction": 0.8})
    search, storage = _start(store_url, cfg, trials, workers)
    _, _, seconds = _run(storage, search.name, workers)
    with TrialStore(store_url, read_only=True) as store:
        done = store.list_trials(kind="train", status="completed")
    by_worker: dict[int | None, list[float]] = {}
    for t in done:
        by_worker.setdefault(t.pid, []).append(t.ended_at.timestamp())
    running = sum((len(e) - 1) / (max(e) - min(e)) for e in by_worker.values() if len(e) > 1)
    startup = max(0.0, seconds - len(done) / running) if running > 0 else seconds
    return len(done) / seconds * 3600, running * 3600, startup
