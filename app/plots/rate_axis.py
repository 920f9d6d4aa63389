"""A logarithmic axis whose labels stay readable within a single decade."""

from __future__ import annotations

import math

import pyqtgraph as pg

LABELLED_MANTISSAS = (1, 2, 5)  # 1, 2, 5 × 10^k: as many labels as fit, and the steps read at a glance


class RateAxis(pg.AxisItem):
    """In log mode pyqtgraph labels every 2…9 × 10^k tick, which run into each other over a narrow range;
    only 1, 2 and 5 × 10^k keep their text here (the other ticks are still drawn)."""

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        strings = super().tickStrings(values, scale, spacing)
        if not self.logMode:
            return strings
        kept = []
        for v, text in zip(values, strings):
            mantissa = 10 ** (v - math.floor(v + 1e-9))
            kept.append(text if any(abs(mantissa - m) < 1e-6 * m for m in LABELLED_MANTISSAS) else "")
        return kept
