"""The engine jobs the window starts, each a function of (sink, control) run in the worker thread.

trainers.api (and with it torch) is imported inside the job, in the worker thread, so the window
never waits for it.
"""

from __future__ import annotations

from typing import Any

from trainers.config import RunConfig
from trainers.events import RunControl, Sink

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


def warm_up_engine() -> None:
    """Import the engine ahead of the first run (called off the GUI thread after the window shows)."""
    import trainers.api  # noqa: F401 - pulls in torch, the models and the store
