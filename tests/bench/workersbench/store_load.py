"""Store overhead under concurrent writers: N processes each create tiny synthetic trials, commit one epoch row at a
time and finish them, as training does, against one store. Every store call is timed; errors are counted by kind
("database is locked", "already finished", anything else), never retried here beyond what the store itself does.

Two ways to write: `train_s > 0` is a trial as training runs it — each epoch "trains" for train_s seconds (a wait: on a
GPU host the CPU is free meanwhile) and hands its row to the store without waiting, as trainers/training/recording.py
does; the overhead of a trial is its time beyond the training. `train_s == 0` is a stress test: every write waited for,
back to back, nothing between them."""

from __future__ import annotations

import multiprocessing as mp
import statistics
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Load:
    epoch_ms: list[float] = field(default_factory=list)  # one add_epoch each
    trial_ms: list[float] = field(default_factory=list)  # create + every add_epoch + finish of one trial, no training
    errors: list[str] = field(default_factory=list)


def _writer(url: str, trials: int, epochs: int, train_s: float, start: Any, queue: mp.Queue) -> None:
    from trainers.api import TrialStore

    load = Load()
    try:
        store = TrialStore(url)
        _one_trial(store, 1, Load())  # a connection and compiled statements: this process's start, not measured
    except Exception as exc:  # a failed open is a failed worker: counted, not raised
        queue.put(Load(errors=[f"open: {exc}"]))
        start.abort()
        return
    start.wait()  # every process measured from the same moment, none still importing while others write
    for _ in range(trials):
        try:
            load.trial_ms.append(_one_trial(store, epochs, load, train_s))
        except Exception as exc:
            load.errors.append(str(exc).splitlines()[0][:200])
    store.close()
    queue.put(load)


def _one_trial(store: object, epochs: int, load: Load, train_s: float = 0.0) -> float:
    """Milliseconds the trial spent in the store (its whole time less the time it trained)."""
    t0, trained = time.perf_counter(), 0.0
    trial_id = store.create_trial("train", {"bench": True}, name="bench", epochs_planned=epochs)  # type: ignore[attr-defined]
    for epoch in range(1, epochs + 1):
        if train_s > 0:
            w0 = time.perf_counter()
            time.sleep(train_s)
            trained += time.perf_counter() - w0
        e0 = time.perf_counter()
        store.add_epoch(  # type: ignore[attr-defined]
            trial_id,
            epoch,
            train_loss=1.0 / epoch,
            train_acc=0.5,
            val_loss=1.0 / epoch,
            val_acc=0.5,
            lr=1e-3,
            seconds=0.01,
            samples_per_sec=1000.0,
            epochs_run=epoch,
            wait=train_s == 0,
        )
        load.epoch_ms.append((time.perf_counter() - e0) * 1000)
    store.finish_trial(trial_id, "completed", best_val_acc=0.5)  # type: ignore[attr-defined]
    return (time.perf_counter() - t0 - trained) * 1000


def concurrent_load(url: str, workers: int, trials: int, epochs: int, train_s: float = 0.0) -> Load:
    """`workers` processes started together, `trials` trials of `epochs` epochs each, all results merged."""
    ctx = mp.get_context("spawn")
    queue: mp.Queue = ctx.Queue()
    start = ctx.Barrier(workers)
    procs = [ctx.Process(target=_writer, args=(url, trials, epochs, train_s, start, queue)) for _ in range(workers)]
    for p in procs:
        p.start()
    merged = Load()
    for _ in procs:
        part: Load = queue.get()
        merged.epoch_ms += part.epoch_ms
        merged.trial_ms += part.trial_ms
        merged.errors += part.errors
    for p in procs:
        p.join()
    return merged


def error_kinds(errors: list[str]) -> str:
    locked = sum("locked" in e for e in errors)
    finished = sum("already finished" in e for e in errors)
    other = len(errors) - locked - finished
    return f"{locked} 'database is locked', {finished} 'already finished', {other} other"


def line(backend: str, workers: int, load: Load) -> str:
    med = statistics.median
    p95 = sorted(load.trial_ms)[int(0.95 * (len(load.trial_ms) - 1))] if load.trial_ms else float("nan")
    return (
        f"  {backend:10s} {workers:2d} workers: per epoch commit {med(load.epoch_ms):6.1f} ms, per trial "
        f"{med(load.trial_ms):6.1f} ms (p95 {p95:.1f}); errors: {error_kinds(load.errors)}"
    )
