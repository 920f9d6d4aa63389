"""The loop's optional behaviour, one callback each: schedule, control, divergence, best weights,
early stopping and events. Storage lives in trainers/training/recording.py."""

from __future__ import annotations

import math

import torch

from trainers.diagnosis.divergence import explosion_message, loss_exploded
from trainers.spec.config import RunConfig
from trainers.spec.events import BatchEnded, EpochEnded, FitStarted, RunControl, Sink, StopRequested
from trainers.spec.schedules import scheduled_lr
from trainers.training.loop import Callback, CancelFit, Learner
from trainers.training.optim import set_lr


def metric_value(learner: Learner, name: str) -> float | None:
    if name.startswith("val_"):
        if learner.val is None:
            return None
        return learner.val.loss if name == "val_loss" else learner.val.acc
    return learner.train_loss if name == "train_loss" else learner.train_acc


def resolve_mode(monitor: str, mode: str) -> str:
    if mode != "auto":
        return mode
    return "max" if monitor.endswith("acc") else "min"


def improves(value: float, best: float | None, mode: str, min_delta: float = 0.0) -> bool:
    """Whether `value` beats `best` (none yet: it does) by more than min_delta, in the direction `mode` says."""
    if best is None:
        return True
    return value < best - min_delta if mode == "min" else value > best + min_delta


class ScheduleCallback(Callback):
    """Sets the learning rate before every batch from the pure schedule functions; for reduce-on-plateau
    it also watches the validation loss (the training loss when there is no validation split)."""

    order = -10

    def __init__(self, cfg: RunConfig) -> None:
        self.cfg = cfg
        self.plateau_scale = 1.0
        self._plateau = BestTracker("val_loss", "min", keep_weights=False)

    def before_batch(self, learner: Learner) -> None:
        lr = scheduled_lr(self.cfg, learner.step - 1, learner.steps_per_epoch, self.plateau_scale)
        set_lr(learner.optimizer, lr)

    def after_epoch(self, learner: Learner) -> None:
        if self.cfg.schedule.name != "plateau":
            return
        self._plateau.monitor = "val_loss" if learner.val is not None else "train_loss"
        self._plateau.after_epoch(learner)
        if self._plateau.epochs_since_best > self.cfg.schedule.plateau_patience:
            self.plateau_scale *= self.cfg.schedule.plateau_factor
            self._plateau.epochs_since_best = 0


class ControlCallback(Callback):
    """Honours the GUI's or CLI's stop and pause requests between batches."""

    order = -20

    def __init__(self, control: RunControl) -> None:
        self.control = control

    def before_batch(self, learner: Learner) -> None:
        paused_before = self.control.paused_seconds
        try:
            self.control.checkpoint()
        except StopRequested:
            learner.status = "stopped"
            learner.message = f"stopped by request at epoch {learner.epoch}, batch {learner.batch}"
            raise CancelFit() from None
        finally:
            learner.paused_seconds += self.control.paused_seconds - paused_before

    before_eval_batch = before_batch


class DivergenceGuard(Callback):
    """Ends the run as "diverged", recording the step, by the diagnosis's rule (trainers/diagnosis/divergence.py):
    a loss that is not finite, or, given the class count, an epoch's training or validation loss beyond
    EXPLODE_FACTOR x the chance-level loss ln(classes). A batch's loss is checked where the loop reads it every
    batch; members trained together sum theirs on the device and read it once an epoch
    (trainers/ensembles/member_callbacks.py drives one guard per member). The epoch that crossed the limit is not
    recorded: the run ends before it counts."""

    order = -5

    def __init__(self, num_classes: int | None = None) -> None:
        self.num_classes = num_classes  # None: only a loss that is not finite (a loss that is not cross-entropy)
        self.step: int | None = None

    def after_batch(self, learner: Learner) -> None:
        if not math.isfinite(learner.loss_value):
            self._diverged(
                learner,
                f"loss became {learner.loss_value} at step {learner.step} "
                f"(epoch {learner.epoch}, batch {learner.batch})",
            )

    def after_train(self, learner: Learner) -> None:
        self._check(learner, "training loss", learner.train_loss)

    def after_epoch(self, learner: Learner) -> None:
        if learner.val is not None:
            self._check(learner, "validation loss", learner.val.loss)

    def _check(self, learner: Learner, what: str, loss: float) -> None:
        if loss_exploded(loss, self.num_classes):
            self._diverged(learner, explosion_message(what, loss, learner.epoch, self.num_classes))

    def _diverged(self, learner: Learner, message: str) -> None:
        self.step = learner.step
        learner.status = "diverged"
        learner.message = message
        raise CancelFit()


