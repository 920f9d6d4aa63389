"""Engine vs a bare hand-written PyTorch loop, measured side by side in one run.

    python tests/bench/bench_engine.py [--rows 60000] [--epochs 3] [--rounds 2] [--threads 2]

Prints `engine/bare epoch-time ratio: X` (same model, data, optimizer and thread count; the engine with its
events going to a sink and every epoch written to a real SQLite store) and
`tensor batches vs DataLoader speedup: Y` (the same bare loop fed by indexed tensors vs a DataLoader).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterable

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from trainers.api import run_training
from trainers.data import DatasetBundle, Split
from trainers.models import build_model
from trainers.spec.config import RunConfig
from trainers.spec.events import EpochEnded, ListSink
from trainers.store import TrialStore
from trainers.training.optim import build_optimizer


def synthetic_bundle(rows: int, features: int = 784, classes: int = 10) -> DatasetBundle:
    """`rows` training rows plus a tenth as many for validation; a learnable linear rule with noise."""
    g = torch.Generator().manual_seed(0)
    n = rows + rows // 10
    x = torch.randn(n, features, generator=g)
    w = torch.randn(features, classes, generator=g)
    y = (x @ w + 0.5 * torch.randn(n, classes, generator=g)).argmax(1)
    return DatasetBundle(
        "synthetic",
        (features,),
        classes,
        [str(c) for c in range(classes)],
        Split(x[:rows], y[:rows]),
        Split(x[rows:], y[rows:]),
        None,
    )


def bench_config(epochs: int, threads: int, device: str = "cpu") -> RunConfig:
    return RunConfig().replace(
        **{
            "data.source": "digits",
            "model.family": "mlp",
            "optim.name": "adam",
            "train.batch_size": 128,
            "train.epochs": epochs,
            "train.threads": threads,
            "train.device": device,
        }
    )


def engine_epoch_times(cfg: RunConfig, bundle: DatasetBundle, store: TrialStore) -> list[float]:
    sink = ListSink()
    result = run_training(cfg, sink=sink, store=store, bundle=bundle)
    assert result.status == "completed", result.message
    return [e.seconds for e in sink.of(EpochEnded)]


def tensor_batches(x: torch.Tensor, y: torch.Tensor, batch: int, gen: torch.Generator) -> Iterable:
    perm = torch.randperm(len(y), generator=gen).to(x.device)
    for i in range(0, len(y), batch):
        idx = perm[i : i + batch]
        yield x[idx], y[idx]


def bare_epoch_times(cfg: RunConfig, bundle: DatasetBundle, use_dataloader: bool = False) -> list[float]:
    """What a person writes by hand: forward, loss, backward, step, epoch loss/accuracy, then validation."""
    device = torch.device(cfg.train.device)
    torch.manual_seed(cfg.train.seed)
    model = build_model(cfg.model, bundle.input_shape, bundle.num_classes).to(device)
    opt = build_optimizer(cfg.optim, model)
    loss_fn = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(cfg.train.seed)
    xtr, ytr = bundle.train.x, bundle.train.y
    xva, yva = bundle.val.x.to(device), bundle.val.y.to(device)
    loader = DataLoader(TensorDataset(xtr, ytr), batch_size=cfg.train.batch_size, shuffle=True, generator=gen)
    xtr, ytr = xtr.to(device), ytr.to(device)
    times = []
    for _ in range(cfg.train.epochs):
        t0 = time.perf_counter()
        model.train()
        total, correct, seen = 0.0, 0, 0
        batches = loader if use_dataloader else tensor_batches(xtr, ytr, cfg.train.batch_size, gen)
        for xb, yb in batches:
            xb, yb = xb.to(device), yb.to(device)  # no-op for the tensor batches, a copy for the DataLoader's
            out = model(xb)
            loss = loss_fn(out, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item() * len(yb)
            correct += int((out.argmax(1) == yb).sum())
            seen += len(yb)
        model.eval()
        with torch.no_grad():
            out = model(xva)
            _ = (loss_fn(out, yva).item(), (out.argmax(1) == yva).float().mean().item(), total / seen, correct)
        times.append(time.perf_counter() - t0)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=60_000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    bundle = synthetic_bundle(args.rows)
    cfg = bench_config(args.epochs, args.threads, args.device)
    engine, bare, loader = [], [], []
    with tempfile.TemporaryDirectory() as tmp, TrialStore(str(Path(tmp) / "bench.db")) as store:
        # alternate the contenders so drift on a shared machine hits both alike; drop each first (warm-up) epoch
        for r in range(args.rounds):
            if r % 2:
                bare += bare_epoch_times(cfg, bundle)[1:]
                engine += engine_epoch_times(cfg, bundle, store)[1:]
            else:
                engine += engine_epoch_times(cfg, bundle, store)[1:]
                bare += bare_epoch_times(cfg, bundle)[1:]
            loader += bare_epoch_times(cfg, bundle, use_dataloader=True)[1:]
    e, b, d = statistics.median(engine), statistics.median(bare), statistics.median(loader)
    print(
        f"rows: {len(bundle.train)} train + {len(bundle.val)} validation, batch {cfg.train.batch_size}, "
        f"threads {args.threads}, MLP {cfg.model.hidden_layers}x{cfg.model.hidden_units}, {cfg.optim.name}, "
        f"on {args.device}"
    )
    print(f"median epoch seconds: engine {e:.3f}, bare tensor loop {b:.3f}, bare DataLoader loop {d:.3f}")
    print(f"engine/bare epoch-time ratio: {e / b:.3f}")
    print(f"tensor batches vs DataLoader speedup: {d / b:.2f}")


if __name__ == "__main__":
    main()
