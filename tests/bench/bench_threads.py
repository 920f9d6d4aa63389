"""CPU threads under contention: wall time of a small digits training alone and beside a busy neighbour process,
with torch's default threads vs TuneLab's policy, interleaved in one run.

    python tests/bench/bench_threads.py [--rounds 3] [--epochs 5]

Each contender trains in its own interpreter, because OMP_WAIT_POLICY only acts when set before torch loads its
OpenMP runtime. The neighbour is another process spinning torch matmuls on every core (torch's defaults) for the whole
measurement. Contenders:
  default          torch's default thread count, OpenMP's default wait policy (what TuneLab did before)
  default+passive  the same threads, OMP_WAIT_POLICY=PASSIVE (idle OpenMP threads sleep instead of spinning)
  policy           train.threads = 0 (automatic, trainers/jobs/setup.py) with OMP_WAIT_POLICY=PASSIVE, as the
                   `tunelab` entry point runs it
Prints each round's seconds, the medians, and the ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODES = ("default", "default+passive", "policy")


def child(mode: str, epochs: int) -> None:
    """A fresh interpreter that trains once per "run" line on stdin and answers each with {"seconds", "threads"}."""
    if mode != "default":
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"  # before torch is imported, as app/__main__.py does
    sys.path.insert(0, str(ROOT))
    import tempfile

    import torch

    from trainers.api import run_training
    from trainers.jobs.setup import resolve_threads
    from trainers.spec.config import RunConfig
    from trainers.store import TrialStore

    threads = 0 if mode == "policy" else torch.get_num_threads()
    cfg = RunConfig().replace(
        **{
            "data.source": "digits",
            "model.family": "mlp",
            "train.epochs": epochs,
            "train.threads": threads,
            "train.device": "cpu",
            "train.checkpoints": False,
        }
    )
    with tempfile.TemporaryDirectory() as tmp, TrialStore(str(Path(tmp) / "bench.db")) as store:
        run_training(cfg.replace(**{"train.epochs": 1}), store=store)  # warm-up: data, caches, kernels
        print("ready", flush=True)
        for _ in sys.stdin:
            t0 = time.perf_counter()
            result = run_training(cfg, store=store)
            seconds = time.perf_counter() - t0
            assert result.status == "completed", result.message
            print(json.dumps({"seconds": seconds, "threads": resolve_threads(threads)}), flush=True)


def neighbour() -> None:
    """Spin torch matmuls on every core (torch's defaults) until killed."""
    import torch

    a = torch.randn(768, 768)
    print("ready", flush=True)
    while True:
        a = torch.tanh(a @ a)


def start(*args: str) -> subprocess.Popen[str]:
    """A copy of this script with `args`, without the caller's OpenMP settings, once it says it is ready."""
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "OMP_NUM_THREADS")}
    proc = subprocess.Popen(
        [sys.executable, __file__, *args], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def timed_run(proc: subprocess.Popen[str]) -> tuple[float, int]:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("run\n")
    proc.stdin.flush()
    data = json.loads(proc.stdout.readline())
    return float(data["seconds"]), int(data["threads"])


def measure(rounds: int, epochs: int) -> tuple[dict[tuple[str, str], list[float]], dict[str, int]]:
    """Seconds per (condition, mode). One trainer process per contender and one neighbour stay up for the whole
    measurement (the neighbour paused with SIGSTOP while the trainers run alone); the contenders' order rotates
    every round so drift on a shared machine hits all alike."""
    trainers = {mode: start("--child", mode, "--epochs", str(epochs)) for mode in MODES}
    busy = start("--neighbour")
    times: dict[tuple[str, str], list[float]] = {}
    threads: dict[str, int] = {}
    try:
        for r in range(rounds):
            order = MODES[r % len(MODES) :] + MODES[: r % len(MODES)]
            for condition in ("alone", "beside"):
                busy.send_signal(signal.SIGCONT if condition == "beside" else signal.SIGSTOP)
                time.sleep(0.5)
                line = []
                for mode in order:
                    seconds, threads[mode] = timed_run(trainers[mode])
                    times.setdefault((condition, mode), []).append(seconds)
                    line.append(f"{mode} {seconds:.2f}s")
                print(f"round {r + 1} {condition:6s}: " + ", ".join(line), flush=True)
    finally:
        for proc in (*trainers.values(), busy):
            proc.kill()
            proc.wait()
    return times, threads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--neighbour", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.epochs)
    if args.neighbour:
        return neighbour()
    print(
        f"digits MLP, {args.epochs} epochs per run, {args.rounds} rounds, {os.cpu_count()} CPUs, "
        f"load average before: {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    times, threads = measure(args.rounds, args.epochs)
    med = {key: statistics.median(v) for key, v in times.items()}
    print("threads used: " + ", ".join(f"{m} {threads[m]}" for m in MODES))
    for condition in ("alone", "beside"):
        print(f"median wall seconds {condition:6s}: " + ", ".join(f"{m} {med[condition, m]:.2f}" for m in MODES))
    print("beside/alone slowdown: " + ", ".join(f"{m} {med['beside', m] / med['alone', m]:.2f}x" for m in MODES))
    for condition in ("alone", "beside"):
        print(
            f"policy speed-up over default, {condition}: {med[condition, 'default'] / med[condition, 'policy']:.2f}x"
            f" (default+passive: {med[condition, 'default'] / med[condition, 'default+passive']:.2f}x)"
        )


if __name__ == "__main__":
    main()
