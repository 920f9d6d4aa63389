"""A 100-iteration learning-rate range test against 100 plain training steps of the same config, side by side.

    python tests/bench/bench_lr_finder.py [--rows 60000] [--iterations 100] [--rounds 5] [--threads 2]

Same data (synthetic 784-feature rows held as tensors), model (MLP 2×256), optimizer (Adam), batch size (128)
and thread count. "plain" is a bare hand-written PyTorch loop over the same shuffled batches. "range test" is
trainers.lr_finder.sweep.lr_sweep: state snapshot, the engine's loop with the sweep callback, the restore. The
sweep ends at 1e-2 so that no run stops early and both sides do exactly the same number of steps. Also prints
the whole trial (model built, every repeat, suggestions, stored in SQLite) against the same plain steps.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_engine import bench_config, synthetic_bundle

from trainers.api import TrialStore, run_lr_finder
from trainers.data import DatasetBundle
from trainers.lr_finder.sweep import lr_sweep
from trainers.models import build_model
from trainers.spec.config import RunConfig
from trainers.spec.lr_finder_settings import LrFinderSettings
from trainers.training.loop import settings_from
from trainers.training.optim import build_optimizer


def fresh(cfg: RunConfig, data: DatasetBundle) -> tuple[nn.Module, torch.optim.Optimizer]:
    torch.manual_seed(0)
    model = build_model(cfg.model, data.input_shape, data.num_classes)
    return model, build_optimizer(cfg.optim, model)


def plain_steps(cfg: RunConfig, data: DatasetBundle, steps: int) -> float:
    model, opt = fresh(cfg, data)
    x, y = data.train.x, data.train.y
    assert x is not None and y is not None
    loss_fn = nn.CrossEntropyLoss()
    b = cfg.train.batch_size
    gen = torch.Generator().manual_seed(0)
    t0 = time.perf_counter()
    done = 0
    while done < steps:
        perm = torch.randperm(len(y), generator=gen)
        for i in range(0, len(y) - b + 1, b):
            idx = perm[i : i + b]
            loss = loss_fn(model(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss.item()  # the engine reads the loss every step too
            done += 1
            if done == steps:
                break
    return time.perf_counter() - t0


def lr_sweep_time(cfg: RunConfig, data: DatasetBundle, settings: LrFinderSettings) -> float:
    model, opt = fresh(cfg, data)
    t0 = time.perf_counter()
    curve = lr_sweep(model, opt, data, settings_from(cfg), settings, torch.device("cpu"))
    seconds = time.perf_counter() - t0
    assert len(curve.lrs) == settings.iterations, curve.stop_reason
    return seconds


def trial_time(cfg: RunConfig, data: DatasetBundle, settings: LrFinderSettings) -> float:
    with TrialStore("sqlite://") as store:
        t0 = time.perf_counter()
        result = run_lr_finder(cfg, settings, store=store, bundle=data)
        seconds = time.perf_counter() - t0
    assert result.status == "completed" and len(result.curves[0].lrs) == settings.iterations, result.message
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=60_000)
    ap.add_argument("--iterations", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cfg = bench_config(epochs=1, threads=args.threads)
    data = synthetic_bundle(args.rows)
    settings = LrFinderSettings(iterations=args.iterations, start_lr=1e-7, end_lr=1e-2)
    plain_steps(cfg, data, 20)  # warm up allocator and kernels
    plain, sweep, trial = [], [], []
    for _ in range(args.rounds):  # interleaved, so a busy moment hits every side alike
        plain.append(plain_steps(cfg, data, args.iterations))
        sweep.append(lr_sweep_time(cfg, data, settings))
        trial.append(trial_time(cfg, data, settings))
    p, s, t = statistics.median(plain), statistics.median(sweep), statistics.median(trial)
    print(
        f"plain {args.iterations} steps: {p * 1000:.0f} ms; range test: {s * 1000:.0f} ms; whole trial "
        f"(model, suggestions, store): {t * 1000:.0f} ms (medians of {args.rounds}, {args.threads} threads)"
    )
    print(f"range test / plain steps ratio: {s / p:.3f} (target <= 1.15)")
    print(f"whole trial / plain steps ratio: {t / p:.3f}")


if __name__ == "__main__":
    main()
