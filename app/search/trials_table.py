"""The search's trials, one row each as they report and end: number, state, value, epochs, the epoch it was pruned at,
duration, and one column per searched parameter. A header click sorts (numbers as numbers)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem, QWidget

from app.search import wording as text
from app.search.trial_log import TrialRow

FIXED_COLUMNS = ("#", "State", "Value", "Epochs", "Pruned at", "Duration", "Trial")
SORT_ROLE = Qt.ItemDataRole.UserRole  # what an item sorts by: a number, or text


class _Item(QTableWidgetItem):
    def __init__(self, shown: str, key: Any) -> None:
        super().__init__(shown)
        self.setData(SORT_ROLE, key)
        self.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)

    def __lt__(self, other: QTableWidgetItem) -> bool:
        a, b = self.data(SORT_ROLE), other.data(SORT_ROLE)
        if isinstance(a, (int, float)) and isinstance(b, (int, float)):
            return a < b
        if isinstance(a, (int, float)) != isinstance(b, (int, float)):
            return isinstance(a, (int, float))  # numbers before blanks
        return str(a) < str(b)


class TrialsTable(QTableWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(FIXED_COLUMNS), parent)
        self._params: list[str] = []
        self.setHorizontalHeaderLabels(list(FIXED_COLUMNS))
        self.verticalHeader().hide()
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.horizontalHeader().setStretchLastSection(True)
        self.setSortingEnabled(True)
        self.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.setAccessibleName("Search trials")

    def start_over(self, params: list[str]) -> None:
        """No rows; one column per searched field after the fixed ones."""
        self.setRowCount(0)
        self._params = list(params)
        self.setColumnCount(len(FIXED_COLUMNS) + len(self._params))
        self.setHorizontalHeaderLabels([*FIXED_COLUMNS, *(text.short_name(p) for p in self._params)])
        for i, p in enumerate(self._params):
            header = self.horizontalHeaderItem(len(FIXED_COLUMNS) + i)
            if header is not None:
                header.setToolTip(p)

    def show_rows(self, params: list[str], rows: list[TrialRow]) -> None:
        """Every row afresh (an earlier search, or a parameter the columns did not have yet)."""
        self.start_over(params)
        for row in rows:
            self.show_row(row)

    @property
    def params(self) -> list[str]:
        return list(self._params)

    def show_row(self, row: TrialRow) -> None:
        """Add the trial's row or bring it up to date."""
        sorting = self.isSortingEnabled()
        self.setSortingEnabled(False)  # rows must not move while one is written
        index = self.row_of(row.number)
        self._write(self._append() if index is None else index, self._cells(row))
        self.setSortingEnabled(sorting)

    def row_of(self, number: int) -> int | None:
        for r in range(self.rowCount()):
            item = self.item(r, 0)
            if item is not None and item.data(SORT_ROLE) == number:
                return r
        return None

    def cell_text(self, number: int, column: str) -> str:
        """What the row of trial `number` shows under `column` (a fixed title or a field); "" when absent."""
        r = self.row_of(number)
        names = [*FIXED_COLUMNS, *self._params]
        if r is None or column not in names:
            return ""
        item = self.item(r, names.index(column))
        return item.text() if item is not None else ""

    # ---- helpers -----------------------------------------------------------------------------
    def _cells(self, row: TrialRow) -> list[tuple[str, Any, str | None]]:
        """(shown text, sort key, colour) per column."""
        seconds = f"{row.seconds:.1f} s" if row.seconds is not None else text.NONE
        cells: list[tuple[str, Any, str | None]] = [
            (str(row.number), row.number, None),
            (text.STATE_LABELS.get(row.state, row.state), row.state, text.STATE_COLOURS.get(row.state)),
            (text.format_value(row.value), row.value if row.value is not None else "", None),
            (str(row.epochs), row.epochs, None),
            (str(row.pruned_at) if row.pruned_at is not None else text.NONE, row.pruned_at or "", None),
            (seconds, row.seconds if row.seconds is not None else "", None),
            (f"#{row.trial_id}" if row.trial_id is not None else text.NONE, row.trial_id or "", None),
        ]
        for p in self._params:
            v = row.params.get(p)
            key = v if isinstance(v, (int, float)) and not isinstance(v, bool) else text.format_param(v)
            cells.append((text.format_param(v), key, None))
        return cells

    def _append(self) -> int:
        self.insertRow(self.rowCount())
        return self.rowCount() - 1

    def _write(self, r: int, cells: list[tuple[str, Any, str | None]]) -> None:
        for c, (shown, key, colour) in enumerate(cells):
            item = _Item(shown, key)
            if colour is not None:
                item.setForeground(QColor(colour))
            self.setItem(r, c, item)
