"""Tabular classification from a CSV file with a header row.

Numeric columns are standardised and text columns one-hot encoded, both with what the training split
alone shows, so validation and test rows never leak into the features' scaling or vocabulary.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from trainers.spec.config import DataConfig
from trainers.data.bundle import DatasetBundle, as_int_labels, feature_stats
from trainers.data.common import make_bundle, split_indices
from trainers.spec.errors import DataError


@dataclass
class Table:
    path: Path
    header: list[str]
    rows: list[list[str]]
    lines: list[int]        # the file line of each row (the header is line 1)

    def column(self, j: int) -> list[str]:
        return [r[j] for r in self.rows]


def load_csv(cfg: DataConfig) -> DatasetBundle:
    table = read_table(Path(cfg.path).expanduser())
    path, header = table.path, table.header
    target = cfg.target_column or header[-1]
    if target not in header:
        raise DataError(f"{path}: no column {target!r}; the columns are: {', '.join(header)}")
    t = header.index(target)
    label_cells = table.column(t)
    for cell, line in zip(label_cells, table.lines):
        if not cell:
            raise DataError(f"{path}, line {line}: the label column {target!r} is empty")
    labels, class_names = as_int_labels(label_cells)
    if len(class_names) > max(2, len(labels) // 2):
        # most "classes" would have a single row: almost surely a measurement, not a label
        raise DataError(f"{path}: the label column {target!r} has {len(class_names)} distinct values in "
                        f"{len(labels)} rows, too many for classes; choose the label column with "
                        f"data.target_column")
    features = [j for j in range(len(header)) if j != t]
    if not features:
        raise DataError(f"{path}: only the label column {target!r}; at least one feature column is needed")
    kinds = {j: column_kind(table, j) for j in features}
    tr, va, te = split_indices(labels, val_split=cfg.val_split, test_split=cfg.test_split, seed=cfg.split_seed,
                               train_fraction=cfg.train_fraction, where=str(path))
    blocks: list[np.ndarray] = []
    names: list[str] = []
    numeric: list[bool] = []
    for j in features:
        cells = table.column(j)
        if kinds[j] == "numeric":
            blocks.append(np.array([float(c) for c in cells], dtype=np.float64)[:, None])
            names.append(header[j])
            numeric.append(True)
        else:
            categories = sorted({cells[i] for i in tr})
            blocks.append(one_hot(cells, categories))
            names += [f"{header[j]}={c}" for c in categories]
            numeric += [False] * len(categories)
    x = torch.from_numpy(np.concatenate(blocks, axis=1)).float()
    mask = torch.tensor(numeric)
    if cfg.normalize and bool(mask.any()):
        mean, std = feature_stats(x[torch.from_numpy(tr)][:, mask])
        x[:, mask] = (x[:, mask] - mean) / std
    y = torch.from_numpy(labels)

    def part(idx: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        i = torch.from_numpy(idx)
        return x[i], y[i]
    return make_bundle(path.name, class_names, part(tr), part(va), part(te) if len(te) else None,
                       normalize=False, feature_names=names)


def read_table(path: Path) -> Table:
    """Header and rows, stripped of surrounding spaces; blank lines skipped, ragged rows rejected."""
    rows: list[list[str]] = []
    lines: list[int] = []
    line = 0
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            first = next(reader, None)
            if first is None or not any(c.strip() for c in first):
                raise DataError(f"{path}: no header row; the first line must name the columns")
            header = [c.strip() for c in first]
            for row in reader:
                line = reader.line_num
                if not row:
                    continue
                if len(row) != len(header):
                    raise DataError(f"{path}, line {line}: {len(row)} fields, but the header has {len(header)}")
                rows.append([c.strip() for c in row])
                lines.append(line)
    except UnicodeDecodeError:
        raise DataError(f"{path}: not UTF-8 text; save the CSV as UTF-8") from None
    except csv.Error as exc:
        raise DataError(f"{path}, line {line + 1}: not valid CSV ({exc})") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    duplicates = sorted({h for h in header if header.count(h) > 1})
    if duplicates:
        raise DataError(f"{path}: column names must be unique; repeated: {', '.join(map(repr, duplicates))}")
    if not rows:
        raise DataError(f"{path}: no data rows below the header")
    return Table(path, header, rows, lines)


def _cell_kind(text: str) -> str:
    """"number" (finite), "missing" (empty, nan, inf) or "text"; each cell is parsed once."""
    if not text:
        return "missing"
    try:
        value = float(text)
    except ValueError:
        return "text"
    return "number" if math.isfinite(value) else "missing"


def column_kind(table: Table, j: int) -> str:
    """"numeric" when every value is a number, "categorical" when none is; a mix is a DataError."""
    name, cells = table.header[j], table.column(j)
    kinds = [_cell_kind(c) for c in cells]
    numbers = [i for i, k in enumerate(kinds) if k == "number"]
    texts = [i for i, k in enumerate(kinds) if k == "text"]
    if numbers and texts:
        # the rarer kind is almost always the typo
        odd, usual = (numbers, "text") if len(numbers) < len(texts) else (texts, "numbers")
        i = odd[0]
        raise DataError(f"{table.path}: column {name!r} mixes numbers and text: line {table.lines[i]} has "
                        f"{cells[i]!r} where the other values are {usual}")
    if not numbers:
        return "categorical"
    if "missing" in kinds:
        i = kinds.index("missing")
        shown = repr(cells[i]) if cells[i] else "an empty cell"
        raise DataError(f"{table.path}: column {name!r}, line {table.lines[i]}: {shown} is not a finite "
                        f"number; fill in the value or remove the row")
    return "numeric"


def one_hot(cells: list[str], categories: list[str]) -> np.ndarray:
    """(N, K) indicators; a value not among `categories` (unseen in training) is all zeros."""
    lookup = {c: k for k, c in enumerate(categories)}
    out = np.zeros((len(cells), len(categories)), dtype=np.float64)
    for i, c in enumerate(cells):
        k = lookup.get(c)
        if k is not None:
            out[i, k] = 1.0
    return out
