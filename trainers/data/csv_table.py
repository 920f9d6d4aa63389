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

from trainers.data.bundle import DatasetBundle, as_int_labels
from trainers.data.common import make_bundle, split_indices
from trainers.data.csv_features import check_trainable, standardise
from trainers.data.csv_preprocessing import table_preprocessing
from trainers.spec.config import DataConfig
from trainers.spec.csv_dialect import (
    detect_decimal,
    first_filled,
    has_unnamed_last_column,
    read_sample,
    sniff_delimiter,
    unnamed_column_note,
    with_decimal_point,
    without_trailing_field,
)
from trainers.spec.errors import DataError


@dataclass
class Table:
    path: Path
    header: list[str]
    rows: list[list[str]]
    lines: list[int]  # the file line of each row (the header is line 1)
    delimiter: str = ","
    decimal: str = "."

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
        raise DataError(
            f"{path}: the label column {target!r} has {len(class_names)} distinct values in "
            f"{len(labels)} rows, too many for classes; choose the label column with "
            f"data.target_column"
        )
    features = [j for j in range(len(header)) if j != t]
    if not features:
        raise DataError(f"{path}: only the label column {target!r}; at least one feature column is needed")
    kinds = {j: column_kind(table, j) for j in features}
    tr, va, te = split_indices(
        labels,
        val_split=cfg.val_split,
        test_split=cfg.test_split,
        seed=cfg.split_seed,
        train_fraction=cfg.train_fraction,
        where=str(path),
    )
    raw, names, mask, sources = _encode(table, features, kinds, tr)
    check_trainable(path, raw, sources, mask, table.lines)
    scaled = standardise(raw, mask, tr) if cfg.normalize else raw
    check_trainable(path, scaled, sources, mask, table.lines)
    x = torch.from_numpy(scaled).float()
    y = torch.from_numpy(labels)

    def part(idx: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        i = torch.from_numpy(idx)
        return x[i], y[i]

    columns = [(table.header[j], kinds[j], table.column(j)) for j in features]
    prep = table_preprocessing(target, columns, raw, mask, tr, (table.delimiter, table.decimal))
    return make_bundle(
        path.name,
        class_names,
        part(tr),
        part(va),
        part(te) if len(te) else None,
        normalize=False,
        feature_names=names,
        preprocessing=prep.described(class_names, standardised=cfg.normalize),
    )


def _encode(
    table: Table, features: list[int], kinds: dict[int, str], train: np.ndarray
) -> tuple[np.ndarray, list[str], np.ndarray, list[tuple[str, list[str]]]]:
    """The float64 feature matrix (numbers as written, categories one-hot over the training rows' values), each
    feature's name, which features are numeric, and each feature's CSV column name and cells (to quote)."""
    blocks: list[np.ndarray] = []
    names: list[str] = []
    numeric: list[bool] = []
    sources: list[tuple[str, list[str]]] = []
    for j in features:
        name, cells = table.header[j], table.column(j)
        if kinds[j] == "numeric":
            blocks.append(np.array([float(c) for c in cells], dtype=np.float64)[:, None])
            names.append(name)
            numeric.append(True)
            sources.append((name, cells))
        else:
            categories = sorted({cells[i] for i in train})
            blocks.append(one_hot(cells, categories))
            names += [f"{name}={c}" for c in categories]
            numeric += [False] * len(categories)
            sources += [(name, cells)] * len(categories)
    return np.concatenate(blocks, axis=1), names, np.array(numeric), sources


def read_table(path: Path) -> Table:
    """Header and rows, stripped of surrounding spaces, in the file's own delimiter and decimal mark (numbers are
    rewritten with a decimal point); blank lines skipped, ragged rows rejected, an empty unnamed last column (a
    trailing delimiter) dropped."""
    try:
        delimiter = sniff_delimiter(read_sample(path))
        header, rows, lines = _read_rows(path, delimiter)
    except UnicodeDecodeError:
        raise DataError(f"{path}: not UTF-8 text; save the CSV as UTF-8") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    duplicates = sorted({h for h in header if header.count(h) > 1})
    if duplicates:
        raise DataError(f"{path}: column names must be unique; repeated: {', '.join(map(repr, duplicates))}")
    if not rows:
        raise DataError(f"{path}: no data rows below the header")
    if has_unnamed_last_column(header):
        filled = first_filled(rows, len(header) - 1)
        if filled is not None:
            raise DataError(f"{path}: {unnamed_column_note(lines[filled], rows[filled][-1])}")
        header, rows = header[:-1], [r[:-1] for r in rows]
    decimal = detect_decimal(rows, delimiter)
    if decimal != ".":
        rows = [[with_decimal_point(c, decimal) for c in r] for r in rows]
    return Table(path, header, rows, lines, delimiter, decimal)


def _read_rows(path: Path, delimiter: str) -> tuple[list[str], list[list[str]], list[int]]:
    """The stripped header, the data rows (a trailing empty field trimmed) and each row's file line."""
    rows: list[list[str]] = []
    lines: list[int] = []
    line = 0
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        try:
            first = next(reader, None)
            if first is None or not any(c.strip() for c in first):
                raise DataError(f"{path}: no header row; the first line must name the columns")
            header = [c.strip() for c in first]
            for row in reader:
                line = reader.line_num
                if not row:
                    continue
                row = without_trailing_field(row, len(header))
                if len(row) != len(header):
                    raise DataError(f"{path}, line {line}: {len(row)} fields, but the header has {len(header)}")
                rows.append([c.strip() for c in row])
                lines.append(line)
        except csv.Error as exc:
            raise DataError(f"{path}, line {line + 1}: not valid CSV ({exc})") from None
    return header, rows, lines


def _cell_kind(text: str) -> str:
    """ "number" (finite), "missing" (empty, nan, inf) or "text"; each cell is parsed once."""
    if not text:
        return "missing"
    try:
        value = float(text)
    except ValueError:
        return "text"
    return "number" if math.isfinite(value) else "missing"


def column_kind(table: Table, j: int) -> str:
    """ "numeric" when every value is a number, "categorical" when none is; a mix is a DataError."""
    name, cells = table.header[j], table.column(j)
    kinds = [_cell_kind(c) for c in cells]
    numbers = [i for i, k in enumerate(kinds) if k == "number"]
    texts = [i for i, k in enumerate(kinds) if k == "text"]
    if numbers and texts:
        # the rarer kind is almost always the typo
        odd, usual = (numbers, "text") if len(numbers) < len(texts) else (texts, "numbers")
        i = odd[0]
        raise DataError(
            f"{table.path}: column {name!r} mixes numbers and text: line {table.lines[i]} has "
            f"{cells[i]!r} where the other values are {usual}"
        )
    if not numbers:
        return "categorical"
    if "missing" in kinds:
        i = kinds.index("missing")
        shown = repr(cells[i]) if cells[i] else "an empty cell"
        raise DataError(
            f"{table.path}: column {name!r}, line {table.lines[i]}: {shown} is not a finite "
            f"number; fill in the value or remove the row"
        )
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
