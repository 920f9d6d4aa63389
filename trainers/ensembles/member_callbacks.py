"""Each member's rules, as the loop's own callbacks: divergence, best epoch (and its weights), early stopping and
progress events (and, for search trials, the store's recorder and the pruner), the same instances whether a member
trains alone (the ordinary loop calls them) or with others (MembersCallback drives one set per member with that
member's numbers)."""

from __future__ import annotations

import math
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any, Callable

import torch

from trainers.ensembles.member_events import MemberEventCallback
from trainers.ensembles.member_plan import FittedMember
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
    """What BestTracker (and a recorder) reads as `learner.model`: the member's slices of the stacks while it trains,
    its own copy once it has ended."""

    def __init__(self, members: MembersCallback, member: int) -> None:
        self.members, self.member = members, member

    def state_dict(self) -> dict[str, torch.Tensor]:
        final = self.members.views[self.member].final
        if final is not None:
            return final
        return self.members.step.stacked.member_tensors(self.members.slots[self.member])


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
    lr: float = math.nan  # its own rate at the epoch's last step
    epoch_seconds: float = 0.0  # the stack's: members share every epoch's time
    samples_per_sec: float | None = None
    status: str = "completed"
    message: str = ""
    epochs_run: int = 0
    done: bool = False
    final: dict[str, torch.Tensor] | None = field(default=None, repr=False)  # weights when it ended early


class MembersCallback(Callback):
    """Runs every member's rules after each epoch with that member's numbers (StackedStep's vectors); a member
    whose rules end its fit (CancelFit) is done: its weights are frozen and nothing it does afterwards is kept.
    Its rules' after_fit runs when it ends. The fit ends when every member is done; a stop request marks the members
    still training as stopped.

    `drop_done`: a member that is done leaves the stack at the epoch's end (StackedStep.keep and the optimizer's
    keep, a StackedOptimizer), so the rest train on without it; `slots` maps each member to its row in the stack."""

    order = 0

    def __init__(
        self,
        step: StackedStep,
        rules: list[list[Callback]],
        settings: TrainSettings,
        drop_done: bool = False,
        epoch_end: Callable[[], AbstractContextManager[None]] = nullcontext,
    ) -> None:
        self.step = step
        self.rules = rules
        self.drop_done = drop_done
        self.epoch_end = epoch_end  # around the members' epoch ends (a store holding their writes till the last)
        self.slots = list(range(len(rules)))
        self.views = [MemberView(_MemberWeights(self, k), settings) for k in range(len(rules))]

    def after_train(self, learner: Learner) -> None:
        losses, accs = self.step.train_losses, self.step.train_accs
        for k, row, view in self._active():
            view.epoch, view.step, view.batch = learner.epoch, learner.step, learner.batch
            view.train_loss = view.loss_value = losses[row]
            view.train_acc = accs[row] if accs is not None else None
            self._drive(k, "after_train")

    def after_epoch(self, learner: Learner) -> None:
        losses, accs = self.step.val_losses, self.step.val_accs
        n = learner.val.n if learner.val is not None else 0
        lrs = getattr(learner.optimizer, "member_lrs", None)  # members with rates of their own
        with self.epoch_end():
            for k, row, view in self._active():
                acc: Any = accs[row] if accs is not None else None  # regression members have no accuracy
                view.val = None if losses is None else EvalResult(losses[row], acc, n)
                view.epochs_run = learner.epoch
                view.lr = lrs[row] if lrs is not None else learner.lr
                view.epoch_seconds, view.samples_per_sec = learner.epoch_seconds, learner.samples_per_sec
                self._drive(k, "after_epoch")
        if all(view.done for view in self.views):
            raise CancelFit()
        if self.drop_done:
            self._drop(learner)

    def after_fit(self, learner: Learner) -> None:
        for k, row, view in self._active():
            if learner.status == "stopped":
                view.status, view.message = "stopped", learner.message
            view.final = self.step.stacked.member_state(row)
            self._run(k, "after_fit")

    def _active(self) -> list[tuple[int, int, MemberView]]:
        """(member, its row in the stack, its view) of each member still training."""
        return [(k, self.slots[k], view) for k, view in enumerate(self.views) if not view.done]

    def _drive(self, k: int, stage: str) -> None:
        view = self.views[k]
        try:
            self._run(k, stage)
        except CancelFit:
            view.done, view.epochs_run = True, view.epoch
            view.final = self.step.stacked.member_state(self.slots[k])
            self._run(k, "after_fit")

    def _run(self, k: int, stage: str) -> None:
        for rule in self.rules[k]:
            hook = getattr(rule, stage, None)
            if hook is not None:
                hook(self.views[k])

    def _drop(self, learner: Learner) -> None:
        """Members that are done leave the stack; the others keep their order."""
        active = self._active()
        if len(active) == self.step.stacked.k:
            return
        rows = [row for _, row, _ in active]
        self.step.keep(rows)
        learner.optimizer.keep(rows, self.step.stacked.params)  # type: ignore[attr-defined]
        for new_row, (k, _, _) in enumerate(active):
            self.slots[k] = new_row

    def fitted(self, cfg: RunConfig, trackers: list[BestTracker]) -> list[FittedMember]:
        """Each member's result: its best epoch's weights where a training run would keep them, else its last."""
        members = []
        for k, (view, tracker) in enumerate(zip(self.views, trackers)):
            best = tracker.best_state if keeps_best(cfg, view.status) else None
            state = best or view.final or self.step.stacked.member_state(self.slots[k])
            members.append(FittedMember(state, view.status, view.epochs_run, tracker.best_epoch, view.message))
        return members
