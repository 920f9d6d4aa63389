"""The rows of a CSV split as written in the file: the split's samples are encoded numbers, so a mistake's row is
found again by reading the file and splitting it as the trial's data source did (seeded, so identically)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from trainers.data.bundle import as_int_labels
from trainers.data.common import split_indices
from trainers.data.csv_table import read_table
from trainers.spec.config import DataConfig


def split_rows(cfg: DataConfig, split: str) -> tuple[list[str], list[list[str]], list[int]]:
    """(header, rows, file lines) of the named split ("train", "val" or "test") in the split's sample order."""
    table = read_table(Path(cfg.path).expanduser())
    target = cfg.target_column or table.header[-1]
    labels, _ = as_int_labels(table.column(table.header.index(target)))
    parts = split_indices(
        labels,
        val_split=cfg.val_split,
        test_split=cfg.test_split,
        seed=cfg.split_seed,
        train_fraction=cfg.train_fraction,
        where=str(table.path),
    )
    idx: np.ndarray = dict(zip(("train", "val", "test"), parts))[split]
    return table.header, [table.rows[i] for i in idx], [table.lines[i] for i in idx]
