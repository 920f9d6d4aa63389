"""Editable notes of one trial, saved to the store after a short pause in typing, when the editor loses focus,
with Save (Ctrl+S inside the editor), and before another trial is shown, so nothing typed is lost.

Ctrl+S is File → Save config everywhere else: the editor claims the key only while it has focus (it accepts
the ShortcutOverride), so the window's shortcut stays the one and only Save shortcut."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget

SAVE_PAUSE_MS = 800


class NotesEditor(QGroupBox):
    save_requested = Signal(int, str)  # trial id, the whole text

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Notes", parent)
        self.edit = QPlainTextEdit()
        self.edit.setPlaceholderText("What you tried, what you saw, what to do next…")
        self.edit.setTabChangesFocus(True)
        self.save_button = QPushButton("Save &notes")  # Alt+V belongs to the View menu
        self.save_button.setAutoDefault(False)
        self.state = QLabel()
        self._trial_id: int | None = None
        self._saved: str | None = ""
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SAVE_PAUSE_MS)
        self._timer.timeout.connect(self.flush)
        self.edit.textChanged.connect(self._on_changed)
        self.edit.installEventFilter(self)
        self.save_button.clicked.connect(self.flush)
        row = QHBoxLayout()
        row.addWidget(self.state, 1)
        row.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.edit, 1)
        layout.addLayout(row)
        self.show_notes(None, "")

    @property
    def trial_id(self) -> int | None:
        return self._trial_id

    @property
    def dirty(self) -> bool:
        return self._trial_id is not None and self.edit.toPlainText() != self._saved

    def show_notes(self, trial_id: int | None, text: str) -> None:
        """Edit the notes of `trial_id` (what is pending for the previous trial is saved first)."""
        self.flush()
        self._trial_id, self._saved = trial_id, text
        self.edit.blockSignals(True)
        self.edit.setPlainText(text)
        self.edit.blockSignals(False)
        self.edit.setEnabled(trial_id is not None)
        self.save_button.setEnabled(False)
        self.state.setText("")

    def flush(self) -> None:
        """Save now if anything changed since the last save."""
        self._timer.stop()
        if self.dirty:
            text = self.edit.toPlainText()
            self._saved = text
            self.save_requested.emit(self._trial_id, text)
        self.save_button.setEnabled(False)

    def mark_saved(self, ok: bool, message: str = "") -> None:
        """The tab's answer to save_requested; a failed save stays pending, so Save can try again."""
        if not ok:
            self._saved = None  # differs from any text: dirty until a save succeeds
            self.save_button.setEnabled(True)
        self.state.setText(message or ("Saved" if ok else "Not saved"))

    def _on_changed(self) -> None:
        self.save_button.setEnabled(self.dirty)
        self.state.setText("Edited" if self.dirty else "")
        self._timer.start()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.edit:
            kind = event.type()
            if kind == QEvent.Type.FocusOut:
                self.flush()
            elif kind in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress) and _is_save(event):
                # Overriding takes Ctrl+S from the window's Save config; the key press that follows saves notes.
                event.accept()
                if kind == QEvent.Type.KeyPress:
                    self.flush()
                return True
        return super().eventFilter(watched, event)


def _is_save(event: QEvent) -> bool:
    return isinstance(event, QKeyEvent) and event.matches(QKeySequence.StandardKey.Save)
