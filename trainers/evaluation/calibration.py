"""Calibration: does a confidence of 0.8 mean right 80% of the time?

Equal-width bins over [0, 1], each (lo, hi] (the first also takes 0). A bin's accuracy is the share of its samples
predicted right and its confidence their mean top probability; the expected calibration error is
ECE = sum over bins of |accuracy - confidence| * n_bin / N."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_BINS = 10


@dataclass(frozen=True)
class Reliability:
    edges: np.ndarray  # (B + 1,) float64
    counts: np.ndarray  # (B,) int64
    accuracy: np.ndarray  # (B,) float64, 0 where a bin is empty
    confidence: np.ndarray  # (B,) float64, 0 where a bin is empty
    ece: float


def reliability(confidence: np.ndarray, correct: np.ndarray, n_bins: int = DEFAULT_BINS) -> Reliability:
    """The reliability-diagram bins and the ECE of top-class confidences and whether each prediction was right."""
    if n_bins < 1:
        raise ValueError(f"n_bins = {n_bins}: at least 1 bin")
    conf = np.asarray(confidence, dtype=np.float64)
    right = np.asarray(correct, dtype=np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    # searchsorted on the inner edges puts a value equal to an edge in the bin it closes: (lo, hi]
    which = np.searchsorted(edges[1:-1], conf, side="left")
    counts = np.bincount(which, minlength=n_bins).astype(np.int64)
    sum_right = np.bincount(which, weights=right, minlength=n_bins)
    sum_conf = np.bincount(which, weights=conf, minlength=n_bins)
    filled = counts > 0
    acc = np.divide(sum_right, counts, out=np.zeros(n_bins), where=filled)
    mean_conf = np.divide(sum_conf, counts, out=np.zeros(n_bins), where=filled)
    total = counts.sum()
    ece = float(np.sum(np.abs(acc - mean_conf) * counts) / total) if total else 0.0
    return Reliability(edges, counts, acc, mean_conf, ece)
