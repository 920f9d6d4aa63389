"""LrFinderSettingsForm: the LR finder's settings, one FieldEditor per field, validated on every edit.

The fields come from trainers.spec.lr_finder_settings, so the form, the CLI and the engine accept exactly the same
values. The validation-sample count is only shown while validation loss is on, the number of candidates only while
the check by short runs is; a hidden field never blocks the test.
"""

from __future__ import annotations

from typing import Any, Mapping

from PySide6.QtWidgets import QWidget

from app.forms.field_form import FieldForm, FormRules
from trainers.spec.lr_finder_settings import SECTION, TABLE, LrFinderSettings

# field -> the boolean field that must be on for it to be shown
_SHOWN_WHEN = {f"{SECTION}.val_samples": f"{SECTION}.val_loss", f"{SECTION}.verify_candidates": f"{SECTION}.verify"}


def _shown(key: str, values: Mapping[str, Any]) -> bool:
    switch = _SHOWN_WHEN.get(key)
    return switch is None or bool(values[switch])


class LrFinderSettingsForm(FieldForm[LrFinderSettings]):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(TABLE, FormRules(shown=_shown, triggers=frozenset(_SHOWN_WHEN.values())), parent)
