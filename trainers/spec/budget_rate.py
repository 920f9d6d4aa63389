"""The learning rate for the run the user is about to train, read from a range test and the run's budget.

The agreed band (or, where the suggestions do not agree, the middle one of them) is where the loss falls
steadily during the sweep: a rate that trains well when the run is long enough to converge. A shorter run has
fewer steps to cover the same distance, so the rate scales up by full steps / planned steps (the same rate ×
steps), and never beyond a third of the rate at the sweep's loss minimum, past which the loss blows up. How many
steps are "enough" depends on the task: the sweep shows it. A task whose loss the sweep cut by three quarters
converges in a few hundred steps; one whose loss fell by a quarter (noisy labels, a hard boundary) keeps gaining
from a larger rate for thousands of steps. So full steps = REFERENCE_STEPS / drop², drop being the share of the
starting loss the sweep removed. A schedule that decays (cosine, step, one-cycle, warmup) trains at a lower mean
rate than its peak, so the peak is raised by the schedule's mean multiplier, under the same ceiling.
Measured by tests/bench/bench_advice.py on digits and five real tables at 3, 5 and 20 epochs (torch-free).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from trainers.spec.config import RunConfig
from trainers.spec.schedules import scheduled_lr

REFERENCE_STEPS = 200.0  # a task the sweep solves outright (drop 1) converges at the band's rate in this many steps
FULL_STEPS = 500  # the full run length when the drop is unknown (the drop of a typical task, about 0.63)
MIN_DROP, MAX_FULL_STEPS = 0.1, 20_000  # a sweep that barely moved the loss says little more than "long"
EDGE_DIVISOR = 3.0  # the ceiling: a third of the rate at the sweep's loss minimum
MEAN_SAMPLES = 2000  # steps sampled to average a schedule (a long run's mean needs no more)


def steps_per_epoch(train_samples: int, cfg: RunConfig) -> int:
    """Optimizer steps in one epoch of `cfg` over `train_samples` training rows (the last batch included)."""
    return max(1, math.ceil(train_samples / cfg.train.batch_size))


def schedule_mean(cfg: RunConfig, per_epoch: int) -> float:
    """The mean learning rate over the planned run as a fraction of the rate field (1.0 when constant).
    Reduce-on-plateau depends on validation results and counts as constant."""
    if cfg.schedule.name in ("constant", "plateau") and cfg.schedule.warmup_epochs == 0:
        return 1.0
    total = max(1, cfg.train.epochs * per_epoch)
    peak = cfg.schedule.max_lr if cfg.schedule.name == "one_cycle" and cfg.schedule.max_lr > 0 else cfg.optim.lr
    stride = max(1, total // MEAN_SAMPLES)
    rates = [scheduled_lr(cfg, step, per_epoch) for step in range(0, total, stride)]
    return min(1.0, max(1e-6, sum(rates) / len(rates) / peak))


def steady_rate(suggestions: dict[str, float | None], agreed: tuple[float, float] | None) -> float | None:
    """The rate a long run trains well at: the geometric middle of the agreed band, else the middle of the
    suggestions on a log scale (the valley alone is often far below the others)."""
    if agreed is not None:
        return math.sqrt(agreed[0] * agreed[1])
    found = sorted(v for v in suggestions.values() if v is not None and v > 0)
    if not found:
        return None
    a, b = found[(len(found) - 1) // 2], found[len(found) // 2]
    return math.sqrt(a * b)


def sweep_drop(smoothed_curves: Sequence[Sequence[float]]) -> float | None:
    """The share of its starting loss the sweep removed (median over the repeats): 1 - lowest / first smoothed
    loss, past the first tenth of the points; None without a usable curve."""
    drops = []
    for curve in smoothed_curves:
        finite = [v for v in curve if math.isfinite(v)]
        if len(finite) >= 5 and finite[0] > 0:
            drops.append(1.0 - min(finite[len(finite) // 10 :]) / finite[0])
    if not drops:
        return None
    drops.sort()
    return drops[len(drops) // 2]


def full_steps(drop: float | None) -> float:
    """The run length at which the steady rate is the right one, from how much of the loss the sweep removed."""
    if drop is None:
        return float(FULL_STEPS)
    return min(MAX_FULL_STEPS, REFERENCE_STEPS / max(MIN_DROP, min(1.0, drop)) ** 2)


def budget_rate(
    steady: float | None,
    loss_min_rate: float | None,
    planned_steps: int,
    mean_multiplier: float = 1.0,
    drop: float | None = None,
) -> float | None:
    """The rate to train at: `steady` (the band's middle, else the middle suggestion) scaled to `planned_steps`
    against full_steps(drop) and to the schedule's mean multiplier, capped at a third of `loss_min_rate`. None
    without a steady rate."""
    if steady is None or steady <= 0:
        return None
    rate = steady * max(1.0, full_steps(drop) / max(1, planned_steps)) / max(mean_multiplier, 1e-6)
    if loss_min_rate is not None and loss_min_rate > 0:
        rate = min(rate, max(steady, loss_min_rate / EDGE_DIVISOR))
    return rate


def budget_text(
    steady: float, rate: float, planned_steps: int, mean_multiplier: float, drop: float | None = None
) -> str:
    """Why the headline differs from the band: one line for the window and the CLI."""
    full = round(full_steps(drop))
    if math.isclose(rate, steady, rel_tol=1e-9):
        return f"the band's middle {steady:.2g}: {planned_steps} planned steps are enough at that rate"
    parts = [f"{planned_steps} planned steps (this task needs about {full})"] if planned_steps < full else []
    if mean_multiplier < 1:
        parts.append(f"a schedule averaging {mean_multiplier:.0%} of its peak")
    return f"{rate:.2g}, up from the band's {steady:.2g} for " + " and ".join(parts or ["the budget"])
