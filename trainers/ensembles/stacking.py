"""Stacking: a multinomial logistic meta-learner on the members' validation log-probabilities.

The meta-learner is fitted on the validation split, so its validation score is reported out of
fold (each row predicted by a meta-learner that never saw it); the test split only ever receives
predictions, and its labels are never an input here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch

from trainers.ensembles.combine import PROB_FLOOR

# L2 penalty on the mean cross-entropy: (l2 / 2) * ||params||². Validation splits are small and the
# M*C features are strongly collinear (members mostly agree), and good members often separate the
# validation split perfectly, where unpenalised weights would grow without bound. 1e-2 keeps the
# problem strictly convex with finite weights while costing a weight of order 1 almost nothing.
DEFAULT_L2 = 1e-2
STATE_KIND = "multinomial-logistic"


def stack_features(probs: np.ndarray) -> np.ndarray:
    """Member probabilities (M, n, C) → the meta-learner's inputs (n, M*C): log-probabilities, clipped."""
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 3:
        raise ValueError(f"member probabilities must be shaped (members, samples, classes), got {probs.shape}")
    members, n, classes = probs.shape
    logs = np.log(np.clip(probs, PROB_FLOOR, None))
    return np.ascontiguousarray(logs.transpose(1, 0, 2).reshape(n, members * classes))


