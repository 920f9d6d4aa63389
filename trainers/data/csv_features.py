"""A CSV table's feature matrix standardised in float64, and the check that it still fits the float32 tensors the
model trains on: a value like 1e308 must be a data error naming its column and row, never "diverged at step 1"."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from trainers.spec.errors import DataError

FLOAT32_MAX = float(np.finfo(np.float32).max)


def standardise(x: np.ndarray, numeric: np.ndarray, train: np.ndarray) -> np.ndarray:
    """Numeric columns shifted and scaled by the training rows' mean and std (a constant column keeps std 1)."""
    out = x.copy()
    if not numeric.any():
        return out
    mean, std = standard_stats(x, numeric, train)
    out[:, numeric] = (x[:, numeric] - mean) / std
    return out


def standard_stats(x: np.ndarray, numeric: np.ndarray, train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The training rows' mean and std (ddof 1) of each numeric column; a constant column's std is 1."""
    fit = x[train][:, numeric]
    mean = fit.mean(axis=0)
    std = fit.std(axis=0, ddof=1) if len(fit) > 1 else np.ones_like(mean)
    return mean, np.where(std > 1e-8, std, 1.0)


def check_trainable(
    path: Path, x: np.ndarray, columns: list[tuple[str, list[str]]], numeric: np.ndarray, lines: list[int]
) -> None:
    """Every numeric feature of `x` fits a float32; checked on the values as written (before standardising, which
    would overflow on them) and again after standardising (a tiny training std can blow a value up).

    `columns` gives, per feature column, the CSV column's name and cells (to quote the offending value)."""
    for j in np.flatnonzero(numeric):
        magnitude = np.abs(x[:, j])
        if np.all(magnitude <= FLOAT32_MAX):
            continue
        i = int(np.argmax(np.where(np.isnan(magnitude), np.inf, magnitude)))
        name, cells = columns[j]
        raise DataError(
            f"{path}: column {name!r}, line {lines[i]}: {cells[i]!r} is too large to train on "
            f"(features are 32-bit floats, at most about 3.4e38, also after standardising); "
            f"rescale the column, e.g. to other units, or remove the row"
        )
