"""Seeded, stratified splits of a label vector into train / validation / test indices."""

from __future__ import annotations

import numpy as np


def stratified_split(labels: np.ndarray, val_frac: float, test_frac: float,
                     seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split indices so each class keeps its share in every split (at least one train sample per class)."""
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    train, val, test = [], [], []
    for cls in np.unique(labels):
        idx = np.flatnonzero(labels == cls)
        rng.shuffle(idx)
        n = len(idx)
        n_test = int(round(n * test_frac))
        n_val = int(round(n * val_frac))
        # never leave a class without training samples
        while n_test + n_val >= n and (n_test or n_val):
            if n_test >= n_val and n_test:
                n_test -= 1
            else:
                n_val -= 1
        test.append(idx[:n_test])
        val.append(idx[n_test:n_test + n_val])
        train.append(idx[n_test + n_val:])
    out = []
    for parts in (train, val, test):
        joined = np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)
        rng.shuffle(joined)
        out.append(joined.astype(np.int64))
    return out[0], out[1], out[2]


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
        keep.append(idx[:max(1, int(round(len(idx) * fraction)))])
    out = np.concatenate(keep)
    rng.shuffle(out)
    return out.astype(np.int64)
