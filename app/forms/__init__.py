"""Forms generated from the engine's field tables (trainers.spec). Importing this never loads torch."""

from __future__ import annotations

from app.forms.config_form import ConfigForm
from app.forms.field_editor import FieldEditor, format_value
from app.forms.field_form import FieldForm, FormRules
from app.forms.schedule_plot import SchedulePlot

__all__ = ["ConfigForm", "FieldEditor", "FieldForm", "FormRules", "SchedulePlot", "format_value"]
