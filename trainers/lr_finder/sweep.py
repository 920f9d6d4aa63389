"""Leslie Smith's learning-rate range test on the ordinary training loop.

As in Lightning's tuner: snapshot the state, run the loop with one extra callback that raises the learning
rate every batch and records the loss, then restore the state exactly. There is no second training loop,
so every batch format, model and option the loop trains with also works here.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from contextlib import contextmanager
from typing import Any, Iterator

import torch
from torch import nn
from torch.utils.data import Subset

from trainers.data.bundle import DatasetBundle, Split, num_batches
from trainers.spec.events import LrFinderCurve, LrFinderStep, NullSink, RunControl, Sink
from trainers.spec.lr_finder_settings import LrFinderSettings
from trainers.spec.schedules import sched_exp, sched_lin
from trainers.spec.smoothing import Ema
from trainers.training.callbacks import ControlCallback
from trainers.training.loop import Callback, CancelFit, Learner, TrainSettings
from trainers.training.optim import set_lr


def sweep_lr(settings: LrFinderSettings, iteration: int) -> float:
    """The learning rate of the 0-based `iteration`: start_lr first, end_lr at the last iteration."""
    pos = iteration / max(1, settings.iterations - 1)
    rise = sched_exp if settings.mode == "exp" else sched_lin
    return rise(settings.start_lr, settings.end_lr, pos)


class LrSweepCallback(Callback):
    """Sets the sweep's learning rate before each batch, records the loss after it, and ends the fit
    when the sweep is done or the smoothed loss has blown up."""

    order = -10  # where the schedule callback would sit: the rate is set before anything else runs

    def __init__(self, settings: LrFinderSettings, sink: Sink, repeat: int = 1, val_split: Split | None = None) -> None:
        self.settings = settings
        self.sink = sink
        self.repeat = repeat
        self.val_split = val_split
        self.ema = Ema(settings.smoothing)
        self.best = math.inf
        self.lrs: list[float] = []
        self.losses: list[float] = []
        self.smoothed: list[float] = []
        self.val_losses: list[float] | None = [] if val_split is not None else None
        self.stop_reason = ""

    def before_batch(self, learner: Learner) -> None:
        set_lr(learner.optimizer, sweep_lr(self.settings, learner.step - 1))

    def after_batch(self, learner: Learner) -> None:
        lr, loss = learner.lr, learner.loss_value
        smoothed = self.ema.update(loss)
        val_loss = self._val_loss(learner) if self.val_split is not None else None
        self.lrs.append(lr)
        self.losses.append(loss)
        self.smoothed.append(smoothed)
        if self.val_losses is not None:
            self.val_losses.append(math.nan if val_loss is None else val_loss)
        n = len(self.lrs)
        self.sink.emit(LrFinderStep(self.repeat, n, lr, loss, smoothed, val_loss))
        if not math.isfinite(loss):
            self.stop_reason = f"the loss became {loss} at learning rate {lr:.3g} (iteration {n})"
            raise CancelFit()
        if smoothed > self.settings.diverge_factor * self.best:
            self.stop_reason = (
                f"the smoothed loss {smoothed:.3g} exceeded {self.settings.diverge_factor:g} × its "
                f"best ({self.best:.3g}) at learning rate {lr:.3g} (iteration {n})"
            )
            raise CancelFit()
        self.best = min(self.best, smoothed)
        if n >= self.settings.iterations:
            raise CancelFit()

    def _val_loss(self, learner: Learner) -> float | None:
        result = learner.evaluate(self.val_split)
        return result.loss if result is not None else None

    def curve(self, seed: int) -> LrFinderCurve:
        val = tuple(self.val_losses) if self.val_losses is not None else None
        return LrFinderCurve(seed, tuple(self.lrs), tuple(self.losses), tuple(self.smoothed), val, self.stop_reason)


@contextmanager
def preserved_state(model: nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any = None) -> Iterator[None]:
    """Whatever runs inside leaves the model (weights, buffers, train/eval modes, gradients), the optimizer
    (state and hyperparameters), the scheduler and torch's random generators exactly as they were."""
    weights = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
    modes = {m: m.training for m in model.modules()}
    params = list(model.parameters())
    grads = [p.grad.detach().clone() if p.grad is not None else None for p in params]
    optimizer_state = copy.deepcopy(optimizer.state_dict())
    scheduler_state = copy.deepcopy(scheduler.state_dict()) if scheduler is not None else None
    cpu_rng = torch.get_rng_state()
    cuda_rng = torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None
    try:
        yield
    finally:
        model.load_state_dict(weights)
        for m, training in modes.items():
            m.training = training
        for p, g in zip(params, grads):
            p.grad = g
        optimizer.load_state_dict(optimizer_state)
        if scheduler is not None:
            scheduler.load_state_dict(scheduler_state)
        torch.set_rng_state(cpu_rng)
        if cuda_rng is not None:
            torch.cuda.set_rng_state_all(cuda_rng)


def validation_sample(split: Split | None, samples: int) -> Split | None:
    """The first `samples` validation samples: the same ones at every iteration, so the curve shows the
    learning rate's effect and not which samples were drawn."""
    if split is None or len(split) == 0:
        return None
    n = min(samples, len(split))
    if split.in_memory:
        assert split.x is not None and split.y is not None
        return Split(split.x[:n], split.y[:n])
    return Split(dataset=Subset(split.dataset, range(n)))  # type: ignore[arg-type]


def lr_sweep(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    data: DatasetBundle,
    train: TrainSettings,
    settings: LrFinderSettings,
    device: torch.device,
    *,
    sink: Sink | None = None,
    control: RunControl | None = None,
    scheduler: Any = None,
    repeat: int = 1,
) -> LrFinderCurve:
    """Sweep the learning rate over the training data and return the curve; the model, optimizer and
    scheduler are restored afterwards. A stop request ends the sweep early with the curve so far."""
    sink = sink or NullSink()
    control = control or RunControl()
    # no per-epoch validation or test pass: only the sweep's batches (and its own validation sample) run
    sweep_data = dataclasses.replace(data, val=None, test=None)  # type: ignore[arg-type]  # the loop skips None
    recorder = LrSweepCallback(
        settings, sink, repeat, validation_sample(data.val, settings.val_samples) if settings.val_loss else None
    )
    epochs = math.ceil(settings.iterations / max(1, num_batches(sweep_data.train, train.batch_size)))
    with preserved_state(model, optimizer, scheduler):
        learner = Learner(
            model,
            optimizer,
            sweep_data,
            dataclasses.replace(train, epochs=epochs),
            device,
            [ControlCallback(control), recorder],
        )
        learner.fit()
    if learner.status == "stopped" and not recorder.stop_reason:
        recorder.stop_reason = f"stopped by request after {len(recorder.lrs)} iterations"
    return recorder.curve(train.seed)
