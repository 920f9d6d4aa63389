"""Learning-rate suggestions read from a learning-rate range test curve (numpy only: no torch, no Qt).

Three rules read the smoothed loss against log10(lr): the steepest descent, the middle of the longest steady
descent ("valley") and a tenth of the rate at the minimum. Where they agree within AGREEMENT_FACTOR the band
is the answer; where the curve never clearly descends there is no suggestion, and the message says why.
When the raw losses come along, the smoothing's delay is taken back and their noise judges the descent.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Sequence

import numpy as np

from trainers.spec.lr_finder_settings import SUGGESTION_NAMES
from trainers.spec.smoothing import ema

# Suggestions within this ratio of each other are read as one answer (a 3x band is a usual lr tolerance).
AGREEMENT_FACTOR = 3.0
# Fewer usable points than this cannot show a start, a descent and a minimum.
MIN_POINTS = 5
# A drop of less than this fraction of the starting loss is no descent worth suggesting from.
MIN_RELATIVE_DROP = 0.10
# The drop must exceed this many standard deviations of its own noise to be more than chance.
NOISE_MULTIPLE = 3.0
# The valley reads slopes over this many decades of lr, so batch noise cannot cut a real descent (which
# spans well over a decade) into pieces.
VALLEY_SPAN = 0.5
_CAUSES = "an already-trained model, or a start learning rate that is already too high"


@dataclass(frozen=True)
class Suggestions:
    values: dict[str, float | None]  # name -> suggested learning rate, None where the rule finds nothing
    indices: dict[str, int | None]  # name -> index into the curve where the rule looked (marker position)
    agreed: tuple[float, float] | None  # (lo, hi) band where at least two suggestions agree
    agreeing: tuple[str, ...]  # names that make up the band, in SUGGESTION_NAMES order
    message: str  # "" for a clear descent, else why there is no suggestion

    @property
    def clear_descent(self) -> bool:
        return not self.message


def _none(message: str) -> Suggestions:
    return Suggestions(dict.fromkeys(SUGGESTION_NAMES), dict.fromkeys(SUGGESTION_NAMES), None, (), message)


def _usable(lrs, smoothed, raw) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The curves as float arrays, cut before the first non-finite smoothed value (the diverged end)."""
    x, y = np.asarray(lrs, dtype=np.float64), np.asarray(smoothed, dtype=np.float64)
    r = None if raw is None else np.asarray(raw, dtype=np.float64)
    if x.ndim != 1 or y.ndim != 1 or (r is not None and r.ndim != 1):
        raise ValueError("lrs, smoothed and raw must be one-dimensional")
    if len(x) != len(y) or (r is not None and len(r) != len(x)):
        raw_len = "" if r is None else f", {len(r)} raw losses"
        raise ValueError(
            f"the curves must have the same length, got {len(x)} learning rates, {len(y)} smoothed losses{raw_len}"
        )
    if not (np.all(np.isfinite(x)) and np.all(x > 0)) or np.any(np.diff(x) <= 0):
        raise ValueError("learning rates must be finite, positive and strictly increasing")
    bad = np.flatnonzero(~np.isfinite(y))
    n = int(bad[0]) if bad.size else len(y)
    return x[:n], y[:n], None if r is None else r[:n]


def _ema_beta(smoothed: np.ndarray, raw: np.ndarray) -> float | None:
    """The beta of the bias-corrected EMA that turned raw into smoothed, or None when it is not one.

    Step n of that EMA covers (1 - beta) / (1 - beta**n) of the gap to the new value, so each step gives
    beta (solved by bisection); a replay of the median answer checks it."""
    n = np.arange(2, len(raw) + 1)
    step, pull = np.diff(smoothed), raw[1:] - smoothed[:-1]
    ok = np.abs(pull) > 1e-9 * (1.0 + np.abs(raw[1:]))
    if not ok.any() or not np.all(np.isfinite(raw)):
        return None
    gain, n = step[ok] / pull[ok], n[ok]
    lo, hi = np.zeros_like(gain), np.full_like(gain, 0.9999)
    for _ in range(50):
        mid = (lo + hi) / 2
        too_small = (1 - mid) / (1 - mid**n) > gain  # a beta that moves too far: the real one is larger
        lo, hi = np.where(too_small, mid, lo), np.where(too_small, hi, mid)
    beta = float(np.median(lo))
    error = np.max(np.abs(ema(raw, beta) - smoothed))
    return beta if error <= 1e-4 * (1.0 + np.max(np.abs(smoothed))) else None


