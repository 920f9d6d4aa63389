"""Per-member bookkeeping for members trained together: best epoch and its weights, divergence, early stop.

Each member follows the rules a training run follows alone (trainers/training/callbacks.py): the best epoch by the
early-stopping monitor, its weights kept; a non-finite loss ends the member as diverged; with early stopping
on, a member whose metric has not improved for `patience` epochs ends (its slices keep being computed with the
others, but nothing it does afterwards is kept)."""

from __future__ import annotations

import math

import torch

from trainers.training.callbacks import improves
from trainers.spec.config import RunConfig
from trainers.ensembles.member_plan import FittedMember
from trainers.ensembles.sequential_fit import keeps_best
from trainers.ensembles.stacked_models import StackedModels


class MemberTracker:
    def __init__(self, cfg: RunConfig, k: int, monitor: str, mode: str) -> None:
        self.cfg = cfg
        self.k = k
        self.monitor = monitor
        self.mode = mode
        self.best_value: list[float | None] = [None] * k
        self.best_epoch: list[int | None] = [None] * k
        self.best_state: list[dict[str, torch.Tensor] | None] = [None] * k
        self.since_best = [0] * k
        self.epochs_run = [0] * k
        self.status = ["completed"] * k
        self.message = [""] * k
        self.final: list[dict[str, torch.Tensor] | None] = [None] * k  # weights frozen when a member ended early
        self.done = [False] * k

    def active(self) -> list[int]:
        return [k for k in range(self.k) if not self.done[k]]

    @property
    def all_done(self) -> bool:
        return all(self.done)

    def check_finite(self, losses: list[float], epoch: int) -> None:
        """A member whose epoch loss is not finite has diverged during that epoch."""
        for k in self.active():
            if not math.isfinite(losses[k]):
                self.done[k] = True
                self.status[k] = "diverged"
                self.epochs_run[k] = epoch
                self.message[k] = f"loss became {losses[k]} during epoch {epoch}"

    def stop_all(self, message: str) -> None:
        for k in self.active():
            self.status[k] = "stopped"
            self.message[k] = message

    def after_epoch(self, epoch: int, val_loss: list[float], val_acc: list[float] | None, train_loss: list[float],
                    train_acc: list[float] | None, stacked: StackedModels) -> None:
        es = self.cfg.early_stop
        for k in self.active():
            value = self._metric(k, {"val_loss": val_loss, "val_acc": val_acc, "train_loss": train_loss,
                                     "train_acc": train_acc})
            self.epochs_run[k] = epoch
            if value is not None and math.isfinite(value) and improves(value, self.best_value[k], self.mode, es.min_delta):
                self.best_value[k], self.best_epoch[k], self.since_best[k] = value, epoch, 0
                self.best_state[k] = stacked.member_state(k)
            else:
                self.since_best[k] += 1
            if es.enabled and self.since_best[k] >= max(1, es.patience):
                self.done[k] = True
                self.message[k] = (f"early stop at epoch {epoch}: {self.monitor} has not improved since epoch "
                                   f"{self.best_epoch[k]}")
                self.final[k] = stacked.member_state(k)

    def finish(self, stacked: StackedModels) -> list[FittedMember]:
        members = []
        for k in range(self.k):
            best = self.best_state[k] is not None and keeps_best(self.cfg, self.status[k])
            state = self.best_state[k] if best else (self.final[k] or stacked.member_state(k))
            members.append(FittedMember(state, self.status[k], self.epochs_run[k], self.best_epoch[k],  # type: ignore[arg-type]
                                        self.message[k]))
        return members

    def _metric(self, k: int, metrics: dict[str, list[float] | None]) -> float | None:
        values = metrics.get(self.monitor)
        return values[k] if values is not None else None
