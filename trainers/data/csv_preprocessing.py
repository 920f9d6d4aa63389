"""A CSV table's preprocessing: its feature columns in order, each numeric one's training mean and std, each
categorical one's training categories (the one-hot order), the label column and the file's dialect."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trainers.data.csv_features import standard_stats
from trainers.data.preprocessing import Column, Preprocessing


@dataclass(frozen=True)
class TableFacts:
    """What the table's encoding learned from its training rows, before the class names are known."""

    target: str
    columns: list[tuple[str, str, list[str]]]  # (name, "numeric" | "categorical", cells) of each feature column
    mean: np.ndarray  # per numeric feature
    std: np.ndarray
    train: np.ndarray
    delimiter: str
    decimal: str

    def described(self, class_names: list[str], *, standardised: bool) -> Preprocessing:
        cols: list[Column] = []
        k = 0  # index among the numeric columns
        for name, kind, cells in self.columns:
            if kind == "numeric":
                mean, std = (float(self.mean[k]), float(self.std[k])) if standardised else (0.0, 1.0)
                cols.append(Column(name, "numeric", mean, std))
                k += 1
            else:
                cols.append(Column(name, "categorical", categories=tuple(sorted({cells[i] for i in self.train}))))
        return Preprocessing(
            "table",
            tuple(class_names),
            "csv",
            columns=tuple(cols),
            target=self.target,
            delimiter=self.delimiter,
            decimal=self.decimal,
        )


def table_preprocessing(
    target: str,
    columns: list[tuple[str, str, list[str]]],
    raw: np.ndarray,
    numeric: np.ndarray,
    train: np.ndarray,
    dialect: tuple[str, str],
) -> TableFacts:
    """The training statistics of `raw` (the encoded float64 features; `numeric` marks the numeric ones);
    `dialect`: the file's (delimiter, decimal mark)."""
    if numeric.any():
        mean, std = standard_stats(raw, numeric, train)
    else:
        mean, std = np.zeros(0), np.ones(0)
    return TableFacts(target, columns, mean, std, train, *dialect)
