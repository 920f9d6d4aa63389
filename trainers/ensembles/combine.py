"""Combining members' class probabilities: voting, averaging, fitted weights, and how members differ.

Every function takes float class-probability arrays shaped (members, samples, classes) and works in
float64 numpy, so a combination is deterministic and cheap next to the members' own inference.
"""

from __future__ import annotations

import numpy as np

# Probabilities are clipped below at this before a log, so one confident mistake gives a large, finite loss.
PROB_FLOOR = 1e-12
# Size of the soft vote added to vote shares: far below any real vote difference, so it only decides ties.
TIE_BREAK = 1e-9


def predictions(probs: np.ndarray) -> np.ndarray:
    """The predicted class (argmax over the last axis) as int64."""
    return np.argmax(np.asarray(probs), axis=-1).astype(np.int64)


def accuracy_and_loss(probs: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Accuracy of the argmax and mean negative log-likelihood of probs (n, C) against int labels y (n,)."""
    probs = np.asarray(probs, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    if probs.ndim != 2:
        raise ValueError(f"probabilities must be shaped (samples, classes), got shape {probs.shape}")
    if probs.shape[0] == 0:
        raise ValueError("cannot score an empty set of samples: accuracy and loss need at least one sample")
    if y.shape != (probs.shape[0],):
        raise ValueError(f"labels shaped {y.shape} do not match {probs.shape[0]} samples")
    accuracy = float(np.mean(predictions(probs) == y))
    picked = np.clip(probs[np.arange(len(y)), y], PROB_FLOOR, None)
    return accuracy, float(-np.mean(np.log(picked)))


def _member_probs(probs: np.ndarray) -> np.ndarray:
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 3 or probs.shape[0] == 0:
        raise ValueError(f"member probabilities must be shaped (members, samples, classes), got {probs.shape}")
    return probs


def _normalised(weights: np.ndarray | None, members: int) -> np.ndarray:
    """Member weights summing to 1 (equal when None); negative or all-zero weights are an error."""
    if weights is None:
        return np.full(members, 1.0 / members)
    w = np.asarray(weights, dtype=np.float64).reshape(-1)
    if w.shape != (members,):
        raise ValueError(f"expected {members} member weights, got {w.shape[0]}")
    if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise ValueError(f"member weights must be finite, nonnegative and not all zero, got {w.tolist()}")
    return w / w.sum()


def soft_vote(probs: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Weighted average of member probabilities (M, n, C) → (n, C); weights are normalised, None = equal."""
    probs = _member_probs(probs)
    return np.einsum("m,mnc->nc", _normalised(weights, probs.shape[0]), probs)


def hard_vote(probs: np.ndarray, weights: np.ndarray | None = None, smoothing: float = 0.01) -> np.ndarray:
    """Each member votes for its argmax class with its weight; (n, C) vote shares mixed with uniform.

    The result is (1 - smoothing) * shares + smoothing / C, so even a sample every member gets wrong
    has a finite log-loss. Classes tied on votes are separated by the weighted soft vote: TIE_BREAK
    times it is added to the shares before renormalising, so the argmax of the result is the tied
    class with the larger mean probability, while rows still sum to 1.
    """
    probs = _member_probs(probs)
    if not 0.0 <= smoothing <= 1.0:
        raise ValueError(f"smoothing must lie in [0, 1], got {smoothing}")
    w = _normalised(weights, probs.shape[0])
    classes = probs.shape[2]
    votes = np.eye(classes)[predictions(probs)]  # (M, n, C) one-hot
    shares = np.einsum("m,mnc->nc", w, votes)
    shares = shares + TIE_BREAK * np.einsum("m,mnc->nc", w, probs)
    shares /= shares.sum(axis=1, keepdims=True)
    return (1.0 - smoothing) * shares + smoothing / classes


def _nll(w: np.ndarray, picked: np.ndarray) -> float:
    """NLL of the mixture w, from each member's probability of the true label (M, n)."""
    return float(-np.mean(np.log(np.clip(w @ picked, PROB_FLOOR, None))))


def fit_weights(probs: np.ndarray, y: np.ndarray, steps: int = 500) -> np.ndarray:
    """Nonnegative member weights summing to 1 that minimise the NLL of soft_vote(probs, weights) on y.

    The NLL of a mixture is convex in its weights on the simplex. Starting from uniform weights
    (softmax of zero logits), each step is the EM update for mixture weights,
    w_m ← w_m · mean_i(p_m(y_i) / q(y_i)) — exponentiated-gradient-like, multiplicative, and it never
    raises the NLL — so the result is at least as good as uniform on the data it was fitted on
    (checked at the end all the same). Fit it on the validation split, never on the test split.
    """
    probs = _member_probs(probs)
    y = np.asarray(y, dtype=np.int64)
    members, n, _ = probs.shape
    if n == 0:
        raise ValueError("cannot fit member weights on an empty set of samples")
    picked = np.clip(probs[:, np.arange(n), y], PROB_FLOOR, None)  # (M, n): each member's p(true label)
    uniform = np.full(members, 1.0 / members)
    w = uniform.copy()
    for _ in range(max(0, steps)):
        mixture = w @ picked
        updated = w * (picked / mixture).mean(axis=1)
        updated /= updated.sum()
        if np.max(np.abs(updated - w)) < 1e-13:
            w = updated
            break
        w = updated
    if _nll(w, picked) > _nll(uniform, picked):
        return uniform
    return w


def disagreement(preds: np.ndarray) -> float | None:
    """Mean over member pairs of the fraction of samples two members predict differently; None for M < 2."""
    preds = np.asarray(preds)
    if preds.ndim != 2:
        raise ValueError(f"predictions must be shaped (members, samples), got {preds.shape}")
    members, n = preds.shape
    if members < 2:
        return None
    if n == 0:
        raise ValueError("cannot measure disagreement on an empty set of samples")
    pairs = [np.mean(preds[i] != preds[j]) for i in range(members) for j in range(i + 1, members)]
    return float(np.mean(pairs))
