"""Wording of a search for the window: samplers, pruners, states, values, parameters and outcomes.

Plain functions of the engine's events and result, shared by the table, the plots and the message line, so a
value reads the same everywhere.
"""

from __future__ import annotations

import math
from typing import Any

from app.training.run_panel import STATUS_KIND
from trainers.spec.config import RunConfig

SAMPLER_LABELS = {"tpe": "TPE", "random": "Random", "grid": "Grid", "cmaes": "CMA-ES", "gp": "Gaussian process"}
PRUNER_LABELS = {"median": "Median", "none": "None", "halving": "Successive halving", "hyperband": "Hyperband"}
MONITOR_LABELS = {"val_acc": "Validation accuracy (highest)", "val_loss": "Validation loss (lowest)"}
MONITOR_SHORT = {"val_acc": "validation accuracy", "val_loss": "validation loss"}
STATE_LABELS = {
    "running": "running",
    "complete": "complete",
    "pruned": "pruned",
    "failed": "failed",
    "stopped": "stopped",
}
STATE_COLOURS = {"running": "#1565c0", "pruned": "#8a5a00", "failed": "#b00020", "stopped": "#8a5a00"}
NONE = "—"


def maximised(monitor: str) -> bool:
    """Whether the search's monitor is better higher (the engine's ranking table says; read once the engine is
    loaded, which it is once a search reports or is read back)."""
    from trainers.api import RANK_METRICS

    return bool(RANK_METRICS.get(monitor, ("", True))[1])


def format_value(value: float | None) -> str:
    """A monitored value or a sampled number: four significant digits (0.9593, 0.0031, 1.2e-05)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return NONE
    return f"{value:.4g}"


def format_param(value: Any) -> str:
    if value is None:
        return NONE
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return format_value(value)
    return str(value)


def short_name(field: str) -> str:
    """ "optim.lr" → "lr": the name a column or an axis has room for."""
    return field.rpartition(".")[2]


def params_text(params: dict[str, Any]) -> str:
    return ", ".join(f"{short_name(k)} {format_param(v)}" for k, v in params.items())


def config_summary(cfg: RunConfig) -> str:
    return f"{cfg.data.source} · {cfg.model.family} · {cfg.optim.name} · {cfg.train.epochs} epochs"


def started_line(e: Any) -> str:
    """SearchStarted as one line."""
    budget = f"{e.trials} trials" if e.trials else "no trial limit"
    if e.timeout_s:
        budget += f", at most {e.timeout_s:g} s"
    workers = f", {e.workers} workers" if e.workers > 1 else ""
    return (
        f"Search {e.search_id}: {SAMPLER_LABELS.get(e.sampler, e.sampler)} sampler, "
        f"{PRUNER_LABELS.get(e.pruner, e.pruner).lower()} pruning, {budget} of up to {e.epochs} epochs{workers}, "
        f"optimising {MONITOR_SHORT.get(e.monitor, e.monitor)}"
    )


def counts_text(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {state}" for state, n in counts.items() if n) or "no trial finished"


def best_text(result: Any) -> str:
    if result.best_value is None:
        return "no trial completed"
    return (
        f"best {MONITOR_SHORT.get(result.monitor, result.monitor)} {format_value(result.best_value)} "
        f"(trial {result.best_trial_id}: {params_text(result.best_params)})"
    )


def describe_result(result: Any) -> tuple[str, str]:
    """A SearchResult as the line shown under Start, and its style."""
    head = f"Search {result.search_id} {result.status}"
    if result.status == "failed":
        return f"{head}: {result.message or 'no reason given'}", "error"
    line = f"{head} in {result.seconds:.1f} s: {counts_text(result.counts)}; {best_text(result)}."
    return line, STATUS_KIND.get(result.status, "info")


def describe_outcome(outcome: Any) -> tuple[str, str]:
    """The line shown when a search ends (outcome: app.worker.JobOutcome), and its style."""
    if outcome.result is None:
        return f"The search could not start: {outcome.error}", "error"
    return describe_result(outcome.result)
