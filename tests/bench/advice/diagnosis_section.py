"""Diagnosis: labelled runs with a known cause on every table, the confusion table, and the outcome of following
each pathological run's top intervention.

One recipe per label, the same on every table (only the seed changes):
- lr_too_high: Adam at 0.1, about 100x the rates the LR finder recommends for these models (its band sits near
  1e-3). A "diverged" diagnosis is right too: the loss blew up at that rate.
- lr_too_low: Adam at 1e-6, 20 epochs: the flat, noisy curve the issue showed (its loss moves about 1% of the chance
  level). Right only when the diagnosis is underfitting blamed on the rate.
- overfitting: the default 2 x 256 MLP (a big model for 30% of the training split), no dropout, no weight decay, Adam
  at 3e-3 (it memorises that share within a few epochs) for 60 epochs. Tables whose classes are easily separated
  give it nothing to memorise: a run whose last five validation losses do not all sit OVERFIT_MARGIN above the best
  before them did not overfit; it is listed and left out.
- good_fit: the defaults with early stopping (patience 5, restoring the best weights), up to 40 epochs: the run ends
  five epochs past its best validation loss, so the reported curve ends near the best and the kept weights are the
  best ones; the defaults neither over- nor underfit at that point.
- capacity: one hidden layer of 2 units, no dropout, at Adam 1e-2 (inside the LR finder's band for that model on
  these tables), 40 epochs: long enough to level off. Right only when the diagnosis is underfitting blamed on
  capacity. A tiny model is only capacity-limited where the task needs more: each run has a control, the same run
  256 units wide, and a run whose control's validation accuracy is not CAPACITY_POINTS and CAPACITY_SAMPLES samples
  higher is not capacity-limited there; it is listed and left out.

Diagnoses go through the store (diagnose_trial), so a range test on the same table, model and optimizer gives the
LR finder's band: one is run on each table's default config first, as a user who tuned the rate would have; the
count without any band (diagnose_record without the store) is printed beside it. The top intervention is applied
with apply_intervention ("lr_finder": a range test on the diagnosed run's own config, then its recommended rate) and
the run trained again with the same seed: it improved when the kept epoch's validation accuracy rose, and the label
cleared when the new run is diagnosed a good fit.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from advice.runs import Runs
from advice.tables import base_config, bundle
from trainers.api import apply_intervention, diagnose_record, diagnose_trial
from trainers.spec.config import RunConfig
from trainers.spec.errors import ConfigError
from trainers.store.records import TrialRecord

CAPACITY_POINTS = 2.0  # the wide control's validation accuracy 2 points higher...
CAPACITY_SAMPLES = 3  # ...and at least 3 validation samples more right (one or two are noise on a small table)
OVERFIT_MARGIN = 0.10  # the last five validation losses 10% above the best before them: worse on unseen data
CONTROL_UNITS = 256


@dataclass(frozen=True)
class Recipe:
    right: tuple[str, ...]  # diagnoses that name the cause ("underfitting:<cause>" for underfitting)
    changes: dict[str, object]


RECIPES: dict[str, Recipe] = {
    "lr_too_high": Recipe(("lr_too_high", "diverged"), {"optim.lr": 0.1, "train.epochs": 20}),
    "lr_too_low": Recipe(("underfitting:rate_low",), {"optim.lr": 1e-6, "train.epochs": 20}),
    "overfitting": Recipe(
        ("overfitting",),
        {
            "optim.lr": 3e-3,
            "train.epochs": 60,
            "data.train_fraction": 0.3,
            "model.dropout": 0.0,
            "optim.weight_decay": 0.0,
        },
    ),
    "good_fit": Recipe(("good_fit",), {"train.epochs": 40, "early_stop.enabled": True, "early_stop.patience": 5}),
    "capacity": Recipe(
        ("underfitting:capacity",),
        {
            "optim.lr": 1e-2,
            "train.epochs": 40,
            "model.hidden_layers": 1,
            "model.hidden_units": 2,
            "model.dropout": 0.0,
        },
    ),
}
PATHOLOGICAL = ("lr_too_high", "lr_too_low", "overfitting", "capacity")


def diagnosis_name(d) -> str:
    """The label, and for underfitting the cause it blames: rate_low, rate_high, capacity or epochs."""
    return f"{d.label}:{d.cause}" if d.label == "underfitting" and d.cause else d.label


def _kept_acc(trial: TrialRecord) -> float:
    """The kept epoch's validation accuracy in points; a run that kept nothing (diverged at once) scores 0."""
    return 100.0 * trial.best_val_acc if trial.best_val_acc is not None else 0.0


