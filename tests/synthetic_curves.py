"""Per-epoch curves with a known diagnosis, noisy with a seed, for the diagnosis tests.

Losses are on the digits scale: chance level ln 10 ≈ 2.30 (ten classes).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

CHANCE = math.log(10)


def records(
    train: Sequence[float],
    val: Sequence[float] | None,
    train_acc: Sequence[float] | None = None,
    val_acc: Sequence[float] | None = None,
) -> list[dict]:
    """Dicts shaped like the store's epoch records (1-based epochs)."""
    n = len(train)
    return [
        {
            "epoch": i + 1,
            "train_loss": float(train[i]),
            "val_loss": None if val is None else float(val[i]),
            "train_acc": None if train_acc is None else float(train_acc[i]),
            "val_acc": None if val_acc is None else float(val_acc[i]),
        }
        for i in range(n)
    ]


def _noisy(y: np.ndarray, rng: np.random.Generator, rel: float) -> np.ndarray:
    return y * (1 + rel * rng.standard_normal(len(y)))


def _epochs(n: int) -> np.ndarray:
    return np.arange(1, n + 1, dtype=np.float64)


def good_fit(seed: int, n: int = 30, rel: float = 0.04) -> list[dict]:
    """Both losses fall and level off together, validation a little above training."""
    rng, e = np.random.default_rng(seed), _epochs(n)
    train, val = 0.04 + 2.1 * np.exp(-e / 3), 0.10 + 2.1 * np.exp(-e / 3)
    return records(_noisy(train, rng, rel), _noisy(val, rng, rel), 1 - train / 3, 1 - val / 3)


def overfit(seed: int, onset: int = 15, n: int = 40, rel: float = 0.02, rise: float = 0.01) -> list[dict]:
    """Validation loss falls to its minimum exactly at `onset`, then climbs `rise` per epoch; training falls on."""
    rng, e = np.random.default_rng(seed), _epochs(n)
    train = 0.01 + 2.1 * np.exp(-e / 5)
    vmin, v0 = 0.3, 2.2
    val = np.where(e <= onset, vmin + (v0 - vmin) * ((onset - e) / (onset - 1)) ** 2, vmin + rise * (e - onset))
    return records(_noisy(train, rng, rel), _noisy(val, rng, rel), 1 - train / 3, 1 - val / 3)


def oscillating(seed: int, n: int = 20) -> list[dict]:
    """A loss that jumps 15% up and down from epoch to epoch around a level it never gets below."""
    rng, e = np.random.default_rng(seed), _epochs(n)
    train = 0.9 + 0.6 * np.exp(-e / 3)
    return records(_noisy(train, rng, 0.15), _noisy(1.05 * train, rng, 0.15))


def early_rise(seed: int, n: int = 20) -> list[dict]:
    """Training loss climbs for the first epochs, then recovers."""
    rng = np.random.default_rng(seed)
    train = np.array([2.3, 2.7, 3.1, 3.0, 2.6, 2.1, 1.7, 1.4, 1.2, 1.0] + [0.9 - 0.02 * i for i in range(n - 10)])
    return records(_noisy(train, rng, 0.01), _noisy(1.05 * train, rng, 0.01))


def slow(seed: int, n: int = 20, rate: float = 0.001) -> list[dict]:
    """Near chance level, falling 0.1% per epoch: a learning rate far too low."""
    rng = np.random.default_rng(seed)
    train = 2.31 * (1 - rate) ** _epochs(n)
    return records(_noisy(train, rng, 0.001), _noisy(0.998 * train, rng, 0.001), [0.1] * n, [0.12] * n)


def stalled(seed: int, n: int = 20) -> list[dict]:
    """Flat at 39% of chance level with a small gap: too little capacity."""
    rng, e = np.random.default_rng(seed), _epochs(n)
    train = 0.9 + 1.2 * np.exp(-e / 1.5)
    return records(_noisy(train, rng, 0.01), _noisy(train + 0.05, rng, 0.01))


def noisy_val(seed: int, n: int = 20) -> list[dict]:
    """A clean training curve, but a validation loss scattering ±60% with no trend."""
    rng, e = np.random.default_rng(seed), _epochs(n)
    train = _noisy(0.04 + 2.1 * np.exp(-e / 3), rng, 0.02)
    return records(train, 0.3 * np.exp(rng.normal(0.0, 0.6, n)))


def exploding(seed: int, n: int = 12) -> list[dict]:
    """Learning, then a loss 20x chance level, then stuck at chance: no NaN, status "completed"."""
    rng = np.random.default_rng(seed)
    train = np.array([1.8, 1.0, 0.8, 50.0] + [2.35] * (n - 4))
    return records(_noisy(train, rng, 0.01), _noisy(train, rng, 0.01))


def flat_noisy(seed: int, n: int = 58, rel: float = 0.006, chance: float = CHANCE) -> list[dict]:
    """A learning rate far too low (Adam at 1e-6): the training loss sits at the chance level `chance`, falling 0.01%
    per epoch under dropout's noise, so it rises in about half the epochs; validation (no dropout) falls smoothly."""
    rng, e = np.random.default_rng(seed), _epochs(n)
    level = chance * (1 - 1e-4 * e)
    return records(_noisy(level, rng, rel), 0.999 * level, [0.12] * n, [0.11] * n)


def plateau(seed: int, level: float, n: int = 30, chance: float = CHANCE, rel: float = 0.01) -> list[dict]:
    """Falls from the chance level within a few epochs, then flat at `level` x chance with a small gap: a model
    that has learned what it can (or what the data allows)."""
    rng, e = np.random.default_rng(seed), _epochs(n)
    train = chance * (level + (1 - level) * np.exp(-e / 1.5))
    return records(_noisy(train, rng, rel), _noisy(train + 0.02 * chance, rng, rel))
