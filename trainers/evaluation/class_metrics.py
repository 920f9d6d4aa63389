"""Per-class precision, recall, F1 and support from a confusion matrix, and their macro and weighted averages.

A ratio with nothing to divide by (a class never predicted, or absent from the split) counts as 0, the usual
convention, so averages stay defined."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ClassMetrics:
    precision: np.ndarray  # (K,) float64
    recall: np.ndarray
    f1: np.ndarray
    support: np.ndarray  # (K,) int64: true samples of each class


@dataclass(frozen=True)
class Averages:
    precision: float
    recall: float
    f1: float


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def class_metrics(counts: np.ndarray) -> ClassMetrics:
    c = np.asarray(counts, dtype=np.int64)
    tp = np.diag(c)
    predicted = c.sum(axis=0)
    support = c.sum(axis=1)
    precision = _ratio(tp, predicted)
    recall = _ratio(tp, support)
    f1 = _ratio(2 * precision * recall, precision + recall)
    return ClassMetrics(precision, recall, f1, support.astype(np.int64))


def macro_average(m: ClassMetrics) -> Averages:
    """The plain mean over classes: every class counts the same, however rare."""
    return Averages(float(m.precision.mean()), float(m.recall.mean()), float(m.f1.mean()))


def weighted_average(m: ClassMetrics) -> Averages:
    """The mean over classes weighted by support: every sample counts the same."""
    total = m.support.sum()
    if total == 0:
        return Averages(0.0, 0.0, 0.0)
    w = m.support / total
    return Averages(float(w @ m.precision), float(w @ m.recall), float(w @ m.f1))
