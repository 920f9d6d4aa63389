"""ResultsView: the finished ensemble's table (each member, then the ensemble in bold), the best single stored
trial beside it, its gains over the best and the mean member (and that trial) in points, and the members'
diversity; the engine's note on what member rows mean."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.ensembles import wording as text
from trainers.spec.ensemble_events import EnsembleResult, MemberScore

HEADERS = ("Model", "Weight", "Val acc", "Val loss", "Test acc", "Test loss")
EMPTY = (
    "Build an ensemble, or choose an earlier one, to see how its members and the ensemble score. " + text.EXPECTED_GAIN
)


class ResultsView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.table = QTableWidget(0, len(HEADERS))
        self.table.setHorizontalHeaderLabels(HEADERS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.headline = QLabel(EMPTY)
        self.headline.setWordWrap(True)
        self.single = QLabel()
        self.gains = QLabel()
        self.diversity = QLabel()
        self.note = QLabel()
        for label in (self.single, self.gains, self.diversity, self.note):
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.headline, self.table, self.single, self.gains, self.diversity, self.note):
            layout.addWidget(widget)
        self.result: EnsembleResult | None = None
        self.show_result(None)

    def show_result(self, result: EnsembleResult | None) -> None:
        """Fill the table and the lines below it; None empties them."""
        self.result = result
        rows: list[MemberScore] = [] if result is None else list(result.members)
        if result is not None and result.ensemble is not None:
            rows.append(result.ensemble)
        self.table.setRowCount(len(rows))
        for row, score in enumerate(rows):
            self._fill_row(row, score, bold=result is not None and score is result.ensemble)
        if result is None:
            self.headline.setText(EMPTY)
            for label in (self.single, self.gains, self.diversity, self.note):
                label.clear()
                label.setVisible(False)
            return
        self.headline.setText(text.headline(result))
        self.single.setText(text.best_single_line(result))
        gains = text.gains_lines(result.gains)
        self.gains.setText("\n".join(gains))
        self.diversity.setText(text.diversity_line(result.diversity, result.diversity_split) if result.members else "")
        # what the build decided (stacking replaced by the vote, what greedy selection kept) stays beside the table
        self.note.setText("\n".join(line for line in (result.member_note, result.message) if line))
        for label in (self.single, self.gains, self.diversity, self.note):
            label.setVisible(bool(label.text()))

    def _fill_row(self, row: int, score: MemberScore, bold: bool) -> None:
        cells = (
            score.label,
            text.weight(score.weight),
            text.percent(score.val_acc),
            text.loss(score.val_loss),
            text.percent(score.test_acc),
            text.loss(score.test_loss),
        )
        for column, value in enumerate(cells):
            item = QTableWidgetItem(value)
            if column:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if bold:
                font = QFont(item.font())
                font.setBold(True)
                item.setFont(font)
            self.table.setItem(row, column, item)

    # ---- reading back (tests, screenshots) -----------------------------------------------
    def row_texts(self, row: int) -> list[str]:
        return [self.table.item(row, c).text() for c in range(len(HEADERS))]

    def is_bold(self, row: int) -> bool:
        return self.table.item(row, 0).font().bold()
