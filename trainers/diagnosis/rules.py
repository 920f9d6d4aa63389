"""The rules that turn a run's curves into one label with its evidence: the labels, the loss scale, and the rules
for a failed, diverged, too short or healthy run (the learning-rate and underfitting rules have files of their own).

Every rule reads smoothed values, least-squares slopes over windows, noise estimated from the curve itself and
changes relative to a reference loss (the chance level ln C when the number of classes is known), never one epoch
against the next, so the noise of a single epoch cannot flip a label. numpy and the standard library only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from trainers.diagnosis.curves import Curves, first_finite, fit_line, log_noise, scatter, tail_mean
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
UNDERFIT_LEVEL = 0.5  # training loss still at half of chance level or above has learned little
STALLED_LEVEL = 0.2  # a training loss no longer falling at 20% of chance level can still go much lower
SLOPE_T = 2.0  # a slope under 2 standard errors is not told apart from flat
WIDE_ACC_GAP = 0.05  # training accuracy 5 points above validation: the model's variance is worth reducing
NOISY_VAL = 0.25  # validation loss scattering 25% from epoch to epoch hides any trend...
# ...when the scatter is also sizeable against the chance level: a loss swinging 2.5% of chance level from epoch to
# epoch moves for real (healthy runs measured here stay under 1%), while 25% of a loss near zero hides nothing.
SIZEABLE_SWING = 0.025
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
    chance: bool = True  # False: no class count, so the first epoch's loss stands in for the chance level


def reference(curves: Curves, num_classes: int | None) -> Reference:
    """ln(num_classes), the loss of a uniform guess; only without any class count the first epoch's loss."""
    if num_classes and num_classes > 1:
        return Reference(math.log(num_classes), chance_text(num_classes))
    first = first_finite(curves.train_loss)
    return Reference(first if first > 0 else 1.0, f"the first epoch's loss {first:.3g}", chance=False)


def pct(x: float) -> str:
    return f"{100 * x:.0f}%" if abs(x) >= 0.1 else f"{100 * x:.2g}%"


def window(n: int) -> int:
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


def val_noise(v: np.ndarray, ref: Reference) -> tuple[float, bool]:
    """The validation loss's relative scatter (log_noise), and whether it hides any trend: NOISY_VAL of the loss
    itself and SIZEABLE_SWING of the reference loss."""
    noise = log_noise(v)
    return noise, bool(noise >= NOISY_VAL and scatter(v) >= SIZEABLE_SWING * ref.value)


def _too_noisy(c: Curves, ref: Reference) -> Finding | None:
    """Too few validation losses, or so noisy that no trend can be read from them."""
    v = c.val_loss
    if np.isfinite(v).sum() < MIN_EPOCHS:
        few = Evidence("val_epochs", int(np.isfinite(v).sum()), "epochs with a validation loss")
        return Finding(
            "too_noisy",
            "Too few validation losses to tell overfitting from a good fit.",
            (few,),
            facts={"reason": "no_val"},
        )
    noise, hides = val_noise(v[len(v) // 4 :], ref)  # past the steep first quarter, where a healthy curve bends hardest
    if not hides:
        return None
    text = f"validation loss scatters {pct(noise)} from epoch to epoch after the first quarter of the run"
    return Finding(
        "too_noisy",
        "Validation loss is too noisy to read a trend from.",
        (Evidence("val_noise", noise, text),),
        facts={"reason": "val_noisy"},
    )


def fit_or_noise(c: Curves, ref: Reference, kept: int | None = None) -> Finding:
    """Good fit, or too noisy to tell. `kept`: the epoch early stopping kept the weights of (named in the evidence)."""
    noisy = _too_noisy(c, ref)
    if noisy is not None:
        return noisy
    v, x = c.val_loss, c.epochs
    best = int(np.nanargmin(v))
    w = window(len(v))
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
    noise = log_noise(v[len(v) // 4 :])
    if math.isfinite(noise):
        ev.append(Evidence("val_noise", noise, f"validation loss scatters {pct(noise)} from epoch to epoch"))
    if kept is not None:
        text = f"early stopping keeps the weights of epoch {kept}, the lowest validation loss; later epochs ran out "
        ev.append(Evidence("kept_epoch", kept, text + "its patience"))
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
    high = level >= STALLED_LEVEL and not improving
    if high:  # the underfitting rule left it: a model as wide as the defaults, levelled off with validation following
        more += ": it levelled off there, about as far as this data allows (a bigger model would tell)"
    summary = f"Training loss fell to {pct(level)} of {ref.text}; validation loss follows it{more}."
    return Finding("good_fit", summary, tuple(ev), facts={"improving": improving, "wide_gap": wide, "high": high})
