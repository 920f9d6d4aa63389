"""Learning-rate regret: each suggestion rule against the best of an eight-point grid, at 3, 5 and 20 epochs.

The rules: "headline" is the rate TuneLab recommends (trainers/spec/rates.py recommended_rate: the steady rate
scaled to the planned run's steps and schedule); "verified" is the rate the LR finder's optional short runs chose;
"band_middle" (the headline before budgets), "valley", "steepest" and "min_div_10" are the range test's own
suggestions; "torch_lr_finder" and "fastai_valley" are the peers' (tests/bench/advice/peers.py).

For every table, budget and seed the grid's eight rates are trained, and each rule's rate (read from an LR finder
run on the same config and seed) is trained too. A rule's regret is the grid best's test accuracy (the best of
the eight rates, each averaged over the seeds) minus the rule's (averaged over the same seeds), in points.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence

from advice.peers import fastai_valley, torch_lr_finder_steepest
from advice.runs import Runs
from advice.tables import BUDGETS, GENERATED, LR_GRID, bundle, grid_config
from trainers.spec.budget_rate import steps_per_epoch
from trainers.spec.config import RunConfig
from trainers.spec.events import LrFinderResult
from trainers.spec.lr_finder_settings import LrFinderSettings
from trainers.spec.rates import agreed_middle, recommended_rate

Rule = Callable[[LrFinderResult, RunConfig, int], "float | None"]  # result, config, planned steps


def _curve(result: LrFinderResult) -> tuple[tuple[float, ...], tuple[float, ...]]:
    c = result.curves[0]
    return c.lrs, c.losses


def _suggestion(name: str) -> Rule:
    return lambda result, cfg, steps: result.suggestions.get(name)


RULES: dict[str, Rule] = {
    "headline": lambda result, cfg, steps: recommended_rate(result),
    "verified": lambda result, cfg, steps: None,  # read from a verified run instead (see rule_accuracy)
    "band_middle": lambda result, cfg, steps: agreed_middle(result),
    "valley": _suggestion("valley"),
    "steepest": _suggestion("steepest"),
    "min_div_10": _suggestion("min_div_10"),
    "torch_lr_finder": lambda result, cfg, steps: torch_lr_finder_steepest(*_curve(result)),
    "fastai_valley": lambda result, cfg, steps: fastai_valley(*_curve(result)),
}
PEERS = ("torch_lr_finder", "fastai_valley")


def _acc(runs: Runs, table: str, cfg: RunConfig) -> float:
    trial = runs.train(table, cfg)
    return 100.0 * trial.test_acc if trial.test_acc is not None and trial.status == "completed" else 0.0


def grid_accuracy(runs: Runs, table: str, budget: int, seeds: Sequence[int]) -> dict[float, float]:
    """Mean test accuracy (points) over the seeds at each grid rate."""
    return {lr: statistics.fmean(_acc(runs, table, grid_config(table, lr, budget, s)) for s in seeds) for lr in LR_GRID}


def _val(runs: Runs, table: str, cfg: RunConfig) -> float:
    trial = runs.train(table, cfg)
    return 100.0 * trial.best_val_acc if trial.best_val_acc is not None and trial.status == "completed" else 0.0


def noise_floor(runs: Runs, table: str, budget: int, seeds: Sequence[int], grid: dict[float, float]) -> float:
    """The regret of picking the grid's rate by validation accuracy, as a grid search would: how far test
    accuracy alone moves the goalposts on this table (its test split, its seeds)."""
    val = {lr: statistics.fmean(_val(runs, table, grid_config(table, lr, budget, s)) for s in seeds) for lr in LR_GRID}
    return max(grid.values()) - grid[max(val, key=lambda lr: val[lr])]


def rule_accuracy(
    runs: Runs, table: str, budget: int, seeds: Sequence[int], rules: dict[str, Rule]
) -> dict[str, tuple[float, list[float | None]]]:
    """Per rule: mean test accuracy over the seeds at the rule's rate, and the rates it chose (None: no
    suggestion, so the config's own rate is trained, as a user would)."""
    out: dict[str, tuple[float, list[float | None]]] = {}
    for name, rule in rules.items():
        accs, rates = [], []
        for s in seeds:
            cfg = grid_config(table, 1e-3, budget, s)
            steps = budget * steps_per_epoch(len(bundle(table).train), cfg)
            if name == "verified":
                rate = recommended_rate(runs.lr_finder(table, cfg, LrFinderSettings(verify=True)))
            else:
                rate = rule(runs.lr_finder(table, cfg), cfg, steps)
            rates.append(rate)
            accs.append(_acc(runs, table, cfg if rate is None else grid_config(table, float(rate), budget, s)))
        out[name] = (statistics.fmean(accs), rates)
    return out


