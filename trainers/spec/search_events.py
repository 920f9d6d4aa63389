"""What a hyperparameter search reports: its start, each Optuna trial as it ends, and the result.

Plain frozen dataclasses of numbers and strings, like trainers.spec.events: they cross to the GUI thread."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from trainers.spec.json_data import finite_json

# How an Optuna trial of a search ended, as TuneLab counts it: Optuna's COMPLETE, PRUNED and FAIL, with the FAILs a
# stop request ended counted apart as stopped.
TRIAL_STATES = ("complete", "pruned", "failed", "stopped")


def empty_counts() -> dict[str, int]:
    return dict.fromkeys(TRIAL_STATES, 0)


@dataclass(frozen=True)
class SearchStarted:
    search_id: int | None  # the search's own trial (kind "search")
    study: str  # the Optuna study's name
    storage: str  # the Optuna storage URL (optuna.load_study and optuna-dashboard open it)
    sampler: str
    pruner: str
    trials: int  # budget: Optuna trials (0: only the time limit)
    timeout_s: float  # budget: seconds (0: none)
    epochs: int  # epochs each trial trains at most
    workers: int
    monitor: str  # val_acc (maximised) or val_loss (minimised)
    space: dict[str, str] = field(default_factory=dict)  # {"optim.lr": "log:1e-05:0.1", ...}


@dataclass(frozen=True)
class SearchTrialReported:
    """A running trial's monitored value at the end of one epoch: what the pruner sees. Trials run in this process
    report every epoch as it ends; trials of worker processes as the search next looks at the study (~0.5 s)."""

    number: int  # the Optuna trial number
    trial_id: int | None
    epoch: int  # 1-based
    value: float


@dataclass(frozen=True)
class SearchTrialEnded:
    number: int  # the Optuna trial number (0-based)
    trial_id: int | None  # the TuneLab training trial it ran as (None when it failed before one existed)
    state: str  # one of TRIAL_STATES
    value: float | None  # the kept epoch's monitored value (a pruned trial: its last reported one)
    params: dict[str, Any]  # {"optim.lr": 0.003, ...}: what was sampled
    epochs: int  # epochs it trained
    pruned_at: int | None = None  # the epoch it was pruned at
    intermediate: tuple[float, ...] = ()  # the monitored value of each epoch, as the pruner saw it
    seconds: float | None = None  # wall time from start to end as the study recorded it (any worker, any host)


@dataclass(frozen=True)
class SearchResult:
    search_id: int | None
    status: str  # completed, stopped, failed
    study: str
    storage: str
    best_trial_id: int | None  # the TuneLab trial of the best Optuna trial
    best_number: int | None
    best_value: float | None
    best_params: dict[str, Any]
    counts: dict[str, int]  # by TRIAL_STATES
    seconds: float
    monitor: str = "val_acc"
    message: str = ""
    lr_seed: dict[str, Any] = field(default_factory=dict)  # what the LR finder seeding did (empty: not run)

    @property
    def trial_id(self) -> int | None:
        """The search's own trial: what a failure line names."""
        return self.search_id

    def to_dict(self) -> dict:
        return finite_json(asdict(self))

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), allow_nan=False)


@dataclass(frozen=True)
class SearchEnded:
    result: SearchResult
