"""What every engine job does with a config before its loop runs: the store's summary columns and the thread
count for this run only.

The thread policy: torch's default (one thread per core, OpenMP threads that spin while they wait) collapses when
the cores are shared: beside one busy process a small run took 3-4x the wall time of a one-thread run. So
train.threads = 0 means "automatic": one core is left for the rest of the machine (the window's own thread, the
store, a neighbour), at most THREAD_CAP threads (small models gain little beyond), and a single thread while
another job of this process is running. An explicit count, or OMP_NUM_THREADS set by the user, is honoured.
Importing the engine sets OMP_WAIT_POLICY=PASSIVE before torch loads (trainers/__init__.py), so idle OpenMP threads
sleep instead of spinning."""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Mapping

import torch

from trainers.spec.config import RunConfig

THREAD_CAP = 8
_running = 0  # jobs inside torch_threads in this process
_running_lock = threading.Lock()


def trial_summary(cfg: RunConfig) -> dict:
    """The columns the store ranks and filters by, taken from the config."""
    return {
        "dataset": cfg.data.source,
        "model": cfg.model.family,
        "optimizer": cfg.optim.name,
        "lr": cfg.optim.lr,
        "batch_size": cfg.train.batch_size,
        "dropout": cfg.model.dropout,
        "weight_decay": cfg.optim.weight_decay,
        "seed": cfg.train.seed,
        "epochs_planned": cfg.train.epochs,
    }


def physical_cores() -> int:
    """Cores (not hyper-threads) this process may run on; the usable CPU count where the topology is unreadable."""
    cpus = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else set(range(os.cpu_count() or 1))
    cores: set[tuple[str, ...]] = set()
    for cpu in cpus:
        topology = Path(f"/sys/devices/system/cpu/cpu{cpu}/topology")
        try:
            cores.add(tuple((topology / name).read_text().strip() for name in ("physical_package_id", "core_id")))
        except OSError:
            return max(1, len(cpus))
    return max(1, len(cores))


def _env_threads(env: Mapping[str, str]) -> int:
    """OMP_NUM_THREADS as a positive count, or 0 when unset or not a count."""
    text = env.get("OMP_NUM_THREADS", "").strip()
    return int(text) if text.isdigit() and int(text) > 0 else 0


def resolve_threads(
    requested: int, *, cores: int | None = None, other_jobs: int = 0, env: Mapping[str, str] | None = None
) -> int:
    """The thread count a job runs with: `requested` when positive, else OMP_NUM_THREADS when the user set it, else
    one thread beside another job of this process, else physical cores - 1 (at least 1, at most THREAD_CAP)."""
    if requested > 0:
        return requested
    from_env = _env_threads(os.environ if env is None else env)
    if from_env:
        return from_env
    if other_jobs > 0:
        return 1
    return max(1, min(THREAD_CAP, (physical_cores() if cores is None else cores) - 1))


@contextmanager
def torch_threads(threads: int) -> Iterator[None]:
    """Run this job with `threads` CPU threads (0: automatic, see resolve_threads); torch's setting is restored
    afterwards."""
    global _running
    with _running_lock:
        others = _running
        _running += 1
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(resolve_threads(threads, other_jobs=others))
        yield
    finally:
        torch.set_num_threads(before)
        with _running_lock:
            _running -= 1
