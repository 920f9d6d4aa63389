"""The predictions as a table: input, predicted class, probability, the top three, the true class when the input
says it, and why an input was not predicted. It shows the engine's PredictionTable; it computes nothing."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem, QWidget

COLUMNS = ("Input", "Predicted", "Probability", "Top 3", "True class", "Problem")
_ERROR = QColor("#b3261e")


class ResultsTable(QTableWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.setHorizontalHeaderLabels(COLUMNS)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSortingEnabled(False)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)  # compact rows
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)

    def show_table(self, table: Any) -> None:
        """Fill the rows from a trainers.spec.predictions.PredictionTable (None empties the table)."""
        rows = list(table.rows) if table is not None else []
        self.setRowCount(len(rows))
        for i, r in enumerate(rows):
            top = "   ".join(f"{c} {p:.3f}" for c, p in r.top)
            cells = (r.id, r.label, "" if r.error else f"{r.probability:.3f}", top, r.truth, r.error)
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if j == 2:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if r.error:
                    item.setForeground(QBrush(_ERROR))
                if j == 5 and text:
                    item.setToolTip(text)
                self.setItem(i, j, item)
        self.resizeColumnsToContents()

    def cell_text(self, row: int, column: str) -> str:
        item = self.item(row, COLUMNS.index(column))
        return item.text() if item is not None else ""
