"""Ensembles: does the ensemble TuneLab builds beat simply using the best trial?

The pool on a table is every stored training trial on its data (what a user's History holds after tuning): the
20-epoch learning-rate grid is trained here if the LR section has not (cached runs are read back), plus five
default runs (seeds 0-4), and whatever else the store holds on that table (the LR section's 3- and 5-epoch grid
and rule runs, the diagnosis section's runs on the same data), capped like the window's at the best 50 by
validation accuracy. On each table, with trainers.api.run_ensemble on the benchmark's store:

- greedy selection (Caruana et al. 2004; the window's default) over the pool;
- soft voting of the top 3 and the top 5; stacking of the top 5 (which falls back to the soft vote when its
  out-of-fold validation accuracy trails the vote's);
- the best member by validation accuracy (what History ranks first: the trial a user would otherwise take), the
  best member by test accuracy (an oracle no user has), and the mean test accuracy of the members greedy kept.

"Best member" in the summary is the first by validation accuracy (ties to the lower validation loss).
All accuracies are on the test split, which no choice above ever sees.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from advice.runs import Runs
from advice.tables import LR_GRID, base_config, bundle, grid_config
from trainers.api import EnsembleResult, EnsembleSettings, run_ensemble
from trainers.ensembles.stored_members import USABLE_STATUSES, checkpoint_of, data_key
from trainers.store.records import TrialRecord

POOL = EnsembleSettings().pool  # the window's cap on the trials greedy selection chooses among
DEFAULT_SEEDS = range(5)


@dataclass(frozen=True)
class TableOutcome:
    table: str
    pool: int
    greedy: float  # test accuracy, points
    kept: int  # distinct trials greedy selection kept
    best_by_val: float
    best_by_test: float
    member_mean: float  # mean over the trials greedy kept
    soft3: float
    soft5: float
    stack5: float
    stack_shown: bool  # stacking is the result (not replaced by the vote)
    stack_trailing_shown: bool  # shown although its out-of-fold accuracy trails the vote's


def measure(runs: Runs, tables: Sequence[str], seeds: Sequence[int], log: Callable[[str], None]) -> list[str]:
    outcomes = []
    for table in tables:
        _ensure_pool(runs, table, seeds)
        pool = pool_trials(runs, table)
        if len(pool) < 5:
            log(f"ens {table}: only {len(pool)} usable trials, left out")
            continue
        outcomes.append(_measure_table(runs, table, pool, log))
    return _summary(outcomes)


def _ensure_pool(runs: Runs, table: str, seeds: Sequence[int]) -> None:
    for lr in LR_GRID:
        for seed in seeds:
            runs.train(table, grid_config(table, lr, 20, seed))
    for seed in DEFAULT_SEEDS:
        runs.train(table, base_config(table, **{"train.seed": seed}))


def pool_trials(runs: Runs, table: str) -> list[TrialRecord]:
    """Usable training trials on the table's data, best validation accuracy first (ties: lower loss), capped."""
    key = data_key(base_config(table).to_dict())
    usable = [
        t
        for t in runs.store.list_trials(kind="train", status=USABLE_STATUSES)
        if t.best_val_acc is not None and checkpoint_of(t) is not None and data_key(t.config) == key
    ]
    usable.sort(key=lambda t: (-t.best_val_acc, t.best_val_loss if t.best_val_loss is not None else 1e9, t.id))
    return usable[:POOL]


def _build(runs: Runs, table: str, method: str, trials: list[TrialRecord]) -> EnsembleResult:
    settings = EnsembleSettings(method=method, trials=", ".join(str(t.id) for t in trials))
    result = run_ensemble(settings, store=runs.store, bundle=bundle(table))
    if result.status != "completed" or result.ensemble is None or result.ensemble.test_acc is None:
        raise RuntimeError(f"{method} on {table} {result.status}: {result.message}")
    return result


