"""ConfigForm: the whole run config as grouped fields — a FieldForm over the run config's table, with the live
parameter count under the model family and the learning-rate preview under the schedule.

Every field comes from trainers.spec.config.field_specs(), so a field added to the engine appears here without a
change. Fields the current choices don't read are hidden (or greyed out) and held at a valid value, so only what
the user can see can block training.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QWidget

from app.forms import param_count
from app.forms.csv_table import CsvTable
from app.forms.field_editor import ERROR_COLOR
from app.forms.field_form import FieldForm, FormRules
from app.forms.labels import GROUP_TITLES
from app.forms.schedule_plot import SchedulePlot
from app.forms.visibility import TRIGGERS, browse_mode, is_shown, is_switched_on
from trainers.spec.config import RunConfig
from trainers.spec.csv_preview import csv_preview
from trainers.spec.errors import TuneLabError
from trainers.spec.settings_table import RUN_CONFIG

DEBOUNCE_MS = 150  # coalesces a burst of keystrokes into one recount / redraw
RUN_CONFIG_RULES = FormRules(
    shown=is_shown, switched_on=is_switched_on, browse=browse_mode, triggers=TRIGGERS, groups=GROUP_TITLES
)


class ConfigForm(FieldForm[RunConfig]):
    """The run-config form; place it in a QScrollArea (it is tall and about 380 px wide)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        self._engine_ready = False
        self.param_label = QLabel(param_count.NOT_READY)
        self.param_label.setWordWrap(True)
        self.schedule_plot = SchedulePlot()
        self.csv_table = CsvTable()
        self._csv_shown: str | None = None  # the CSV path the picker and the table were filled from
        super().__init__(RUN_CONFIG, RUN_CONFIG_RULES, parent)
        self._insert_below("data.path", self.csv_table)
        self._insert_below("model.family", self.param_label)  # under the choice that changes the count most
        self.row_layout("schedule.name").addRow(self.schedule_plot)
        self._count_timer = self._debouncer(self._update_param_count)
        self._preview_timer = self._debouncer(self._update_preview)
        self._preview_timer.start()
        self._csv_timer = self._debouncer(self._update_csv)

    def _insert_below(self, key: str, widget: QWidget) -> None:
        form = self.row_layout(key)
        row, _role = form.getWidgetPosition(self.editor(key))
        form.insertRow(row + 1, widget)

    def _debouncer(self, slot: Any) -> QTimer:
        timer = QTimer(self)
        timer.setSingleShot(True)
        timer.setInterval(DEBOUNCE_MS)
        timer.timeout.connect(slot)
        return timer

    # ---- public API ----------------------------------------------------------------------
    def config(self) -> RunConfig | None:
        """The validated config (frozen), or None while any field in use is invalid."""
        return self.current()

    def set_config(self, cfg: RunConfig) -> None:
        """Show cfg in every field (File → Open), clear old errors and validate afresh."""
        self.set_object(cfg)

    @property
    def engine_ready(self) -> bool:
        return self._engine_ready

    def set_engine_ready(self) -> None:
        """torch is loaded: from now on the parameter count is computed."""
        self._engine_ready = True
        self._count_timer.start()

    def show_param_count(self, n: int) -> None:
        """The real count reported by a run (e.g. for CSV data, whose shape the form can't know)."""
        self._count_timer.stop()
        self._set_count_text(param_count.CountText(param_count.format_count(n)))

    # ---- debounced views -----------------------------------------------------------------
    def _after_change(self, keys: set[str]) -> None:
        if any(key.startswith(("model.", "data.")) for key in keys):
            self._count_timer.start()
        if keys & {"data.source", "data.path"}:
            self._csv_timer.start()
        self._preview_timer.start()  # cheap, and validity changes restyle it too

    def _update_preview(self) -> None:
        cfg = self.current()
        if cfg is not None:
            self.schedule_plot.show_config(cfg)
        else:
            self.schedule_plot.set_stale()

    def _update_csv(self) -> None:
        """A CSV file chosen: its header fills the target-column picker, its first rows show under the path."""
        values = self.values()
        path = str(values["data.path"]).strip() if values["data.source"] == "csv" else ""
        if path == self._csv_shown:
            return
        self._csv_shown = path
        picker = self.editor("data.target_column")
        if not path:
            self.csv_table.hide()
            picker.set_column_choices(())
            return
        try:
            preview = csv_preview(path)
        except TuneLabError as exc:
            self.csv_table.show_problem(str(exc))
            picker.set_column_choices(())
            return
        self.csv_table.show_preview(preview)
        picker.set_column_choices(preview.header)

    def _update_param_count(self) -> None:
        if not self._engine_ready:
            self._set_count_text(param_count.CountText(param_count.NOT_READY))
            return
        if any(key.startswith("model.") for key in self._errors if key in self._value_errors):
            # only fields in use can be invalid on their own; they show their own error
            self._set_count_text(param_count.CountText(param_count.MODEL_INVALID))
            return
        values = self.values()
        model = {key.partition(".")[2]: v for key, v in values.items() if key.startswith("model.")}
        self._set_count_text(param_count.describe(model, values["data.source"]))

    def _set_count_text(self, count: param_count.CountText) -> None:
        self.param_label.setText(count.text)
        self.param_label.setToolTip(count.tooltip)
        self.param_label.setStyleSheet(f"color: {ERROR_COLOR};" if count.is_error else "")
