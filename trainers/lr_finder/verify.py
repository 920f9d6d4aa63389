"""Checking a range test's suggestion with short training runs: successive halving on the ordinary loop.

Each candidate rate trains the config's own model, optimizer, batch size and schedule (computed over the planned
epochs, so a short run is the start of the real one) from the config's seed. All candidates train to the first
rung, the better half by validation loss (ties: accuracy) goes on to double the epochs, until one is left or the
planned epochs are reached. A survivor continues where it stopped, with its own random state put back, so its
numbers are those of one uninterrupted run at that rate. Early stopping is left out: the rungs are the budget.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import torch

from trainers.data.bundle import DatasetBundle
from trainers.lr_finder.candidates import candidate_rates, rungs, survivors, total_epochs
from trainers.models import build_model
from trainers.spec.config import RunConfig
from trainers.spec.errors import ConfigError
from trainers.spec.events import NullSink, RunControl, Sink
from trainers.spec.lr_verify_events import LrVerifyEpoch, LrVerifyStarted, VerifiedRate, VerifyRow
from trainers.spec.rates import recommended_rate, with_learning_rate
from trainers.training.callbacks import ControlCallback, DivergenceGuard, ScheduleCallback
from trainers.training.loop import Callback, CancelFit, Learner, settings_from
from trainers.training.optim import build_optimizer


class _RungEnd(Callback):
    """Reports each epoch and ends the fit at the rung's epoch count (after the guard has judged the epoch)."""

    order = 30

    def __init__(self, report: Callable[[Learner], None]) -> None:
        self.report = report
        self.target = 0

    def after_epoch(self, learner: Learner) -> None:
        self.report(learner)
        if learner.epoch >= self.target:
            raise CancelFit()


@dataclass(eq=False)
class _Candidate:
    index: int  # 1-based, in rate order
    rate: float
    cfg: RunConfig  # the run config at this rate
    learner: Learner | None = None
    rung_end: _RungEnd | None = None
    rng: tuple[torch.Tensor, list[torch.Tensor] | None] | None = None
    score: tuple[float, float] = (math.inf, 0.0)  # (loss, -accuracy): lower is better
    shown: tuple[float | None, float | None] = (None, None)  # the loss and accuracy shown as evidence
    status: str = "completed"  # how its last fit ended: completed (the rung reached), stopped or diverged
    epochs: int = 0  # epochs trained so far


@dataclass
class _Halving:
    """One verification's state: the data and device it trains on, where it reports, and its progress."""

    data: DatasetBundle
    device: torch.device
    sink: Sink
    control: RunControl
    total: int
    done: int = 0
    count: int = 0
    rows: list[VerifyRow] = field(default_factory=list)

    def train_to(self, run: _Candidate, epochs: int) -> None:
        """Train `run` up to `epochs`: a fresh model from the seed the first time, else where it stopped."""
        if run.learner is None:
            torch.manual_seed(run.cfg.train.seed)  # as run_training seeds before building the model
            run.learner, run.rung_end = self._learner(run)
        else:
            _set_rng(run.rng)
        assert run.rung_end is not None
        done_before, epoch_before = self.done, run.learner.epoch
        run.rung_end.target = epochs
        run.learner.fit()
        run.rng = _rng_state()
        run.status, run.epochs = run.learner.status, run.learner.epoch
        if run.status != "stopped":  # a diverged run will not take its other epochs: the bar moves past them
            self.done = done_before + epochs - epoch_before
        run.score, run.shown = _score(run.learner)

    def _learner(self, run: _Candidate) -> tuple[Learner, _RungEnd]:
        cfg, data = run.cfg, self.data
        model = build_model(cfg.model, data.input_shape, data.num_classes).to(self.device)
        rung_end = _RungEnd(lambda learner: self._report(run, learner))
        callbacks = [
            ControlCallback(self.control),
            ScheduleCallback(cfg),
            DivergenceGuard(data.num_classes),
            rung_end,
        ]
        learner = Learner(model, build_optimizer(cfg.optim, model), data, settings_from(cfg), self.device, callbacks)
        return learner, rung_end

    def _report(self, run: _Candidate, learner: Learner) -> None:
        self.done += 1
        val = learner.val
        self.sink.emit(
            LrVerifyEpoch(
                run.index,
                self.count,
                run.rate,
                learner.epoch,
                run.rung_end.target if run.rung_end is not None else learner.epoch,
                val.loss if val is not None else None,
                val.acc if val is not None else None,
                self.done,
                self.total,
            )
        )

    def record(self, alive: list[_Candidate], outcomes: dict[int, str]) -> None:
        for run in sorted(alive, key=lambda r: r.index):
            if run.epochs == 0:  # stopped before it started
                continue
            loss, acc = run.shown
            self.rows.append(VerifyRow(run.rate, run.epochs, loss, acc, outcomes[run.index]))


