"""EnsembleForm: the ensemble job's settings, one FieldEditor per field, validated on every edit.

The fields come from trainers.ensembles.settings.setting_specs(), so the form, the CLI and the engine accept
exactly the same values. Only the fields the chosen method uses are shown; a hidden field takes its last valid
value, so it never blocks a run.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QFormLayout, QLabel, QWidget

from app.ensembles.wording import method_label
from app.forms.field_editor import INVALID_FIELD_STYLE, FieldEditor
from app.forms.validation import reason_text
from trainers.ensembles.settings import (COMBINE_METHODS, EnsembleSettings, coerce_setting, parse_trial_ids,
                                         setting_specs, validate_settings)
from trainers.errors import ConfigError

# Row labels with their Alt keys. Rows shown together never share a key, and none takes a window-wide one
# (menus F R V H, tabs G L Y E); select_by and members share B because they are never shown together.
LABELS = {"method": "&Method", "top": "Top &K", "trials": "Trial &ids", "select_by": "Rank &by",
          "stacking_folds": "Stacking fol&ds", "members": "Mem&bers", "boost_rate": "Boost r&ate",
          "vectorise": "Ve&ctorise"}
SELECT_BY_LABELS = {"val_acc": "Validation accuracy (best)", "val_loss": "Validation loss (lowest)"}
# method -> the fields it uses besides the method itself
USES = {
    "soft-vote": ("top", "trials", "select_by"),
    "hard-vote": ("top", "trials", "select_by"),
    "weighted": ("top", "trials", "select_by"),
    "stacking": ("top", "trials", "select_by", "stacking_folds"),
    "bagging": ("members", "vectorise"),
    "adaboost": ("members", "vectorise", "boost_rate"),
    "gradient-boost": ("members", "vectorise", "boost_rate"),
    "snapshot": ("members",),
}


def _check(key: str, raw: Any) -> Any:
    name = key.partition(".")[2]
    value = coerce_setting(name, raw)
    if name == "trials":
        parse_trial_ids(value)  # "3, x" is marked as soon as it is typed
    return value


class EnsembleForm(QWidget):
    settings_changed = Signal()      # after every edit (and set_settings / set_field)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._editors: dict[str, FieldEditor] = {}
        self._labels: dict[str, QLabel] = {}
        self._errors: dict[str, ConfigError] = {}
        self._last_valid: dict[str, Any] = {}
        self._settings: EnsembleSettings | None = EnsembleSettings()
        self.setStyleSheet(INVALID_FIELD_STYLE)
        self._layout = QFormLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for spec in setting_specs():
            editor = FieldEditor(spec, check=_check)
            label = QLabel(LABELS.get(spec.name, spec.name.replace("_", " ").capitalize()))
            label.setBuddy(editor.focus_widget())
            self._layout.addRow(label, editor)
            editor.edited.connect(partial(self._on_edited, spec.name))
            self._editors[spec.name] = editor
            self._labels[spec.name] = label
            self._last_valid[spec.name] = spec.default
        for name, wording in (("method", method_label), ("select_by", SELECT_BY_LABELS.get)):
            combo = self._editors[name].focus_widget()
            assert isinstance(combo, QComboBox)
            for i in range(combo.count()):  # shown in words; the value stays the engine's identifier
                combo.setItemText(i, wording(combo.itemData(i)) or combo.itemData(i))
        chain = [e.focus_widget() for e in self._editors.values()]
        for first, second in zip(chain, chain[1:]):
            QWidget.setTabOrder(first, second)
        self._refresh_visibility()

    # ---- public API ----------------------------------------------------------------------
    def settings(self) -> EnsembleSettings | None:
        """The validated settings, or None while a shown field is invalid."""
        return self._settings

    def method(self) -> str:
        return str(self._editors["method"].raw())

    def trains(self) -> bool:
        """True while the chosen method trains new members (it needs the Training tab's config)."""
        return self.method() not in COMBINE_METHODS

    def set_settings(self, settings: EnsembleSettings) -> None:
        for name, editor in self._editors.items():
            editor.set_value(getattr(settings, name))
        self._changed()

    def set_field(self, name: str, value: Any) -> None:
        """Put `value` into one field as if typed (it is validated and may be marked invalid)."""
        self.editor(name).set_value(value)
        self._changed()

    def editor(self, name: str) -> FieldEditor:
        """The input of one setting, by its name ("top") or key ("ensemble.top")."""
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
        for name in self._editors:
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
    def _on_edited(self, name: str) -> None:
        self._changed()

    def _changed(self) -> None:
        self._refresh_visibility()
        self._revalidate()
        self.settings_changed.emit()

    def _refresh_visibility(self) -> None:
        used = USES.get(self.method(), ())
        for name, editor in self._editors.items():
            shown = name == "method" or name in used
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
                settings = validate_settings(EnsembleSettings(**values))
            except ConfigError as exc:  # a rule across fields (one trial id is no ensemble) names one of them
                errors[exc.field.rpartition(".")[2]] = exc
        for name, editor in self._editors.items():
            editor.set_error(reason_text(errors[name]) if name in errors else None)
        self._errors, self._settings = errors, settings
