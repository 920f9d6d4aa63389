"""The CLI's sink: a progress bar on a terminal, one line per epoch otherwise."""

from __future__ import annotations

import time
from typing import TextIO

from trainers.spec.events import (
    BatchEnded,
    EpochEnded,
    Event,
    FitEnded,
    FitStarted,
    LrFinderResult,
    LrFinderStarted,
    LrFinderStep,
)
from trainers.spec.store_events import StoreReachable, StoreUnreachable


def _fmt(value: float | None, spec: str = ".4f") -> str:
    return "-" if value is None else format(value, spec)


class ProgressSink:
    """Redraws at most ~10 times a second so a fast loop is not slowed by the terminal."""

    def __init__(self, stream: TextIO, enabled: bool = True, width: int = 30) -> None:
        self.stream = stream
        self.enabled = enabled
        self.width = width
        self.tty = hasattr(stream, "isatty") and stream.isatty()
        self._last_draw = 0.0
        self._epochs = 0
        self._steps = 0

    def emit(self, event: Event) -> None:
        if not self.enabled:
            return
        if isinstance(event, FitStarted):
            self._epochs, self._steps = event.epochs, event.steps_per_epoch
            self._line(
                f"trial {event.trial_id}: {event.n_train} train / {event.n_val} val / {event.n_test} test "
                f"samples, {event.param_count:,} parameters, on {event.device}"
            )
        elif isinstance(event, BatchEnded) and self.tty:
            now = time.monotonic()
            if now - self._last_draw >= 0.1 or event.batch == self._steps:
                self._last_draw = now
                done = int(self.width * event.batch / max(1, self._steps))
                bar = "#" * done + "." * (self.width - done)
                self.stream.write(
                    f"\repoch {event.epoch}/{self._epochs} [{bar}] loss {event.loss:.4f} lr {event.lr:.2e}"
                )
                self.stream.flush()
        elif isinstance(event, EpochEnded):
            best = " *" if event.is_best else ""
            self._line(
                f"epoch {event.epoch}/{self._epochs}  train loss {event.train_loss:.4f} "
                f"acc {event.train_acc:.4f}  val loss {_fmt(event.val_loss)} acc {_fmt(event.val_acc)}  "
                f"{event.samples_per_sec:,.0f} samples/s{best}"
            )
        elif isinstance(event, LrFinderStarted):
            self._steps = event.iterations
            self._line(
                f"trial {event.trial_id}: LR finder {event.repeat}/{event.repeats}, learning rate "
                f"{event.start_lr:.0e} → {event.end_lr:.0e} ({event.mode}, {event.iterations} iterations)"
            )
        elif isinstance(event, LrFinderStep) and self.tty:
            now = time.monotonic()
            if now - self._last_draw >= 0.1:
                self._last_draw = now
                done = int(self.width * event.iteration / max(1, self._steps))
                bar = "#" * done + "." * (self.width - done)
                self.stream.write(f"\rLR finder [{bar}] lr {event.lr:.2e} loss {event.smoothed:.4f}")
                self.stream.flush()
        elif isinstance(event, LrFinderResult):
            reasons = event.stop_reasons
            ended = f"; ended early: {reasons[0]}" if reasons else ""
            self._line(f"LR finder {event.status} in {event.seconds:.1f}s{ended}")
        elif isinstance(event, FitEnded):
            self._line(
                f"{event.status} after {event.epochs_run} epochs in {event.seconds:.1f}s; "
                f"test acc {_fmt(event.test_acc)}"
            )
        elif isinstance(event, (StoreUnreachable, StoreReachable)):
            self._line(event.line)

    def _line(self, text: str) -> None:
        prefix = "\r\x1b[K" if self.tty else ""
        self.stream.write(prefix + text + "\n")
        self.stream.flush()
