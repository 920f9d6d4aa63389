"""The engine jobs the window starts, each a function of (sink, control) run in the worker thread.

trainers.api (and with it torch) is imported inside the job, in the worker thread, so the window
never waits for it.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from trainers.config import RunConfig
from trainers.events import RunControl, Sink
from trainers.range_test_settings import RangeTestSettings

from app.worker import Job


def training_job(cfg: RunConfig, store_url: str | None = None) -> Job:
    """Train one trial into the default store (the CLI's), or into store_url when given."""

    def job(sink: Sink, control: RunControl) -> Any:
        from trainers.api import TrialStore, run_training
        if store_url is None:
            return run_training(cfg, sink=sink, control=control)
        with TrialStore(store_url) as store:
            return run_training(cfg, sink=sink, control=control, store=store)

    return job


def range_test_job(cfg: RunConfig, settings: RangeTestSettings, store_url: str | None = None) -> Job:
    """Run a learning-rate range test (all its repeats) as a trial of the default store, or of store_url."""

    def job(sink: Sink, control: RunControl) -> Any:
        from trainers.api import TrialStore, run_range_test
        if store_url is None:
            return run_range_test(cfg, settings, sink=sink, control=control)
        with TrialStore(store_url) as store:
            return run_range_test(cfg, settings, sink=sink, control=control, store=store)

    return job


def rerun_job(trial_ids: list[int], seeds: int, store_url: str | None = None) -> Job:
    """Train each trial's config again with `seeds` seeds it has not used; returns the runs' FitEnded list."""

    def job(sink: Sink, control: RunControl) -> Any:
        from trainers.api import TrialStore, rerun_with_seeds
        with TrialStore(store_url) as store:
            return rerun_with_seeds(store, list(trial_ids), seeds, sink=sink, control=control)

    return job


# The two reads below run on the GUI thread, only once the engine is imported: each is one short query.
def stored_range_tests(store_url: str | None = None) -> list[tuple[int, str]]:
    """(trial id, one-line label) of the store's range tests, newest first."""
    from trainers.api import TrialStore, range_test_trials
    with TrialStore(store_url) as store:
        return range_test_trials(store)


def stored_range_test(trial_id: int, store_url: str | None = None) -> Any:
    """One stored range test as a trainers.events.RangeTestResult."""
    from trainers.api import TrialStore, load_range_test
    with TrialStore(store_url) as store:
        return load_range_test(store, trial_id)


def warm_up_engine() -> None:
    """Import the engine ahead of the first run (called off the GUI thread after the window shows)."""
    import_module("trainers.api")  # pulls in torch, the models and the store
