"""The underfitting rule: a training loss still high with a small gap to validation, and what holds it there.

The cause decides the advice, so it is named from what the run shows:
- the learning rate, when the loss never moved (fell less than MOVED_FRAC of the chance level over the run), or
  the rate is far outside the LR finder's band for this model, or the loss falls slowly with validation falling
  along (still learning what generalises, just slowly) and no band says the rate is sound;
- capacity (the model or its regularisation), only when the rate is sound: the loss moved, then levelled off, in a
  model narrower than TuneLab's defaults (or of unknown size);
- the budget, when both losses were still falling at a sound rate when the run ended.
A model at least as wide as the defaults that levelled off with validation following it fits as well as the data
allows (tables with noisy labels level off well above zero), and a training loss creeping down while validation
has stopped is learning the training set itself: neither is underfitting, and the other rules read those runs.
A high plateau at a rate far above the LR finder's band is labelled lr_too_high.
"""

from __future__ import annotations

import math

import numpy as np

from trainers.diagnosis.curves import Curves, first_finite, fit_line, tail_mean
from trainers.diagnosis.lr_band import RatePlace
from trainers.diagnosis.rules import (
    SLOPE_T,
    STALLED_LEVEL,
    UNDERFIT_LEVEL,
    Evidence,
    Finding,
    Reference,
    pct,
    window,
)
from trainers.spec.config import RunConfig

UNDERFIT_GAP = 0.25  # validation minus training loss below 25% of chance level is a "small gap"
SLOW_RATE = 0.05  # training loss falling less than 5% per epoch is slow
MOVED_FRAC = 0.05  # a training loss that fell less than 5% of chance level over the whole run never moved


def _log_line(c: Curves, name: str, w: int) -> tuple[float, float] | None:
    """(fraction lost per epoch, t statistic) of the loss over the last `w` epochs, on a log scale."""
    y = getattr(c, name)
    keep = np.isfinite(y) & (y > 0)
    line = fit_line(c.epochs[keep][-w:], np.log(y[keep][-w:]))
    return None if line is None else (-math.expm1(line.slope), line.t)


def _pace(c: Curves) -> tuple[str, float, int]:
    """How the training loss moves over the recent window: 'fast', 'slow' or 'stalled', and the rate per epoch."""
    w = window(int(np.isfinite(c.train_loss).sum()))
    line = _log_line(c, "train_loss", w)
    if line is None:
        return "fast", math.nan, w
    rate, t = line
    if t > -SLOPE_T:
        return "stalled", rate, w
    return ("slow" if rate < SLOW_RATE else "fast"), rate, w


def narrower_than_default(cfg: RunConfig | None) -> bool | None:
    """Whether the model is narrower than TuneLab's defaults (sized for the tasks it targets); None when unknown."""
    if cfg is None:
        return None
    m, default = cfg.model, RunConfig().model
    if m.family == "mlp":
        return m.hidden_units < default.hidden_units
    if m.family == "cnn":
        return m.cnn_channels < default.cnn_channels
    return False  # the torchvision families are far bigger than the data these runs see


def _cause(
    pace: str, level: float, fell: float, val_falling: bool, place: RatePlace | None, narrow: bool | None
) -> str | None:
    """'rate_low', 'rate_high', 'capacity', 'epochs', or None when the run is not underfitting."""
    if place is not None and place.where == "above":
        return "rate_high"
    if fell < MOVED_FRAC or (place is not None and place.where == "below"):
        return "rate_low"
    if pace == "stalled" or (pace == "slow" and (narrow or not val_falling)):
        # Levelled off, or creeping, at a sound rate. A model narrower than the defaults is held back by its size;
        # one at least as wide as them, with validation following training, fits as well as this data allows.
        return "capacity" if narrow or (narrow is None and pace == "stalled") else None
    if level < UNDERFIT_LEVEL or not val_falling:
        return None
    return "rate_low" if pace == "slow" and place is None else "epochs"


def _summary(cause: str, pace: str, level: float, fell: float, n: int, ref: Reference, place: RatePlace | None) -> str:
    head = f"Training loss is still {pct(level)} of {ref.text}"
    if cause == "rate_high":
        return f"{head} and {place.text if place else 'the rate is far too high'}: the steps overshoot."
    if cause == "rate_low" and place is not None and place.where == "below":
        return f"{head} and {place.text}: the learning rate is far too low."
    if cause == "rate_low" and fell < MOVED_FRAC:
        return f"{head}: it fell only {pct(fell)} of it in {n} epochs, so the learning rate is far too low."
    if cause == "rate_low":
        return f"{head} and it improves too slowly: the learning rate is likely too low."
    sound = f" ({place.text})" if place is not None else ""
    if cause == "capacity":
        stopped = "has stopped improving" if pace == "stalled" else "barely improves"
        return f"{head} and it {stopped} at a sound learning rate{sound}: the model or its regularisation limits it."
    still = "fast" if pace == "fast" else "slowly"
    return f"{head} and both losses were still falling {still}{sound} when the run ended: it needs more epochs."


def underfitting(
    c: Curves, ref: Reference, place: RatePlace | None = None, narrow: bool | None = None
) -> Finding | None:
    """Underfitting with its cause, or lr_too_high when the high plateau sits at a rate far above the LR finder's
    band; None when the run is not underfitting. `narrow`: the model is narrower than the defaults (None: unknown)."""
    train = c.train_loss
    n = int(np.isfinite(train).sum())
    level = tail_mean(train, 3) / ref.value
    gap = tail_mean(c.val_loss, 3) - tail_mean(train, 3)
    if not level >= STALLED_LEVEL or (math.isfinite(gap) and gap > UNDERFIT_GAP * ref.value):
        return None
    pace, rate, w = _pace(c)
    fell = (max(first_finite(train), ref.value) - tail_mean(train, 3)) / ref.value
    val = _log_line(c, "val_loss", w)
    cause = _cause(pace, level, fell, val is None or val[1] <= -SLOPE_T, place, narrow)
    if cause is None:
        return None
    moving = "is flat" if pace == "stalled" else f"falls {pct(rate)} per epoch"
    ev = [
        Evidence("train_loss_level", level, f"training loss ends at {pct(level)} of {ref.text}"),
        Evidence("fell", fell, f"over the run training loss fell {pct(fell)} of {ref.text}"),
        Evidence(
            "decrease_per_epoch",
            rate,
            f"over the last {w} epochs training loss {moving}"
            + (f" ({pct(rate)} per epoch)" if pace == "stalled" else ""),
        ),
    ]
    if place is not None:
        ev.append(Evidence("lr_band", place.rate, place.text))
    if math.isfinite(gap):
        ev.append(
            Evidence(
                "gap",
                gap,
                f"validation − training loss is {gap:.3g}, {pct(gap / ref.value)} of {ref.text}: a small gap",
            )
        )
    acc = tail_mean(c.train_acc, 3)
    if math.isfinite(acc):
        ev.append(Evidence("train_acc", acc, f"training accuracy {pct(acc)} over the last epochs"))
    far = place is not None and place.where != "sound"
    summary = _summary(cause, pace, level, fell, n, ref, place)
    if cause == "rate_high":  # the rate is the problem, and too high: the label says so
        return Finding("lr_too_high", summary, tuple(ev), facts={"severe": True, "rose_early": False})
    facts = {"pace": pace, "rate": rate, "cause": cause, "severe": fell < MOVED_FRAC or far}
    return Finding("underfitting", summary, tuple(ev), facts=facts)