def verify_rate(
    cfg: RunConfig,
    result: Any,
    data: DatasetBundle,
    count: int,
    device: torch.device,
    *,
    sink: Sink | None = None,
    control: RunControl | None = None,
    trial_id: int | None = None,
) -> VerifiedRate:
    """Pick the rate among `count` candidates from `result` (a LrFinderResult without verification) by short
    runs of `cfg` on `data`. A stop request ends the check without a rate; so does every candidate diverging."""
    started = time.perf_counter()
    sink, control = sink or NullSink(), control or RunControl()
    planned = cfg.train.epochs
    runs = _candidates(cfg, candidate_rates(result, recommended_rate(result), count))
    rates = tuple(r.rate for r in runs)
    if not runs:
        why = result.message or "the range test found none"
        return VerifiedRate(None, planned, (), (), f"no suggestion to check: {why}", 0.0)
    state = _Halving(data, device, sink, control, total_epochs(len(runs), planned), count=len(runs))
    sink.emit(LrVerifyStarted(trial_id, rates, rungs(planned), planned, state.total))
    chosen, message = _halve(state, runs, planned)
    ranked_by = "val_loss" if data.val is not None and len(data.val) > 0 else "train_loss"
    if chosen is not None and ranked_by == "train_loss":
        message += "; no validation split: ranked by training loss"
    seconds = time.perf_counter() - started
    return VerifiedRate(chosen, planned, rates, tuple(state.rows), message, seconds, ranked_by)


def _halve(state: _Halving, alive: list[_Candidate], planned: int) -> tuple[float | None, str]:
    """Successive halving over the rungs: (the chosen rate or None, how it ended)."""
    for epochs in rungs(planned):
        for run in alive:
            state.train_to(run, epochs)
            if run.status == "stopped":
                state.record(alive, {r.index: "stopped" for r in alive})
                return None, f"stopped by request while checking {run.rate:.2g} at epoch {run.epochs}"
        finished = sorted((r for r in alive if r.status == "completed"), key=lambda r: (r.score, r.index))
        if not finished:
            state.record(alive, {r.index: "diverged" for r in alive})
            return None, f"every candidate diverged within {epochs} epochs"
        kept = finished[: survivors(len(alive))]
        last = epochs == planned or len(kept) == 1
        outcomes = {r.index: "diverged" if r.status == "diverged" else "dropped" for r in alive}
        outcomes.update({r.index: "kept" for r in kept})
        if last:
            outcomes[finished[0].index] = "chosen"
        state.record(alive, outcomes)
        if last:
            winner = finished[0]
            return winner.rate, f"{winner.rate:.2g} had the lowest loss of {len(alive)} after {winner.epochs} epochs"
        for run in alive:
            if outcomes[run.index] != "kept":
                run.learner = None  # its model and optimizer state are not needed again
        alive = kept
    raise AssertionError("the last rung is the planned epoch count")  # pragma: no cover


def _candidates(cfg: RunConfig, rates: tuple[float, ...]) -> list[_Candidate]:
    """The candidates the config accepts as its rate (a rate out of the field's range is left out)."""
    runs: list[_Candidate] = []
    for rate in rates:
        try:
            runs.append(_Candidate(len(runs) + 1, rate, with_learning_rate(cfg, rate)))
        except ConfigError:
            continue
    return runs


def _score(learner: Learner) -> tuple[tuple[float, float], tuple[float | None, float | None]]:
    """(ranking key, shown loss and accuracy): validation loss then accuracy, the training ones without a
    validation split; a diverged or non-finite run ranks last."""
    if learner.status == "diverged":
        return (math.inf, 0.0), (None, None)
    val = learner.val
    loss, acc = (val.loss, val.acc) if val is not None else (learner.train_loss, learner.train_acc)
    if not math.isfinite(loss):
        return (math.inf, 0.0), (None, acc)
    return (loss, -acc), (loss, acc)


def _rng_state() -> tuple[torch.Tensor, list[torch.Tensor] | None]:
    return torch.get_rng_state(), torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None


def _set_rng(state: tuple[torch.Tensor, list[torch.Tensor] | None] | None) -> None:
    if state is None:
        return
    cpu, cuda = state
    torch.set_rng_state(cpu)
    if cuda is not None:
        torch.cuda.set_rng_state_all(cuda)
