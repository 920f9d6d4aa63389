"""SettingsTableForm: a form over one settings table beside the run config (the range test's, the ensemble's).

The table is a frozen dataclass declared with trainers.spec.config `_f` fields; the form shows one FieldEditor per
field spec, validated on every edit, so the form, the CLI and the engine accept exactly the same values. A
subclass says which fields are shown for the current choices (`is_relevant`); a field going out of sight takes
its last valid value, so a hidden field never blocks.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Callable, Generic, Mapping, TypeVar

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFormLayout, QLabel, QWidget

from app.forms.field_editor import INVALID_FIELD_STYLE, FieldEditor
from app.forms.labels import field_label
from app.forms.validation import reason_text
from trainers.spec.config import FieldSpec
from trainers.spec.errors import ConfigError

S = TypeVar("S")


class SettingsTableForm(QWidget, Generic[S]):
    settings_changed = Signal()      # after every edit (and set_settings / set_field)

    def __init__(self, settings_type: Callable[..., S], specs: list[FieldSpec],
                 coerce: Callable[[str, Any], Any], validate: Callable[[S], S],
                 labels: Mapping[str, str] | None = None, parent: QWidget | None = None) -> None:
        """`coerce(name, raw)`: one field's value or a ConfigError naming it; `validate`: the rules across
        fields; `labels`: row labels by field name (with their Alt keys), else the config forms' wording."""
        super().__init__(parent)
        self._settings_type = settings_type
        self._validate = validate
        self._editors: dict[str, FieldEditor] = {}   # by field name, in the table's order
        self._labels: dict[str, QLabel] = {}
        self._errors: dict[str, ConfigError] = {}
        self._last_valid: dict[str, Any] = {}
        self._settings: S | None = settings_type()
        self.setStyleSheet(INVALID_FIELD_STYLE)
        self._layout = QFormLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        check = partial(_check_by_name, coerce)
        for spec in specs:
            editor = FieldEditor(spec, check=check)
            label = QLabel((labels or {}).get(spec.name) or field_label(spec))
            label.setBuddy(editor.focus_widget())
            self._layout.addRow(label, editor)
            editor.edited.connect(self._changed)
            self._editors[spec.name] = editor
            self._labels[spec.name] = label
            self._last_valid[spec.name] = spec.default
        chain = [e.focus_widget() for e in self._editors.values()]
        for first, second in zip(chain, chain[1:]):
            QWidget.setTabOrder(first, second)
        self._refresh_visibility()

    def is_relevant(self, name: str) -> bool:
        """Whether the field `name` is shown for the current choices; every field by default."""
        return True

    # ---- public API ----------------------------------------------------------------------
    def settings(self) -> S | None:
        """The validated settings, or None while a shown field is invalid."""
        return self._settings

    def set_settings(self, settings: S) -> None:
        for name, editor in self._editors.items():
            editor.set_value(getattr(settings, name))
        self._changed()

    def set_field(self, name: str, value: Any) -> None:
        """Put `value` into one field as if typed (it is validated and may be marked invalid)."""
        self.editor(name).set_value(value)
        self._changed()

    def editor(self, name: str) -> FieldEditor:
        """The input of one setting, by its name ("start_lr") or key ("range_test.start_lr")."""
        return self._editors[name.rpartition(".")[2]]

    def label(self, name: str) -> QLabel:
        """The row label of one setting (it carries the row's Alt key)."""
        return self._labels[name.rpartition(".")[2]]

    def editors(self) -> dict[str, FieldEditor]:
        return dict(self._editors)

    def errors(self) -> dict[str, str]:
        return {exc.field: str(exc) for exc in self._errors.values()}

    def first_error(self) -> str:
        """The message of the topmost invalid field; "" when the settings are valid."""
        for name in (*self._editors, *self._errors):
            if name in self._errors:
                return str(self._errors[name])
        return ""

    def is_shown(self, name: str) -> bool:
        return self._layout.isRowVisible(self._editors[name])

    def shown_fields(self) -> list[str]:
        return [name for name in self._editors if self.is_shown(name)]

    def set_locked(self, locked: bool) -> None:
        """Disable every input while a job runs with these settings."""
        for editor in self._editors.values():
            editor.setEnabled(not locked)

    # ---- reacting to edits ---------------------------------------------------------------
    def _changed(self) -> None:
        self._refresh_visibility()
        self._revalidate()
        self.settings_changed.emit()

    def _refresh_visibility(self) -> None:
        for name, editor in self._editors.items():
            shown = self.is_relevant(name)
            if not shown:  # a field going out of sight takes its last valid value, so it cannot block
                try:
                    editor.value()
                except ConfigError:
                    editor.set_value(self._last_valid[name])
            self._layout.setRowVisible(editor, shown)

    def _revalidate(self) -> None:
        errors: dict[str, ConfigError] = {}
        values: dict[str, Any] = {}
        for name, editor in self._editors.items():
            try:
                values[name] = self._last_valid[name] = editor.value()
            except ConfigError as exc:
                errors[name] = exc
        settings = None
        if not errors:
            try:
                settings = self._validate(self._settings_type(**values))
            except ConfigError as exc:  # a rule across fields (end_lr above start_lr) names one of them
                errors[exc.field.rpartition(".")[2]] = exc
        for name, editor in self._editors.items():
            editor.set_error(reason_text(errors[name]) if name in errors else None)
        self._errors, self._settings = errors, settings


def _check_by_name(coerce: Callable[[str, Any], Any], key: str, raw: Any) -> Any:
    """FieldEditor checks by key ("range_test.start_lr"); the table coerces by name ("start_lr")."""
    return coerce(key.partition(".")[2], raw)
