"""Single runs queued in the store and trained by `tunelab worker --queue` on any host: `queue_run` writes one,
`run_queue` takes them one at a time and trains each as the very trial that was queued (one lifecycle,
trainers/jobs/lifecycle.py, adopting the claimed trial instead of creating one)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

from trainers.jobs.setup import trial_summary
from trainers.spec.config import RunConfig
from trainers.spec.errors import StoreError, TuneLabError
from trainers.spec.events import FitEnded, RunControl, Sink
from trainers.spec.trial_config import stored_run_config
from trainers.store import TrialStore
from trainers.store.queued import add_queued, claim_queued
from trainers.training.run import TRAIN_KIND, run_training

POLL_S = 1.0  # how often an idle worker looks for queued runs


def queue_run(store: TrialStore, cfg: RunConfig) -> int:
    """Queue `cfg` as a training trial (status "queued") for a worker to train; its trial id."""
    return add_queued(store, TRAIN_KIND, cfg.to_dict(), **trial_summary(cfg))


@dataclass
class QueueLimits:
    """When a queue worker ends: after `max_trials` runs, or after `idle_exit_s` seconds with nothing queued
    (None: never); it looks again every `poll_s` seconds."""

    max_trials: int | None = None
    idle_exit_s: float | None = None
    poll_s: float = POLL_S


def train_claimed(store: TrialStore, trial_id: int, sink: Sink, control: RunControl) -> FitEnded | None:
    """Train the claimed trial `trial_id` as itself; a config that no longer validates ends it as failed (None)."""
    try:
        cfg = stored_run_config(trial_id, store.get_trial(trial_id).config)
        return run_training(cfg, sink=sink, control=control, store=store, queued_trial=trial_id)
    except TuneLabError as exc:  # raised before the run began: the trial must not stay "running"
        try:
            store.finish_trial(trial_id, "failed", message=str(exc))
        except StoreError:
            store.heartbeat.remove(trial_id)  # deleted meanwhile (taken off the queue in History): nothing to end
        return None


def run_queue(
    store: TrialStore,
    limits: QueueLimits,
    control: RunControl,
    sink: Sink,
    on_trial: Callable[[int, FitEnded | None], None] | None = None,
) -> int:
    """Train queued runs one after another until the limits say stop or `control` asks to; the number trained."""
    ran, idle_since = 0, time.monotonic()
    while not control.stop_requested and (limits.max_trials is None or ran < limits.max_trials):
        trial_id = claim_queued(store, TRAIN_KIND)
        if trial_id is None:
            idle = time.monotonic() - idle_since
            if limits.idle_exit_s is not None and idle >= limits.idle_exit_s:
                break
            wait = limits.poll_s if limits.idle_exit_s is None else min(limits.poll_s, limits.idle_exit_s - idle)
            time.sleep(max(wait, 0.01))
            continue
        result = train_claimed(store, trial_id, sink, control)
        ran += 1
        if on_trial is not None:
            on_trial(trial_id, result)
        idle_since = time.monotonic()
    return ran