def _lag(beta: float, i: int) -> float:
    """How many iterations the bias-corrected EMA at index i trails the raw losses (its mean sample age)."""
    n = i + 1
    return 0.0 if beta <= 0 else beta / (1 - beta) - n * beta**n / (1 - beta**n)


def _ema_variance(beta: float, i: int) -> float:
    """The share of the batch noise variance left in the bias-corrected EMA at index i (1 without an EMA):
    early points average a few batches, later ones about (1 + beta) / (1 - beta)."""
    n = i + 1
    return 1.0 if beta <= 0 else (1 - beta) * (1 + beta**n) / ((1 + beta) * (1 - beta**n))


def _batch_noise(raw: np.ndarray) -> float:
    """Standard deviation of the per-batch losses around their trend."""
    # Successive differences cancel the trend; the median ignores the blow-up and stray values.
    steps = np.abs(np.diff(raw))
    steps = steps[np.isfinite(steps)]
    return 1.4826 * float(np.median(steps)) / np.sqrt(2.0) if steps.size else 0.0


def _no_descent(y: np.ndarray, lo: int, imin: int, raw: np.ndarray | None, beta: float) -> str:
    """Why the curve shows no clear descent, or "" when it does."""
    if imin == lo:
        return f"no clear descent: the smoothed loss only rises after the first {lo} points ({_CAUSES})"
    drop = y[lo] - y[imin]
    relative = drop / max(abs(y[lo]), 1e-12)
    if relative < MIN_RELATIVE_DROP:
        return f"no clear descent: the smoothed loss fell only {relative:.0%} below its starting level ({_CAUSES})"
    # The drop is a difference of two smoothed values, each as noisy as the batches its EMA averages.
    if raw is not None:
        noise = _batch_noise(raw) * np.sqrt(_ema_variance(beta, lo) + _ema_variance(beta, imin))
        if drop <= NOISE_MULTIPLE * noise:
            return (
                f"no clear descent: the smoothed loss fell {relative:.0%}, within the noise of the per-batch "
                f"losses; run more iterations or smooth more"
            )
    return ""


def _span_slopes(logx: np.ndarray, y: np.ndarray, span: float) -> np.ndarray:
    """The slope at each point between the points about span/2 decades either side (at least the neighbours)."""
    i = np.arange(len(y))
    left = np.minimum(np.searchsorted(logx, logx - span / 2, side="left"), np.maximum(i - 1, 0))
    right = np.maximum(np.searchsorted(logx, logx + span / 2, side="right") - 1, np.minimum(i + 1, len(y) - 1))
    return (y[right] - y[left]) / (logx[right] - logx[left])


