"""Each member's rules, as the loop's own callbacks: divergence, best epoch (and its weights), early stopping and
progress events, the same instances whether a member trains alone (the ordinary loop calls them) or with others
(MembersCallback drives one set per member with that member's numbers)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch

from trainers.ensembles.member_events import MemberEventCallback
from trainers.ensembles.member_plan import FittedMember
from trainers.ensembles.stacked_models import StackedModels
from trainers.ensembles.stacked_step import StackedStep
from trainers.spec.config import RunConfig
from trainers.spec.events import Sink
from trainers.training.callbacks import BestTracker, DivergenceGuard, EarlyStopping
from trainers.training.loop import Callback, CancelFit, EvalResult, Learner, TrainSettings


def keeps_best(cfg: RunConfig, status: str) -> bool:
    """Whether a member ends with its best epoch's weights, as a training run is scored."""
    es = cfg.early_stop
    return not es.enabled or es.restore_best or status == "diverged"


def member_rules(
    cfg: RunConfig, sink: Sink, member: int, monitor: str | None = None, num_classes: int | None = None
) -> tuple[BestTracker, list[Callback]]:
    """One member's callbacks, as a training run has them; its tracker keeps the best epoch's weights.
    `num_classes` gives the divergence guard the chance-level loss (None for members that regress targets)."""
    es = cfg.early_stop
    tracker = BestTracker(monitor or es.monitor, es.mode, es.min_delta)
    rules: list[Callback] = [DivergenceGuard(num_classes), tracker, MemberEventCallback(sink, member)]
    if es.enabled:
        rules.append(EarlyStopping(tracker, es.patience))
    return tracker, sorted(rules, key=lambda cb: cb.order)


class _MemberWeights:
    """What BestTracker reads as `learner.model`: member k's slices of the stacks."""

    def __init__(self, stacked: StackedModels, k: int) -> None:
        self.stacked, self.k = stacked, k

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.stacked.member_tensors(self.k)


@dataclass
class MemberView:
    """The loop as one member sees it: the shared epoch and step, its own metrics, status and weights."""

    model: Any
    settings: TrainSettings
    epoch: int = 0
    step: int = 0
    batch: int = 0
    train_loss: float = math.nan
    train_acc: float | None = None
    loss_value: float = math.nan
    val: EvalResult | None = None
    status: str = "completed"
    message: str = ""
    epochs_run: int = 0
    done: bool = False
    final: dict[str, torch.Tensor] | None = field(default=None, repr=False)  # weights when it ended early


class MembersCallback(Callback):
    """Runs every member's rules after each epoch with that member's numbers (StackedStep's vectors); a member
    whose rules end its fit (CancelFit) is done: its weights are frozen and nothing it does afterwards is kept.
    The fit ends when every member is done; a stop request marks the members still training as stopped."""

    order = 0

    def __init__(self, step: StackedStep, rules: list[list[Callback]], settings: TrainSettings) -> None:
        self.step = step
        self.rules = rules
        self.views = [MemberView(_MemberWeights(step.stacked, k), settings) for k in range(len(rules))]

    def after_train(self, learner: Learner) -> None:
        losses, accs = self.step.train_losses, self.step.train_accs
        for k, view in self._active():
            view.epoch, view.step, view.batch = learner.epoch, learner.step, learner.batch
            view.train_loss = view.loss_value = losses[k]
            view.train_acc = accs[k] if accs is not None else None
            self._drive(k, "after_train")

    def after_epoch(self, learner: Learner) -> None:
        losses, accs = self.step.val_losses, self.step.val_accs
        n = learner.val.n if learner.val is not None else 0
        for k, view in self._active():
            acc: Any = accs[k] if accs is not None else None  # regression members have no accuracy
            view.val = None if losses is None else EvalResult(losses[k], acc, n)
            view.epochs_run = learner.epoch
            self._drive(k, "after_epoch")
        if all(view.done for view in self.views):
            raise CancelFit()

    def after_fit(self, learner: Learner) -> None:
        if learner.status == "stopped":
            for _, view in self._active():
                view.status, view.message = "stopped", learner.message

    def _active(self) -> list[tuple[int, MemberView]]:
        return [(k, view) for k, view in enumerate(self.views) if not view.done]

    def _drive(self, k: int, stage: str) -> None:
        view = self.views[k]
        try:
            for rule in self.rules[k]:
                hook = getattr(rule, stage, None)
                if hook is not None:
                    hook(view)
        except CancelFit:
            view.done, view.epochs_run = True, view.epoch
            view.final = self.step.stacked.member_state(k)

    def fitted(self, cfg: RunConfig, trackers: list[BestTracker]) -> list[FittedMember]:
        """Each member's result: its best epoch's weights where a training run would keep them, else its last."""
        members = []
        for k, (view, tracker) in enumerate(zip(self.views, trackers)):
            best = tracker.best_state if keeps_best(cfg, view.status) else None
            state = best or view.final or self.step.stacked.member_state(k)
            members.append(FittedMember(state, view.status, view.epochs_run, tracker.best_epoch, view.message))
        return members
