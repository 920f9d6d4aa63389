"""The rules that turn a run's curves into one label with its evidence.

Every rule reads smoothed values, least-squares slopes over windows, totals over many epochs and changes
relative to a reference loss (the chance level ln C when the number of classes is known), never one epoch
against the next, so the noise of a single epoch cannot flip a label. numpy and the standard library only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from trainers.diagnosis.curves import Curves, first_finite, fit_line, log_noise, smooth, tail_mean
from trainers.diagnosis.divergence import beyond_limit, chance_text

LABELS = ("diverged", "lr_too_high", "underfitting", "overfitting", "good_fit", "too_noisy")  # what curves say
FAILED = "failed"  # not a reading of the curves: a failed run says why it failed instead
TITLES = {
    FAILED: "failed",
    "diverged": "diverged",
    "lr_too_high": "learning rate too high",
    "underfitting": "learning rate too low or underfitting",
    "overfitting": "overfitting",
    "good_fit": "good fit",
    "too_noisy": "too noisy to tell",
}

MIN_EPOCHS = 3  # below three points no slope has an error estimate
RISE_FRAC = 0.10  # training loss climbing 10% of chance level above its low is instability, not noise
EARLY_EPOCHS = 5  # "rises early" looks at this many first epochs
OSC_FRAC = 0.05  # epoch-to-epoch rises of the training loss summing to 5% of chance level (healthy: <1.5%)
OSC_MIN_SHARE = 0.3  # ...in at least 30% of the epochs, so one bump is not called oscillation
UNDERFIT_LEVEL = 0.5  # training loss still at half of chance level or above has learned little
STALLED_LEVEL = 0.2  # a training loss no longer falling at 20% of chance level can still go much lower
UNDERFIT_GAP = 0.25  # validation minus training loss below 25% of chance level is a "small gap"
SLOW_RATE = 0.05  # training loss falling less than 5% per epoch is slow
PLATEAU_RATE = 0.01  # under 1% per epoch it has all but stopped, whatever the noise says
SLOPE_T = 2.0  # a slope under 2 standard errors is not told apart from flat
WIDE_ACC_GAP = 0.05  # training accuracy 5 points above validation: the model's variance is worth reducing
NOISY_VAL = 0.25  # validation loss scattering 25% from epoch to epoch hides any trend
# Losses of the sources whose class count is fixed: chance level is ln(classes).
SOURCE_CLASSES = {
    "digits": 10,
    "mnist": 10,
    "fashion_mnist": 10,
    "kmnist": 10,
    "cifar10": 10,
    "cifar100": 100,
    "svhn": 10,
}


@dataclass(frozen=True)
class Evidence:
    """One measured number behind a label, with a sentence saying what it means."""

    name: str
    value: float | int | None
    text: str


@dataclass(frozen=True)
class Finding:
    """A label, why, and facts the interventions use to rank themselves (pace, severity, ...)."""

    label: str
    summary: str
    evidence: tuple[Evidence, ...]
    onset_epoch: int | None = None
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Reference:
    """The loss scale the rules measure against."""

    value: float
    text: str


def reference(curves: Curves, num_classes: int | None) -> Reference:
    if num_classes and num_classes > 1:
        return Reference(math.log(num_classes), chance_text(num_classes))
    first = first_finite(curves.train_loss)
    return Reference(first if first > 0 else 1.0, f"the first epoch's loss {first:.3g}")


def pct(x: float) -> str:
    return f"{100 * x:.0f}%" if abs(x) >= 0.1 else f"{100 * x:.2g}%"


def _window(n: int) -> int:
    """The last third of the run, between 3 and 10 epochs: long enough to fit, short enough to be recent."""
    return max(3, min(10, n // 3))


def diverged(c: Curves, ref: Reference, status: str | None, step: int | None) -> Finding | None:
    ev: list[Evidence] = []
    if status == "diverged" or step is not None:
        ev.append(
            Evidence(
                "diverged_step",
                step,
                "the run stopped as diverged"
                + (f": the loss was not finite at step {step}" if step is not None else ""),
            )
        )
    for name in ("train_loss", "val_loss"):
        bad = sorted(set(c.nonfinite[name]) | set(c.gaps[name]))
        if bad:
            what = name.replace("_", " ").replace("val", "validation").replace("train", "training")
            ev.append(Evidence(f"{name}_nonfinite_epoch", bad[0], f"{what} was not finite at epoch {bad[0]}"))
    per_epoch = np.fmax(c.train_loss, c.val_loss)  # the larger of the two, ignoring a missing one
    if np.isfinite(per_epoch).any():
        peak = float(np.nanmax(per_epoch))
        if beyond_limit(peak, ref.value):  # the guard's rule (trainers/diagnosis/divergence.py)
            epoch = int(c.epochs[int(np.nanargmax(per_epoch))])
            ev.append(
                Evidence(
                    "max_loss",
                    peak,
                    f"the loss reached {peak:.3g} at epoch {epoch}, {peak / ref.value:.3g}x {ref.text}",
                )
            )
    if not ev:
        return None
    return Finding(
        "diverged", ev[0].text[0].upper() + ev[0].text[1:] + "; the weights blew up.", tuple(ev), facts={"severe": True}
    )


def failed(c: Curves, status: str | None, message: str) -> Finding | None:
    """A run that failed (bad data, out of memory, a crash) says why; its curves say nothing about its settings."""
    if status != "failed":
        return None
    why = message.strip() or "no reason was recorded"
    count = int(np.isfinite(c.train_loss).sum())
    ev = Evidence("epochs", count, f"{count} epoch(s) finished before the failure")
    return Finding(FAILED, f"The run failed: {why}", (ev,), facts={"reason": "failed"})


def too_few(c: Curves) -> Finding | None:
    count = int(np.isfinite(c.train_loss).sum())
    if count >= MIN_EPOCHS:
        return None
    ev = Evidence("epochs", count, f"{count} epoch(s) with a training loss; at least {MIN_EPOCHS} are needed")
    return Finding(
        "too_noisy", f"Only {count} epoch(s) so far: too few to read a trend.", (ev,), facts={"reason": "few_epochs"}
    )


def lr_too_high(c: Curves, ref: Reference) -> Finding | None:
    t = c.train_loss
    keep = np.isfinite(t)
    x, y = c.epochs[keep], t[keep]
    ev: list[Evidence] = []
    steps = np.diff(y[1:])  # from the second epoch on: the first epoch's big drop says nothing here
    rises = steps[steps > 0]
    if len(steps) >= 3 and rises.sum() >= OSC_FRAC * ref.value and len(rises) >= OSC_MIN_SHARE * len(steps):
        ev.append(
            Evidence(
                "oscillation",
                float(rises.sum() / ref.value),
                f"training loss went up in {len(rises)} of {len(steps)} epochs, by {rises.sum():.3g} "
                f"in total ({pct(rises.sum() / ref.value)} of {ref.text})",
            )
        )
    s = smooth(y, 3)
    low = int(np.argmin(s))
    if low < len(s) - 1 and s[-1] - s[low] >= RISE_FRAC * ref.value:
        ev.append(
            Evidence(
                "rise",
                float(s[-1] - s[low]),
                f"smoothed training loss rose from {s[low]:.3g} at epoch {x[low]} to {s[-1]:.3g} at epoch {x[-1]}",
            )
        )
    k = min(EARLY_EPOCHS, len(y))
    if k > 1 and float(np.max(s[1:k])) - y[0] >= RISE_FRAC * ref.value:
        top = 1 + int(np.argmax(s[1:k]))
        text = (
            f"training loss rose in the first epochs, from {y[0]:.3g} at epoch {x[0]} to {s[top]:.3g} by epoch {x[top]}"
        )
        ev.append(Evidence("early_rise", float(s[top] - y[0]), text))
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


def _pace(c: Curves) -> tuple[str, float, int]:
    """How the training loss moves over the recent window: 'fast', 'slow' or 'stalled', and the rate per epoch."""
    keep = np.isfinite(c.train_loss) & (c.train_loss > 0)
    x, y = c.epochs[keep], c.train_loss[keep]
    w = _window(len(y))
    line = fit_line(x[-w:], np.log(y[-w:]))
    if line is None:
        return "fast", math.nan, w
    rate = -math.expm1(line.slope)  # fraction of the loss lost per epoch
    if line.t > -SLOPE_T:
        return "stalled", rate, w
    return ("slow" if rate < SLOW_RATE else "fast"), rate, w


def underfitting(c: Curves, ref: Reference) -> Finding | None:
    level = tail_mean(c.train_loss, 3) / ref.value
    pace, rate, w = _pace(c)
    gap = tail_mean(c.val_loss, 3) - tail_mean(c.train_loss, 3)
    small_gap = not math.isfinite(gap) or gap <= UNDERFIT_GAP * ref.value
    barely_moving = pace == "stalled" or rate < PLATEAU_RATE
    if not small_gap or not (level >= UNDERFIT_LEVEL or (barely_moving and level >= STALLED_LEVEL)):
        return None
    moving = "is flat" if pace == "stalled" else f"falls {pct(rate)} per epoch"
    ev = [
        Evidence("train_loss_level", level, f"training loss ends at {pct(level)} of {ref.text}"),
        Evidence(
            "decrease_per_epoch",
            rate,
            f"over the last {w} epochs training loss {moving}"
            + (f" ({pct(rate)} per epoch)" if pace == "stalled" else ""),
        ),
    ]
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
    why = {
        "stalled": "it has stopped improving: the model or its regularisation limits it",
        "slow": "it improves too slowly: the learning rate is likely too low",
        "fast": "it was still falling fast when the run ended: it needs more epochs or a higher learning rate",
    }
    summary = f"Training loss is still {pct(level)} of {ref.text} and {why[pace]}."
    return Finding("underfitting", summary, tuple(ev), facts={"pace": pace, "rate": rate})


def fit_or_noise(c: Curves, ref: Reference) -> Finding:
    v, x = c.val_loss, c.epochs
    if np.isfinite(v).sum() < MIN_EPOCHS:
        few = Evidence("val_epochs", int(np.isfinite(v).sum()), "epochs with a validation loss")
        return Finding(
            "too_noisy",
            "Too few validation losses to tell overfitting from a good fit.",
            (few,),
            facts={"reason": "no_val"},
        )
    noise = log_noise(v[len(v) // 4 :])  # past the steep first quarter, where a healthy curve bends hardest
    if math.isfinite(noise) and noise >= NOISY_VAL:
        noisy = Evidence(
            "val_noise",
            noise,
            f"validation loss scatters {pct(noise)} from epoch to epoch after the first quarter of the run",
        )
        return Finding(
            "too_noisy", "Validation loss is too noisy to read a trend from.", (noisy,), facts={"reason": "val_noisy"}
        )
    best = int(np.nanargmin(v))
    w = _window(len(v))
    line = fit_line(x[-w:], v[-w:])
    improving = line is not None and line.t <= -SLOPE_T
    level = tail_mean(c.train_loss, 3) / ref.value
    ev: list[Evidence] = [
        Evidence("train_loss_level", level, f"training loss ends at {pct(level)} of {ref.text}"),
        Evidence(
            "val_best",
            float(v[best]),
            f"validation loss best {v[best]:.3g} at epoch {x[best]}, last {tail_mean(v, 1):.3g}",
        ),
    ]
    if line is not None:
        ev.append(
            Evidence(
                "val_slope",
                line.slope,
                f"validation loss slope over the last {w} epochs: "
                f"{line.slope:+.3g} per epoch ({line.t:+.1f} standard errors)",
            )
        )
    if math.isfinite(noise):
        ev.append(Evidence("val_noise", noise, f"validation loss scatters {pct(noise)} from epoch to epoch"))
    acc_gap = tail_mean(c.train_acc, 3) - tail_mean(c.val_acc, 3)
    wide = math.isfinite(acc_gap) and acc_gap >= WIDE_ACC_GAP
    if math.isfinite(acc_gap):
        ev.append(
            Evidence(
                "acc_gap",
                acc_gap,
                f"training accuracy is {100 * acc_gap:.1f} points above validation "
                f"accuracy" + (": a wide gap, more data or regularisation may help" if wide else ""),
            )
        )
    more = " and is still improving" if improving else ""
    summary = f"Training loss fell to {pct(level)} of {ref.text}; validation loss follows it{more}."
    return Finding("good_fit", summary, tuple(ev), facts={"improving": improving, "wide_gap": wide})
