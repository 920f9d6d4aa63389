"""The peers' learning-rate suggestions, computed from the same range-test losses TuneLab records.

torch-lr-finder (LRFinder.plot(suggest_lr=True)): its loss smoothing (an EMA with smooth_f 0.05, not bias
corrected), the first 10 and last 5 points skipped, and the rate at the most negative gradient of the smoothed
loss. fastai (Learner.lr_find's default `valley`): a bias-corrected EMA with beta 0.98, the first tenth and last
5 points skipped, the longest stretch of decreasing loss, and the point a half of the way past its first third.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def torch_lr_finder_steepest(lrs: Sequence[float], losses: Sequence[float]) -> float | None:
    smoothed: list[float] = []
    for i, loss in enumerate(losses):
        smoothed.append(loss if i == 0 else 0.05 * loss + 0.95 * smoothed[-1])
    x, y = np.asarray(lrs[10:-5]), np.asarray(smoothed[10:-5])
    if len(y) < 2 or not np.all(np.isfinite(y)):
        keep = np.isfinite(y)
        x, y = x[keep], y[keep]
        if len(y) < 2:
            return None
    return float(x[int(np.gradient(y).argmin())])


def fastai_valley(lrs: Sequence[float], losses: Sequence[float]) -> float | None:
    smoothed, avg = [], 0.0
    for i, loss in enumerate(losses, start=1):
        avg = 0.98 * avg + 0.02 * loss
        smoothed.append(avg / (1 - 0.98**i))
    n_it = len(losses)
    x, y = list(lrs[n_it // 10 : -5]), smoothed[n_it // 10 : -5]
    n = len(y)
    if n < 2:
        return None
    max_start, max_end, lds = 0, 0, [1] * n
    for i in range(1, n):
        for j in range(i):
            if y[i] < y[j] and lds[i] < lds[j] + 1:
                lds[i] = lds[j] + 1
            if lds[max_end] < lds[i]:
                max_end = i
                max_start = max_end - lds[max_end]
    sections = (max_end - max_start) / 3
    return float(x[max_start + int(sections) + int(sections / 2)])
