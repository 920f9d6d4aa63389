"""What the window shows of a CSV file before training: its delimiter and decimal mark, the header for the column
picker, the first rows as written, and each column's detected type. Plain csv module, no torch or numpy, so the
window can call it on the GUI thread while the engine is still loading."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

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

TYPED_ROWS = 1000  # the rows read to tell numeric from categorical columns


@dataclass(frozen=True)
class CsvPreview:
    """`kinds` per column: "numeric" (every filled cell a number), "categorical" (some text) or "empty"; `notes`
    say what the loader will object to or change (an unnamed last column holding values)."""

    path: str
    delimiter: str
    decimal: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    kinds: tuple[str, ...]
    notes: tuple[str, ...] = ()


def csv_preview(path: str | Path, rows: int = 5) -> CsvPreview:
    """The preview of the file at `path` with its first `rows` data rows; a DataError when it cannot be read."""
    where = Path(path).expanduser()
    try:
        delimiter = sniff_delimiter(read_sample(where))
        header, body, lines = _head(where, delimiter, max(rows, TYPED_ROWS))
    except UnicodeDecodeError:
        raise DataError(f"{where}: not UTF-8 text; save the CSV as UTF-8") from None
    except OSError as exc:
        raise DataError(f"{where}: cannot be read ({exc.strerror or exc})") from None
    except csv.Error as exc:
        raise DataError(f"{where}: not valid CSV ({exc})") from None
    notes: list[str] = []
    if has_unnamed_last_column(header):
        filled = first_filled(body, len(header) - 1)
        if filled is None:
            header, body = header[:-1], [r[:-1] for r in body]
        else:
            notes.append(unnamed_column_note(lines[filled], body[filled][-1]))
    decimal = detect_decimal(body, delimiter)
    kinds = tuple(_kind([r[j] for r in body], decimal) for j in range(len(header)))
    return CsvPreview(
        str(where), delimiter, decimal, tuple(header), tuple(tuple(r) for r in body[:rows]), kinds, tuple(notes)
    )


def _head(path: Path, delimiter: str, limit: int) -> tuple[list[str], list[list[str]], list[int]]:
    """The stripped header and up to `limit` data rows (padded or cut to the header's width) with their lines."""
    body: list[list[str]] = []
    lines: list[int] = []
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        first = next(reader, None)
        if first is None or not any(c.strip() for c in first):
            raise DataError(f"{path}: no header row; the first line must name the columns")
        header = [c.strip() for c in first]
        for row in reader:
            if len(body) >= limit:
                break
            if not row:
                continue
            cells = [c.strip() for c in without_trailing_field(row, len(header))]
            body.append((cells + [""] * len(header))[: len(header)])
            lines.append(reader.line_num)
    return header, body, lines


def _kind(cells: list[str], decimal: str) -> str:
    filled = [c for c in cells if c]
    if not filled:
        return "empty"
    return "numeric" if all(_is_number(with_decimal_point(c, decimal)) for c in filled) else "categorical"


def _is_number(text: str) -> bool:
    """As the loader reads a number ("nan" and "inf" included: there they are missing values of a numeric column)."""
    try:
        float(text)
    except ValueError:
        return False
    return True
