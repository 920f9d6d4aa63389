"""What the heartbeat costs a run: epoch commits to an SQLite store with no beating thread, with the default beat
(grace 60 s: a beat every 20 s) and with a beat 1,000 times as often (every 20 ms), side by side in one run.

    .venv/bin/python tests/bench/bench_heartbeat.py [--epochs 300]

Prints the mean milliseconds per epoch commit of each and their ratios to no heartbeat."""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from trainers.store import TrialStore
from trainers.store.heartbeat import GRACE_ENV

EPOCH = dict(train_loss=1.0, train_acc=0.5, val_loss=1.1, val_acc=0.4, lr=0.01, seconds=0.1, samples_per_sec=10.0)


def commits_ms(folder: Path, name: str, grace: str | None, epochs: int) -> float:
    """Mean ms per epoch commit of one trial; `grace` None: the trial is taken off the heartbeat (no beats)."""
    os.environ[GRACE_ENV] = grace or "60"
    with TrialStore(str(folder / f"{name}.db")) as store:
        tid = store.create_trial("train", {})
        if grace is None:
            store.heartbeat.stop()
        start = time.perf_counter()
        for epoch in range(1, epochs + 1):
            store.add_epoch(tid, epoch, **EPOCH, best_epoch=epoch)
        seconds = time.perf_counter() - start
        store.finish_trial(tid, "completed")
    return 1000 * seconds / epochs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        rows = [
            ("no heartbeat", commits_ms(folder, "none", None, args.epochs)),
            ("beat every 20 s (default)", commits_ms(folder, "default", "60", args.epochs)),
            ("beat every 20 ms", commits_ms(folder, "fast", "0.06", args.epochs)),
        ]
    base = rows[0][1]
    for name, ms in rows:
        print(f"{name:<28} {ms:7.3f} ms per epoch commit   ratio {ms / base:5.2f}")


if __name__ == "__main__":
    main()
