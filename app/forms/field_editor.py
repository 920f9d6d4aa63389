"""FieldEditor: the input for one config field, generated from its FieldSpec.

Choices become a combo box, booleans a check box, everything else a line edit holding text that is
converted and range-checked by trainers.spec.config.check_value, so the form and the CLI accept exactly
the same values.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QWheelEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.forms.labels import choice_label
from trainers.spec.config import FieldSpec, check_value

# Fields picked with a file dialog; the form switches folder/file mode as the data source changes.
BROWSABLE = ("data.path", "model.weights_path")
# Fields picked from a list the form fills (a CSV file's header), not typed: "" is the first entry's value.
COLUMN_PICKERS = {"data.target_column": "(the last column)"}

ERROR_COLOR = "#d0312d"
# A dynamic property drives the red border, so the platform style stays untouched while valid. The form
# sets this once for all its editors: a style sheet per editor cost ~10 ms more at window start-up.
INVALID_FIELD_STYLE = (
    f'QLineEdit[invalid="true"], QComboBox[invalid="true"] {{ border: 1px solid {ERROR_COLOR}; '
    f"border-radius: 2px; padding: 1px; }}"
    f'QCheckBox[invalid="true"] {{ color: {ERROR_COLOR}; }}'
)


def format_value(value: Any) -> str:
    """Compact text for a value that still converts back to exactly the same number."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        short = f"{value:g}"  # 0.001, 0.0003, 1e-08, 25
        return short if float(short) == value else repr(value)
    return str(value)


def small_font(widget: QWidget) -> QFont:
    font = QFont(widget.font())
    if font.pointSizeF() > 0:  # -1 when the font was sized in pixels
        font.setPointSizeF(font.pointSizeF() * 0.9)
    return font


class _ScrollSafeComboBox(QComboBox):
    """Ignores the mouse wheel unless focused, so scrolling the form never changes a choice by accident."""

    def wheelEvent(self, event: QWheelEvent) -> None:
        if self.hasFocus():
            super().wheelEvent(event)
        else:
            event.ignore()  # passes the wheel on to the scroll area


