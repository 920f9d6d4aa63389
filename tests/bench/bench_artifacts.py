"""Where checkpoints should live: a local file beside the store, or chunks in the store's database, side by side.

    python tests/bench/bench_artifacts.py [--rounds 5] [--no-postgres]

For a small MLP's state dict (~0.9 MB) and a resnet18-size one (~45 MB), prints the median time to save a
checkpoint and to load it again:

  * local file: save_checkpoint (written in full and fsynced, as training does) / load_checkpoint
  * + database: the same local save followed by ArtifactStore.put_file (what a training run pays when artifacts go
    to the database) / get_file into a cache folder + load_checkpoint (what another host pays the first time)

on SQLite (a file store, WAL) and, when PostgreSQL's binaries are installed, a throwaway PostgreSQL server started
here with durable settings (fsync on). Ratios are "+ database" over "local file"; the database's size growth is
printed too.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterator

import torch
from torch import nn
from torchvision.models import resnet18

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ for pg_server
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from trainers.store import TrialStore
from trainers.training.checkpoints import load_checkpoint, save_checkpoint


def models() -> Iterator[tuple[str, dict[str, torch.Tensor]]]:
    mlp = nn.Sequential(
        nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10)
    )
    yield "MLP 784-256-128-10", mlp.state_dict()
    yield "resnet18", resnet18(num_classes=10).state_dict()


def median_ms(fn: Callable[[int], object], rounds: int) -> float:
    times = []
    for i in range(rounds):
        start = time.perf_counter()
        fn(i)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def bench_model(store: TrialStore, trial: int, label: str, model: str, state: dict, cache: Path, rounds: int) -> None:
    path = store.checkpoint_dir(trial) / "best.pt"
    size_mb = save_checkpoint(path, state, {"epoch": 0}).stat().st_size / 2**20

    def save_local(_i: int) -> None:
        save_checkpoint(path, state, {"epoch": 1})

    def save_db(i: int) -> None:
        save_checkpoint(path, state, {"epoch": i + 2})  # a new file each round, so it really is stored again
        store.artifacts.put_file(trial, "best.pt", path)

    def load_local(_i: int) -> None:
        load_checkpoint(path)

    def load_db(i: int) -> None:
        load_checkpoint(store.artifacts.get_file(trial, "best.pt", cache / f"{i}.pt"))

    s_local, s_db = median_ms(save_local, rounds), median_ms(save_db, rounds)
    l_local, l_db = median_ms(load_local, rounds), median_ms(load_db, rounds)
    print(
        f"{label:10} {model:20} {size_mb:6.1f} MB | save: local {s_local:7.1f} ms, + database "
        f"{s_db:7.1f} ms ({s_db / s_local:4.1f}x) | load: local {l_local:7.1f} ms, from database "
        f"{l_db:7.1f} ms ({l_db / l_local:4.1f}x)"
    )


def bench_store(label: str, url: str, folder: Path, rounds: int) -> None:
    with TrialStore(url) as store:
        trial = store.create_trial("train", {})
        for model, state in models():
            bench_model(store, trial, label, model, state, folder / "cache", rounds)
        print(f"{label:10} database holds {store.artifacts.total_bytes() / 2**20:.1f} MB of artifacts")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        bench_store("SQLite", f"sqlite:///{root / 'sqlite' / 'trials.db'}", root / "sqlite", args.rounds)
        if not args.no_postgres:
            bench_postgres(root / "pg", args.rounds)


def bench_postgres(folder: Path, rounds: int) -> None:
    try:
        import pg_server

        pg_server.SERVER_SETTINGS = ("max_connections=50",)  # durable: fsync and synchronous commit on
        cluster = pg_server.PgCluster()
    except (ImportError, pg_server.PostgresMissing) as exc:
        print(f"PostgreSQL    skipped: {exc}")
        return
    try:
        cluster.start()
        bench_store("PostgreSQL", cluster.new_database(), folder, rounds)
    finally:
        cluster.destroy()


if __name__ == "__main__":
    main()
