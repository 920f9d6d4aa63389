"""EarlierBox: the drop-down of one kind of stored job (range tests, ensembles), newest first, under its caption;
picking one asks for it to be shown."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QLabel, QVBoxLayout, QWidget

NOT_LOADED = "(loading the engine…)"


class EarlierBox(QWidget):
    chosen = Signal(int)  # the trial id picked by the user

    def __init__(self, what: str, caption: str, tooltip: str, parent: QWidget | None = None) -> None:
        """`what`: one stored job in words ("test"); `caption`: the label above, with its Alt key."""
        super().__init__(parent)
        self.what = what
        self.whats = what + ("es" if what.endswith(("s", "sh", "ch", "x")) else "s")  # "tests", "searches"
        self.combo = QComboBox()
        self.combo.setToolTip(tooltip)
        self.label = QLabel(caption)
        self.label.setBuddy(self.combo)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.combo)
        self.combo.activated.connect(self._on_activated)
        self.set_rows([], NOT_LOADED)

    def set_rows(self, rows: list[tuple[int, str]], empty: str | None = None) -> None:
        """List (trial id, text) rows under a "Choose…" entry; `empty` replaces "(no earlier …)" when none."""
        self.combo.blockSignals(True)
        self.combo.clear()
        self.combo.addItem(f"Choose an earlier {self.what}…" if rows else empty or f"(no earlier {self.whats})", None)
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

    def set_usable(self, usable: bool) -> None:
        """Enabled only when `usable` and there is something to choose."""
        self.combo.setEnabled(usable and self.has_rows())

    def _on_activated(self, index: int) -> None:
        trial_id = self.combo.itemData(index)
        if trial_id is not None:
            self.chosen.emit(int(trial_id))
