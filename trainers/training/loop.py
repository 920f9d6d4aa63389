"""The fit → epoch → batch loop. Everything optional (schedules, early stopping, checkpoints, events,
the store) is a callback; control flow uses cancel exceptions, as in fastai's Learner. A batch runs in stages,
each with hooks: before_batch, before_pred/after_pred, after_loss, before_backward/after_backward,
before_step/after_step, after_batch. What the stages do, and where batches come from, is the Learner's
BatchStep (trainers/training/batch_step.py): one model by default, or members trained together."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import torch

from trainers.data.bundle import DatasetBundle, Split
from trainers.spec.config import RunConfig
from trainers.training.batch_step import BatchStep, EvalResult, train_mode

__all__ = [
    "BatchStep",
    "Callback",
    "CancelBackward",
    "CancelBatch",
    "CancelEpoch",
    "CancelFit",
    "CancelStep",
    "EvalResult",
    "Learner",
    "TrainSettings",
    "settings_from",
    "train_mode",
]

STAGES = (
    "before_fit",
    "before_epoch",
    "before_batch",
    "before_pred",
    "after_pred",
    "after_loss",
    "before_backward",
    "after_backward",
    "before_step",
    "after_step",
    "after_batch",
    "after_train",
    "before_eval_batch",
    "after_epoch",
    "after_fit",
)


class CancelBatch(Exception):
    """Skip the rest of this batch."""


class CancelEpoch(Exception):
    """Skip the rest of this epoch's training batches (validation still runs)."""


class CancelFit(Exception):
    """End the run now; `Learner.status` says why."""


class CancelBackward(Exception):
    """Skip this batch's backward pass (raised in before_backward): no gradients, so the step changes nothing."""


class CancelStep(Exception):
    """Skip this batch's optimizer step (raised in before_step): the weights stay as they are."""


class Callback:
    """Override any of the STAGES: before_fit, before_epoch, before_batch, before_pred, after_pred, after_loss,
    before_backward, after_backward, before_step, after_step, after_batch, after_train, before_eval_batch,
    after_epoch, after_fit."""

    order = 0


@dataclass
class TrainSettings:
    batch_size: int
    epochs: int
    grad_clip: float = 0.0
    l1: float = 0.0
    label_smoothing: float = 0.0
    augment_flip: bool = False
    augment_crop_padding: int = 0
    amp: bool = False
    num_workers: int = 0
    seed: int = 0


def settings_from(cfg: RunConfig) -> TrainSettings:
    """The loop's settings from a run config."""
    t, d = cfg.train, cfg.data
    return TrainSettings(
        batch_size=t.batch_size,
        epochs=t.epochs,
        grad_clip=t.grad_clip,
        l1=t.l1,
        label_smoothing=t.label_smoothing,
        augment_flip=d.augment_flip,
        augment_crop_padding=d.augment_crop_padding,
        amp=t.amp,
        num_workers=d.num_workers,
        seed=t.seed,
    )


@dataclass
class Learner:
    model: Any  # an nn.Module; members trained together: StackedModels
    optimizer: torch.optim.Optimizer
    data: DatasetBundle
    settings: TrainSettings
    device: torch.device
    callbacks: list[Callback] = field(default_factory=list)
    batch_step: BatchStep = field(default_factory=BatchStep)

    # state the callbacks read
    status: str = "completed"
    message: str = ""
    epoch: int = 0
    batch: int = 0
    step: int = 0
    steps_per_epoch: int = 0
    loss_value: float = 0.0
    grad_norm: float = 0.0
    batch_size_now: int = 0
    train_loss: float = math.nan
    train_acc: float = math.nan
    val: EvalResult | None = None
    epoch_seconds: float = 0.0
    train_seconds: float = 0.0
    paused_seconds: float = 0.0  # added to by whoever pauses the loop; left out of epoch timings
    # the batch in flight, as the stages leave it: inputs, targets, predictions, loss
    xb: Any = None
    yb: Any = None
    pred: Any = None
    loss: Any = None

    def __post_init__(self) -> None:
        self.gen = torch.Generator().manual_seed(self.settings.seed)
        self.batch_step.bind(self)
        self.steps_per_epoch = self.batch_step.steps_per_epoch(self)
        self._bind_hooks()

    def _bind_hooks(self) -> None:
        """Each stage's hooks, looked up once: a stage nobody listens to costs one dictionary lookup."""
        self.callbacks = sorted(self.callbacks, key=lambda cb: cb.order)
        self._hooks: dict[str, list[Callable[[Learner], Any]]] = {
            stage: [h for h in (getattr(cb, stage, None) for cb in self.callbacks) if h is not None] for stage in STAGES
        }

    @property
    def loss_fn(self) -> Any:
        return self.batch_step.loss_fn

    @property
    def lr(self) -> float:
        """The learning rate of the current step (the schedule sets every group alike)."""
        return float(self.optimizer.param_groups[0]["lr"])

    @property
    def samples_per_sec(self) -> float | None:
        """Training throughput of the last epoch, pauses left out."""
        return len(self.data.train) / self.train_seconds if self.train_seconds > 0 else None

    def __call__(self, stage: str) -> None:
        hooks = self._hooks.get(stage)
        if hooks is None:  # a stage outside STAGES: look it up now
            hooks = [h for h in (getattr(cb, stage, None) for cb in self.callbacks) if h is not None]
        for hook in hooks:
            hook(self)

    # ---- fit / epoch / batch ------------------------------------------------------------
    def fit(self) -> None:
        self._bind_hooks()  # callbacks added since construction take part too
        try:
            self("before_fit")
            for epoch in range(self.epoch + 1, self.settings.epochs + 1):
                self.epoch = epoch
                self._epoch()
        except CancelFit:
            pass
        finally:
            self("after_fit")

    def _epoch(self) -> None:
        t0 = time.perf_counter()
        p0 = self.paused_seconds
        step = self.batch_step
        step.set_training(self, True)
        self.batch = 0
        step.begin_epoch(self)
        self("before_epoch")
        try:
            for xb, yb in step.batches(self):
                self.xb, self.yb = xb, yb
                self.batch += 1
                self.step += 1
                try:
                    self._one_batch(step)
                except CancelBatch:
                    pass
        except CancelEpoch:
            pass
        self.train_seconds = time.perf_counter() - t0 - (self.paused_seconds - p0)
        step.end_epoch(self)
        self("after_train")
        self.val = self.evaluate(self.data.val)
        self.epoch_seconds = time.perf_counter() - t0 - (self.paused_seconds - p0)
        self("after_epoch")

    def _one_batch(self, step: BatchStep) -> None:
        self("before_batch")
        self("before_pred")
        self.pred = step.pred(self, self.xb)
        self("after_pred")
        self.loss = step.loss(self, self.pred, self.yb)
        self("after_loss")
        self.optimizer.zero_grad(set_to_none=True)
        try:
            self("before_backward")
            step.backward(self, self.loss)
            self("after_backward")
        except CancelBackward:
            pass
        try:
            self("before_step")
            step.step(self)
            self("after_step")
        except CancelStep:
            pass
        step.record(self)
        self("after_batch")

    # ---- evaluation ---------------------------------------------------------------------
    def evaluate(self, split: Split | None) -> EvalResult | None:
        """Mean plain loss and accuracy over a split (the batch step says how: one model, or each member)."""
        return self.batch_step.evaluate(self, split)
