"""The range test's answer: each suggestion with its spread, the agreed band, and which rate to use.

It only displays a result and says which rate the user picked; writing the rate into the training form is
the tab's job.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QGridLayout, QGroupBox, QHBoxLayout, QLabel, QPushButton, QWidget

from app.lr_finder import wording as text
from trainers.spec.events import LrFinderResult
from trainers.spec.lr_finder_settings import SUGGESTION_NAMES

_NOTHING_YET = "Run a test, or choose an earlier one, to see suggestions."


class SuggestionsPanel(QGroupBox):
    use_requested = Signal(float)  # the rate chosen, as shown

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Suggested learning rates", parent)
        self._result: LrFinderResult | None = None
        self._can_use = True
        self.values: dict[str, QLabel] = {}
        grid = QGridLayout(self)
        for row, name in enumerate(SUGGESTION_NAMES):
            value = QLabel("—")
            value.setObjectName(f"suggestion_{name}")
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            grid.addWidget(QLabel(f"{text.title(name)}:"), row, 0)
            grid.addWidget(value, row, 1)
            self.values[name] = value
        self.agreed = QLabel()
        self.agreed.setObjectName("agreed")
        self.headline = QLabel()
        self.headline.setObjectName("headline")
        self.headline.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.note = QLabel()
        self.note.setObjectName("note")
        self.note.setWordWrap(True)
        self.chooser = QComboBox()
        self.chooser.setToolTip("The rate to put into the Training tab")
        self.use_button = QPushButton("&Use this LR")
        self.use_button.setToolTip("Set the Training tab's learning rate (and the one-cycle peak) to this rate")
        self.use_button.setAutoDefault(False)
        self.use_button.clicked.connect(self._on_use)
        chooser_label = QLabel("Use:")
        chooser_label.setBuddy(self.chooser)
        row = len(SUGGESTION_NAMES)
        grid.addWidget(self.agreed, row, 0, 1, 2)
        grid.addWidget(self.headline, row + 1, 0, 1, 2)
        grid.addWidget(self.note, row + 2, 0, 1, 2)
        use_row = QHBoxLayout()
        use_row.addWidget(chooser_label)
        use_row.addWidget(self.chooser, 1)
        use_row.addWidget(self.use_button)
        grid.addLayout(use_row, row + 3, 0, 1, 2)
        grid.setColumnStretch(1, 1)
        self.show_result(None)

    def show_result(self, result: LrFinderResult | None) -> None:
        """Show a test's suggestions (None: nothing yet). Without any, the reason stands in for the numbers."""
        self._result = result
        self.chooser.clear()
        if result is None:
            for label in self.values.values():
                label.setText("—")
            self.agreed.setText("")
            self.headline.setText("")
            self.note.setText(_NOTHING_YET)
        else:
            for name, label in self.values.items():
                label.setText(text.suggestion_text(result, name))
            self.agreed.setText(text.agreed_text(result))
            self.headline.setText(text.headline_text(result))
            found = any(v is not None for v in result.suggestions.values())
            self.note.setText("" if found else result.message or "No suggestion: the curve shows no clear descent.")
            for caption, rate in text.choices(result, SUGGESTION_NAMES):
                self.chooser.addItem(caption, rate)
        for label in (self.agreed, self.headline):
            label.setVisible(bool(label.text()))
        self.note.setVisible(bool(self.note.text()))
        self._sync()

    @property
    def result(self) -> LrFinderResult | None:
        return self._result

    def chosen_lr(self) -> float | None:
        rate = self.chooser.currentData()
        return float(rate) if rate is not None else None

    def set_can_use(self, can: bool) -> None:
        """False while the training form may not change (a training run is using it)."""
        self._can_use = can
        self._sync()

    def _sync(self) -> None:
        self.chooser.setEnabled(self.chooser.count() > 0)
        self.use_button.setEnabled(self._can_use and self.chooser.count() > 0)

    def _on_use(self) -> None:
        rate = self.chosen_lr()
        if rate is not None:
            self.use_requested.emit(rate)
