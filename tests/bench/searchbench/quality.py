"""Quality and pruning: on each dataset and search seed, TuneLab's search (TPE, no pruning), the same with LR-finder
seeding, plain Optuna TPE driving the plain loop (plain.py) over the same space and budget, and TuneLab's search
with the median and Hyperband pruners. The best validation accuracy each finds, and the epochs each trains."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from searchbench.plain import plain_search
from searchbench.setup import Budget, fixed_values, mean_sd, space_of, tunelab_search
from trainers.api import TrialStore
from trainers.data import load_dataset
from trainers.spec.config import RunConfig

ARMS = ("tunelab", "tunelab+lr-seed", "plain optuna", "median", "hyperband")


@dataclass
class Arms:
    best: dict[str, list[float]] = field(default_factory=lambda: {a: [] for a in ARMS})
    epochs: dict[str, list[int]] = field(default_factory=lambda: {a: [] for a in ARMS})
    seconds: dict[str, list[float]] = field(default_factory=lambda: {a: [] for a in ARMS})

    def add(self, arm: str, best: float, epochs: int, seconds: float) -> None:
        self.best[arm].append(best)
        self.epochs[arm].append(epochs)
        self.seconds[arm].append(seconds)


def run_dataset(name: str, cfg: RunConfig, store: TrialStore, budget: Budget) -> Arms:
    arms = Arms()
    space = space_of(cfg)
    data = load_dataset(cfg.data)
    for seed in range(budget.seeds):
        common = {"trials": budget.trials, "epochs": budget.epochs, "seed": seed}
        for arm, extra in (
            ("tunelab", {}),
            ("tunelab+lr-seed", {"lr_finder_seed": True}),
            ("median", {"pruner": "median"}),
            ("hyperband", {"pruner": "hyperband"}),
        ):
            s = tunelab_search(store, cfg, space, **common, **extra)
            arms.add(arm, s.best, s.epochs, s.seconds)
        p = plain_search(data, space, fixed_values(cfg), budget.trials, budget.epochs, seed)
        arms.add("plain optuna", p.best, p.epochs, p.seconds)
        print(
            f"  {name} seed {seed}: "
            + ", ".join(f"{a} {arms.best[a][-1] * 100:.2f} ({arms.epochs[a][-1]} ep)" for a in ARMS),
            flush=True,
        )
    for arm in ARMS:
        print(
            f"  {name:7s} {arm:16s} best val acc {mean_sd(arms.best[arm])} %   epochs "
            f"{statistics.fmean(arms.epochs[arm]):6.0f}   seconds {statistics.fmean(arms.seconds[arm]):6.1f}"
        )
    return arms


def gap(arms: list[Arms], a: str, b: str) -> tuple[float, list[float]]:
    """Mean over datasets and seeds of best(a) − best(b), in points, and the per-dataset means."""
    per = [statistics.fmean(x - y for x, y in zip(r.best[a], r.best[b])) * 100 for r in arms]
    return statistics.fmean(per), per


def saving(arms: list[Arms], pruner: str, of: str = "epochs") -> float:
    """Share of the unpruned search's epochs (or seconds) the pruned one did not spend, over every dataset and
    seed."""
    pruned = sum(sum(getattr(r, of)[pruner]) for r in arms)
    full = sum(sum(getattr(r, of)["tunelab"]) for r in arms)
    return 1.0 - pruned / full


def summary(names: list[str], arms: list[Arms]) -> list[str]:
    def each(per: list[float]) -> str:
        return ", ".join(f"{n} {v:+.2f}" for n, v in zip(names, per))

    x, per = gap(arms, "tunelab", "plain optuna")
    lr, lr_per = gap(arms, "tunelab+lr-seed", "tunelab")
    lines = [
        f"search best vs plain optuna: {x:+.2f} pt ({each(per)}; target ≥ 0)",
        f"LR-finder seeding on vs off: {lr:+.2f} pt ({each(lr_per)})",
    ]
    for pruner in ("median", "hyperband"):
        d, d_per = gap(arms, pruner, "tunelab")
        lines.append(
            f"pruning epoch saving: {pruner} {saving(arms, pruner) * 100:.0f} % of epochs "
            f"({saving(arms, pruner, 'seconds') * 100:.0f} % of the time), best-found vs none {d:+.2f} pt "
            f"({each(d_per)}; targets ≥ 40 % within 0.3 pt)"
        )
    return lines
