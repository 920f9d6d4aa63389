"""Greedy ensemble selection with replacement (Caruana, Niculescu-Mizil, Crew and Ksikes, "Ensemble selection
from libraries of models", ICML 2004), on the validation split's class probabilities.

The metric is the one History ranks by: validation accuracy, with the log loss breaking ties (accuracy alone is
too coarse on a small split to tell most candidates apart). Start from the single best model by that metric (the
trial History ranks first, so the selection can only add to it); each round add (again, if it is already in) the
model whose inclusion gives the averaged probabilities the best validation accuracy, among equals the lowest log
loss; stop after `rounds` additions or as soon as no model improves the ensemble. A model's weight is how
often it was picked. Picking with replacement lets the strong models weigh more without a fitted weight vector,
which is what keeps the method from overfitting a small validation split the way free weights or stacking can.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from trainers.ensembles.combine import PROB_FLOOR, soft_vote
from trainers.ensembles.stacking import stratified_folds

DEFAULT_ROUNDS = 25
# Two log losses closer than this are equal: a pick must raise accuracy, or keep it and lower the loss by more.
LOSS_TOL = 1e-12


def _scores(summed: np.ndarray, count: int, probs: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(log loss, accuracy) per model m of the average (summed + probs[m]) / (count + 1): both (M,)."""
    n = len(y)
    rows = np.arange(n)
    mixed = (summed[None] + probs) / (count + 1)  # (M, n, C)
    losses = -np.log(np.clip(mixed[:, rows, y], PROB_FLOOR, None)).mean(axis=1)
    accs = (mixed.argmax(axis=2) == y[None]).mean(axis=1)
    return losses, accs


def _best(losses: np.ndarray, accs: np.ndarray) -> int:
    """The highest accuracy; among equal accuracies, the lowest loss; then the lower index."""
    tied = np.flatnonzero(accs >= accs.max())
    return int(tied[np.argmin(losses[tied])])


def greedy_selection(probs: np.ndarray, y: np.ndarray, rounds: int = DEFAULT_ROUNDS) -> np.ndarray:
    """How often each of the M models is picked (int64, (M,), at least one pick) for probabilities (M, n, C)."""
    probs = np.asarray(probs, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    if probs.ndim != 3 or probs.shape[0] == 0 or probs.shape[1] == 0:
        raise ValueError(f"member probabilities must be shaped (members ≥ 1, samples ≥ 1, classes), got {probs.shape}")
    if y.shape != (probs.shape[1],):
        raise ValueError(f"labels shaped {y.shape} do not match {probs.shape[1]} samples")
    counts = np.zeros(probs.shape[0], dtype=np.int64)
    losses, accs = _scores(np.zeros(probs.shape[1:]), 0, probs, y)
    first = _best(losses, accs)
    counts[first] = 1
    summed, loss, acc = probs[first].copy(), losses[first], accs[first]
    for _ in range(max(0, rounds)):
        losses, accs = _scores(summed, int(counts.sum()), probs, y)
        pick = _best(losses, accs)
        better = accs[pick] > acc or (accs[pick] >= acc and losses[pick] < loss - LOSS_TOL)
        if not better:
            break
        counts[pick] += 1
        summed += probs[pick]
        loss, acc = losses[pick], accs[pick]
    return counts


def out_of_fold_greedy(
    probs: np.ndarray,
    y: np.ndarray,
    folds: int,
    rounds: int = DEFAULT_ROUNDS,
    splits: Sequence[np.ndarray] | None = None,
) -> np.ndarray:
    """(n, C): each validation fold predicted by the selection made on the other folds, so the validation score
    of the selected ensemble is not flattered by having been chosen on those same samples. `splits` overrides the
    stratified folds."""
    probs = np.asarray(probs, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    out = np.empty(probs.shape[1:])
    for fold in splits if splits is not None else stratified_folds(y, folds):
        rest = np.setdiff1d(np.arange(len(y)), fold)
        counts = greedy_selection(probs[:, rest], y[rest], rounds)
        out[fold] = soft_vote(probs[:, fold], counts.astype(np.float64))
    return out
