"""One row of the search-space editor: whether the field is searched, how it varies (fixed, a float, log or int
range, or choices), its bounds and step or its choices, and the reason when that is not a valid range.

The row reads and writes the engine's text form ("log:1e-05:0.1", "int:1:4:1", "choice:32,64"), so what it holds
is checked by trainers.spec.search_space exactly as a [search] section or a --search.FIELD flag is."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QLineEdit, QWidget

from app.forms.field_editor import ERROR_COLOR
from app.forms.labels import field_label
from trainers.spec.config import spec
from trainers.spec.search_space import ParamSpec, default_param

MODE_LABELS = {"fixed": "fixed", "float": "float", "log": "log", "int": "int", "choice": "choice"}
# text form kind → the row's mode (an int field's log range is "logint")
_KIND_MODE = {"fixed": "fixed", "float": "float", "log": "log", "int": "int", "logint": "log", "choice": "choice"}
FIXED_NOTE = "the Training tab's value"


def modes_for(key: str) -> tuple[str, ...]:
    """The modes that can fit the field's type: ranges only for numbers, a float range only for float fields."""
    kind = spec(key).type
    if kind is float:
        return ("fixed", "float", "log", "int", "choice")
    if kind is int:
        return ("fixed", "int", "log", "choice")
    return ("fixed", "choice")


class SpaceRow(QObject):
    edited = Signal()

    def __init__(self, key: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.key = key
        s = spec(key)
        self.check = QCheckBox(field_label(s))
        self.check.setToolTip(f"Search {key}: {s.help}" if s.help else f"Search {key}")
        self.mode = QComboBox()
        for m in modes_for(key):
            self.mode.addItem(MODE_LABELS[m], m)
        self.mode.setToolTip(f"How the search varies {key}")
        self.low, self.high, self.step = (self._line(t, 64) for t in ("low", "high", "step"))
        self.choices = self._line("a, b, c", 0)
        self.fixed_note = QLabel(FIXED_NOTE)
        self.fixed_note.setEnabled(False)
        self.values = QWidget()
        box = QHBoxLayout(self.values)
        box.setContentsMargins(0, 0, 0, 0)
        for w in (self.low, self.high, self.step):
            box.addWidget(w)
        box.addWidget(self.choices, 1)  # choices take the row's width; bounds keep theirs
        box.addWidget(self.fixed_note)
        box.addStretch(0)
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet(f"color: {ERROR_COLOR};")
        self.error.hide()
        self._locked = False
        self._shown = True
        self.set_param(default_param(key))
        self.check.toggled.connect(self._on_edited)
        self.mode.currentIndexChanged.connect(self._on_edited)
        for line in (self.low, self.high, self.step, self.choices):
            line.textEdited.connect(self._on_edited)

    def _line(self, placeholder: str, width: int) -> QLineEdit:
        line = QLineEdit()
        line.setPlaceholderText(placeholder)
        line.setToolTip(f"{placeholder} ({self.key})")
        if width:
            line.setFixedWidth(width)
        return line

    def widgets(self) -> tuple[QWidget, ...]:
        return (self.check, self.mode, self.values, self.error)

    # ---- the text form -----------------------------------------------------------------------
    def set_param(self, p: ParamSpec) -> None:
        """Show `p` (a default, or a stored search's range) in the inputs; the check box is left as it is."""
        kind, _, rest = p.text().partition(":")
        mode = _KIND_MODE.get(kind, "fixed")
        if kind == "choice":
            self.choices.setText(", ".join(rest.split(",")))
        elif mode != "fixed":
            parts = rest.split(":")
            for line, part in zip((self.low, self.high, self.step), (*parts, "", "")):
                line.setText(part)
        index = self.mode.findData(mode)
        self.mode.setCurrentIndex(max(0, index))
        self.sync_inputs()

    def text(self) -> str:
        """The row as the engine's text form."""
        mode = self.mode_name()
        if mode == "choice":
            return "choice:" + ",".join(c.strip() for c in self.choices.text().split(","))
        if mode == "fixed":
            return "fixed"
        kind = "logint" if mode == "log" and spec(self.key).type is int else mode
        parts = [kind, self.low.text().strip(), self.high.text().strip()]
        step = self.step.text().strip()
        return ":".join(parts + ([step] if step and mode != "log" else []))

    def param(self) -> ParamSpec | None:
        """The checked row's range, or None when it is not searched; a ConfigError naming search.<field>."""
        if not self.check.isChecked() or self.mode_name() == "fixed":
            return None
        return ParamSpec.parse(self.key, self.text())

    def mode_name(self) -> str:
        return str(self.mode.currentData())

    @property
    def shown(self) -> bool:
        return self._shown

    @property
    def searched(self) -> bool:
        return self._shown and self.check.isChecked()

    # ---- state -------------------------------------------------------------------------------
    def set_error(self, reason: str | None) -> None:
        self.error.setText(reason or "")
        self.error.setVisible(bool(reason) and self._shown)
        for w in (self.mode, self.low, self.high, self.step, self.choices):
            w.setProperty("invalid", "true" if reason else "false")
            w.style().unpolish(w)
            w.style().polish(w)

    def set_shown(self, shown: bool) -> None:
        self._shown = shown
        for w in self.widgets()[:3]:
            w.setVisible(shown)
        self.error.setVisible(shown and bool(self.error.text()))

    def set_locked(self, locked: bool) -> None:
        self._locked = locked
        self.sync_inputs()

    def _on_edited(self) -> None:
        self.sync_inputs()
        self.edited.emit()

    def sync_inputs(self) -> None:
        """The inputs the mode uses are shown, enabled while the field is searched and nothing runs."""
        mode = self.mode_name()
        ranged = mode in ("float", "log", "int")
        for w, shown in (
            (self.low, ranged),
            (self.high, ranged),
            (self.step, mode in ("float", "int")),
            (self.choices, mode == "choice"),
            (self.fixed_note, mode == "fixed"),
        ):
            w.setVisible(shown)
        on = self.check.isChecked() and not self._locked
        self.check.setEnabled(not self._locked)
        for editable in (self.mode, self.low, self.high, self.step, self.choices):
            editable.setEnabled(on)