def _longest_run(mask: np.ndarray) -> tuple[int, int] | None:
    """First and last index of the longest run of True values (the first such run on ties)."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    if not starts.size:
        return None
    k = int(np.argmax(ends - starts))
    return int(starts[k]), int(ends[k]) - 1


def suggest(lrs, smoothed, raw=None, *, skip_start: int | None = None, skip_end: int | None = None) -> Suggestions:
    """The three suggestions for one range test curve, with their agreement band."""
    x, y, r = _usable(lrs, smoothed, raw)
    n = len(y)
    if n < MIN_POINTS:
        return _none(f"too few points ({n}) to read a suggestion: run more iterations")
    lo = max(1, n // 10) if skip_start is None else skip_start
    tail = max(1, n // 20) if skip_end is None else skip_end
    if lo < 0 or tail < 0:
        raise ValueError("skip_start and skip_end must not be negative")
    hi = n - tail
    if hi - lo < MIN_POINTS - 2:
        return _none(f"too few points ({n}) left after skipping the first {lo} and last {tail}: run more iterations")
    beta = None if r is None else _ema_beta(y, r)
    imin = lo + int(np.argmin(y[lo:hi]))
    message = _no_descent(y, lo, imin, r, beta or 0.0)
    if message:
        return _none(message)
    # Slopes against log10(lr) within the skip bounds (a skipped point is no neighbour either), read only up
    # to the minimum: past it the curve rises, and a steep part there is not descent.
    logx, stop = np.log10(x), imin - lo + 1
    grad = np.gradient(y[lo:hi], logx[lo:hi])[:stop]
    steep = lo + int(np.argmin(grad)) if grad.min() < 0 else None
    # A steady descent falls faster than the window's average slope: the near-flat start and noise around
    # zero do not count, so the middle of the stretch sits where the loss really falls.
    mean_slope = (y[imin] - y[lo]) / (logx[imin] - logx[lo])
    run = _longest_run(_span_slopes(logx[lo:hi], y[lo:hi], VALLEY_SPAN)[:stop] < mean_slope)
    valley = None
    if run is not None:
        a, b = lo + run[0], lo + run[1]
        valley = a + int(np.argmin(np.abs(logx[a : b + 1] - (logx[a] + logx[b]) / 2)))
    if beta is not None:
        # A steady descent seen through the EMA shows up about lag iterations late, so the descent rules point
        # back by that delay. The minimum stays: a blow-up dominates the average at once.
        steep, valley = (None if i is None else max(0, round(i - _lag(beta, i))) for i in (steep, valley))
    indices = {"steepest": steep, "valley": valley, "min_div_10": imin}
    values = {name: None if i is None else float(x[i]) for name, i in indices.items()}
    values["min_div_10"] = float(x[imin]) / 10
    band, names = agreement(values)
    return Suggestions(values, indices, band, names, "")


def agreement(
    values: dict[str, float | None], factor: float = AGREEMENT_FACTOR
) -> tuple[tuple[float, float] | None, tuple[str, ...]]:
    """The largest set of at least two suggestions whose highest / lowest <= factor, as ((lo, hi), names);
    ties prefer a set with valley, then the narrower band. (None, ()) when no two agree."""
    if factor < 1:
        raise ValueError(f"the agreement factor must be at least 1, got {factor}")
    order = list(SUGGESTION_NAMES) + [k for k in values if k not in SUGGESTION_NAMES]
    present = {k: v for k in order if (v := values.get(k)) is not None}
    for size in range(len(present), 1, -1):
        bands = [
            (min(present[k] for k in names), max(present[k] for k in names), names)
            for names in combinations(present, size)
        ]
        bands = [band for band in bands if band[1] / band[0] <= factor]
        if bands:
            lo, hi, names = max(bands, key=lambda band: ("valley" in band[2], band[0] / band[1]))
            return (lo, hi), names
    return None, ()


def _geometric_median(values: list[float | None]) -> float | None:
    """The median on a log scale: the middle value, or the geometric mean of the middle two."""
    found = sorted(v for v in values if v is not None)
    if not found:
        return None
    a, b = found[(len(found) - 1) // 2], found[len(found) // 2]
    return a if a == b else min(max(float(np.sqrt(a) * np.sqrt(b)), a), b)


def combine(runs: Sequence[Suggestions]) -> Suggestions:
    """Repeats of the test (other seeds) as one: each suggestion is the geometric median over the runs."""
    if not runs:
        raise ValueError("combine needs at least one run")
    values = {name: _geometric_median([s.values.get(name) for s in runs]) for name in SUGGESTION_NAMES}
    band, names = agreement(values)
    message = "" if any(s.clear_descent for s in runs) else runs[0].message
    return Suggestions(values, dict(runs[0].indices), band, names, message)


def spreads(runs: Sequence[Suggestions]) -> dict[str, tuple[float, float] | None]:
    """Per suggestion, the lowest and highest value over the runs that had one."""
    found = {name: [v for s in runs if (v := s.values.get(name)) is not None] for name in SUGGESTION_NAMES}
    return {name: (min(v), max(v)) if v else None for name, v in found.items()}
