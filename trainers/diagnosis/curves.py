"""A run's per-epoch curves as numpy arrays, and the few robust statistics the diagnosis reads from them.

numpy and the standard library only: the GUI calls this live on plain numbers, without torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

METRICS = ("train_loss", "val_loss", "train_acc", "val_acc")


@dataclass(frozen=True)
class Curves:
    """One array per metric, NaN where a value is missing or not finite; `epochs` are 1-based numbers."""

    epochs: np.ndarray
    train_loss: np.ndarray
    val_loss: np.ndarray
    train_acc: np.ndarray
    val_acc: np.ndarray
    gaps: dict[str, tuple[int, ...]]  # epochs with a missing value between recorded ones (a NaN stored as NULL)
    nonfinite: dict[str, tuple[int, ...]]  # epochs whose value was given as NaN or infinity

    def __len__(self) -> int:
        return len(self.epochs)


def _get(record: Any, name: str) -> Any:
    if isinstance(record, Mapping):
        return record.get(name)
    return getattr(record, name, None)


def _number(value: Any) -> float:
    if value is None or isinstance(value, bool):
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _interior_gaps(raw: list[Any], epochs: np.ndarray) -> tuple[int, ...]:
    """Epochs whose value is None while recorded values come before and after it."""
    present = [i for i, v in enumerate(raw) if v is not None]
    if not present:
        return ()
    return tuple(int(epochs[i]) for i in range(present[0], present[-1]) if raw[i] is None)


def curves_from(records: Sequence[Any]) -> Curves:
    """Read EpochRecord-like objects or dicts with train_loss, val_loss, train_acc, val_acc (and epoch)."""
    epochs = np.array([_number(_get(r, "epoch")) for r in records], dtype=np.float64)
    if len(epochs) and not np.all(np.isfinite(epochs)):
        epochs = np.arange(1, len(records) + 1, dtype=np.float64)  # no usable epoch numbers: count them
    arrays: dict[str, np.ndarray] = {}
    gaps: dict[str, tuple[int, ...]] = {}
    nonfinite: dict[str, tuple[int, ...]] = {}
    for name in METRICS:
        raw = [_get(r, name) for r in records]
        values = np.array([_number(v) for v in raw], dtype=np.float64)
        nonfinite[name] = tuple(
            int(epochs[i]) for i, v in enumerate(raw) if v is not None and not math.isfinite(values[i])
        )
        gaps[name] = _interior_gaps(raw, epochs)
        values[~np.isfinite(values)] = np.nan
        arrays[name] = values
    return Curves(epochs.astype(np.int64), gaps=gaps, nonfinite=nonfinite, **arrays)


def smooth(y: np.ndarray, width: int = 5) -> np.ndarray:
    """Centred moving average, narrower at the ends, skipping NaN (NaN only where a window has no value)."""
    half = width // 2
    out = np.full(len(y), np.nan)
    for i in range(len(y)):
        window = y[max(0, i - half) : i + half + 1]
        finite = window[np.isfinite(window)]
        if finite.size:
            out[i] = finite.mean()
    return out


@dataclass(frozen=True)
class Line:
    """A least-squares line through finite points: slope per epoch, its t statistic, and the fitted ends."""

    slope: float
    se: float
    t: float
    start: float
    end: float
    points: int


def fit_line(x: np.ndarray, y: np.ndarray) -> Line | None:
    """None with fewer than three finite points (a slope from two points has no error estimate)."""
    keep = np.isfinite(y)
    x, y = x[keep].astype(np.float64), y[keep]
    if len(y) < 3 or np.ptp(x) == 0:
        return None
    slope, intercept = np.polyfit(x, y, 1)
    resid = y - (slope * x + intercept)
    spread = float(np.sum((x - x.mean()) ** 2))
    se = math.sqrt(float(np.sum(resid**2)) / (len(y) - 2) / spread)
    t = slope / se if se > 0 else math.copysign(math.inf, slope) if slope else 0.0
    ends = slope * np.array([x[0], x[-1]]) + intercept
    return Line(float(slope), se, float(t), float(ends[0]), float(ends[1]), len(y))


def log_noise(y: np.ndarray) -> float:
    """Epoch-to-epoch scatter of log(y) with any locally straight trend removed: second differences cancel
    a line, and a loss decaying exponentially is a line in log space. About the relative noise (0.1 = 10%)."""
    finite = y[np.isfinite(y) & (y > 0)]
    if finite.size < 4:
        return math.nan
    second = np.diff(np.log(finite), 2)
    return float(np.sqrt(np.mean(second**2) / 6.0))  # var(a - 2b + c) = 6 var for independent noise


def scatter(y: np.ndarray) -> float:
    """Epoch-to-epoch scatter of y in its own units, with any locally straight trend removed (second differences
    cancel a line) and robust to a few jumps (their median absolute value): about the standard deviation of the
    noise around the curve. NaN with fewer than five finite points."""
    finite = y[np.isfinite(y)]
    if finite.size < 5:
        return math.nan
    # median |N(0, 6 s^2)| = 0.6745 sqrt(6) s for independent noise of deviation s
    return float(np.median(np.abs(np.diff(finite, 2))) / (0.6745 * math.sqrt(6.0)))


def first_finite(y: np.ndarray) -> float:
    finite = y[np.isfinite(y)]
    return float(finite[0]) if finite.size else math.nan


def tail_mean(y: np.ndarray, count: int) -> float:
    """Mean of the last `count` finite values."""
    finite = y[np.isfinite(y)]
    return float(finite[-count:].mean()) if finite.size else math.nan
