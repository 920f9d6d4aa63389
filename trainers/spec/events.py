"""What a run reports to its listeners, and how a listener steers it.

Events are frozen dataclasses of plain Python numbers and strings: they cross threads (the GUI
worker) and processes (the CLI) without dragging a tensor or a Qt object along.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import asdict, dataclass
from typing import Protocol

from trainers.spec.ensemble_events import EnsembleResult, EnsembleStarted, MemberProgress
from trainers.spec.json_data import finite_json
from trainers.spec.lr_verify_events import LrVerifyEpoch, LrVerifyStarted, VerifiedRate
from trainers.spec.search_events import SearchEnded, SearchStarted, SearchTrialEnded, SearchTrialReported
from trainers.spec.store_events import StoreReachable, StoreUnreachable


@dataclass(frozen=True)
class FitStarted:
    trial_id: int | None
    epochs: int
    steps_per_epoch: int
    n_train: int
    n_val: int
    n_test: int
    param_count: int
    device: str
    num_classes: int | None = None  # the data's class count: the live diagnosis judges losses by ln(num_classes)


@dataclass(frozen=True)
class BatchEnded:
    epoch: int  # 1-based
    batch: int  # 1-based within the epoch
    step: int  # 1-based over the whole run
    loss: float
    lr: float
    grad_norm: float
    samples: int


@dataclass(frozen=True)
class EpochEnded:
    epoch: int
    train_loss: float
    train_acc: float
    val_loss: float | None
    val_acc: float | None
    lr: float
    seconds: float
    samples_per_sec: float
    is_best: bool


@dataclass(frozen=True)
class FitEnded:
    """How a run ended. best_val_acc and best_val_loss belong to best_epoch, the epoch whose weights were kept
    (by early_stop.monitor) and scored on the test split; peak_val_acc is the highest of any epoch."""

    trial_id: int | None
    status: str  # completed, stopped, diverged, failed
    epochs_run: int
    best_epoch: int | None
    best_val_acc: float | None
    best_val_loss: float | None
    test_acc: float | None
    test_loss: float | None
    seconds: float
    message: str = ""
    diverged_step: int | None = None
    peak_val_acc: float | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self))


@dataclass(frozen=True)
class LrFinderStarted:
    """A learning-rate range test (one repeat of it) begins."""

    trial_id: int | None
    repeat: int  # 1-based
    repeats: int
    iterations: int
    start_lr: float
    end_lr: float
    mode: str  # exp or linear


@dataclass(frozen=True)
class LrFinderStep:
    repeat: int  # 1-based
    iteration: int  # 1-based
    lr: float
    loss: float  # raw training loss of this batch
    smoothed: float  # bias-corrected moving average
    val_loss: float | None = None


@dataclass(frozen=True)
class LrFinderCurve:
    """One repeat's sweep, as far as it went."""

    seed: int
    lrs: tuple[float, ...]
    losses: tuple[float, ...]
    smoothed: tuple[float, ...]
    val_losses: tuple[float, ...] | None
    stop_reason: str  # why the sweep ended ("" when it ran all iterations)


@dataclass(frozen=True)
class LrFinderResult:
    """A finished range test: its curves and the suggestions read from them."""

    trial_id: int | None
    status: str  # completed, stopped, failed
    curves: tuple[LrFinderCurve, ...]
    suggestions: dict[str, float | None]  # steepest, valley, min_div_10
    spreads: dict[str, tuple[float, float] | None]  # lowest and highest value over the repeats
    agreed: tuple[float, float] | None  # band where the suggestions agree within a factor 3
    agreeing: tuple[str, ...]  # which suggestions make up the band
    message: str  # why there is no suggestion, or what went wrong
    seconds: float
    settings: dict | None = None  # the LrFinderSettings it ran with, as a dict
    verified: VerifiedRate | None = None  # the short runs that checked the suggestion, when asked for
    planned_steps: int | None = None  # optimizer steps of the run the config plans (the headline's budget)
    schedule_mean: float = 1.0  # that run's mean learning rate as a fraction of its rate field

    @property
    def stop_reasons(self) -> tuple[str, ...]:
        """Why sweeps ended before their last iteration (divergence, a stop request), one per repeat."""
        return tuple(c.stop_reason for c in self.curves if c.stop_reason)

    @property
    def lrs(self) -> tuple[float, ...]:
        return self.curves[0].lrs if self.curves else ()

    @property
    def losses(self) -> tuple[float, ...]:
        return self.curves[0].losses if self.curves else ()

    def to_dict(self) -> dict:
        """Plain JSON-ready data; a non-finite loss (the sweep's last, diverged batch) becomes None."""
        d = asdict(self)
        d["agreed"] = list(self.agreed) if self.agreed else None
        d["lrs"], d["losses"] = list(self.lrs), list(self.losses)
        return finite_json(d)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), allow_nan=False)


Event = (
    FitStarted
    | BatchEnded
    | EpochEnded
    | FitEnded
    | LrFinderStarted
    | LrFinderStep
    | LrFinderResult
    | LrVerifyStarted
    | LrVerifyEpoch
    | EnsembleStarted
    | MemberProgress
    | EnsembleResult
    | SearchStarted
    | SearchTrialReported
    | SearchTrialEnded
    | SearchEnded
    | StoreUnreachable
    | StoreReachable
)


class Sink(Protocol):
    """Anything that receives a run's events (CLI progress bar, GUI worker buffer, a list in a test)."""

    def emit(self, event: Event) -> None: ...


class ListSink:
    """Keeps every event; handy for tests and scripts."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def emit(self, event: Event) -> None:
        self.events.append(event)

    def of(self, kind: type) -> list:
        return [e for e in self.events if isinstance(e, kind)]


class NullSink:
    def emit(self, event: Event) -> None:
        pass


class StopRequested(Exception):
    """Raised between batches when RunControl.stop() was called."""


class RunControl:
    """Thread-safe stop and pause flags, checked by the loop between batches."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()
        self.paused_seconds = 0.0  # total time the loop spent waiting in checkpoint()

    def stop(self) -> None:
        self._stop.set()
        self._running.set()  # wake a paused loop so it can see the stop

    def pause(self) -> None:
        if not self._stop.is_set():  # a stopping run must not be put to sleep again
            self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def checkpoint(self) -> None:
        """Block while paused; raise StopRequested once a stop was asked for."""
        if not self._running.is_set():
            started = time.perf_counter()
            self._running.wait()
            self.paused_seconds += time.perf_counter() - started
        if self._stop.is_set():
            raise StopRequested()
