"""EarlierBox: the drop-down of ensembles in the trial store, newest first; picking one asks for it to be shown."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QLabel, QVBoxLayout, QWidget

NO_ENSEMBLES = "(no earlier ensembles)"
NOT_LOADED = "(loading the engine…)"
PICK = "Choose an earlier ensemble…"


class EarlierBox(QWidget):
    chosen = Signal(int)   # the trial id picked by the user

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.combo = QComboBox()
        self.combo.setToolTip("Show an ensemble from the trial store again")
        self.label = QLabel("Earlier e&nsembles:")
        self.label.setBuddy(self.combo)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.combo)
        self.combo.activated.connect(self._on_activated)
        self.set_rows([], NOT_LOADED)

    def set_rows(self, rows: list[tuple[int, str]], empty: str = NO_ENSEMBLES) -> None:
        self.combo.blockSignals(True)
        self.combo.clear()
        self.combo.addItem(PICK if rows else empty, None)
        for trial_id, label in rows:
            self.combo.addItem(label, trial_id)
        self.combo.blockSignals(False)

    def mark(self, trial_id: int | None) -> None:
        """Show `trial_id` as the current entry, without asking for it to be loaded again."""
        index = self.combo.findData(trial_id) if trial_id is not None else -1
        self.combo.setCurrentIndex(max(0, index))

    def rows(self) -> list[tuple[int, str]]:
        c = self.combo
        return [(int(c.itemData(i)), c.itemText(i)) for i in range(c.count()) if c.itemData(i) is not None]

    def has_rows(self) -> bool:
        return self.combo.count() > 1

    def _on_activated(self, index: int) -> None:
        trial_id = self.combo.itemData(index)
        if trial_id is not None:
            self.chosen.emit(int(trial_id))
