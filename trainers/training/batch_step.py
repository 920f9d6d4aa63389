"""How one batch trains and where the batches come from, as an object the Learner calls stage by stage.

The default trains one model on the loop's batches: cross-entropy (with label smoothing) plus L1, gradient
clipping and mixed precision. Members trained together plug in their own (trainers/ensembles/stacked_step.py):
a batched model, a batch per member, a loss per member, over the same loop and the same callbacks."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

import torch
from torch import nn

from trainers.data.bundle import Split, augment_batch, iter_batches, num_batches

# The Learner that calls these methods: trainers/training/loop.py imports this module, so it is not imported back.
Learner = Any


@dataclass
class EvalResult:
    loss: float
    acc: float
    n: int


class BatchStep:
    """The stages of a batch (pred, loss, backward, step), the batch source, the epoch's training totals and
    evaluation. Subclasses replace whichever they train differently."""

    def __init__(self, loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None) -> None:
        self.loss_fn = loss_fn  # None: cross-entropy with the settings' label smoothing

    def bind(self, learner: Learner) -> None:
        """Called once by the Learner it serves."""
        s = learner.settings
        if self.loss_fn is None:
            self.loss_fn = nn.CrossEntropyLoss(label_smoothing=s.label_smoothing)
        self._params = [p for p in learner.model.parameters() if p.requires_grad]
        self._l1_params = [p for p in self._params if p.ndim > 1]
        self._amp_dtype, self._scaler = _amp_setup(s.amp, learner.device)
        self._zero = torch.zeros((), device=learner.device)
        self._norm = self._zero
        self._no_amp = contextlib.nullcontext()

    # ---- the batch source ---------------------------------------------------------------
    def steps_per_epoch(self, learner: Learner) -> int:
        return num_batches(learner.data.train, learner.settings.batch_size)

    def set_training(self, learner: Learner, on: bool) -> None:
        if on:
            train_mode(learner.model)
        else:
            learner.model.eval()

    def batches(self, learner: Learner) -> Iterator[tuple[torch.Tensor, Any]]:
        """The epoch's shuffled training batches, augmented (the loop's generator draws both)."""
        s = learner.settings
        for xb, yb in iter_batches(
            learner.data.train,
            s.batch_size,
            shuffle=True,
            gen=learner.gen,
            device=learner.device,
            num_workers=s.num_workers,
        ):
            yield augment_batch(xb, s.augment_flip, s.augment_crop_padding, learner.gen), yb

    # ---- the stages ---------------------------------------------------------------------
    def pred(self, learner: Learner, xb: torch.Tensor) -> torch.Tensor:
        with self._autocast(learner.device):
            return learner.model(xb)

    def loss(self, learner: Learner, pred: torch.Tensor, yb: Any) -> torch.Tensor:
        l1 = learner.settings.l1
        self._norm = self._zero  # stays 0 when the step is cancelled
        assert self.loss_fn is not None
        with self._autocast(learner.device):
            self._ce = self.loss_fn(pred, yb)
            return self._ce + l1 * sum(p.abs().sum() for p in self._l1_params) if l1 > 0 else self._ce

    def backward(self, learner: Learner, loss: torch.Tensor) -> None:
        if self._scaler is not None:
            self._scaler.scale(loss).backward()
        else:
            loss.backward()

    def step(self, learner: Learner) -> None:
        """Clip (and measure the norm before clipping), then step; under a gradient scaler, unscaled first."""
        if self._scaler is not None:
            self._scaler.unscale_(learner.optimizer)
            self._norm = self._clip_and_measure(learner.settings.grad_clip)
            self._scaler.step(learner.optimizer)
            self._scaler.update()
        else:
            self._norm = self._clip_and_measure(learner.settings.grad_clip)
            learner.optimizer.step()

    def _clip_and_measure(self, grad_clip: float) -> torch.Tensor:
        """The gradient norm before clipping, as a 0-d tensor on the device (no synchronisation)."""
        grads = [p.grad for p in self._params if p.grad is not None]
        if not grads:
            return self._zero
        if grad_clip > 0:
            return torch.nn.utils.clip_grad_norm_(self._params, grad_clip)
        # a BLAS dot per tensor: on the CPU several times cheaper than torch._foreach_norm
        return torch.stack([torch.dot(g.reshape(-1), g.reshape(-1)) for g in grads]).sum().sqrt()

    # ---- the epoch's totals -------------------------------------------------------------
    def begin_epoch(self, learner: Learner) -> None:
        self._loss_sum, self._correct, self._seen = 0.0, 0, 0

    def record(self, learner: Learner) -> None:
        """After the step: the batch's numbers for the callbacks and the epoch's totals."""
        out, yb = learner.pred, learner.yb
        with torch.no_grad():
            # the epoch's training loss is plain cross-entropy, comparable with the validation loss
            plain = self._ce if learner.settings.label_smoothing == 0 else nn.functional.cross_entropy(out.float(), yb)
            stats = torch.stack(
                [
                    learner.loss.detach().float(),
                    self._norm.float(),
                    plain.detach().float(),
                    (out.argmax(1) == yb).sum().float(),
                ]
            )
        # one device synchronisation per batch, for everything the callbacks and the epoch totals need;
        # a non-finite loss is caught right after by DivergenceGuard, before another step is taken
        learner.loss_value, learner.grad_norm, plain_value, correct = stats.tolist()
        n = int(yb.shape[0])
        learner.batch_size_now = n
        self._loss_sum += plain_value * n
        self._correct += int(correct)
        self._seen += n

    def end_epoch(self, learner: Learner) -> None:
        seen = max(1, self._seen)
        learner.train_loss = self._loss_sum / seen
        learner.train_acc = self._correct / seen

    # ---- evaluation ---------------------------------------------------------------------
    @torch.no_grad()
    def evaluate(self, learner: Learner, split: Split | None) -> EvalResult | None:
        """Mean plain cross-entropy (no smoothing, no L1) and accuracy over a split."""
        if split is None or len(split) == 0:
            return None
        model, device, s = learner.model, learner.device, learner.settings
        was_training = model.training
        model.eval()
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device, dtype=torch.long)
        n = 0
        # in memory, big batches are free speed; streamed from disk, memory is what is short
        size = max(s.batch_size, 1024) if split.in_memory else 2 * s.batch_size
        batches: Iterable = iter_batches(
            split, size, shuffle=False, gen=learner.gen, device=device, num_workers=s.num_workers
        )
        for xb, yb in batches:
            learner("before_eval_batch")  # a stop or pause is honoured during long evaluations too
            with self._autocast(device):
                out = model(xb)
            loss_sum += nn.functional.cross_entropy(out.float(), yb, reduction="sum")
            correct += (out.argmax(1) == yb).sum()
            n += int(yb.shape[0])
        if was_training:
            train_mode(model)  # frozen batch norms stay in eval mode, as during training
        return EvalResult(float(loss_sum.item()) / n, float(correct.item()) / n, n)

    def _autocast(self, device: torch.device) -> contextlib.AbstractContextManager:
        if self._amp_dtype is None:
            return self._no_amp  # a reusable no-op: nothing allocated per batch
        return torch.autocast(device_type=device.type, dtype=self._amp_dtype)


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