class FieldEditor(QWidget):
    """One field's input, an optional Browse… button, and a red reason line shown while invalid."""

    edited = Signal()  # every change made by the user (typing, picking, toggling, browsing)

    def __init__(
        self, spec: FieldSpec, parent: QWidget | None = None, check: Callable[[str, Any], Any] = check_value
    ) -> None:
        super().__init__(parent)
        self._spec = spec
        self._check = check  # (key, raw) -> value or ConfigError; another settings table brings its own
        self._error: str | None = None
        self._browse_mode, self._browse_filter = "dir", ""
        self._input = self._make_input()
        self._input.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # macOS would skip combos/checks on Tab
        self._input.setObjectName(spec.key)
        self._base_tip = f"{spec.help[:1].upper()}{spec.help[1:]}.\nAllowed: {spec.allowed()}."
        self._input.setToolTip(self._base_tip)

        self._browse: QPushButton | None = None
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(4)
        row.addWidget(self._input, 1)
        if spec.key in BROWSABLE:
            self._browse = QPushButton("Browse…")
            self._browse.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            self._browse.setAutoDefault(False)
            self._browse.setToolTip("Choose with a file dialog")
            self._browse.clicked.connect(self._on_browse)
            row.addWidget(self._browse)

        self._error_label = QLabel()
        self._error_label.setObjectName("error")
        self._error_label.setWordWrap(True)
        self._error_label.setStyleSheet(f"color: {ERROR_COLOR};")
        self._error_label.setFont(small_font(self._error_label))
        self._error_label.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._error_label.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        self._error_label.hide()

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(1)
        outer.addLayout(row)
        outer.addWidget(self._error_label)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.set_value(spec.default)

    def _make_input(self) -> QWidget:
        s = self._spec
        if s.key in COLUMN_PICKERS:
            picker = _ScrollSafeComboBox()
            picker.addItem(COLUMN_PICKERS[s.key], "")
            picker.currentIndexChanged.connect(self.edited)
            return picker
        if s.choices:
            combo = _ScrollSafeComboBox()
            for choice in s.choices:
                combo.addItem(choice_label(s.key, choice), choice)
            combo.currentIndexChanged.connect(self.edited)
            return combo
        if s.type is bool:
            check = QCheckBox()
            check.toggled.connect(self.edited)
            return check
        line = QLineEdit()
        line.textEdited.connect(self.edited)
        return line

    # ---- identity ------------------------------------------------------------------------
    @property
    def spec(self) -> FieldSpec:
        return self._spec

    @property
    def key(self) -> str:
        return self._spec.key

    def focus_widget(self) -> QWidget:
        return self._input

    def browse_button(self) -> QPushButton | None:
        return self._browse

    # ---- value ---------------------------------------------------------------------------
    def raw(self) -> Any:
        """What the input holds, unconverted: the choice's identifier, a bool, or the text."""
        w = self._input
        if isinstance(w, QComboBox):
            return w.currentData()
        if isinstance(w, QCheckBox):
            return w.isChecked()
        assert isinstance(w, QLineEdit)
        return w.text()

    def value(self) -> Any:
        """The converted, range-checked value; raises ConfigError naming the field."""
        return self._check(self.key, self.raw())

    def set_value(self, value: Any) -> None:
        """Show `value` without emitting `edited` (programmatic changes are not user edits)."""
        w = self._input
        w.blockSignals(True)
        try:
            if isinstance(w, QComboBox):
                index = w.findData(value)
                if index < 0:  # an unknown choice is shown as-is, so validation can name it
                    w.addItem(str(value), value)
                    index = w.count() - 1
                w.setCurrentIndex(index)
            elif isinstance(w, QCheckBox):
                w.setChecked(bool(value))
            else:
                assert isinstance(w, QLineEdit)
                w.setText(format_value(value))
                w.setCursorPosition(0)
        finally:
            w.blockSignals(False)

    def set_column_choices(self, columns: Sequence[str]) -> None:
        """Offer `columns` (a file's header) in a column picker, keeping the value shown."""
        w = self._input
        assert isinstance(w, QComboBox) and self.key in COLUMN_PICKERS
        current = w.currentData()
        w.blockSignals(True)
        try:
            w.clear()
            w.addItem(COLUMN_PICKERS[self.key], "")
            for name in columns:
                w.addItem(name, name)
        finally:
            w.blockSignals(False)
        self.set_value(current)  # a value the file lacks stays on show, so validation can name it

    # ---- error display -------------------------------------------------------------------
    def set_error(self, reason: str | None) -> None:
        """Mark the field invalid with `reason` (red border, tooltip, red line below); None clears."""
        if reason == self._error:
            return
        self._error = reason
        self._input.setProperty("invalid", reason is not None)
        # A dynamic property only restyles after a re-polish.
        self._input.style().unpolish(self._input)
        self._input.style().polish(self._input)
        self._input.setToolTip(self._base_tip if reason is None else f"{reason}\n\n{self._base_tip}")
        self._error_label.setText(reason or "")
        self._error_label.setVisible(reason is not None)

    def error(self) -> str | None:
        return self._error

    # ---- browsing ------------------------------------------------------------------------
    def set_browse_mode(self, mode: str, name_filter: str = "") -> None:
        """ "dir" picks a folder, "file" a file matching name_filter (e.g. "CSV files (*.csv)")."""
        if mode not in ("dir", "file"):
            raise ValueError(f"browse mode must be 'dir' or 'file', not {mode!r}")
        self._browse_mode, self._browse_filter = mode, name_filter

    def browse_mode(self) -> tuple[str, str]:
        return self._browse_mode, self._browse_filter

    def _on_browse(self) -> None:
        start = str(self.raw())
        if self._browse_mode == "dir":
            chosen = QFileDialog.getExistingDirectory(self, "Choose a folder", start)
        else:
            chosen, _ = QFileDialog.getOpenFileName(self, "Choose a file", start, self._browse_filter)
        if chosen:
            self.set_value(chosen)
            self.edited.emit()
        self._input.setFocus(Qt.FocusReason.OtherFocusReason)
