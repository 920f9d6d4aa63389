"""The engine jobs the window starts: each an EngineJob whose work, a function of (sink, control), runs in the
worker thread, and whose label says to the user what runs (and why nothing else can start meanwhile).

trainers.api (and with it torch) is imported inside the work, in the worker thread, so the window
never waits for it.
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path
from typing import Any

from app.job_runner import EngineJob
from trainers.spec.config import RunConfig
from trainers.spec.ensemble_settings import EnsembleSettings
from trainers.spec.events import RunControl, Sink
from trainers.spec.lr_finder_settings import LrFinderSettings


def training_job(cfg: RunConfig, store_url: str | None = None) -> EngineJob:
    """Train one trial into the default store (the CLI's), or into store_url when given."""

    def job(sink: Sink, control: RunControl) -> Any:
        from trainers.api import TrialStore, run_training

        if store_url is None:
            return run_training(cfg, sink=sink, control=control)
        with TrialStore(store_url) as store:
            return run_training(cfg, sink=sink, control=control, store=store)

    return EngineJob(job, "Training", "Training")


def lr_finder_job(cfg: RunConfig, settings: LrFinderSettings, store_url: str | None = None) -> EngineJob:
    """Run a learning-rate range test (all its repeats) as a trial of the default store, or of store_url."""

    def job(sink: Sink, control: RunControl) -> Any:
        from trainers.api import TrialStore, run_lr_finder

        if store_url is None:
            return run_lr_finder(cfg, settings, sink=sink, control=control)
        with TrialStore(store_url) as store:
            return run_lr_finder(cfg, settings, sink=sink, control=control, store=store)

    return EngineJob(job, "An LR finder test", "LR finder")


def rerun_job(trial_ids: list[int], seeds: int, store_url: str | None = None) -> EngineJob:
    """Train each trial's config again with `seeds` seeds it has not used; returns the runs' FitEnded list."""

    def job(sink: Sink, control: RunControl) -> Any:
        from trainers.api import TrialStore, rerun_with_seeds

        with TrialStore(store_url) as store:
            return rerun_with_seeds(store, list(trial_ids), seeds, sink=sink, control=control)

    return EngineJob(job, "Re-runs with other seeds", "History", plural=True)


def ensemble_job(settings: EnsembleSettings, cfg: RunConfig | None, store_url: str | None = None) -> EngineJob:
    """Build an ensemble as a trial of the default store (or store_url): combine stored trials, or train new
    members with `cfg` (the training methods need it; combining ignores it)."""

    def job(sink: Sink, control: RunControl) -> Any:
        from trainers.api import TrialStore, run_ensemble

        with TrialStore(store_url) as store:
            return run_ensemble(settings, cfg, sink=sink, control=control, store=store)

    return EngineJob(job, "An ensemble build", "Ensembles")


# The reads below run on the GUI thread, only once the engine is imported: each is one short query (export
# writes one file).
def stored_lr_finder_runs(store_url: str | None = None) -> list[tuple[int, str]]:
    """(trial id, one-line label) of the store's range tests, newest first."""
    from trainers.api import TrialStore, lr_finder_trials

    with TrialStore(store_url) as store:
        return lr_finder_trials(store)


def stored_lr_finder_run(trial_id: int, store_url: str | None = None) -> Any:
    """One stored range test as a trainers.spec.events.LrFinderResult."""
    from trainers.api import TrialStore, load_lr_finder

    with TrialStore(store_url) as store:
        return load_lr_finder(store, trial_id)


def stored_ensembles(store_url: str | None = None) -> list[tuple[int, str]]:
    """(trial id, one-line label) of the store's ensembles, newest first."""
    from trainers.api import TrialStore, ensemble_trials

    with TrialStore(store_url) as store:
        return ensemble_trials(store)


def stored_ensemble(trial_id: int, store_url: str | None = None) -> Any:
    """One stored ensemble's table as a trainers.spec.ensemble_events.EnsembleResult."""
    from trainers.api import TrialStore, load_ensemble_result

    with TrialStore(store_url) as store:
        return load_ensemble_result(store, trial_id)


def ensemble_members_now(settings: EnsembleSettings, store_url: str | None = None) -> list[tuple[int, str]]:
    """(trial id, label) of the trials a combining method would use now; a TuneLabError says why none."""
    from trainers.api import TrialStore, ensemble_candidates

    with TrialStore(store_url) as store:
        return ensemble_candidates(store, settings)


def export_stored_ensemble(trial_id: int, path: str | Path, store_url: str | None = None) -> Path:
    """Write a stored ensemble as one file that loads back; returns the path written."""
    from trainers.api import TrialStore, export_ensemble

    with TrialStore(store_url) as store:
        return Path(export_ensemble(store, trial_id, path))


def warm_up_engine() -> None:
    """Import the engine ahead of the first run (called off the GUI thread after the window shows)."""
    import_module("trainers.api")  # pulls in torch, the models and the store
