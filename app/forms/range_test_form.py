"""RangeTestForm: the learning-rate range test's settings, one FieldEditor per field, validated on every edit.

The fields come from trainers.range_test_settings.setting_specs(), so the form, the CLI and the engine
accept exactly the same values. The validation-sample count is only shown while validation loss is on; a
hidden field never blocks the test.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFormLayout, QLabel, QWidget

from app.forms.field_editor import INVALID_FIELD_STYLE, FieldEditor
from app.forms.labels import field_label
from app.forms.validation import reason_text
from trainers.errors import ConfigError
from trainers.range_test_settings import RangeTestSettings, coerce_setting, setting_specs, validate_settings

# field name -> the boolean field that must be on for it to be shown
_SHOWN_WHEN = {"val_samples": "val_loss"}


def _check(key: str, raw: Any) -> Any:
    return coerce_setting(key.partition(".")[2], raw)


class RangeTestForm(QWidget):
    settings_changed = Signal()      # after every edit (and set_settings)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._editors: dict[str, FieldEditor] = {}   # by field name (start_lr, …)
        self._errors: dict[str, ConfigError] = {}
        self._last_valid: dict[str, Any] = {}
        self._settings: RangeTestSettings | None = RangeTestSettings()
        self.setStyleSheet(INVALID_FIELD_STYLE)
        self._layout = QFormLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for spec in setting_specs():
            editor = FieldEditor(spec, check=_check)
            label = QLabel(field_label(spec))
            label.setBuddy(editor.focus_widget())
            self._layout.addRow(label, editor)
            editor.edited.connect(partial(self._on_edited, spec.name))
            self._editors[spec.name] = editor
            self._last_valid[spec.name] = spec.default
        chain = [e.focus_widget() for e in self._editors.values()]
        for first, second in zip(chain, chain[1:]):
            QWidget.setTabOrder(first, second)
        self._refresh_visibility()

    # ---- public API ----------------------------------------------------------------------
    def settings(self) -> RangeTestSettings | None:
        """The validated settings, or None while a shown field is invalid."""
        return self._settings

    def set_settings(self, settings: RangeTestSettings) -> None:
        for name, editor in self._editors.items():
            editor.set_value(getattr(settings, name))
        self._refresh_visibility()
        self._revalidate()
        self.settings_changed.emit()

    def editor(self, name: str) -> FieldEditor:
        """The input of one setting, by its name ("start_lr") or key ("range_test.start_lr")."""
        return self._editors[name.rpartition(".")[2]]

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

    def set_locked(self, locked: bool) -> None:
        """Disable every input while a test runs with these settings."""
        for editor in self._editors.values():
            editor.setEnabled(not locked)

    # ---- reacting to edits ---------------------------------------------------------------
    def _on_edited(self, name: str) -> None:
        if name in _SHOWN_WHEN.values():
            self._refresh_visibility()
        self._revalidate()
        self.settings_changed.emit()

    def _refresh_visibility(self) -> None:
        for name, switch in _SHOWN_WHEN.items():
            shown = bool(self._editors[switch].raw())
            if not shown:  # a field going out of sight takes its last valid value, so it cannot block
                try:
                    self._editors[name].value()
                except ConfigError:
                    self._editors[name].set_value(self._last_valid[name])
            self._layout.setRowVisible(self._editors[name], shown)

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
                settings = validate_settings(RangeTestSettings(**values))
            except ConfigError as exc:  # a rule across fields (end_lr above start_lr) names one of them
                errors[exc.field.rpartition(".")[2]] = exc
        for name, editor in self._editors.items():
            editor.set_error(reason_text(errors[name]) if name in errors else None)
        self._errors, self._settings = errors, settings
