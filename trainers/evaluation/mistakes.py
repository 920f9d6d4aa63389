"""The most confident mistakes: the wrong predictions the model was surest of, the first place to look for
mislabelled samples or a class the model confuses."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_MISTAKES = 12


@dataclass(frozen=True)
class Mistake:
    index: int  # position in the evaluated split
    true: int
    predicted: int
    confidence: float  # the probability given to the predicted class


def top_mistakes(probs: np.ndarray, y_true: np.ndarray, k: int = DEFAULT_MISTAKES) -> list[Mistake]:
    """Up to k wrong predictions, most confident first (ties by index)."""
    p = np.asarray(probs, dtype=np.float64)
    t = np.asarray(y_true, dtype=np.int64)
    pred = p.argmax(axis=1) if len(p) else np.zeros(0, dtype=np.int64)
    wrong = np.flatnonzero(pred != t)
    conf = p[wrong, pred[wrong]] if len(wrong) else np.zeros(0)
    order = np.lexsort((wrong, -conf))[:k]
    return [Mistake(int(wrong[i]), int(t[wrong[i]]), int(pred[wrong[i]]), float(conf[i])) for i in order]