def _rates_text(rates: list[float | None]) -> str:
    return ",".join("none" if r is None else f"{r:.2g}" for r in rates)


def measure(
    runs: Runs,
    tables: Sequence[str],
    seeds: Sequence[int],
    log: Callable[[str], None],
    rules: dict[str, Rule] | None = None,
    budgets: Sequence[int] = BUDGETS,
) -> list[str]:
    rules = rules or RULES
    regret: dict[tuple[str, int, str], float] = {}
    floor: dict[tuple[str, int], float] = {}
    for table in tables:
        for budget in budgets:
            grid = grid_accuracy(runs, table, budget, seeds)
            best_lr = max(grid, key=lambda lr: grid[lr])
            floor[(table, budget)] = noise_floor(runs, table, budget, seeds, grid)
            log(
                f"lr {table} {budget} ep grid: "
                + " ".join(f"{lr:g}:{acc:.2f}" for lr, acc in grid.items())
                + f" best {best_lr:g}; picked by validation: regret {floor[(table, budget)]:+.2f}"
            )
            for name, (acc, rates) in rule_accuracy(runs, table, budget, seeds, rules).items():
                regret[(table, budget, name)] = grid[best_lr] - acc
                gap = grid[best_lr] - acc
                log(f"lr {table} {budget} ep {name:16s} acc {acc:6.2f} regret {gap:+6.2f} rates {_rates_text(rates)}")
    return _summary(regret, tables, budgets, rules) + [_floor_line(floor, budgets)]


def _summary(
    regret: dict[tuple[str, int, str], float], tables: Sequence[str], budgets: Sequence[int], rules
) -> list[str]:
    lines = []
    for name in rules:
        parts = []
        for budget in budgets:
            values = [regret[(t, budget, name)] for t in tables]
            parts.append(f"{budget} ep mean {statistics.fmean(values):+.2f} max {max(values):+.2f}")
        lines.append(f"lr regret {name:16s} " + "; ".join(parts))
    real = [t for t in tables if t not in GENERATED]
    generated = [t for t in tables if t in GENERATED]
    for label, group in (("real tables", real), ("generated tables", generated)):
        if group:
            lines.append(_headline_line(regret, group, budgets, label))
    return lines


def _floor_line(floor: dict[tuple[str, int], float], budgets: Sequence[int]) -> str:
    parts = [
        f"{b} ep mean {statistics.fmean(v for (t, bb), v in floor.items() if bb == b):+.2f} "
        f"max {max(v for (t, bb), v in floor.items() if bb == b):+.2f}"
        for b in budgets
    ]
    return "lr regret grid picked by validation (the noise floor) " + "; ".join(parts)


def _headline_line(
    regret: dict[tuple[str, int, str], float], tables: Sequence[str], budgets: Sequence[int], label: str
) -> str:
    """The must-show line for one group of tables: the headline's worst regret at 20 epochs and at 3-5, the tables
    over each target, and the tables where its regret (mean over the budgets) is above the best peer rule's."""

    def mean(t: str, rule: str) -> float:
        return statistics.fmean(regret[(t, b, rule)] for b in budgets)

    long = {t: max(regret[(t, b, "headline")] for b in budgets if b >= 20) for t in tables}
    short = {t: max(regret[(t, b, "headline")] for b in budgets if b < 20) for t in tables}
    worse = [t for t in tables if mean(t, "headline") > min(mean(t, p) for p in PEERS) + 1e-9]
    over_long = [t for t, v in long.items() if v > 0.3]
    over_short = [t for t, v in short.items() if v > 1.0]
    return (
        f"lr headline on {len(tables)} {label}: worst regret {max(long.values()):+.2f} points at 20 epochs (target "
        f"<= 0.3; over it: {', '.join(over_long) or 'none'}), {max(short.values()):+.2f} at 3-5 epochs (target <= 1.0; "
        f"over it: {', '.join(over_short) or 'none'}); worse than the best peer rule (mean over the budgets) on "
        f"{len(worse)} ({', '.join(worse) or 'none'}; target <= 1)"
    )
