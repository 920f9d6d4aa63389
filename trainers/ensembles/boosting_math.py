"""The arithmetic of boosting: multi-class AdaBoost (SAMME) and gradient boosting on logits.

SAMME follows Zhu, Zou, Rosset & Hastie (2009), as scikit-learn's AdaBoostClassifier(algorithm="SAMME").
Gradient boosting is Friedman's multi-class scheme, with networks fitting the residual of the logits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trainers.ensembles.combine import hard_vote

# Slack on the chance threshold, so an error of exactly 1 - 1/K (up to rounding) counts as chance.
CHANCE_SLACK = 1e-12
# scikit-learn's weight for a member with zero weighted error; boosting stops after it.
PERFECT_ALPHA = 1.0
STOP_PERFECT = "perfect"
STOP_CHANCE = "worse than chance"


@dataclass(frozen=True)
class SammeStep:
    error: float  # weighted error of the member on the current sample weights
    alpha: float  # the member's weight in the combined vote (0: discard the member)
    weights: np.ndarray  # sample weights for the next member, summing to 1
    stop: str  # "" to keep boosting, else STOP_PERFECT or STOP_CHANCE


def samme_step(sample_weights: np.ndarray, wrong: np.ndarray, n_classes: int, learning_rate: float = 1.0) -> SammeStep:
    """One SAMME round from the sample weights and where the new member was wrong.

    error = Σ w·wrong / Σ w; alpha = lr·(log((1 - error)/error) + log(K - 1)); the wrong samples'
    weights grow by exp(alpha), then all are renormalised. As in scikit-learn: a perfect member
    (error ≤ 0) gets alpha 1.0 and boosting stops, since reweighting would be undefined; a member no
    better than chance (error ≥ 1 - 1/K) gets alpha 0 and stops boosting — the caller discards it.
    In both stops the weights are returned unchanged (normalised).
    """
    if n_classes < 2:
        raise ValueError(f"SAMME needs at least 2 classes, got {n_classes}")
    if not learning_rate > 0:
        raise ValueError(f"the learning rate must be positive, got {learning_rate}")
    w = np.asarray(sample_weights, dtype=np.float64).reshape(-1)
    miss = np.asarray(wrong, dtype=np.float64).reshape(-1)
    if miss.shape != w.shape or w.size == 0:
        raise ValueError(f"need as many 'wrong' flags as sample weights, got {miss.shape} and {w.shape}")
    if np.any(w < 0) or not w.sum() > 0:
        raise ValueError("sample weights must be nonnegative and not all zero")
    w = w / w.sum()
    error = float(np.sum(w * miss))
    if error <= 0:
        return SammeStep(error=0.0, alpha=PERFECT_ALPHA, weights=w, stop=STOP_PERFECT)
    if error >= 1.0 - 1.0 / n_classes - CHANCE_SLACK:
        return SammeStep(error=error, alpha=0.0, weights=w, stop=STOP_CHANCE)
    alpha = float(learning_rate * (np.log((1.0 - error) / error) + np.log(n_classes - 1.0)))
    updated = w * np.exp(alpha * miss)
    return SammeStep(error=error, alpha=alpha, weights=updated / updated.sum(), stop="")


def samme_combine(preds: np.ndarray, alphas: np.ndarray, n_classes: int) -> np.ndarray:
    """The SAMME decision as (n, C) alpha-weighted vote shares mixed with 1 % uniform (hard_vote's rule).

    Its argmax is argmax_k Σ_m alpha_m [h_m(x) = k]; exact ties go to the lowest class index.
    """
    labels = np.asarray(preds, dtype=np.int64)
    if labels.ndim != 2:
        raise ValueError(f"predictions must be shaped (members, samples), got {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"predicted classes must lie in 0..{n_classes - 1}")
    return hard_vote(np.eye(n_classes)[labels], weights=np.asarray(alphas, dtype=np.float64))


def softmax(logits: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, shifted by the row maximum so large logits do not overflow."""
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def _one_hot(y: np.ndarray, classes: int) -> np.ndarray:
    return np.eye(classes)[np.asarray(y, dtype=np.int64)]


def gb_residual(logits: np.ndarray, y: np.ndarray) -> np.ndarray:
    """one_hot(y) - softmax(logits): the negative gradient of cross-entropy w.r.t. the logits, (n, C)."""
    z = np.asarray(logits, dtype=np.float64)
    return _one_hot(y, z.shape[-1]) - softmax(z)


def cross_entropy(logits: np.ndarray, y: np.ndarray) -> float:
    """Mean cross-entropy of softmax(logits) (n, C) against int labels y (n,)."""
    z = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(y, dtype=np.int64)
    z = z - z.max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-np.mean(log_p[np.arange(len(labels)), labels]))


def _slope(logits: np.ndarray, step: np.ndarray, y: np.ndarray, rho: float) -> float:
    """d/drho of the mean cross-entropy of softmax(logits + rho * step)."""
    return float(-np.mean(np.sum(gb_residual(logits + rho * step, y) * step, axis=1)))


def line_search(logits: np.ndarray, step: np.ndarray, y: np.ndarray, max_rho: float = 8.0, tol: float = 1e-6) -> float:
    """The rho in [0, max_rho] minimising mean cross-entropy of softmax(logits + rho * step).

    The loss is convex in rho, so bisection on its derivative finds the minimiser (to `tol`):
    0 when the step does not descend (or is not finite: a diverged member adds nothing), max_rho when the loss
    still falls there.
    """
    if not max_rho > 0:
        raise ValueError(f"max_rho must be positive, got {max_rho}")
    z = np.asarray(logits, dtype=np.float64)
    d = np.asarray(step, dtype=np.float64)
    labels = np.asarray(y, dtype=np.int64)
    if z.ndim != 2 or d.shape != z.shape or labels.shape != (z.shape[0],) or z.shape[0] == 0:
        raise ValueError(
            f"need logits and step shaped (n, C) with n ≥ 1 and labels (n,), got {z.shape}, {d.shape}, {labels.shape}"
        )
    if not (np.isfinite(z).all() and np.isfinite(d).all()) or not _slope(z, d, labels, 0.0) < 0:
        return 0.0
    if _slope(z, d, labels, max_rho) <= 0:
        return float(max_rho)
    lo, hi = 0.0, float(max_rho)
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        if _slope(z, d, labels, mid) > 0:
            hi = mid
        else:
            lo = mid
    return 0.5 * (lo + hi)