def _pts(result: EnsembleResult) -> float:
    assert result.ensemble is not None and result.ensemble.test_acc is not None
    return 100.0 * result.ensemble.test_acc


def _measure_table(runs: Runs, table: str, pool: list[TrialRecord], log: Callable[[str], None]) -> TableOutcome:
    greedy = _build(runs, table, "greedy-selection", pool)
    soft3, soft5 = _build(runs, table, "soft-vote", pool[:3]), _build(runs, table, "soft-vote", pool[:5])
    stack5 = _build(runs, table, "stacking", pool[:5])
    first = greedy.best_single  # the engine's: first by validation accuracy, ties to its own lower val loss
    assert first is not None and first.val_acc == pool[0].best_val_acc
    tests = [100.0 * t.test_acc for t in pool if t.test_acc is not None]
    shown = stack5.method == "stacking"
    assert stack5.ensemble is not None and soft5.ensemble is not None
    # stacking shown: its validation score is out of fold; the vote of the same five fits nothing
    trailing = shown and (stack5.ensemble.val_acc or 0.0) < (soft5.ensemble.val_acc or 0.0)
    out = TableOutcome(
        table,
        len(pool),
        _pts(greedy),
        len(greedy.members),
        100.0 * (first.test_acc or 0.0),
        max(tests),
        statistics.fmean(100.0 * (m.test_acc or 0.0) for m in greedy.members),
        _pts(soft3),
        _pts(soft5),
        _pts(stack5),
        shown,
        trailing,
    )
    log(
        f"ens {table}: pool {out.pool}; test acc: greedy {out.greedy:.2f} ({out.kept} kept, "
        f"{sum(int(m.weight or 0) for m in greedy.members)} picks), soft vote top 3 {out.soft3:.2f}, top 5 "
        f"{out.soft5:.2f}, stacking top 5 {out.stack5:.2f} ({'stacking' if shown else 'soft vote'} shown); best "
        f"member by val {out.best_by_val:.2f} (#{first.trial_id}), by test {out.best_by_test:.2f}, mean of greedy's "
        f"members {out.member_mean:.2f}, of the pool {statistics.fmean(tests):.2f}"
    )
    log(f"ens {table}: stacking: {stack5.message}")
    return out


def _span(values: list[float]) -> str:
    return f"{min(values):+.2f}…{max(values):+.2f}" if values else "-"


def _summary(outcomes: list[TableOutcome]) -> list[str]:
    n = len(outcomes)
    over_best = [o.greedy - o.best_by_val for o in outcomes]
    at_least = sum(g >= -1e-9 for g in over_best)
    above = sum(g > 1e-9 for g in over_best)
    shown = sum(o.stack_shown for o in outcomes)
    trailing_shown = sum(o.stack_trailing_shown for o in outcomes)
    ok = n > 0 and at_least == n and above >= 2 and trailing_shown == 0
    return [
        f"ensembles: greedy selection ≥ best member (first by validation accuracy) on {at_least}/{n} tables, above "
        f"it on {above} (test gain over it {_span(over_best)} points, over the mean of its members "
        f"{_span([o.greedy - o.member_mean for o in outcomes])}, over the best member by test (oracle) "
        f"{_span([o.greedy - o.best_by_test for o in outcomes])})",
        f"ensembles: soft vote top 3 vs best member {_span([o.soft3 - o.best_by_val for o in outcomes])}, top 5 "
        f"{_span([o.soft5 - o.best_by_val for o in outcomes])}; stacking top 5 "
        f"{_span([o.stack5 - o.best_by_val for o in outcomes])}, shown as the result on {shown}/{n} tables "
        f"(the vote on the rest), shown {trailing_shown} times while its out-of-fold accuracy trailed soft voting",
        f"ensembles must-show: selected ensemble ≥ best member on every table and above it on ≥ 2; stacking never "
        f"shown while trailing: {'yes' if ok else 'NO'}",
    ]
