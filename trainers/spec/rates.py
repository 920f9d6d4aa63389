"""The engine's learning-rate rules, torch-free so the window applies the same ones: which fields set the rate a
run trains at, and which rate a range test recommends."""

from __future__ import annotations

import math
from typing import Any

from trainers.spec.budget_rate import budget_rate, budget_text, steady_rate, sweep_drop
from trainers.spec.config import RunConfig


def learning_rate_fields(schedule: str) -> tuple[str, ...]:
    """The fields that set the rate a run trains at: optim.lr, and under one-cycle its peak too (the peak, not
    optim.lr, sets one-cycle's pace; with both set, the rate is the same whatever the peak was)."""
    return ("optim.lr", "schedule.max_lr") if schedule == "one_cycle" else ("optim.lr",)


def with_learning_rate(cfg: RunConfig, rate: float) -> RunConfig:
    """`cfg` training at `rate` (validated: a ConfigError names the field when the rate is out of range)."""
    return cfg.replace(**dict.fromkeys(learning_rate_fields(cfg.schedule.name), float(rate)))


def agreed_middle(result: Any) -> float | None:
    """The geometric middle of the band a range test's suggestions agree on (the middle on the log axis the test
    sweeps along); None without a band. `result`: a LrFinderResult."""
    if result.agreed is None:
        return None
    lo, hi = result.agreed
    return math.sqrt(lo * hi)


def recommended_rate(result: Any) -> float | None:
    """The one rate a range test recommends: the rate its short training runs chose when it was verified, else
    the budget rate (trainers/spec/budget_rate.py: the steady rate scaled to the planned run), else (results
    stored before budgets were kept) the middle of the agreed band, else the valley; None without any. The
    store's column, the History table and the window's preferred choice all show this one."""
    verified = getattr(result, "verified", None)
    if verified is not None and verified.rate is not None:
        return float(verified.rate)
    planned = getattr(result, "planned_steps", None)
    if planned:
        low = result.suggestions.get("min_div_10")
        steady = steady_rate(result.suggestions, result.agreed)
        drop = sweep_drop([c.smoothed for c in result.curves])
        return budget_rate(steady, None if low is None else 10 * low, planned, result.schedule_mean, drop)
    middle = agreed_middle(result)
    return middle if middle is not None else result.suggestions.get("valley")


def recommendation_text(result: Any) -> str:
    """How the recommended rate was chosen, in one line (empty without a rate)."""
    rate = recommended_rate(result)
    if rate is None:
        return ""
    verified = getattr(result, "verified", None)
    if verified is not None and verified.rate is not None:
        return "chosen by short runs"
    if getattr(result, "planned_steps", None):
        steady = steady_rate(result.suggestions, result.agreed)
        drop = sweep_drop([c.smoothed for c in result.curves])
        return budget_text(steady or rate, rate, result.planned_steps, result.schedule_mean, drop)
    return "the middle of the agreed band" if result.agreed is not None else "the valley"
