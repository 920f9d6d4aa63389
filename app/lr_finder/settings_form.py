"""RangeTestForm: the learning-rate range test's settings, one FieldEditor per field, validated on every edit.

The fields come from trainers.spec.lr_finder_settings.setting_specs(), so the form, the CLI and the engine
accept exactly the same values. The validation-sample count is only shown while validation loss is on; a
hidden field never blocks the test.
"""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from app.forms.settings_table_form import SettingsTableForm
from trainers.spec.lr_finder_settings import RangeTestSettings, coerce_setting, setting_specs, validate_settings

# field name -> the boolean field that must be on for it to be shown
_SHOWN_WHEN = {"val_samples": "val_loss"}


class RangeTestForm(SettingsTableForm[RangeTestSettings]):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(RangeTestSettings, setting_specs(), coerce_setting, validate_settings, parent=parent)

    def is_relevant(self, name: str) -> bool:
        switch = _SHOWN_WHEN.get(name)
        return switch is None or bool(self.editor(switch).raw())
