"""What the Search tab knows of the search on show: its plan and one row per Optuna trial, kept from the engine's
events as they arrive (or from an earlier search read back from the store). It copies what the events say and
derives nothing: the table and the plots draw from it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from trainers.spec.events import FitEnded
from trainers.spec.search_events import SearchStarted, SearchTrialEnded, SearchTrialReported


@dataclass
class TrialRow:
    number: int  # the Optuna trial number (0-based)
    trial_id: int | None = None  # the TuneLab training trial
    state: str = "running"  # running, or how it ended (complete, pruned, failed, stopped)
    value: float | None = None  # the monitored value (while running: the last epoch's)
    params: dict[str, Any] = field(default_factory=dict)
    epochs: int = 0
    pruned_at: int | None = None
    values_by_epoch: dict[int, float] = field(default_factory=dict)  # what the pruner saw, epoch (1-based) → value
    seconds: float | None = None  # how long its training took, when the engine said

    @property
    def ended(self) -> bool:
        return self.state != "running"

    def intermediate(self) -> tuple[list[int], list[float]]:
        epochs = sorted(self.values_by_epoch)
        return epochs, [self.values_by_epoch[e] for e in epochs]


@dataclass
class TrialLog:
    search_id: int | None = None
    monitor: str = "val_acc"
    storage: str = ""
    space: dict[str, str] = field(default_factory=dict)  # {"optim.lr": "log:1e-05:0.1", ...}
    rows: dict[int, TrialRow] = field(default_factory=dict)  # by Optuna trial number
    trials_planned: int = 0  # 0: only a time limit
    _seconds: dict[int, float] = field(default_factory=dict)  # by TuneLab trial id, from FitEnded

    def start(self, e: SearchStarted) -> None:
        self.search_id, self.monitor, self.storage = e.search_id, e.monitor, e.storage
        self.space, self.trials_planned = dict(e.space), e.trials

    def reported(self, e: SearchTrialReported) -> TrialRow:
        row = self.rows.setdefault(e.number, TrialRow(e.number))
        row.trial_id = e.trial_id if e.trial_id is not None else row.trial_id
        row.values_by_epoch[e.epoch] = e.value
        if not row.ended:
            row.epochs, row.value = max(row.values_by_epoch), row.values_by_epoch[max(row.values_by_epoch)]
        return row

    def ended(self, e: SearchTrialEnded, seconds: float | None = None) -> TrialRow:
        row = self.rows.setdefault(e.number, TrialRow(e.number))
        row.trial_id, row.state, row.value, row.params = e.trial_id, e.state, e.value, dict(e.params)
        row.epochs, row.pruned_at = e.epochs, e.pruned_at
        row.values_by_epoch = {i + 1: v for i, v in enumerate(e.intermediate)}
        if seconds is not None:
            row.seconds = seconds
        elif e.trial_id is not None and e.trial_id in self._seconds:
            row.seconds = self._seconds[e.trial_id]
        elif e.seconds is not None:  # a worker process's trial: no FitEnded reached this process
            row.seconds = e.seconds
        return row

    def fit_ended(self, e: FitEnded) -> TrialRow | None:
        """A trial's training ended (its own FitEnded passes through the search's sink): its duration."""
        if e.trial_id is None:
            return None
        self._seconds[e.trial_id] = e.seconds
        row = next((r for r in self.rows.values() if r.trial_id == e.trial_id), None)
        if row is not None:
            row.seconds = e.seconds
        return row

    def load(self, trials: Iterable[SearchTrialEnded], seconds: dict[int, float]) -> None:
        """An earlier search's finished trials, with each training trial's duration by its id."""
        for e in trials:
            self.ended(e, seconds.get(e.trial_id) if e.trial_id is not None else None)

    def params(self) -> list[str]:
        """The searched fields: the space's, then any other a trial sampled."""
        keys = list(self.space)
        for row in self.rows.values():
            keys += [k for k in row.params if k not in keys]
        return keys

    def in_order(self) -> list[TrialRow]:
        return [self.rows[n] for n in sorted(self.rows)]

    def finished(self) -> list[TrialRow]:
        return [r for r in self.in_order() if r.ended]
