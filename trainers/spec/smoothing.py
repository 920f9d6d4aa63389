"""Exponential moving average with bias correction, as used for loss curves (live plots, LR finder)."""

from __future__ import annotations

import math

import numpy as np


class Ema:
    """Smooths a stream of values; the first values are not pulled towards zero (bias correction)."""

    def __init__(self, beta: float = 0.98) -> None:
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"smoothing must be in [0, 1), got {beta}")
        self.beta = beta
        self._avg = 0.0
        self._n = 0

    def update(self, value: float) -> float:
        """Add one value and return the smoothed value; a non-finite value is returned unsmoothed
        and left out of the average, so one NaN does not poison the rest of the curve."""
        if not math.isfinite(value):
            return value
        self._n += 1
        self._avg = self.beta * self._avg + (1 - self.beta) * value
        return self._avg / (1 - self.beta**self._n)

    def reset(self) -> None:
        self._avg, self._n = 0.0, 0


def ema(values: np.ndarray, beta: float = 0.98) -> np.ndarray:
    """The smoothed curve of a whole array (same rule as Ema)."""
    e = Ema(beta)
    return np.array([e.update(float(v)) for v in values], dtype=np.float64)