class BestTracker(Callback):
    """Remembers the best epoch by the monitored metric and keeps a CPU copy of its weights."""

    order = 10

    def __init__(self, monitor: str, mode: str, min_delta: float = 0.0, keep_weights: bool = True) -> None:
        self.monitor = monitor
        self.mode = resolve_mode(monitor, mode)
        self.min_delta = min_delta
        self.keep_weights = keep_weights
        self.best_value: float | None = None
        self.best_epoch: int | None = None
        self.best_state: dict[str, torch.Tensor] | None = None
        self.epochs_since_best = 0
        self.improved = False

    def _better(self, value: float) -> bool:
        return improves(value, self.best_value, self.mode, self.min_delta)

    def after_epoch(self, learner: Learner) -> None:
        value = metric_value(learner, self.monitor)
        self.improved = value is not None and math.isfinite(value) and self._better(value)
        if self.improved:
            self.best_value, self.best_epoch, self.epochs_since_best = value, learner.epoch, 0
            if self.keep_weights:
                self.best_state = {k: v.detach().to("cpu", copy=True) for k, v in learner.model.state_dict().items()}
        else:
            self.epochs_since_best += 1


class EarlyStopping(Callback):
    """Ends the run once the tracked metric has not improved for `patience` epochs."""

    order = 20

    def __init__(self, tracker: BestTracker, patience: int) -> None:
        self.tracker = tracker
        self.patience = patience

    def after_epoch(self, learner: Learner) -> None:
        if self.tracker.epochs_since_best >= max(1, self.patience):
            learner.message = (
                f"early stop at epoch {learner.epoch}: {self.tracker.monitor} has not improved "
                f"since epoch {self.tracker.best_epoch}"
            )
            raise CancelFit()


class EventCallback(Callback):
    """Turns loop state into plain-data events for a Sink."""

    order = 15

    def __init__(self, sink: Sink, trial_id: int | None, tracker: BestTracker, param_count: int, device: str) -> None:
        self.sink = sink
        self.trial_id = trial_id
        self.tracker = tracker
        self.param_count = param_count
        self.device = device

    def before_fit(self, learner: Learner) -> None:
        d = learner.data
        self.sink.emit(
            FitStarted(
                self.trial_id,
                learner.settings.epochs,
                learner.steps_per_epoch,
                len(d.train),
                len(d.val),
                len(d.test) if d.test is not None else 0,
                self.param_count,
                self.device,
                d.num_classes,
            )
        )

    def after_batch(self, learner: Learner) -> None:
        self.sink.emit(
            BatchEnded(
                learner.epoch,
                learner.batch,
                learner.step,
                learner.loss_value,
                learner.lr,
                learner.grad_norm,
                learner.batch_size_now,
            )
        )

    def after_epoch(self, learner: Learner) -> None:
        val = learner.val
        self.sink.emit(
            EpochEnded(
                learner.epoch,
                learner.train_loss,
                learner.train_acc,
                val.loss if val else None,
                val.acc if val else None,
                learner.lr,
                learner.epoch_seconds,
                learner.samples_per_sec or 0.0,
                self.tracker.improved,
            )
        )
