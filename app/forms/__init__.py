"""Run-config forms generated from trainers.spec.config's field table. Importing this never loads torch."""

from __future__ import annotations

from app.forms.config_form import ConfigForm
from app.forms.field_editor import FieldEditor, format_value
from app.forms.schedule_plot import SchedulePlot

__all__ = ["ConfigForm", "FieldEditor", "SchedulePlot", "format_value"]
