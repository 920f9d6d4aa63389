"""The learning-rate-too-high rule: a training loss that swings by more than a healthy run's noise, or rises.

A rate too high moves the weights far at every step, so the loss jumps from epoch to epoch on the training set and
on the fixed validation set alike, by a sizeable share of the chance level. A rate too low, or a model that has
stopped learning, leaves a flat curve whose small ups and downs are noise (dropout, the batch order): they may go
up in half the epochs, but by a tiny share of the chance level and with the validation loss smooth. So the rule
measures the scatter of each curve around its own trend (curves.scatter) against the chance level, and calls a
rise a rise only when it stands out of that scatter.
"""

from __future__ import annotations

import math

import numpy as np

from trainers.diagnosis.curves import Curves, scatter, smooth, tail_mean
from trainers.diagnosis.rules import SIZEABLE_SWING, UNDERFIT_LEVEL, Evidence, Finding, Reference, pct

OSC_AMP = SIZEABLE_SWING  # both losses scattering 2.5% of chance level per epoch: the weights jump
RISE_FRAC = 0.10  # training loss climbing 10% of chance level above its low is instability...
RISE_NOISE = 4.0  # ...when it is also 4 noise deviations of the curve: a flat noisy curve's bumps are not rises
EARLY_EPOCHS = 5  # "rises early" looks at this many first epochs
# A fresh model's loss sits within a few % of the chance level (its logits start nearly uniform); a first epoch that
# averaged 20% of chance level above both that and where the epoch ended went far above it on the way.
FIRST_EPOCH_ABOVE = 2 * RISE_FRAC


def _finite(y: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keep = np.isfinite(y)
    return x[keep], y[keep]


def _oscillation(c: Curves, ref: Reference) -> Evidence | None:
    """Both curves scatter by OSC_AMP of the reference around their trends (from the second epoch: the first
    epoch's fall is the curve's bend, not noise). Without validation losses the training loss alone decides."""
    train = scatter(c.train_loss[1:])
    val = scatter(c.val_loss[1:])
    if not (train >= OSC_AMP * ref.value) or (math.isfinite(val) and val < OSC_AMP * ref.value):
        return None
    _, y = _finite(c.train_loss[1:], c.epochs[1:])
    ups, steps = int((np.diff(y) > 0).sum()), len(y) - 1
    both = f" and validation loss by {val:.3g} ({pct(val / ref.value)})" if math.isfinite(val) else ""
    text = (
        f"training loss jumps by {train:.3g} from epoch to epoch ({pct(train / ref.value)} of {ref.text}, "
        f"up in {ups} of {steps} epochs){both}: the weights move too far at each step"
    )
    return Evidence("oscillation", float(train / ref.value), text)


def _rises(c: Curves, ref: Reference) -> list[Evidence]:
    """A rise from the smoothed low to the end, and a rise in the first epochs, each beyond the noise; or a first
    epoch whose average loss is above both the chance level (about where a fresh model starts) and the validation
    loss at its end: the loss went up on the way."""
    x, y = _finite(c.train_loss, c.epochs)
    noise = scatter(y[1:])
    least = max(RISE_FRAC * ref.value, RISE_NOISE * noise if math.isfinite(noise) else 0.0)
    s = smooth(y, 3)
    out: list[Evidence] = []
    low = int(np.argmin(s))
    if low < len(s) - 1 and s[-1] - s[low] >= least:
        text = f"smoothed training loss rose from {s[low]:.3g} at epoch {x[low]} to {s[-1]:.3g} at epoch {x[-1]}"
        out.append(Evidence("rise", float(s[-1] - s[low]), text))
    k = min(EARLY_EPOCHS, len(y))
    if k > 1 and float(np.max(s[1:k])) - y[0] >= least:
        top = 1 + int(np.argmax(s[1:k]))
        text = (
            f"training loss rose in the first epochs, from {y[0]:.3g} at epoch {x[0]} to {s[top]:.3g} by epoch {x[top]}"
        )
        out.append(Evidence("early_rise", float(s[top] - y[0]), text))
    elif ref.chance and y[0] - max(ref.value, _first_val(c)) >= FIRST_EPOCH_ABOVE * ref.value:
        text = (
            f"the first epoch's average training loss {y[0]:.3g} is {y[0] / ref.value:.3g}x {ref.text}, above where "
            "that epoch started and ended: the first steps threw the weights away"
        )
        out.append(Evidence("early_rise", float(y[0] - ref.value), text))
    return out


def _first_val(c: Curves) -> float:
    """The validation loss after the first epoch (where the epoch ended); -inf when there is none."""
    v = c.val_loss[:1]
    return float(v[0]) if v.size and np.isfinite(v[0]) else -math.inf


def lr_too_high(c: Curves, ref: Reference) -> Finding | None:
    x, y = _finite(c.train_loss, c.epochs)
    if len(y) < 3:
        return None
    osc = _oscillation(c, ref)
    ev = ([osc] if osc else []) + _rises(c, ref)
    if not ev:
        return None
    level = tail_mean(y, 3) / ref.value
    ev.append(Evidence("train_loss_level", level, f"training loss ends at {pct(level)} of {ref.text}"))
    return Finding(
        "lr_too_high",
        ev[0].text[0].upper() + ev[0].text[1:] + "; the steps overshoot.",
        tuple(ev),
        facts={"severe": level >= UNDERFIT_LEVEL, "rose_early": any(e.name == "early_rise" for e in ev)},
    )
