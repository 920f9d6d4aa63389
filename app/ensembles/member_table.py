"""MemberTable: one row per member while an ensemble builds: its label, a bar of epochs done, and its latest
train loss, validation loss and validation accuracy. Filled from EnsembleStarted and MemberProgress events."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QProgressBar, QTableWidget, QTableWidgetItem, QWidget

from app.ensembles import wording as text
from trainers.spec.ensemble_events import EnsembleStarted, MemberProgress

HEADERS = ("Member", "Epochs", "Train loss", "Val loss", "Val acc")


class MemberTable(QTableWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(HEADERS), parent)
        self.setHorizontalHeaderLabels(HEADERS)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.verticalHeader().setVisible(False)
        header = self.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.resizeSection(1, 200)
        self.epochs = 0
        self._done: list[int] = []  # epochs each member has finished

    def start(self, event: EnsembleStarted) -> None:
        """One row per member, each bar empty (or "loaded" for stored trials, which are not trained)."""
        self.clear_members()
        self.epochs = event.epochs
        self._done = [0] * len(event.labels)
        self.setRowCount(len(event.labels))
        for row, label in enumerate(event.labels):
            self.setItem(row, 0, QTableWidgetItem(label))
            bar = QProgressBar()
            bar.setRange(0, max(1, event.epochs))
            bar.setValue(0 if event.epochs else 1)
            bar.setFormat("%v / %m epochs" if event.epochs else "loaded")
            self.setCellWidget(row, 1, bar)
            for column in range(2, len(HEADERS)):
                self.setItem(row, column, self._number(text.DASH))

    def update_member(self, event: MemberProgress) -> None:
        if not 0 <= event.member < self.rowCount():
            return  # an event of a job whose start was not seen (cannot happen; never crash on it)
        row = event.member
        self._done[row] = max(self._done[row], event.epoch)
        bar = self.bar(row)
        bar.setMaximum(max(1, event.epochs))
        bar.setFormat("%v / %m epochs")
        bar.setValue(min(event.epoch, event.epochs))
        for column, value in (
            (2, text.loss(event.train_loss)),
            (3, text.loss(event.val_loss)),
            (4, text.percent(event.val_acc)),
        ):
            self.item(row, column).setText(value)

    def finish_all(self) -> None:
        """A completed job: the bars of members that trained are full (one that stopped early is done too);
        members never trained (boosting ended before them) say so."""
        for row in range(self.rowCount()):
            bar = self.bar(row)
            if self.epochs and self._done[row] == 0:
                bar.setFormat("not trained")
                bar.setValue(0)
            else:
                bar.setValue(bar.maximum())

    def clear_members(self) -> None:
        self.setRowCount(0)
        self.epochs = 0
        self._done = []

    # ---- reading back (progress, tests) --------------------------------------------------
    def epochs_done(self) -> int:
        """Member-epochs finished so far, across all members."""
        return sum(self._done)

    def epochs_planned(self) -> int:
        """Member-epochs planned: each bar's length (a snapshot's cycles may differ by one epoch)."""
        return sum(self.bar(row).maximum() for row in range(self.rowCount())) if self.epochs else 0

    def bar(self, row: int) -> QProgressBar:
        widget = self.cellWidget(row, 1)
        assert isinstance(widget, QProgressBar)
        return widget

    def row_texts(self, row: int) -> list[str]:
        return [
            self.item(row, 0).text(),
            self.bar(row).text(),
            *(self.item(row, c).text() for c in range(2, len(HEADERS))),
        ]

    @staticmethod
    def _number(value: str) -> QTableWidgetItem:
        item = QTableWidgetItem(value)
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return item
