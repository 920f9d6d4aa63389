"""Stacking: a multinomial logistic meta-learner on the members' validation log-probabilities.

The meta-learner is fitted on the validation split, so its validation score is reported out of
fold (each row predicted by a meta-learner that never saw it); the test split only ever receives
predictions, and its labels are never an input here.

Its weights are pulled toward the members' vote (each member's log-probability of class c feeding
class c with weight 1/M, the members' geometric mean), not toward zero: a strong penalty gives back
a vote, never a uniform guess. The penalty is chosen by cross-validation inside the fitting rows,
so the out-of-fold score includes that choice too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from trainers.ensembles.combine import PROB_FLOOR

# L2 penalty on the mean cross-entropy: (l2 / 2) * ||params - vote||². Validation splits are small and
# the M*C features are strongly collinear (members mostly agree), and good members often separate the
# validation split perfectly, where unpenalised weights would grow without bound. 1e-2 keeps the
# problem strictly convex with finite weights; it is the penalty when one is not chosen by cross-validation.
DEFAULT_L2 = 1e-2
# The penalties cross-validation chooses among (None as `l2` below), from nearly free weights to nearly the vote.
L2_GRID = (1e-3, 1e-2, 1e-1, 1.0, 10.0)
INNER_FOLDS = 3
# LBFGS stops once no gradient entry exceeds this: far below what moves a probability, far above round-off, which
# weakly penalised fits on separable rows would otherwise chase for hundreds of iterations.
GRAD_TOL = 1e-6
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


def vote_prior(features: int, n_classes: int) -> np.ndarray:
    """(F, C) weights of the members' vote on stack features: member m's log p(c) feeds class c with 1/M.
    Zeros when F is not members × classes (features that are not stack_features)."""
    prior = np.zeros((features, n_classes))
    members = features // n_classes
    if members and features == members * n_classes:
        for m in range(members):
            prior[m * n_classes : (m + 1) * n_classes] += np.eye(n_classes) / members
    return prior


class StackingMeta:
    """Multinomial logistic regression, weights (F, C) and bias (C,), fitted full-batch by L-BFGS (scipy).

    The penalty is (l2 / 2) * (||W - vote||² + ||b||²): it covers the bias too, so a class missing
    from a fold's fitting rows keeps finite parameters. Fitting starts from the vote in float64 on
    the CPU and is deterministic.
    """

    def __init__(self, l2: float = DEFAULT_L2) -> None:
        if not l2 >= 0:
            raise ValueError(f"l2 must be nonnegative, got {l2}")
        self.l2 = float(l2)
        self.weights = np.zeros((0, 0))
        self.bias = np.zeros(0)
        self.fitted_on = 0

    def fit(
        self, features: np.ndarray, y: np.ndarray, n_classes: int, start: StackingMeta | None = None
    ) -> StackingMeta:
        """Fit on (features, y); `start` (a fit of the same shape, e.g. with another penalty) is where LBFGS
        begins instead of the vote, which saves most of the iterations when penalties are tried in turn."""
        x = np.asarray(features, dtype=np.float64)
        labels = np.asarray(y, dtype=np.int64)
        if x.ndim != 2 or x.shape[0] == 0 or labels.shape != (x.shape[0],):
            raise ValueError(f"need features (n, F) with n ≥ 1 and labels (n,), got {x.shape} and {labels.shape}")
        if n_classes < 2 or labels.min() < 0 or labels.max() >= n_classes:
            raise ValueError(f"labels must lie in 0..{n_classes - 1} with at least 2 classes")
        features_n = x.shape[1]
        prior = vote_prior(features_n, n_classes)
        warm = start is not None and start.weights.shape == (features_n, n_classes)
        w0, b0 = (start.weights, start.bias) if warm else (prior, np.zeros(n_classes))  # type: ignore[union-attr]
        one_hot = np.eye(n_classes)[labels]
        size = features_n * n_classes

        def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
            """Mean cross-entropy plus the penalty, and its gradient."""
            w, b = theta[:size].reshape(features_n, n_classes), theta[size:]
            z = x @ w + b
            z = z - z.max(axis=1, keepdims=True)
            log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
            pull = w - prior
            loss = -float((one_hot * log_p).sum()) / len(x) + 0.5 * self.l2 * (float((pull**2).sum()) + float(b @ b))
            g = (np.exp(log_p) - one_hot) / len(x)
            return loss, np.concatenate([(x.T @ g + self.l2 * pull).ravel(), g.sum(axis=0) + self.l2 * b])

        from scipy.optimize import minimize  # half a second to import: only stacking needs it

        theta0 = np.concatenate([np.asarray(w0, dtype=np.float64).ravel(), np.asarray(b0, dtype=np.float64)])
        fitted = minimize(
            objective, theta0, jac=True, method="L-BFGS-B", options={"maxiter": 500, "gtol": GRAD_TOL, "ftol": 1e-10}
        )
        self.weights = fitted.x[:size].reshape(features_n, n_classes).copy()
        self.bias = fitted.x[size:].copy()
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
    l2: float | None = DEFAULT_L2,
    splits: Sequence[np.ndarray] | None = None,
) -> np.ndarray:
    """(n, C): each row predicted by a meta-learner fitted on the other folds only.

    `splits` overrides the stratified folds (index arrays partitioning range(n)). `l2` None chooses each
    fold's penalty by cross-validation on that fold's fitting rows alone (nested), so the choice never sees
    the rows it is scored on.
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
        penalty = choose_l2(x[fit_rows], labels[fit_rows], n_classes, seed=seed) if l2 is None else l2
        meta = StackingMeta(penalty).fit(x[fit_rows], labels[fit_rows], n_classes)
        out[held] = meta.predict_proba(x[held])
    if np.isnan(out).any():
        raise ValueError("the folds do not cover every sample")
    return out


