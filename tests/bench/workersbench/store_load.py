"""Store overhead under concurrent writers: N processes each create tiny synthetic trials, commit one epoch row at a
time and finish them, as training does, against one store. Every store call is timed; errors are counted by kind
("database is locked", "already finished", anything else), never retried here beyond what the store itself does."""

from __future__ import annotations

import multiprocessing as mp
import statistics
import time
from dataclasses import dataclass, field


@dataclass
class Load:
    epoch_ms: list[float] = field(default_factory=list)  # one add_epoch each
    trial_ms: list[float] = field(default_factory=list)  # create + every add_epoch + finish of one trial
    errors: list[str] = field(default_factory=list)


def _writer(url: str, trials: int, epochs: int, queue: mp.Queue) -> None:
    from trainers.api import TrialStore

    load = Load()
    try:
        store = TrialStore(url)
    except Exception as exc:  # a failed open is a failed worker: counted, not raised
        queue.put(Load(errors=[f"open: {exc}"]))
        return
    for _ in range(trials):
        try:
            load.trial_ms.append(_one_trial(store, epochs, load))
        except Exception as exc:
            load.errors.append(str(exc).splitlines()[0][:200])
    store.close()
    queue.put(load)


def _one_trial(store: object, epochs: int, load: Load) -> float:
    t0 = time.perf_counter()
    trial_id = store.create_trial("train", {"bench": True}, name="bench", epochs_planned=epochs)  # type: ignore[attr-defined]
    for epoch in range(1, epochs + 1):
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
        )
        load.epoch_ms.append((time.perf_counter() - e0) * 1000)
    store.finish_trial(trial_id, "completed", best_val_acc=0.5)  # type: ignore[attr-defined]
    return (time.perf_counter() - t0) * 1000


def concurrent_load(url: str, workers: int, trials: int, epochs: int) -> Load:
    """`workers` processes started together, `trials` trials of `epochs` epochs each, all results merged."""
    ctx = mp.get_context("spawn")
    queue: mp.Queue = ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(url, trials, epochs, queue)) for _ in range(workers)]
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