@dataclass
class Outcome:
    table: str
    seed: int
    label: str
    diagnosis: str
    diagnosis_without_band: str
    top: str = ""
    acc_before: float = math.nan
    acc_after: float = math.nan
    after: str = ""
    note: str = ""

    @property
    def right(self) -> bool:
        return self.diagnosis in RECIPES[self.label].right

    @property
    def right_without_band(self) -> bool:
        return self.diagnosis_without_band in RECIPES[self.label].right

    @property
    def improved(self) -> bool:
        return self.acc_after > self.acc_before

    @property
    def cleared(self) -> bool:
        return self.after == "good_fit"


def _config(table: str, label: str, seed: int) -> RunConfig:
    return base_config(table, **{"train.seed": seed, **RECIPES[label].changes})


def _follow(runs: Runs, table: str, cfg: RunConfig, d, out: Outcome) -> None:
    """Apply the top intervention, train again with the same seed, diagnose the new run."""
    if not d.interventions:
        out.note = "no intervention offered"
        return
    item = d.interventions[0]
    out.top = item.key
    try:
        result = runs.lr_finder(table, cfg) if item.key == "lr_finder" else None
        new_cfg = apply_intervention(cfg, item, result)
    except ConfigError as e:
        out.note = f"not applied: {e}"
        return
    if new_cfg == cfg:
        out.note = f"{item.key} changes no field (not a retrain)"
        return
    trial = runs.train(table, new_cfg)
    out.acc_after = _kept_acc(trial)
    out.after = diagnosis_name(diagnose_trial(runs.store, trial.id))


def _capacity_limited(runs: Runs, table: str, cfg: RunConfig, trial: TrialRecord) -> tuple[bool, str]:
    control = runs.train(table, cfg.replace(**{"model.hidden_units": CONTROL_UNITS}))
    gain = _kept_acc(control) - _kept_acc(trial)
    samples = round(gain / 100 * len(bundle(table).val))
    limited = gain >= CAPACITY_POINTS and samples >= CAPACITY_SAMPLES
    return limited, f"val acc {_kept_acc(trial):.1f} vs {_kept_acc(control):.1f} at {CONTROL_UNITS} units"


def _overfit(runs: Runs, trial: TrialRecord) -> tuple[bool, str]:
    """Every one of the last five validation losses sits OVERFIT_MARGIN above the best before them."""
    val = [e.val_loss for e in runs.store.epochs(trial.id) if e.val_loss is not None and math.isfinite(e.val_loss)]
    if len(val) < 10:
        return True, "too few epochs to check"
    end, low = min(val[-5:]), min(val[:-5])
    return end >= (1 + OVERFIT_MARGIN) * low, f"last 5 val losses from {end:.3g}, best before them {low:.3g}"


def _produced(runs: Runs, table: str, label: str, cfg: RunConfig, trial: TrialRecord) -> tuple[bool, str]:
    """Whether the recipe produced its condition on this table (checked without the diagnosis)."""
    if label == "capacity":
        return _capacity_limited(runs, table, cfg, trial)
    if label == "overfitting":
        return _overfit(runs, trial)
    return True, ""


