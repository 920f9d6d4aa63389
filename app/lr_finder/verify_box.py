"""The verification's evidence: each candidate rate at each rung of the short runs (epochs, validation loss and
accuracy, what became of it), the chosen one marked, and how the check ended. Hidden when a test ran without it."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGroupBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.lr_finder import wording as text
from trainers.spec.lr_verify_events import VerifiedRate

HEADERS = ("Rate", "Epochs", "Val loss", "Val acc", "Outcome")


class VerifyPanel(QGroupBox):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Checked by short training runs", parent)
        self.table = QTableWidget(0, len(HEADERS))
        self.table.setObjectName("verify_table")
        self.table.setHorizontalHeaderLabels(HEADERS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.summary = QLabel()
        self.summary.setObjectName("verify_summary")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.table)
        self.verified: VerifiedRate | None = None
        self.show_verified(None)

    def show_verified(self, verified: VerifiedRate | None) -> None:
        """Fill the table from a verification (None: hide the panel)."""
        self.verified = verified
        rows = () if verified is None else verified.rows
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, value in enumerate(text.verify_cells(row)):
                item = QTableWidgetItem(value)
                if c < len(HEADERS) - 1:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if row.outcome == "chosen":
                    font = QFont(item.font())
                    font.setBold(True)
                    item.setFont(font)
                self.table.setItem(r, c, item)
        self.summary.setText("" if verified is None else text.verify_summary(verified))
        self.setVisible(verified is not None)

    # ---- reading back (tests, screenshots) -----------------------------------------------
    def row_texts(self, row: int) -> list[str]:
        return [self.table.item(row, c).text() for c in range(len(HEADERS))]

    def chosen_rows(self) -> list[int]:
        return [r for r in range(self.table.rowCount()) if self.table.item(r, 0).font().bold()]
