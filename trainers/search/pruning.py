"""The loop callbacks a search adds to each trial's training: the pruner's report at every epoch end, and a stop
that lets the current epoch finish (a worker told to end by SIGTERM)."""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from optuna.exceptions import StorageInternalError
from sqlalchemy.exc import SQLAlchemyError

from trainers.training.callbacks import metric_value
from trainers.training.loop import Callback, CancelFit, Learner

log = logging.getLogger(__name__)

PRUNED = "pruned"
PRUNER_NAMES = {"median": "median", "halving": "successive-halving", "hyperband": "Hyperband", "none": "no"}


class PruningCallback(Callback):
    """Reports the monitored validation metric of each epoch (`trial.report(value, epoch)`) and, when the pruner
    says so, ends the run as "pruned": the epoch is recorded first, so a pruned trial keeps its epochs. The last
    epoch is never pruned (the trial has finished).

    Without a pruner nothing waits for the report, so it is written by a thread of the trial's own while the next
    epoch trains (a report is a storage write: about 3 ms on a journal, for its lock and fsync, every epoch);
    flush() waits until every report is written: reports_flushed() calls it before the trial is told."""

    order = 18  # after the epoch is stored (12) and sent as an event (15), before early stopping (20)

    def __init__(self, trial: Any, monitor: str, pruner: str = "median") -> None:
        self.trial = trial  # an optuna.Trial (report, should_prune)
        self.monitor = monitor
        self.pruner = pruner
        self.pruned_at: int | None = None
        self._writer: ThreadPoolExecutor | None = None  # the reports no pruner waits for, in order

    def after_epoch(self, learner: Learner) -> None:
        value = metric_value(learner, self.monitor)
        if value is None or not math.isfinite(value):
            return
        if self.pruner == "none":
            if self._writer is None:
                self._writer = ThreadPoolExecutor(1, thread_name_prefix="tunelab-report")
            self._writer.submit(self._report, float(value), learner.epoch)
            return
        if not self._report(float(value), learner.epoch):
            return
        try:
            prune = learner.epoch < learner.settings.epochs and self.trial.should_prune()
        except (StorageInternalError, SQLAlchemyError, OSError):
            return  # the study's database is away for now: the pruner misses this epoch, the trial goes on
        if prune:
            self.pruned_at = learner.epoch
            learner.status = PRUNED
            learner.message = (
                f"pruned at epoch {learner.epoch} by the {PRUNER_NAMES.get(self.pruner, self.pruner)} pruner "
                f"({self.monitor} {value:.4g})"
            )
            raise CancelFit()

    def flush(self) -> None:
        """Wait until every report handed to the writer is written."""
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.shutdown(wait=True)

    def _report(self, value: float, epoch: int) -> bool:
        """Whether the study took the epoch's value."""
        try:
            self.trial.report(value, epoch)
            return True
        except (StorageInternalError, SQLAlchemyError, OSError):
            return False  # the study's database is away for now: the pruner misses this epoch, the trial goes on
        except Exception:  # on the writer's thread nothing else would say it
            if self.pruner != "none":
                raise
            log.exception("The report of epoch %d could not be written", epoch)
            return False


@contextmanager
def reports_flushed(*callbacks: PruningCallback) -> Iterator[None]:
    """Every intermediate value the callbacks handed to their writers is in the study on leaving, however the
    training ended, so a trial is told only after its reports."""
    try:
        yield
    finally:
        for cb in callbacks:
            cb.flush()


class EpochStop(Callback):
    """Ends the run as "stopped" at the end of the epoch in which `flag` was set."""

    order = 19

    def __init__(self, flag: threading.Event) -> None:
        self.flag = flag

    def after_epoch(self, learner: Learner) -> None:
        if self.flag.is_set() and learner.epoch < learner.settings.epochs:
            learner.status = "stopped"
            learner.message = f"stopped by request after epoch {learner.epoch}"
            raise CancelFit()