def _run_one(runs: Runs, table: str, seed: int, label: str) -> Outcome:
    cfg = _config(table, label, seed)
    trial = runs.train(table, cfg)
    d = diagnose_trial(runs.store, trial.id)
    bare = diagnose_record(trial, runs.store.epochs(trial.id))
    out = Outcome(table, seed, label, diagnosis_name(d), diagnosis_name(bare), acc_before=_kept_acc(trial))
    produced, why = _produced(runs, table, label, cfg, trial)
    if not produced:
        out.note = f"not {label} here ({why}): left out"
    elif label in PATHOLOGICAL:
        _follow(runs, table, cfg, d, out)
    return out


def measure(runs: Runs, tables: Sequence[str], seeds: Sequence[int], log: Callable[[str], None]) -> list[str]:
    outcomes: list[Outcome] = []
    left_out: list[Outcome] = []
    for table in tables:
        for seed in seeds:
            runs.lr_finder(table, base_config(table, **{"train.seed": seed}))  # the band a tuned user has
            for label in RECIPES:
                out = _run_one(runs, table, seed, label)
                (left_out if out.note.endswith("left out") else outcomes).append(out)
                log(_line(out))
    _log_confusion(outcomes, log)
    _log_by_label(outcomes, log)
    return _summary(outcomes, left_out)


def _line(o: Outcome) -> str:
    mark = "right" if o.right else "WRONG"
    text = f"diag {o.table} s{o.seed} {o.label:12s} -> {o.diagnosis:22s} {mark}"
    if o.diagnosis_without_band != o.diagnosis:
        text += f" (without band: {o.diagnosis_without_band})"
    if o.top:
        text += f"; top {o.top}: val acc {o.acc_before:.1f} -> {o.acc_after:.1f}, now {o.after or '-'}"
    return text + (f" [{o.note}]" if o.note else "")


def _log_confusion(outcomes: list[Outcome], log: Callable[[str], None]) -> None:
    names = sorted({o.diagnosis for o in outcomes})
    counts = Counter((o.label, o.diagnosis) for o in outcomes)
    width = max(len(n) for n in names) if names else 8
    log("diag confusion (rows: the recipe's label; columns: the diagnosis)")
    log(" " * 14 + " ".join(f"{n:>{width}s}" for n in names))
    for label in RECIPES:
        log(f"{label:14s}" + " ".join(f"{counts[(label, n)] or '.':>{width}}" for n in names))


def _log_by_label(outcomes: list[Outcome], log: Callable[[str], None]) -> None:
    for label in PATHOLOGICAL:
        rows = [o for o in outcomes if o.label == label]
        if rows:
            tops = Counter(o.top or "-" for o in rows)
            log(
                f"diag {label}: right {sum(o.right for o in rows)}/{len(rows)}; top "
                + ", ".join(f"{k} x{v}" for k, v in tops.items())
                + f"; val acc rose {sum(o.improved for o in rows)}/{len(rows)}, cleared {sum(o.cleared for o in rows)}"
            )


def _pct(a: int, b: int) -> str:
    return f"{100 * a / b:.1f} %" if b else "n/a"


def _summary(outcomes: list[Outcome], left_out: list[Outcome]) -> list[str]:
    n, everyone = len(outcomes), outcomes + left_out
    right = sum(o.right for o in outcomes)
    bare = sum(o.right_without_band for o in outcomes)
    every = sum(o.right for o in everyone)
    sick = [o for o in outcomes if o.label in PATHOLOGICAL]
    rose, cleared = sum(o.improved for o in sick), sum(o.cleared for o in sick)
    return [
        f"diagnosis: {right}/{n} labels right ({_pct(right, n)}; target >= 95 %); without the LR finder's band "
        f"{bare}/{n} ({_pct(bare, n)}); {len(left_out)} runs left out where the recipe did not produce its "
        f"condition (counting them under the recipe's label: {every}/{len(everyone)}, {_pct(every, len(everyone))})",
        f"interventions: val acc rose in {rose}/{len(sick)} pathological runs ({_pct(rose, len(sick))}; target "
        f">= 80 %), label cleared in {cleared}/{len(sick)} ({_pct(cleared, len(sick))}; target >= 60 %)",
    ]
