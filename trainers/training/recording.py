"""Writes each finished epoch, the running best metrics and the checkpoints to the trial store."""

from __future__ import annotations

import math
from typing import Any

from trainers.spec.errors import StoreError
from trainers.store import TrialStore
from trainers.training.callbacks import BestTracker
from trainers.training.checkpoints import save_checkpoint
from trainers.training.loop import Callback, Learner


def finite_or_none(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


class StoreRecorder(Callback):
    """Every epoch is committed as it ends, so a crash keeps everything that finished.

    The trial's best_val_acc and best_val_loss are those of the best epoch by the tracker's monitor, whose weights
    are kept (best.pt, the test score): one epoch's numbers, never a mix. The highest validation accuracy of any
    epoch is kept apart as the peak."""

    order = 12  # after BestTracker, before EarlyStopping may end the run

    def __init__(self, store: TrialStore, trial_id: int, tracker: BestTracker, save_checkpoints: bool) -> None:
        self.store = store
        self.trial_id = trial_id
        self.tracker = tracker
        self.save_checkpoints = save_checkpoints
        self.epochs_recorded = 0
        self.best_val_acc: float | None = None  # of the kept (best) epoch
        self.best_val_loss: float | None = None  # of the kept (best) epoch
        self.peak_val_acc: float | None = None  # the highest of any epoch
        self.save_failed = False  # a checkpoint could not be written: the run ends on that error, not a second one

    def after_epoch(self, learner: Learner) -> None:
        val = learner.val
        val_loss = finite_or_none(val.loss) if val else None
        val_acc = val.acc if val else None
        if val_acc is not None and (self.peak_val_acc is None or val_acc > self.peak_val_acc):
            self.peak_val_acc = val_acc
        if self.tracker.improved:
            self.best_val_acc, self.best_val_loss = val_acc, val_loss
        fields: dict[str, Any] = {
            "best_val_acc": self.best_val_acc,
            "best_val_loss": self.best_val_loss,
            "best_epoch": self.tracker.best_epoch,
            "final_train_loss": finite_or_none(learner.train_loss),
        }
        failed: StoreError | None = None
        if self.save_checkpoints and self.tracker.improved and self.tracker.best_state is not None:
            try:
                path = save_checkpoint(
                    self.store.checkpoint_dir(self.trial_id) / "best.pt",
                    self.tracker.best_state,
                    {
                        "epoch": learner.epoch,
                        "monitor": self.tracker.monitor,
                        "value": float(self.tracker.best_value or 0.0),
                    },
                )
                fields["checkpoint_best"] = str(path)
            except StoreError as exc:
                failed = exc  # the epoch itself finished: it is recorded before the run ends on the error
        self.store.add_epoch(
            self.trial_id,
            learner.epoch,
            train_loss=finite_or_none(learner.train_loss),
            train_acc=finite_or_none(learner.train_acc),
            val_loss=val_loss,
            val_acc=val_acc,
            lr=learner.lr,
            seconds=learner.epoch_seconds,
            samples_per_sec=learner.samples_per_sec,
            wait=False,  # written by the store's own thread while the next epoch trains
            **fields,
        )
        self.epochs_recorded = learner.epoch
        if failed is not None:
            self.save_failed = True
            raise failed

    def after_fit(self, learner: Learner) -> None:
        # the model still holds the last epoch's weights here: the best are loaded later, for the test
        if self.save_checkpoints and learner.epoch > 0 and learner.status != "diverged" and not self.save_failed:
            state = {k: v.detach().cpu() for k, v in learner.model.state_dict().items()}
            path = save_checkpoint(
                self.store.checkpoint_dir(self.trial_id) / "last.pt", state, {"epoch": learner.epoch}
            )
            self.store.update_trial(self.trial_id, checkpoint_last=str(path))
