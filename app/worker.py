"""Runs one engine job in a QThread and hands its events to the GUI as plain data.

The engine calls the sink from the worker thread for every batch; the sink only appends to a list.
A small flusher thread drains that list at most every 50 ms and emits one Qt signal carrying
everything new, so the GUI receives about 20 signals a second however fast training runs, and
nothing waits in the list while the run is paused or validating. The GUI steers the job only
through the RunControl flags.
"""

from __future__ import annotations

import threading
import traceback
from dataclasses import dataclass
from typing import Any, Callable

from PySide6.QtCore import QObject, QThread, Signal

from trainers.spec.events import RunControl, Sink

FLUSH_INTERVAL_S = 0.05

# A job receives the sink and the control, and returns the engine's result.
Job = Callable[[Sink, RunControl], Any]


@dataclass(frozen=True)
class JobOutcome:
    result: Any  # the engine's result (e.g. trainers.api.RunResult), None when the job raised
    error: str = ""  # one line for the user when the job raised instead of returning
    details: str = ""  # the traceback of an unexpected exception, for the log


class CoalescingSink:
    """A trainers Sink that batches events and passes each batch to `deliver` at most every interval."""

    def __init__(self, deliver: Callable[[list], None], interval: float = FLUSH_INTERVAL_S) -> None:
        self._deliver = deliver
        self._interval = interval
        self._pending: list = []
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._flusher = threading.Thread(target=self._run, name="tunelab-event-flusher", daemon=True)
        self._flusher.start()

    def emit(self, event: Any) -> None:
        with self._lock:
            self._pending.append(event)

    def flush(self) -> None:
        with self._lock:
            batch, self._pending = self._pending, []
        if batch:
            self._deliver(batch)

    def close(self) -> None:
        """Stop the flusher and deliver what is left; later events are delivered at once."""
        self._closed.set()
        self._flusher.join()
        self.flush()

    def _run(self) -> None:
        while not self._closed.wait(self._interval):
            self.flush()


class EngineWorker(QThread):
    """One job in its own thread. `events` carries lists of engine events; `outcome` comes last."""

    events = Signal(object)
    outcome = Signal(object)

    def __init__(self, job: Job, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._job = job
        self.control = RunControl()
        self.final: JobOutcome | None = None  # the outcome, once the job has returned

    def run(self) -> None:  # runs in the worker thread
        sink = CoalescingSink(self.events.emit)
        try:
            outcome = JobOutcome(self._job(sink, self.control))
        except BaseException as exc:  # SystemExit or KeyboardInterrupt in a job too: the thread still ends with one
            outcome = JobOutcome(None, one_line(exc), traceback.format_exc())
        finally:
            sink.close()
        self.final = outcome  # kept for the runner, should the queued signal below never arrive
        self.outcome.emit(outcome)

    # ---- steering, called from the GUI thread ------------------------------------------------
    def stop(self) -> None:
        self.control.stop()

    def pause(self) -> None:
        self.control.pause()

    def resume(self) -> None:
        self.control.resume()

    @property
    def paused(self) -> bool:
        return self.control.paused


def one_line(exc: BaseException) -> str:
    """An exception as one line for a message: a TuneLabError's own words, else the type and first line."""
    from trainers.spec.errors import TuneLabError

    text = str(exc).strip().splitlines()
    if isinstance(exc, TuneLabError) and text:
        return text[0]
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def retire(worker: EngineWorker | None) -> None:
    """Let a worker whose job has ended finish its thread, then free it (its outcome was already handled)."""
    if worker is not None:
        worker.wait()
        worker.deleteLater()
