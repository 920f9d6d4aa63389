"""The fit → epoch → batch loop. Everything optional (schedules, early stopping, checkpoints, events,
the store) is a callback; control flow uses cancel exceptions, as in fastai's Learner."""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import torch
from torch import nn

from trainers.spec.config import RunConfig
from trainers.data.bundle import DatasetBundle, Split, augment_batch, iter_batches, num_batches


class CancelBatch(Exception):
    """Skip the rest of this batch."""


class CancelEpoch(Exception):
    """Skip the rest of this epoch's training batches (validation still runs)."""


class CancelFit(Exception):
    """End the run now; `Learner.status` says why."""


class Callback:
    """Override any of: before_fit, before_epoch, before_batch, after_batch, after_train, before_eval_batch,
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
    return TrainSettings(batch_size=t.batch_size, epochs=t.epochs, grad_clip=t.grad_clip, l1=t.l1,
                         label_smoothing=t.label_smoothing, augment_flip=d.augment_flip,
                         augment_crop_padding=d.augment_crop_padding, amp=t.amp, num_workers=d.num_workers,
                         seed=t.seed)


@dataclass
class EvalResult:
    loss: float
    acc: float
    n: int


@dataclass
class Learner:
    model: nn.Module
    optimizer: torch.optim.Optimizer
    data: DatasetBundle
    settings: TrainSettings
    device: torch.device
    callbacks: list[Callback] = field(default_factory=list)

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

    def __post_init__(self) -> None:
        self.callbacks = sorted(self.callbacks, key=lambda cb: cb.order)
        s = self.settings
        self.loss_fn = nn.CrossEntropyLoss(label_smoothing=s.label_smoothing)
        self.gen = torch.Generator().manual_seed(s.seed)
        self.steps_per_epoch = num_batches(self.data.train, s.batch_size)
        self._params = [p for p in self.model.parameters() if p.requires_grad]
        self._l1_params = [p for p in self._params if p.ndim > 1]
        self._amp_dtype, self._scaler = _amp_setup(s.amp, self.device)

    @property
    def lr(self) -> float:
        """The learning rate of the current step (the schedule sets every group alike)."""
        return float(self.optimizer.param_groups[0]["lr"])

    @property
    def samples_per_sec(self) -> float | None:
        """Training throughput of the last epoch, pauses left out."""
        return len(self.data.train) / self.train_seconds if self.train_seconds > 0 else None

    def __call__(self, stage: str) -> None:
        for cb in self.callbacks:
            hook: Callable[[Learner], Any] | None = getattr(cb, stage, None)
            if hook is not None:
                hook(self)

    # ---- fit / epoch / batch ------------------------------------------------------------
    def fit(self) -> None:
        try:
            self("before_fit")
            for self.epoch in range(self.epoch + 1, self.settings.epochs + 1):
                self._epoch()
        except CancelFit:
            pass
        finally:
            self("after_fit")

    def _epoch(self) -> None:
        t0 = time.perf_counter()
        p0 = self.paused_seconds
        train_mode(self.model)
        self.batch = 0
        self._loss_sum, self._correct, self._seen = 0.0, 0, 0
        self("before_epoch")
        try:
            batches = iter_batches(self.data.train, self.settings.batch_size, shuffle=True, gen=self.gen,
                                   device=self.device, num_workers=self.settings.num_workers)
            for xb, yb in batches:
                self.batch += 1
                self.step += 1
                try:
                    self("before_batch")
                    self._batch(xb, yb)
                    self("after_batch")
                except CancelBatch:
                    pass
        except CancelEpoch:
            pass
        self.train_seconds = time.perf_counter() - t0 - (self.paused_seconds - p0)
        seen = max(1, self._seen)
        self.train_loss = self._loss_sum / seen
        self.train_acc = self._correct / seen
        self("after_train")
        self.val = self.evaluate(self.data.val)
        self.epoch_seconds = time.perf_counter() - t0 - (self.paused_seconds - p0)
        self("after_epoch")

    def _batch(self, xb: torch.Tensor, yb: torch.Tensor) -> None:
        s = self.settings
        xb = augment_batch(xb, s.augment_flip, s.augment_crop_padding, self.gen)
        with self._autocast():
            out = self.model(xb)
            ce = self.loss_fn(out, yb)
            loss = ce + s.l1 * sum(p.abs().sum() for p in self._l1_params) if s.l1 > 0 else ce
        self.optimizer.zero_grad(set_to_none=True)
        if self._scaler is not None:
            self._scaler.scale(loss).backward()
            self._scaler.unscale_(self.optimizer)
        else:
            loss.backward()
        norm = self._clip_and_measure()
        if self._scaler is not None:
            self._scaler.step(self.optimizer)
            self._scaler.update()
        else:
            self.optimizer.step()
        with torch.no_grad():
            # the epoch's training loss is plain cross-entropy, comparable with the validation loss
            plain = ce if s.label_smoothing == 0 else nn.functional.cross_entropy(out.float(), yb)
            stats = torch.stack([loss.detach().float(), norm.float(), plain.detach().float(),
                                 (out.argmax(1) == yb).sum().float()])
        # one device synchronisation per batch, for everything the callbacks and the epoch totals need;
        # a non-finite loss is caught right after by DivergenceGuard, before another step is taken
        self.loss_value, self.grad_norm, plain_value, correct = stats.tolist()
        n = int(yb.shape[0])
        self.batch_size_now = n
        self._loss_sum += plain_value * n
        self._correct += int(correct)
        self._seen += n

    def _clip_and_measure(self) -> torch.Tensor:
        """The gradient norm before clipping, as a 0-d tensor on the device (no synchronisation)."""
        grads = [p.grad for p in self._params if p.grad is not None]
        if not grads:
            return torch.zeros((), device=self.device)
        if self.settings.grad_clip > 0:
            return torch.nn.utils.clip_grad_norm_(self._params, self.settings.grad_clip)
        # a BLAS dot per tensor: on the CPU several times cheaper than torch._foreach_norm
        return torch.stack([torch.dot(g.reshape(-1), g.reshape(-1)) for g in grads]).sum().sqrt()

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self._amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self._amp_dtype)

    # ---- evaluation ---------------------------------------------------------------------
    @torch.no_grad()
    def evaluate(self, split: Split | None) -> EvalResult | None:
        """Mean plain cross-entropy (no smoothing, no L1) and accuracy over a split."""
        if split is None or len(split) == 0:
            return None
        was_training = self.model.training
        self.model.eval()
        loss_sum = torch.zeros((), device=self.device)
        correct = torch.zeros((), device=self.device, dtype=torch.long)
        n = 0
        # in memory, big batches are free speed; streamed from disk, memory is what is short
        size = max(self.settings.batch_size, 1024) if split.in_memory else 2 * self.settings.batch_size
        batches: Iterable = iter_batches(split, size, shuffle=False, gen=self.gen, device=self.device,
                                         num_workers=self.settings.num_workers)
        for xb, yb in batches:
            self("before_eval_batch")  # a stop or pause is honoured during long evaluations too
            with self._autocast():
                out = self.model(xb)
            loss_sum += nn.functional.cross_entropy(out.float(), yb, reduction="sum")
            correct += (out.argmax(1) == yb).sum()
            n += int(yb.shape[0])
        if was_training:
            train_mode(self.model)  # frozen batch norms stay in eval mode, as during training
        return EvalResult(float(loss_sum.item()) / n, float(correct.item()) / n, n)


def _amp_setup(amp: bool, device: torch.device) -> tuple[torch.dtype | None, Any]:
    """bfloat16 where the GPU has it (no scaler needed), else float16 with a gradient scaler."""
    if not amp or device.type != "cuda":
        return None, None
    if torch.cuda.is_bf16_supported():
        return torch.bfloat16, None
    return torch.float16, torch.amp.GradScaler("cuda")


def train_mode(model: nn.Module) -> None:
    """Train mode, except batch norms whose parameters are all frozen: their running statistics stay put."""
    model.train()
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            params = list(m.parameters(recurse=False))
            if params and not any(p.requires_grad for p in params):
                m.eval()