def _softmax_rows(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class StackingMeta:
    """Multinomial logistic regression, weights (F, C) and bias (C,), fitted full-batch by LBFGS.

    The penalty covers the bias too, so a class missing from a fold's fitting rows keeps finite
    parameters. Fitting starts from zeros in float64 on the CPU and is deterministic.
    """

    def __init__(self, l2: float = DEFAULT_L2) -> None:
        if not l2 >= 0:
            raise ValueError(f"l2 must be nonnegative, got {l2}")
        self.l2 = float(l2)
        self.weights = np.zeros((0, 0))
        self.bias = np.zeros(0)
        self.fitted_on = 0

    def fit(self, features: np.ndarray, y: np.ndarray, n_classes: int) -> StackingMeta:
        x = np.asarray(features, dtype=np.float64)
        labels = np.asarray(y, dtype=np.int64)
        if x.ndim != 2 or x.shape[0] == 0 or labels.shape != (x.shape[0],):
            raise ValueError(f"need features (n, F) with n ≥ 1 and labels (n,), got {x.shape} and {labels.shape}")
        if n_classes < 2 or labels.min() < 0 or labels.max() >= n_classes:
            raise ValueError(f"labels must lie in 0..{n_classes - 1} with at least 2 classes")
        xt, yt = torch.from_numpy(x), torch.from_numpy(labels)
        w = torch.zeros((x.shape[1], n_classes), dtype=torch.float64, requires_grad=True)
        b = torch.zeros(n_classes, dtype=torch.float64, requires_grad=True)
        optimiser = torch.optim.LBFGS(
            [w, b],
            lr=1.0,
            max_iter=500,
            tolerance_grad=1e-10,
            tolerance_change=1e-14,
            history_size=20,
            line_search_fn="strong_wolfe",
        )

        def closure() -> torch.Tensor:
            optimiser.zero_grad()
            loss = torch.nn.functional.cross_entropy(xt @ w + b, yt)
            loss = loss + 0.5 * self.l2 * (w.pow(2).sum() + b.pow(2).sum())
            loss.backward()
            return loss

        optimiser.step(closure)
        self.weights = w.detach().numpy().copy()
        self.bias = b.detach().numpy().copy()
        self.fitted_on = int(x.shape[0])
        return self

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        if self.fitted_on == 0:
            raise RuntimeError("the stacking meta-learner has not been fitted")
        x = np.asarray(features, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.weights.shape[0]:
            raise ValueError(f"expected features shaped (n, {self.weights.shape[0]}), got {x.shape}")
        return _softmax_rows(x @ self.weights + self.bias)

    def to_state(self) -> dict[str, Any]:
        """Plain lists and numbers (JSON- and weights-only-torch-safe); from_state restores it exactly."""
        return {
            "kind": STATE_KIND,
            "l2": self.l2,
            "fitted_on": self.fitted_on,
            "weights": self.weights.tolist(),
            "bias": self.bias.tolist(),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> StackingMeta:
        if state.get("kind") != STATE_KIND:
            raise ValueError(f"not a stacking meta-learner state: kind {state.get('kind')!r}")
        meta = cls(float(state["l2"]))
        meta.weights = np.asarray(state["weights"], dtype=np.float64)
        meta.bias = np.asarray(state["bias"], dtype=np.float64)
        meta.fitted_on = int(state["fitted_on"])
        return meta


def stratified_folds(y: np.ndarray, folds: int, seed: int = 0) -> list[np.ndarray]:
    """Sorted index arrays partitioning range(n), each class spread evenly over the folds.

    Classes are dealt round-robin in a seeded shuffle, continuing where the previous class stopped,
    so a class smaller than `folds` reaches as many folds as it can and no fold is empty.
    Fewer samples than folds gives one fold per sample.
    """
    labels = np.asarray(y).reshape(-1)
    n = labels.shape[0]
    if folds < 1 or n == 0:
        raise ValueError(f"need at least one fold and one sample, got {folds} folds and {n} samples")
    count = min(folds, n)
    rng = np.random.default_rng(seed)
    members: list[list[int]] = [[] for _ in range(count)]
    turn = 0
    for cls in np.unique(labels):
        for index in rng.permutation(np.flatnonzero(labels == cls)):
            members[turn % count].append(int(index))
            turn += 1
    return [np.sort(np.asarray(m, dtype=np.int64)) for m in members]


def out_of_fold_proba(
    features: np.ndarray,
    y: np.ndarray,
    n_classes: int,
    folds: int = 5,
    seed: int = 0,
    *,
    l2: float = DEFAULT_L2,
    splits: Sequence[np.ndarray] | None = None,
) -> np.ndarray:
    """(n, C): each row predicted by a meta-learner fitted on the other folds only.

    `splits` overrides the stratified folds (index arrays partitioning range(n)).
    """
    x = np.asarray(features, dtype=np.float64)
    labels = np.asarray(y, dtype=np.int64)
    if x.shape[0] < 2:
        raise ValueError("stacking needs at least 2 validation samples to score the meta-learner out of fold")
    parts = list(splits) if splits is not None else stratified_folds(labels, folds, seed)
    if len(parts) < 2:
        raise ValueError("out-of-fold predictions need at least 2 folds")
    out = np.full((x.shape[0], n_classes), np.nan)
    for held in parts:
        fit_rows = np.setdiff1d(np.arange(x.shape[0]), held)
        meta = StackingMeta(l2).fit(x[fit_rows], labels[fit_rows], n_classes)
        out[held] = meta.predict_proba(x[held])
    if np.isnan(out).any():
        raise ValueError("the folds do not cover every sample")
    return out


@dataclass(frozen=True)
class StackingOutcome:
    val_proba: np.ndarray  # (n_val, C) out of fold: never scored on its own fitting rows
    test_proba: np.ndarray | None  # (n_test, C) from `meta`; None without a test split
    meta: StackingMeta  # fitted on the whole validation split
    folds: int  # folds the out-of-fold score used


def stack(
    val_probs: np.ndarray,
    y_val: np.ndarray,
    test_probs: np.ndarray | None,
    n_classes: int,
    folds: int = 5,
    seed: int = 0,
    *,
    l2: float = DEFAULT_L2,
) -> StackingOutcome:
    """Fit the meta-learner on validation; score validation out of fold; predict test (labels never seen)."""
    val_x = stack_features(val_probs)
    labels = np.asarray(y_val, dtype=np.int64)
    splits = stratified_folds(labels, folds, seed)
    val_proba = out_of_fold_proba(val_x, labels, n_classes, l2=l2, splits=splits)
    meta = StackingMeta(l2).fit(val_x, labels, n_classes)
    test_proba = None
    if test_probs is not None:
        test_x = stack_features(test_probs)
        if test_x.shape[1] != val_x.shape[1]:
            raise ValueError("test and validation probabilities must have the same members and classes")
        test_proba = meta.predict_proba(test_x)
    return StackingOutcome(val_proba=val_proba, test_proba=test_proba, meta=meta, folds=len(splits))
