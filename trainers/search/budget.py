"""The search's budget, shared by every worker through the storage: a number of finished trials (a grid's size at
most) and/or a time limit counted from the search's start.

A worker starts a trial only while finished + running trials are under the limit; when the rest of the budget is
being run by others it waits, so a worker that dies mid-trial (its trial failed after the grace period and queued
again) is made up for by one that is still alive. On a journal the look at the budget and the ask that follows hold
a lock file, so two workers on one machine never both take the last trial; on PostgreSQL a server-side advisory
lock, shared by every host."""

from __future__ import annotations

import time
from contextlib import contextmanager, nullcontext
from typing import Iterator, Literal

from optuna.trial import TrialState

from trainers.search.liveness import storage_of
from trainers.search.results import budget_used
from trainers.search.samplers import grid_size
from trainers.search.server_lock import advisory_lock, rdb_engine
from trainers.search.storage import is_journal
from trainers.search.study import LoadedSearch

Step = Literal["start", "wait", "done"]


def trial_limit(search: LoadedSearch) -> int | None:
    """Trials the search runs at most (None: only the time limit ends it)."""
    limit = search.settings.trials or None
    if search.settings.sampler == "grid":
        size = grid_size(search.space)
        limit = size if limit is None else min(limit, size)
    return limit


def time_spent(search: LoadedSearch, now: float | None = None) -> bool:
    timeout = search.settings.timeout_s
    return timeout > 0 and (time.time() if now is None else now) - search.started_at >= timeout


def next_step(search: LoadedSearch) -> Step:
    """Start a trial, wait for the others' last ones, or stop: the budget is spent."""
    if time_spent(search):
        return "done"
    limit = trial_limit(search)
    if limit is None:
        return "start"
    trials = search.study.get_trials(deepcopy=False)
    finished = budget_used(trials)
    running = sum(1 for t in trials if t.state == TrialState.RUNNING)
    if finished >= limit:
        return "done"
    return "wait" if finished + running >= limit else "start"


@contextmanager
def ask_lock(search: LoadedSearch) -> Iterator[None]:
    """Held while a worker looks at the budget and asks for a trial: a lock file beside a journal (POSIX systems), an
    advisory lock on a PostgreSQL storage."""
    try:
        import fcntl
    except ImportError:  # Windows: no lock; two workers may then both take the last trial
        fcntl = None  # type: ignore[assignment]
    engine = None if is_journal(search.storage_url) else rdb_engine(storage_of(search.study))
    if engine is not None and engine.dialect.name == "postgresql":
        with advisory_lock(engine, f"tunelab-ask-{search.name}"):  # shared by every host of the search
            yield
        return
    if fcntl is None or not is_journal(search.storage_url):
        with nullcontext():
            yield
        return
    with open(search.storage_url + ".ask.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
