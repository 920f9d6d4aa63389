"""Snapshot ensembles (Huang et al., 2017): one run whose learning rate follows cosine annealing restarted
`members` times; the weights at the end of each cycle, at the bottom of a cosine, are one member each.

It is the ordinary training loop with two callbacks: one sets the cyclic rate before every batch (in place of
the config's schedule), one keeps the weights when a cycle ends."""

from __future__ import annotations

import dataclasses

import torch

from trainers.data.bundle import DatasetBundle
from trainers.ensembles.member_events import progress
from trainers.ensembles.member_models import Member
from trainers.ensembles.new_members import NewMembers, member_label
from trainers.models import build_model
from trainers.spec.config import RunConfig
from trainers.spec.ensemble_settings import EnsembleSettings
from trainers.spec.errors import ConfigError
from trainers.spec.events import RunControl, Sink
from trainers.spec.schedules import sched_cos
from trainers.training.callbacks import ControlCallback, DivergenceGuard
from trainers.training.loop import Callback, Learner, settings_from
from trainers.training.optim import build_optimizer, set_lr


def cycle_bounds(epochs: int, cycles: int) -> list[int]:
    """Epoch boundaries of the cycles: cycle c runs epochs bounds[c]+1 … bounds[c+1] (lengths differ by at most 1)."""
    if epochs < cycles:
        raise ConfigError("train.epochs", epochs, f"at least ensemble.members ({cycles}): one epoch per snapshot cycle")
    return [round(c * epochs / cycles) for c in range(cycles + 1)]


def cyclic_lr(peak: float, floor: float, step_in_cycle: int, cycle_steps: int) -> float:
    """Cosine from the peak down to the floor over one cycle."""
    return sched_cos(peak, floor, step_in_cycle / max(1, cycle_steps))


class SnapshotCallback(Callback):
    order = -10  # where the schedule callback sits: before the batch runs

    def __init__(self, cfg: RunConfig, bounds: list[int], sink: Sink) -> None:
        self.cfg = cfg
        self.bounds = bounds
        self.sink = sink
        self.snapshots: list[dict[str, torch.Tensor]] = []

    def _cycle(self, epoch: int) -> int:
        return next(c for c in range(len(self.bounds) - 1) if epoch <= self.bounds[c + 1])

    def before_batch(self, learner: Learner) -> None:
        c = self._cycle(learner.epoch)
        start = self.bounds[c] * learner.steps_per_epoch
        steps = (self.bounds[c + 1] - self.bounds[c]) * learner.steps_per_epoch
        floor = min(self.cfg.schedule.min_lr, self.cfg.optim.lr)
        set_lr(learner.optimizer, cyclic_lr(self.cfg.optim.lr, floor, learner.step - 1 - start, steps))

    def after_epoch(self, learner: Learner) -> None:
        c = self._cycle(learner.epoch)
        val = learner.val
        self.sink.emit(
            progress(
                c,
                learner.epoch - self.bounds[c],
                self.bounds[c + 1] - self.bounds[c],
                learner.train_loss,
                val.loss if val else None,
                val.acc if val else None,
            )
        )
        if learner.epoch == self.bounds[c + 1]:
            self.snapshots.append({n: v.detach().to("cpu", copy=True) for n, v in learner.model.state_dict().items()})


def snapshot(
    cfg: RunConfig,
    data: DatasetBundle,
    settings: EnsembleSettings,
    device: torch.device,
    *,
    sink: Sink,
    control: RunControl,
) -> NewMembers:
    bounds = cycle_bounds(cfg.train.epochs, settings.members)
    torch.manual_seed(cfg.train.seed)
    model = build_model(cfg.model, data.input_shape, data.num_classes).to(device)
    snap = SnapshotCallback(cfg, bounds, sink)
    guard = DivergenceGuard(data.num_classes)
    learner = Learner(
        model,
        build_optimizer(cfg.optim, model),
        dataclasses.replace(data, test=None),
        settings_from(cfg),
        device,
        [ControlCallback(control), guard, snap],
    )
    learner.fit()
    members = [Member(member_label(k), None, cfg.model, s) for k, s in enumerate(snap.snapshots)]
    notes = [learner.message] if learner.status == "diverged" else []
    return NewMembers(members, "soft", None, ["completed"] * len(members), notes, stopped=learner.status == "stopped")


def snapshot_epochs(epochs: int, members: int) -> int:
    """The longest cycle, in epochs (what each member's progress counts to)."""
    bounds = cycle_bounds(epochs, members)
    return max(b - a for a, b in zip(bounds, bounds[1:]))
