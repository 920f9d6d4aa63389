"""The overfitting rule: validation loss rising from its minimum, or confidently flat, while training loss
keeps falling and the gap between them grows. The onset is the epoch of the smoothed validation minimum."""

from __future__ import annotations

import math

import numpy as np

from trainers.diagnosis.curves import Curves, Line, fit_line, smooth, tail_mean
from trainers.diagnosis.rules import MIN_EPOCHS, Evidence, Finding, Reference, pct, val_noise
from trainers.spec.config import RunConfig

SMOOTH_WIDTH = 5  # centred moving average used to place the validation minimum
MIN_AFTER_ONSET = 3  # epochs after the validation minimum needed before a rise can be seen
VAL_RISE_MIN = 0.02  # validation loss at least 2% above its minimum...
VAL_RISE_T = 3.0  # ...on a slope 3 standard errors above zero (a noisy plateau is not a rise)
TRAIN_FALL_MIN = 0.20  # while training loss fell at least 20% over the same epochs
PLATEAU_EPOCHS = 8  # a flat validation loss counts only after this many epochs past its minimum
STALL_RATIO = 0.1  # "flat": validation improves (at the most, 3 s.e.) under 1/10 of the training loss's rate


def _log_line(x: np.ndarray, y: np.ndarray) -> Line | None:
    keep = np.isfinite(y) & (y > 0)
    return fit_line(x[keep], np.log(y[keep]))


def _overfit_shape(c: Curves, i0: int) -> tuple[str, list[Evidence]] | None:
    """'rise' when validation loss climbs after its minimum, 'stall' when it has confidently stopped improving
    while training loss keeps falling; None otherwise."""
    # Slopes start after the minimum: the point picked for being lowest would tilt every fit upwards.
    x, v, t = c.epochs[i0 + 1 :], c.val_loss[i0 + 1 :], c.train_loss[i0 + 1 :]
    onset, span = int(c.epochs[i0]), int(x[-1] - c.epochs[i0])
    line = fit_line(x, v)
    vs = smooth(c.val_loss, SMOOTH_WIDTH)
    rise = (vs[-1] - vs[i0]) / vs[i0]
    if line is not None and line.t >= VAL_RISE_T and rise >= VAL_RISE_MIN:
        return "rise", [
            Evidence("val_rise", float(rise), f"validation loss then rose {pct(rise)} to {vs[-1]:.3g}"),
            Evidence(
                "val_slope",
                line.slope,
                f"validation loss slope since epoch {onset}: "
                f"{line.slope:+.3g} per epoch ({line.t:.1f} standard errors above flat)",
            ),
        ]
    lv, lt = _log_line(x, v), _log_line(x, t)
    if span < PLATEAU_EPOCHS or rise < 0 or lv is None or lt is None or lt.slope >= 0:
        return None  # too short to call flat, back below its minimum, or training loss not falling
    train_rate, val_gain_hi = -lt.slope, -lv.slope + VAL_RISE_T * lv.se  # the most validation may still improve
    if val_gain_hi > STALL_RATIO * train_rate:
        return None
    return "stall", [
        Evidence(
            "val_rise",
            float(rise),
            f"validation loss has not improved in the {span} epochs since (now {pct(rise)} above its minimum)",
        ),
        Evidence(
            "val_slope",
            line.slope if line else math.nan,
            f"validation loss slope since epoch {onset}: {line.slope if line else math.nan:+.3g} per epoch",
        ),
        Evidence(
            "val_gain_bound",
            val_gain_hi,
            f"validation loss improves at most "
            f"{pct(max(0.0, val_gain_hi))} per epoch (its slope plus 3 standard errors)",
        ),
        Evidence("train_rate", train_rate, f"training loss falls {pct(train_rate)} per epoch"),
    ]


def _onset(v: np.ndarray, vs: np.ndarray) -> int:
    """The lowest raw validation loss near the smoothed minimum: the smoothing finds the region, so one lucky
    epoch elsewhere cannot move it, and the raw values pick the epoch whose weights were best."""
    centre, half = int(np.nanargmin(vs)), SMOOTH_WIDTH // 2
    lo = max(0, centre - half)
    window = v[lo : centre + half + 1]
    return lo + int(np.nanargmin(window)) if np.isfinite(window).any() else centre


def overfitting(c: Curves, ref: Reference) -> Finding | None:
    v, t, x = c.val_loss, c.train_loss, c.epochs
    if np.isfinite(v).sum() < MIN_EPOCHS + MIN_AFTER_ONSET or not np.isfinite(t).any():
        return None
    vs, ts = smooth(v, SMOOTH_WIDTH), smooth(t, SMOOTH_WIDTH)
    i0 = _onset(v, vs)
    if np.isfinite(v[i0 + 1 :]).sum() < MIN_AFTER_ONSET or not (np.isfinite(ts[i0]) and np.isfinite(ts[-1])):
        return None
    train_fall = 1.0 - ts[-1] / ts[i0] if ts[i0] > 0 else 0.0
    gap0, gap1 = vs[i0] - ts[i0], vs[-1] - ts[-1]
    if val_noise(v[i0:], ref)[1]:
        return None  # a rise inside this much scatter may be the minimum's own luck
    shape = _overfit_shape(c, i0) if train_fall >= TRAIN_FALL_MIN and gap1 > gap0 else None
    if shape is None:
        return None
    kind, measured = shape
    onset = int(x[i0])
    ev = [
        Evidence("onset_epoch", onset, f"validation loss was lowest at epoch {onset}: {v[i0]:.3g}"),
        *measured,
        Evidence(
            "train_fall",
            float(train_fall),
            f"training loss fell {pct(train_fall)} over the same epochs, from {ts[i0]:.3g} to {ts[-1]:.3g}",
        ),
        Evidence("gap", float(gap1), f"the gap (validation − training loss) grew from {gap0:.3g} to {gap1:.3g}"),
    ]
    acc_gap = tail_mean(c.train_acc, 3) - tail_mean(c.val_acc, 3)
    if math.isfinite(acc_gap):
        ev.append(
            Evidence(
                "acc_gap",
                acc_gap,
                f"training accuracy is {100 * acc_gap:.1f} points above validation accuracy over the last epochs",
            )
        )
    rise = measured[0].value
    moved = f"rose {pct(float(rise))}" if kind == "rise" and rise is not None else "stopped improving"
    summary = (
        f"Validation loss {moved} after its minimum at epoch {onset} while training loss fell "
        f"{pct(train_fall)}: the model memorises the training set."
    )
    return Finding(
        "overfitting",
        summary,
        tuple(ev),
        onset_epoch=onset,
        facts={"shape": kind, "epochs_run": int(x[-1]), "epochs_after_onset": int(x[-1]) - onset},
    )


def kept_best(c: Curves, cfg: RunConfig | None) -> int | None:
    """The epoch whose weights early stopping kept, when it restores the weights of the lowest validation loss and the
    run ended within its patience after that epoch; else None. The epochs after it ran out the stopping rule's
    patience: the model the run keeps was taken before any rise, so a rise there is not the kept model's."""
    if cfg is None or not np.isfinite(c.val_loss).any():
        return None
    es = cfg.early_stop
    if not (es.enabled and es.restore_best and es.monitor == "val_loss"):
        return None
    kept = int(c.epochs[int(np.nanargmin(c.val_loss))])
    return kept if int(c.epochs[-1]) - kept <= es.patience else None
