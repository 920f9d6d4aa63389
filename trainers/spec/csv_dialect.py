"""How a CSV file is written: its delimiter (comma, semicolon or tab), its decimal mark and a trailing delimiter.

Spreadsheets in many locales save "1,5;2,25;cat": a semicolon between fields and a comma inside numbers; Excel often
ends every line with one more delimiter (an empty, unnamed last column). Plain csv module only, so the window's
preview and the engine's loader read a file the same way without importing torch."""

from __future__ import annotations

import csv
import re

DELIMITERS = ",;\t"
SAMPLE_CHARS = 64 * 1024
SAMPLE_LINES = 50
# a number written with a decimal comma and no other separator: "1,5", "-0,25", ",5", "1,5e-3"
_DECIMAL_COMMA = re.compile(r"^[+-]?\d*,\d+(?:[eE][+-]?\d+)?$")


def _field_counts(lines: list[str], delimiter: str) -> list[int]:
    return [len(row) for row in csv.reader(lines, delimiter=delimiter) if row]


def _header_width(lines: list[str], delimiter: str) -> int:
    return (_field_counts(lines[:1], delimiter) or [0])[0]


def _consistent(lines: list[str], delimiter: str) -> bool:
    """Splits the header into several fields and every sampled row into as many (or one more: a trailing one)."""
    counts = _field_counts(lines, delimiter)
    if not counts or counts[0] < 2:
        return False
    return all(c in (counts[0], counts[0] + 1) for c in counts[1:])


def sniff_delimiter(sample: str) -> str:
    """The delimiter of a file that starts with `sample`: csv.Sniffer's guess when it splits the sample
    consistently, else the consistent candidate that splits the header most, else the one that splits the header
    most (a ragged file is then reported line by line by the reader), else a comma."""
    lines = [line for line in sample.splitlines()[:SAMPLE_LINES] if line.strip()]
    if len(sample) >= SAMPLE_CHARS and len(lines) > 1:
        lines = lines[:-1]  # the sample may end inside a line
    if not lines:
        return ","
    try:
        sniffed = csv.Sniffer().sniff("\n".join(lines), delimiters=DELIMITERS).delimiter
    except csv.Error:
        sniffed = ""
    consistent = [d for d in DELIMITERS if _consistent(lines, d)]
    if sniffed in consistent:
        return sniffed
    widest = max(consistent or DELIMITERS, key=lambda d: _header_width(lines, d))
    return widest if _header_width(lines, widest) > 1 else ","


def read_sample(path: str | object) -> str:
    """The first characters of a UTF-8 file (a leading byte-order mark dropped), enough to sniff."""
    with open(str(path), newline="", encoding="utf-8-sig") as fh:
        return fh.read(SAMPLE_CHARS)


def is_decimal_comma(cell: str) -> bool:
    return bool(_DECIMAL_COMMA.match(cell))


def detect_decimal(rows: list[list[str]], delimiter: str) -> str:
    """ "," when the file is not comma-delimited and some cell reads as a decimal-comma number, else "."."""
    if delimiter == ",":
        return "."
    return "," if any(is_decimal_comma(c) for row in rows for c in row) else "."


def with_decimal_point(cell: str, decimal: str) -> str:
    """A decimal-comma number rewritten with a point ("1,5" → "1.5"); any other cell unchanged."""
    return cell.replace(",", ".") if decimal == "," and is_decimal_comma(cell) else cell


def without_trailing_field(row: list[str], width: int) -> list[str]:
    """A data row with one empty field more than the header (a trailing delimiter) trimmed to the header."""
    return row[:width] if len(row) == width + 1 and not row[-1].strip() else row


def has_unnamed_last_column(header: list[str]) -> bool:
    return len(header) > 1 and not header[-1]


def first_filled(rows: list[list[str]], j: int) -> int | None:
    """The index of the first row whose column j holds something, or None when the column is empty."""
    return next((i for i, row in enumerate(rows) if row[j]), None)


def unnamed_column_note(line: int, cell: str) -> str:
    return (
        f"the last column has no name in the header but line {line} holds {cell!r}; name the column in the "
        f"header to use it, or delete it (an empty unnamed last column, as Excel writes it, is dropped)"
    )
