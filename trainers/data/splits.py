"""Seeded, stratified splits of a label vector into train / validation / test indices."""

from __future__ import annotations

import numpy as np


def stratified_split(
    labels: np.ndarray, val_frac: float, test_frac: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split indices so each class keeps its share in every split (at least one train sample per class).

    Per-class counts are apportioned by largest remainder, so the totals match the fractions even when
    every class is small (10 classes of 3 samples at 0.15 still give 4-5 validation samples)."""
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(labels, return_counts=True)
    spare = np.maximum(counts - 1, 0)  # a class's last sample always stays for training
    n_test = _apportion(counts, test_frac, spare, rng)
    n_val = _apportion(counts, val_frac, spare - n_test, rng)
    train, val, test = [], [], []
    for cls, t, v in zip(classes, n_test, n_val):
        idx = np.flatnonzero(labels == cls)
        rng.shuffle(idx)
        test.append(idx[:t])
        val.append(idx[t : t + v])
        train.append(idx[t + v :])
    out = []
    for parts in (train, val, test):
        joined = np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)
        rng.shuffle(joined)
        out.append(joined.astype(np.int64))
    return out[0], out[1], out[2]


def _apportion(counts: np.ndarray, frac: float, cap: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Per-class sample counts summing to round(total * frac), each within [0, cap]: floors first, then
    the largest remainders (ties broken at random) take the rest."""
    quota = counts * frac
    take = np.minimum(np.floor(quota).astype(np.int64), cap)
    wanted = min(int(round(counts.sum() * frac)), int(cap.sum()))
    remainder = quota - take + rng.random(len(counts)) * 1e-9
    for i in np.argsort(-remainder, kind="stable"):
        if take.sum() >= wanted:
            break
        if take[i] < cap[i]:
            take[i] += 1
    return take


def stratified_subsample(labels: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Indices of a stratified `fraction` of `labels`, keeping at least one sample per class."""
    labels = np.asarray(labels)
    if fraction >= 1.0:
        return np.arange(len(labels), dtype=np.int64)
    rng = np.random.default_rng(seed + 1)
    keep = []
    for cls in np.unique(labels):
        idx = np.flatnonzero(labels == cls)
        rng.shuffle(idx)
        keep.append(idx[: max(1, int(round(len(idx) * fraction)))])
    out = np.concatenate(keep)
    rng.shuffle(out)
    return out.astype(np.int64)