def choose_l2(
    features: np.ndarray, y: np.ndarray, n_classes: int, grid: Sequence[float] = L2_GRID, seed: int = 0
) -> float:
    """The penalty of `grid` with the lowest cross-validated log loss on these rows. Penalties are tried from the
    strongest down, each fit starting from the previous one's, and the search ends once the loss rises (the
    simpler meta-learner wins a tie). Too few rows to cross-validate: the strongest."""
    x = np.asarray(features, dtype=np.float64)
    labels = np.asarray(y, dtype=np.int64)
    if x.shape[0] < 2 * INNER_FOLDS:
        return float(max(grid))
    splits = stratified_folds(labels, INNER_FOLDS, seed)
    rows = np.arange(len(labels))
    fits: list[StackingMeta | None] = [None] * len(splits)
    best, best_loss = float(max(grid)), np.inf
    for penalty in sorted(grid, reverse=True):
        proba = np.empty((len(labels), n_classes))
        for k, held in enumerate(splits):
            rest = np.setdiff1d(rows, held)
            fits[k] = meta = StackingMeta(penalty).fit(x[rest], labels[rest], n_classes, start=fits[k])
            proba[held] = meta.predict_proba(x[held])
        loss = float(-np.mean(np.log(np.clip(proba[rows, labels], PROB_FLOOR, None))))
        if loss >= best_loss - 1e-12:
            break
        best, best_loss = float(penalty), loss
    return best


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
    l2: float | None = None,
) -> StackingOutcome:
    """Fit the meta-learner on validation; score validation out of fold; predict test (labels never seen).
    `l2` None: the penalty is chosen by cross-validation (nested inside each fold for the out-of-fold score)."""
    val_x = stack_features(val_probs)
    labels = np.asarray(y_val, dtype=np.int64)
    splits = stratified_folds(labels, folds, seed)
    val_proba = out_of_fold_proba(val_x, labels, n_classes, l2=l2, splits=splits)
    penalty = choose_l2(val_x, labels, n_classes, seed=seed) if l2 is None else l2
    meta = StackingMeta(penalty).fit(val_x, labels, n_classes)
    test_proba = None
    if test_probs is not None:
        test_x = stack_features(test_probs)
        if test_x.shape[1] != val_x.shape[1]:
            raise ValueError("test and validation probabilities must have the same members and classes")
        test_proba = meta.predict_proba(test_x)
    return StackingOutcome(val_proba=val_proba, test_proba=test_proba, meta=meta, folds=len(splits))
