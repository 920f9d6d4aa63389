"""The loop callbacks a search adds to each trial's training: the pruner's report at every epoch end, and a stop
that lets the current epoch finish (a worker told to end by SIGTERM)."""

from __future__ import annotations

import math
import threading
from typing import Any

from optuna.exceptions import StorageInternalError
from sqlalchemy.exc import SQLAlchemyError

from trainers.training.callbacks import metric_value
from trainers.training.loop import Callback, CancelFit, Learner

PRUNED = "pruned"
PRUNER_NAMES = {"median": "median", "halving": "successive-halving", "hyperband": "Hyperband", "none": "no"}


class PruningCallback(Callback):
    """Reports the monitored validation metric of each epoch (`trial.report(value, epoch)`) and, when the pruner
    says so, ends the run as "pruned": the epoch is recorded first, so a pruned trial keeps its epochs. The last
    epoch is never pruned (the trial has finished)."""

    order = 18  # after the epoch is stored (12) and sent as an event (15), before early stopping (20)

    def __init__(self, trial: Any, monitor: str, pruner: str = "median") -> None:
        self.trial = trial  # an optuna.Trial (report, should_prune)
        self.monitor = monitor
        self.pruner = pruner
        self.pruned_at: int | None = None

    def after_epoch(self, learner: Learner) -> None:
        value = metric_value(learner, self.monitor)
        if value is None or not math.isfinite(value):
            return
        try:
            self.trial.report(float(value), learner.epoch)
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
