"""ConfigForm: the whole run config as grouped fields, validated on every edit.

Every field comes from trainers.spec.config.field_specs(), so a field added to the engine appears here
without a change. Fields the current choices don't read are hidden (or greyed out) and held at a valid
value, so only what the user can see can block training.
"""

from __future__ import annotations

import copy
from functools import partial
from typing import Any

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QFormLayout, QGroupBox, QLabel, QVBoxLayout, QWidget

from app.forms import param_count
from app.forms.field_editor import ERROR_COLOR, INVALID_FIELD_STYLE, FieldEditor
from app.forms.labels import GROUP_TITLES, field_label
from app.forms.schedule_plot import SchedulePlot
from app.forms.validation import check_rules, reason_text
from app.forms.visibility import TRIGGERS, browse_mode, is_shown, is_switched_on
from trainers.spec.config import DataConfig, ModelConfig, RunConfig, check_value, field_specs, spec
from trainers.spec.errors import ConfigError

DEBOUNCE_MS = 150  # coalesces a burst of keystrokes into one recount / redraw


class ConfigForm(QWidget):
    """The run-config form; place it in a QScrollArea (it is tall and about 380 px wide)."""

    validity_changed = Signal(bool)  # only when validity flips
    config_changed = Signal()        # after every edit (and set_config)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._editors: dict[str, FieldEditor] = {}
        self._forms: dict[str, QFormLayout] = {}
        self._last_valid: dict[str, Any] = {s.key: s.default for s in field_specs()}  # per field
        self._last_good: dict[str, Any] = dict(self._last_valid)  # from the last valid whole config
        self._active: dict[str, bool] = {}
        self._errors: dict[str, ConfigError] = {}
        self._cfg: RunConfig | None = None
        self._valid = True
        self._locked = False
        self._engine_ready = False

        self.param_label = QLabel(param_count.NOT_READY)
        self.param_label.setWordWrap(True)
        self.schedule_plot = SchedulePlot()
        self.setStyleSheet(INVALID_FIELD_STYLE)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        for section, title in GROUP_TITLES.items():
            layout.addWidget(self._build_group(section, title))
        layout.addStretch(1)
        self._align_label_columns()
        self._chain_tab_order()

        self._count_timer = self._debouncer(self._update_param_count)
        self._preview_timer = self._debouncer(self._update_preview)
        self._refresh_states(restore=False)
        self._revalidate()
        self._preview_timer.start()

    # ---- construction --------------------------------------------------------------------
    def _build_group(self, section: str, title: str) -> QGroupBox:
        box = QGroupBox(title)
        box.setObjectName(f"group_{section}")
        form = QFormLayout(box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
        for s in (s for s in field_specs() if s.section == section):
            editor = FieldEditor(s)
            label = QLabel(field_label(s))
            label.setBuddy(editor.focus_widget())
            form.addRow(label, editor)
            editor.edited.connect(partial(self._on_edited, s.key))
            self._editors[s.key] = editor
            self._forms[s.key] = form
            if s.key == "model.family":  # the count sits right under the choice that changes it most
                form.addRow(self.param_label)
        if section == "schedule":
            form.addRow(self.schedule_plot)
        return box

    def _align_label_columns(self) -> None:
        """One label width for every group, so the inputs line up down the whole form."""
        labels = [form.labelForField(editor) for editor, form in
                  ((self._editors[k], self._forms[k]) for k in self._editors)]
        width = max(label.sizeHint().width() for label in labels if label is not None)
        for label in labels:
            if label is not None:
                label.setMinimumWidth(width)

    def _chain_tab_order(self) -> None:
        """Tab walks the inputs top to bottom, each Browse… button right after its field."""
        chain: list[QWidget] = []
        for editor in self._editors.values():
            chain.append(editor.focus_widget())
            if (button := editor.browse_button()) is not None:
                chain.append(button)
        for first, second in zip(chain, chain[1:]):
            QWidget.setTabOrder(first, second)

    def _debouncer(self, slot: Any) -> QTimer:
        timer = QTimer(self)
        timer.setSingleShot(True)
        timer.setInterval(DEBOUNCE_MS)
        timer.timeout.connect(slot)
        return timer

    # ---- public API ----------------------------------------------------------------------
    def config(self) -> RunConfig | None:
        """The validated config, or None while any field is invalid."""
        return None if self._cfg is None else copy.deepcopy(self._cfg)  # callers may change their copy

    def set_config(self, cfg: RunConfig) -> None:
        """Show cfg in every field (File → Open), clear old errors and validate afresh."""
        for key, editor in self._editors.items():
            section, _, name = key.partition(".")
            value = getattr(getattr(cfg, section), name)
            editor.set_value(value)
            try:
                self._last_valid[key] = check_value(key, value)
            except ConfigError:
                pass  # shown as an error by _revalidate; keep the older valid value to fall back to
        self._refresh_states(restore=False)
        self._revalidate()
        self._count_timer.start()
        self._preview_timer.start()
        self.config_changed.emit()

    def errors(self) -> dict[str, str]:
        """Field key → full message ("optim.lr = '-1' is invalid: a number in (0, 100]")."""
        return {key: str(exc) for key, exc in self._errors.items()}

    def first_error(self) -> str:
        """The message of the topmost invalid field; "" when the config is valid."""
        for key in (*self._editors, *self._errors):
            if key in self._errors:
                return str(self._errors[key])
        return ""

    def set_field(self, key: str, value: Any) -> None:
        """Put `value` into one field as if the user had typed it: validated, and config_changed follows."""
        self._editors[key].set_value(value)
        self._on_edited(key)

    def editor(self, key: str) -> FieldEditor:
        return self._editors[key]

    def editors(self) -> dict[str, FieldEditor]:
        return dict(self._editors)

    def is_valid(self) -> bool:
        return self._valid

    def set_locked(self, locked: bool) -> None:
        """Disable every input while a run uses this config."""
        self._locked = locked
        self._refresh_states(restore=False)

    def set_engine_ready(self) -> None:
        """torch is loaded: from now on the parameter count is computed."""
        self._engine_ready = True
        self._count_timer.start()

    def show_param_count(self, n: int) -> None:
        """The real count reported by a run (e.g. for CSV data, whose shape the form can't know)."""
        self._count_timer.stop()
        self._set_count_text(param_count.CountText(param_count.format_count(n)))

    # ---- reacting to edits ---------------------------------------------------------------
    def _on_edited(self, key: str) -> None:
        if key in TRIGGERS:
            self._refresh_states(restore=True)
        self._revalidate()
        if key.startswith(("model.", "data.")):
            self._count_timer.start()
        self._preview_timer.start()  # cheap, and validity changes restyle it too
        self.config_changed.emit()

    def _controller_values(self) -> dict[str, Any]:
        return {key: self._editors[key].raw() for key in TRIGGERS}

    def _refresh_states(self, restore: bool) -> None:
        """Show/hide and enable/disable fields for the current choices and lock."""
        values = self._controller_values()
        for key, editor in self._editors.items():
            shown, switched_on = is_shown(key, values), is_switched_on(key, values)
            active = shown and switched_on
            if restore and self._active.get(key, True) and not active:
                self._restore_if_invalid(key)
            self._active[key] = active
            self._forms[key].setRowVisible(editor, shown)  # hides the label too, and the row's spacing
            editor.setEnabled(switched_on and not self._locked)
            mode = browse_mode(key, values)
            if mode is not None:
                editor.set_browse_mode(*mode)

    def _restore_if_invalid(self, key: str) -> None:
        """A field being hidden goes back to its last valid value: hidden fields never block training."""
        editor = self._editors[key]
        try:
            editor.value()
        except ConfigError:
            editor.set_value(self._last_valid[key])

    def _revalidate(self) -> None:
        errors: dict[str, ConfigError] = {}
        values: dict[str, Any] = {}
        for key, editor in self._editors.items():
            try:
                values[key] = editor.value()
            except ConfigError as exc:
                if self._active[key]:
                    errors[key] = exc
                    continue
                editor.set_value(self._last_valid[key])  # cannot normally happen: inactive fields are valid
                values[key] = self._last_valid[key]
            self._last_valid[key] = values[key]
        cfg = None
        if not errors:
            cfg, errors = self._validate_whole(values)
        if cfg is not None:
            self._last_good = values
        for key, editor in self._editors.items():
            editor.set_error(reason_text(errors[key]) if key in errors else None)
        self._errors, self._cfg = errors, cfg
        if (cfg is not None) != self._valid:
            self._valid = cfg is not None
            self.validity_changed.emit(self._valid)

    def _validate_whole(self, values: dict[str, Any]) -> tuple[RunConfig | None, dict[str, ConfigError]]:
        """The rules that tie fields together; one broken by a hidden field resets that field and retries."""
        cfg, errors = check_rules(values)
        for _ in range(2 * len(values)):  # each reset moves a field to its last good value, then its default
            hidden = [key for key in errors if key in self._editors and not self._active[key]]
            if not hidden or not any([self._fall_back(key, values) for key in hidden]):
                break
            cfg, errors = check_rules(values)
        return cfg, errors

    def _fall_back(self, key: str, values: dict[str, Any]) -> bool:
        """Give a hidden field the value it had in the last valid config, else its default."""
        fallback = self._last_good[key] if values[key] != self._last_good[key] else spec(key).default
        if fallback == values[key]:
            return False
        values[key] = self._last_valid[key] = fallback
        self._editors[key].set_value(fallback)
        return True

    # ---- debounced views -----------------------------------------------------------------
    def _update_preview(self) -> None:
        if self._cfg is not None:
            self.schedule_plot.show_config(self._cfg)
        else:
            self.schedule_plot.set_stale()

    def _update_param_count(self) -> None:
        if not self._engine_ready:
            self._set_count_text(param_count.CountText(param_count.NOT_READY))
            return
        model: dict[str, Any] = {}
        for key in (k for k in self._editors if k.startswith("model.")):
            try:
                model[key.partition(".")[2]] = self._editors[key].value()
            except ConfigError:  # only visible fields can be out of range; they show their own error
                self._set_count_text(param_count.CountText(param_count.MODEL_INVALID))
                return
        data = {k.partition(".")[2]: v for k, v in self._last_valid.items() if k.startswith("data.")}
        self._set_count_text(param_count.describe(ModelConfig(**model), DataConfig(**data)))

    def _set_count_text(self, count: param_count.CountText) -> None:
        self.param_label.setText(count.text)
        self.param_label.setToolTip(count.tooltip)
        self.param_label.setStyleSheet(f"color: {ERROR_COLOR};" if count.is_error else "")
