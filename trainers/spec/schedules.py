"""Learning-rate schedules as pure functions of the step, so the loop, the preview plot and the
LR finder all compute the same numbers."""

from __future__ import annotations

import math

import numpy as np

from trainers.spec.config import RunConfig


def sched_lin(start: float, end: float, pos: float) -> float:
    return start + pos * (end - start)


def sched_cos(start: float, end: float, pos: float) -> float:
    return start + (1 + math.cos(math.pi * (1 - pos))) * (end - start) / 2


def sched_exp(start: float, end: float, pos: float) -> float:
    return start * (end / start) ** pos


def one_cycle_peak(cfg: RunConfig) -> float:
    return cfg.schedule.max_lr if cfg.schedule.max_lr > 0 else cfg.optim.lr


def scheduled_lr(cfg: RunConfig, step: int, steps_per_epoch: int, plateau_scale: float = 1.0) -> float:
    """Learning rate for the 0-based optimizer `step`; `plateau_scale` is reduce-on-plateau's state."""
    s = cfg.schedule
    base = cfg.optim.lr
    total = max(1, cfg.train.epochs * steps_per_epoch)
    epoch = step // max(1, steps_per_epoch)
    pos = min(1.0, step / total)
    if s.name == "constant":
        lr = base
    elif s.name == "step":
        lr = base * s.step_gamma ** (epoch // s.step_size)
    elif s.name == "exponential":
        lr = base * s.exp_gamma**epoch
    elif s.name == "cosine":
        lr = sched_cos(base, min(s.min_lr, base), pos)
    elif s.name == "one_cycle":
        peak = one_cycle_peak(cfg)
        start = peak / s.div_factor
        end = start / s.final_div_factor
        lr = (
            sched_cos(start, peak, pos / s.pct_start)
            if pos < s.pct_start
            else sched_cos(peak, end, (pos - s.pct_start) / (1 - s.pct_start))
        )
    elif s.name == "plateau":
        lr = max(base * plateau_scale, min(s.min_lr, base))
    else:  # validated config never gets here
        raise ValueError(s.name)
    warmup_steps = s.warmup_epochs * steps_per_epoch
    if warmup_steps > 0 and step < warmup_steps:
        lr *= (step + 1) / warmup_steps
    return lr


def schedule_preview(cfg: RunConfig, steps_per_epoch: int, points: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """(epoch positions, learning rates) over the planned run, for the form's preview plot.

    Reduce-on-plateau depends on validation results, so its preview is the undecayed rate."""
    total = max(1, cfg.train.epochs * steps_per_epoch)
    steps = np.unique(np.linspace(0, total - 1, min(points, total)).astype(np.int64))
    lrs = np.array([scheduled_lr(cfg, int(k), steps_per_epoch) for k in steps], dtype=np.float64)
    return steps / max(1, steps_per_epoch), lrs
