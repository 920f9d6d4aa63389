"""A trial's diagnosis: the label and summary, the evidence behind it, and the interventions to try, each with
an Apply button. Applying is the tab's business; this widget only says which one was chosen."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGridLayout, QGroupBox, QLabel, QPushButton, QVBoxLayout, QWidget

# What Apply does for the two interventions that change no field.
APPLY_TEXT = {"lr_finder": "Open in LR finder", "ensemble": "Go to Ensembles"}


class DiagnosisView(QGroupBox):
    apply_requested = Signal(object)  # the trainers Intervention chosen

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Diagnosis", parent)
        self.headline = QLabel()
        self.headline.setWordWrap(True)
        self.headline.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.evidence = QLabel()
        self.evidence.setWordWrap(True)
        self.evidence.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._grid = QGridLayout()
        self._grid.setColumnStretch(1, 1)
        self.buttons: dict[str, QPushButton] = {}
        layout = QVBoxLayout(self)
        layout.addWidget(self.headline)
        layout.addWidget(self.evidence)
        layout.addLayout(self._grid)
        self.show_diagnosis(None, "")

    def show_diagnosis(self, diagnosis: Any, note: str = "") -> None:
        """Show `diagnosis` (a trainers Diagnosis), or `note` when there is none (a range test, an empty run)."""
        while self._grid.count():
            item = self._grid.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.buttons = {}
        if diagnosis is None:
            self.headline.setText(note)
            self.evidence.setText("")
            return
        onset = f" (from epoch {diagnosis.onset_epoch})" if diagnosis.onset_epoch else ""
        self.headline.setText(f"<b>{diagnosis.title.capitalize()}</b>{onset}: {diagnosis.summary}")
        self.evidence.setText("\n".join(f"• {e.text}" for e in diagnosis.evidence))
        if diagnosis.interventions:
            self._grid.addWidget(QLabel("<b>What to try</b>, best first:"), 0, 0, 1, 2)
        for row, item in enumerate(diagnosis.interventions, start=1):
            button = QPushButton(APPLY_TEXT.get(item.key, "Apply"))
            button.setAutoDefault(False)
            button.setToolTip(_changes_text(item) or item.why)
            button.clicked.connect(lambda _c=False, it=item: self.apply_requested.emit(it))
            text = QLabel(f"<b>{item.title}</b>: {item.why}")
            text.setWordWrap(True)
            self._grid.addWidget(button, row, 0, Qt.AlignmentFlag.AlignTop)
            self._grid.addWidget(text, row, 1)
            self.buttons[item.key] = button


def _changes_text(item: Any) -> str:
    return ", ".join(f"{k} = {v}" for k, v in item.changes.items())
