"""Progress of the running job as the status bar shows it: epochs, batches, elapsed, ETA, speed.

Elapsed time leaves out paused time, so the ETA does not jump after a pause.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from trainers.spec.events import BatchEnded, EpochEnded, FitStarted


@dataclass
class RunProgress:
    epochs: int = 0
    steps_per_epoch: int = 0
    epoch: int = 0  # epochs finished
    batch: int = 0  # batches finished in the current epoch
    samples: int = 0  # training samples seen
    _started: float | None = None
    _paused_at: float | None = None
    _paused_total: float = 0.0

    @classmethod
    def begin(cls) -> RunProgress:
        """A fresh record for a run starting now."""
        return cls(_started=time.monotonic())

    def pause(self) -> None:
        if self._paused_at is None:
            self._paused_at = time.monotonic()

    def resume(self) -> None:
        if self._paused_at is not None:
            self._paused_total += time.monotonic() - self._paused_at
            self._paused_at = None

    def update(self, events: list) -> None:
        for e in events:
            if isinstance(e, FitStarted):
                self.epochs, self.steps_per_epoch = e.epochs, e.steps_per_epoch
            elif isinstance(e, BatchEnded):
                self.batch = e.batch
                self.samples += e.samples
            elif isinstance(e, EpochEnded):
                self.epoch, self.batch = e.epoch, 0

    @property
    def elapsed(self) -> float:
        if self._started is None:
            return 0.0
        now = self._paused_at if self._paused_at is not None else time.monotonic()
        return now - self._started - self._paused_total

    @property
    def fraction(self) -> float:
        total = self.epochs * self.steps_per_epoch
        return 0.0 if total <= 0 else min(1.0, (self.epoch * self.steps_per_epoch + self.batch) / total)

    @property
    def eta(self) -> float | None:
        f = self.fraction
        return None if f <= 0 else self.elapsed * (1 - f) / f

    @property
    def samples_per_sec(self) -> float:
        t = self.elapsed
        return self.samples / t if t > 0 else 0.0

    def status_text(self) -> str:
        eta = self.eta
        parts = [
            f"elapsed {format_seconds(self.elapsed)}",
            f"ETA {format_seconds(eta) if eta is not None else '—'}",
            f"{self.samples_per_sec:,.0f} samples/s",
        ]
        return "  ·  ".join(parts)

    def ended_text(self, status: str) -> str:
        """The status bar once the run is over: how it ended, how long it took and how fast it went."""
        return f"Training {status} after {format_seconds(self.elapsed)}  ·  {self.samples_per_sec:,.0f} samples/s"


def format_seconds(s: float) -> str:
    s = max(0, int(round(s)))
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"
