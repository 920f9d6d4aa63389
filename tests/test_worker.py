"""The worker thread: coalesced events, outcomes, errors, steering, and the cross-thread signal hazard."""

from __future__ import annotations

import threading
import time

import pytest
from PySide6.QtCore import QObject, QThread, Signal

from app.worker import FLUSH_INTERVAL_S, CoalescingSink, EngineWorker, JobOutcome
from trainers.spec.errors import DataError
from trainers.spec.events import BatchEnded, StopRequested


def _batch(i: int) -> BatchEnded:
    return BatchEnded(epoch=1, batch=i, step=i, loss=1.0 / i, lr=0.1, grad_norm=1.0, samples=8)


@pytest.mark.slow
def test_sink_coalesces_and_keeps_order() -> None:
    deliveries: list[list] = []
    sink = CoalescingSink(deliveries.append)
    t0 = time.perf_counter()
    n = 0
    while time.perf_counter() - t0 < 0.5:  # emit as fast as possible for half a second
        n += 1
        sink.emit(_batch(n))
    sink.close()
    elapsed = time.perf_counter() - t0
    got = [e.step for batch in deliveries for e in batch]
    assert got == list(range(1, n + 1))
    assert n > 1000
    assert len(deliveries) <= elapsed / FLUSH_INTERVAL_S + 2  # about 20 a second, however many events


def test_sink_delivers_pending_events_without_new_ones() -> None:
    """An event followed by silence (a pause, a long validation) still arrives within the interval."""
    deliveries: list[list] = []
    sink = CoalescingSink(deliveries.append)
    sink.emit(_batch(1))
    deadline = time.perf_counter() + 2
    while not deliveries and time.perf_counter() < deadline:
        time.sleep(0.01)
    assert [e.step for e in deliveries[0]] == [1]
    sink.close()


def _wait_outcome(qtbot, worker: EngineWorker) -> JobOutcome:
    with qtbot.waitSignal(worker.outcome, timeout=20_000) as blocker:
        worker.start()
    worker.wait()
    return blocker.args[0]


def test_worker_delivers_events_then_outcome(qtbot) -> None:
    def job(sink, control):
        for i in range(1, 501):
            control.checkpoint()
            sink.emit(_batch(i))
        return "done"

    worker = EngineWorker(job)
    received: list = []
    worker.events.connect(received.extend)
    outcome = _wait_outcome(qtbot, worker)
    assert outcome == JobOutcome("done")
    assert [e.step for e in received] == list(range(1, 501))  # all events arrive before the outcome


@pytest.mark.parametrize(
    "exc, expected",
    [
        (DataError("train.csv, row 7: 'x' is not a number"), "train.csv, row 7: 'x' is not a number"),
        (RuntimeError("CUDA out of memory\nmore lines"), "RuntimeError: CUDA out of memory"),
    ],
)
def test_worker_error_becomes_one_line(qtbot, exc: Exception, expected: str) -> None:
    def job(sink, control):
        raise exc

    outcome = _wait_outcome(qtbot, EngineWorker(job))
    assert outcome.result is None
    assert outcome.error == expected
    assert "Traceback" in outcome.details


def test_stop_and_pause_reach_the_job(qtbot) -> None:
    started = threading.Event()
    seen: dict[str, int] = {"batches": 0}

    def job(sink, control):
        started.set()
        try:
            while True:
                control.checkpoint()
                seen["batches"] += 1
                time.sleep(0.001)
        except StopRequested:
            return "stopped"

    worker = EngineWorker(job)
    worker.start()
    assert started.wait(5)
    worker.pause()
    time.sleep(0.05)
    before = seen["batches"]
    time.sleep(0.2)
    assert seen["batches"] - before <= 1  # paused: at most the batch already under way
    assert worker.paused
    with qtbot.waitSignal(worker.outcome, timeout=5000) as blocker:
        worker.resume()
        worker.stop()
    worker.wait()
    assert blocker.args[0].result == "stopped"


class _Emitter(QThread):
    """Emits like a careless worker would: one signal per item, with a bool and a float in each."""

    item = Signal(object, bool, float)

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n = n

    def run(self) -> None:
        for i in range(self.n):
            self.item.emit((i, "x"), i % 2 == 0, float(i))


class _Counter(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0
        self.last = -1
        self.in_order = True

    def take(self, payload: object, flag: bool, value: float) -> None:
        i = payload[0]  # type: ignore[index]
        self.in_order &= i == self.last + 1 and flag == (i % 2 == 0) and value == float(i)
        self.last = i
        self.count += 1


@pytest.mark.slow
def test_100k_cross_thread_signals_reach_the_gui(qtbot) -> None:
    """PySide6 6.12.0 aborts the process on this (bool_dealloc refcount error); the pin keeps us below it."""
    n = 100_000
    emitter, counter = _Emitter(n), _Counter()
    emitter.item.connect(counter.take)
    emitter.start()
    qtbot.waitUntil(lambda: counter.count == n, timeout=120_000)
    emitter.wait()
    assert counter.in_order
