"""TuneLab's hyperparameter search measured side by side in one run (issue 16's "Must show").

    python tests/bench/bench_search.py [--quick] [--trials 20] [--epochs 10] [--seeds 3] [--workers-at-once 16]
                                       [--sections quality,storage,overhead,parallel,vectorised] [--vectorised]

- quality: on the bundled digits and a generated CSV table (searchbench/setup.py), per search seed: TuneLab's search
  (TPE, no pruning), the same with LR-finder seeding, and plain Optuna TPE driving a plain PyTorch loop
  (searchbench/plain.py) over the same space (lr, batch size, dropout, weight decay), splits, model and budget.
  Both sides score a trial by the validation accuracy of its lowest-validation-loss epoch. → `search best vs
  plain optuna: +X pt`, `LR-finder seeding on vs off`.
- pruning: the median and Hyperband pruners on the same searches → epochs saved against no pruning, and the
  best-found accuracy difference.
- storage, overhead, parallel, vectorised: searchbench/systems.py says what each measures.

The issue asks for 30 trials × up to 20 epochs; the default here is smaller so the whole run takes about ten
minutes on a 2-core machine (`--trials 30 --epochs 20` runs the issue's size). The first line printed says what ran.
One torch thread per trial except in the parallel measure; timings on a busy machine move, accuracies do not.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from searchbench import quality, systems
from searchbench.setup import Budget, base_configs

from trainers.api import TrialStore

SECTIONS = ("quality", "storage", "overhead", "parallel", "vectorised")


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="a short smoke run: small budgets, one seed, 4 workers")
    p.add_argument("--trials", type=int, default=None, help="trials per search (default 20; quick 6)")
    p.add_argument("--epochs", type=int, default=None, help="epochs per trial at most (default 10; quick 4)")
    p.add_argument("--seeds", type=int, default=None, help="search seeds (default 3; quick 1)")
    p.add_argument("--workers-at-once", type=int, default=None, help="workers started together (default 16; quick 4)")
    p.add_argument("--sections", default=",".join(SECTIONS))
    p.add_argument("--vectorised", action="store_true", help="only the vectorised-trials measure")
    args = p.parse_args()
    quick = args.quick
    args.trials = args.trials or (6 if quick else 20)
    args.epochs = args.epochs or (4 if quick else 10)
    args.seeds = args.seeds or (1 if quick else 3)
    args.workers_at_once = args.workers_at_once or (4 if quick else 16)
    args.sections = ["vectorised"] if args.vectorised else args.sections.split(",")
    unknown = set(args.sections) - set(SECTIONS)
    if unknown:
        p.error(f"unknown sections {', '.join(sorted(unknown))}; choose from {', '.join(SECTIONS)}")
    return args


def run_quality(budget: Budget) -> list[str]:
    print(f"quality and pruning ({budget.text()}):", flush=True)
    with tempfile.TemporaryDirectory() as tmp, TrialStore(str(Path(tmp) / "runs.db")) as store:
        configs = base_configs(Path(tmp))
        arms = [quality.run_dataset(name, cfg, store, budget) for name, cfg in configs.items()]
        return quality.summary(list(configs), arms)


def run_storage(args: argparse.Namespace) -> list[str]:
    print("storage:", flush=True)
    per_trial = systems.storage_overhead(trials=50 if args.quick else 200, epochs=args.epochs)
    bad, failed, done, _ = systems.workers_at_once(args.workers_at_once)
    return [
        f"storage overhead per trial: {per_trial:.1f} ms (journal vs in-memory, {args.epochs} epochs; target ≤ 20 ms)",
        f"{args.workers_at_once} workers at once on a fresh store: {bad + failed} failures "
        f"({bad} workers, {failed} trials; {done}/{args.workers_at_once} complete; target 0)",
    ]


def run_overhead(args: argparse.Namespace) -> list[str]:
    print("overhead:", flush=True)
    lines = []
    # a tiny trial shows the fixed cost per trial; a 20-epoch one, what it is worth on a trial of ordinary length
    for epochs, trials, rounds in ((3, 5, 1), (20, 3, 1)) if args.quick else ((3, 12, 2), (20, 8, 1)):
        machinery, whole = systems.overhead(trials, rounds, epochs)
        lines.append(
            f"overhead per trial ({epochs} epochs): search trial / run_training in a plain Optuna objective = "
            f"{machinery:.2f} (target ≤ 1.05); / the plain loop in a plain Optuna objective = {whole:.2f}"
        )
    return lines


def run_parallel(args: argparse.Namespace) -> list[str]:
    print("parallel:", flush=True)
    wall, steady, hour = systems.parallel(trials=6 if args.quick else 24, epochs=4 if args.quick else 20)
    return [
        f"parallel 2 workers vs 1: {hour:.2f}× trials per hour over an hour-long search (target ≥ 1.6×); this "
        f"search: {wall:.2f}× start-up included, {steady:.2f}× once started"
    ]


def main() -> int:
    args = parse()
    torch.set_num_threads(1)
    budget = Budget(args.trials, args.epochs, args.seeds)
    print(
        f"bench_search: {'quick' if args.quick else 'default'} run: {budget.text()}; sections "
        f"{', '.join(args.sections)}; {args.workers_at_once} workers at once",
        flush=True,
    )
    started = time.perf_counter()
    lines: list[str] = []
    for section in args.sections:
        if section == "quality":
            lines += run_quality(budget)
        elif section == "storage":
            lines += run_storage(args)
        elif section == "overhead":
            lines += run_overhead(args)
        elif section == "parallel":
            lines += run_parallel(args)
        else:
            print("vectorised:", flush=True)
            lines.append(systems.vectorised())
    print(f"\nsummary ({budget.text()}; {time.perf_counter() - started:.0f} s):")
    for line in lines:
        print("  " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
