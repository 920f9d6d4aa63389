"""FieldForm: a form over one field table — the run config, or a settings table beside it (the LR finder's, the
ensemble's) — one FieldEditor per field, validated on every edit.

An edit checks the edited value once and the whole object once, through the table (trainers.spec.settings_table),
so the form, the CLI and the engine accept exactly the same values. FormRules say which fields the current choices
show or switch on; a field going out of use takes its last valid value, so only what the user can use blocks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Any, Callable, Generic, Mapping, TypeVar

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFormLayout, QGroupBox, QLabel, QVBoxLayout, QWidget

from app.forms.field_editor import INVALID_FIELD_STYLE, FieldEditor
from app.forms.labels import field_label
from app.forms.wording import comma_hint, problem_line
from trainers.spec.config import FieldSpec
from trainers.spec.errors import ConfigError
from trainers.spec.settings_table import FieldTable

T = TypeVar("T")
Values = Mapping[str, Any]


def _always(_key: str, _values: Values) -> bool:
    return True


def _no_browsing(_key: str, _values: Values) -> tuple[str, str] | None:
    return None


@dataclass(frozen=True)
class FormRules:
    """How a form reads for the current choices. `values` passed to the rules: the raw input of each trigger."""

    shown: Callable[[str, Values], bool] = _always  # the row is visible
    switched_on: Callable[[str, Values], bool] = _always  # the input is enabled (shown greyed out otherwise)
    browse: Callable[[str, Values], tuple[str, str] | None] = _no_browsing  # ("dir" | "file", name filter)
    triggers: frozenset[str] | None = None  # keys whose change can show or hide others; None: every key
    groups: Mapping[str, str] | None = None  # section → group-box title; None: one list of rows
    labels: Mapping[str, str] = field(default_factory=dict)  # key or name → row label (with its Alt key)


def reason_text(exc: ConfigError) -> str:
    """The short reason shown under a field (its label already says which field it is)."""
    hint = comma_hint(exc.value)
    return f"Must be {exc.allowed}" + (f" ({hint})" if hint else "")


class FieldForm(QWidget, Generic[T]):
    changed = Signal()  # after every edit, and after set_object / set_field / set_values
    validity_changed = Signal(bool)  # only when validity flips

    def __init__(self, table: FieldTable[T], rules: FormRules | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._table = table
        self._rules = rules or FormRules()
        specs = table.specs()
        self._editors: dict[str, FieldEditor] = {}
        self._layouts: dict[str, QFormLayout] = {}
        self._labels: dict[str, QLabel] = {}
        self._values: dict[str, Any] = {s.key: s.default for s in specs}  # each field's last valid value
        self._last_good: dict[str, Any] = dict(self._values)  # of the last valid whole
        self._value_errors: dict[str, ConfigError] = {}  # fields invalid on their own
        self._errors: dict[str, ConfigError] = {}  # everything marked now
        self._active: dict[str, bool] = {}
        self._obj: T | None = None
        self._valid = True
        self._locked = False
        sections = {s.section for s in specs}
        self._names = {s.name: s.key for s in specs} if len(sections) == 1 else {}
        self.setStyleSheet(INVALID_FIELD_STYLE)
        self._build(specs)
        self._refresh_states()
        self._revalidate(())

    # ---- construction --------------------------------------------------------------------
    def _build(self, specs: list[FieldSpec]) -> None:
        groups = self._rules.groups
        if groups is None:
            flat = self._form_layout(self)
            flat.setContentsMargins(0, 0, 0, 0)
            for s in specs:
                self._add_row(flat, s)
        else:
            outer = QVBoxLayout(self)
            outer.setContentsMargins(4, 4, 4, 4)
            for section, title in groups.items():
                box = QGroupBox(title)
                box.setObjectName(f"group_{section}")
                form = self._form_layout(box)
                for s in (s for s in specs if s.section == section):
                    self._add_row(form, s)
                outer.addWidget(box)
            outer.addStretch(1)
            width = max(label.sizeHint().width() for label in self._labels.values())
            for label in self._labels.values():  # one label width: the inputs line up down the whole form
                label.setMinimumWidth(width)
        chain: list[QWidget] = []  # Tab walks the inputs top to bottom, each Browse… button after its field
        for editor in self._editors.values():
            chain.append(editor.focus_widget())
            if (button := editor.browse_button()) is not None:
                chain.append(button)
        for first, second in zip(chain, chain[1:]):
            QWidget.setTabOrder(first, second)

    @staticmethod
    def _form_layout(parent: QWidget) -> QFormLayout:
        form = QFormLayout(parent)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
        return form

    def _add_row(self, form: QFormLayout, s: FieldSpec) -> None:
        editor = FieldEditor(s, check=partial(_check_one, self._table))
        labels = self._rules.labels
        label = QLabel(labels.get(s.key) or labels.get(s.name) or field_label(s))
        label.setBuddy(editor.focus_widget())
        form.addRow(label, editor)
        editor.edited.connect(partial(self._on_edited, s.key))
        self._editors[s.key] = editor
        self._layouts[s.key] = form
        self._labels[s.key] = label

    def row_layout(self, name: str) -> QFormLayout:
        """The layout holding a field's row (a specialised form adds its own rows there)."""
        return self._layouts[self._key(name)]

    # ---- public API ----------------------------------------------------------------------
    def current(self) -> T | None:
        """The validated object (frozen), or None while a field in use is invalid."""
        return self._obj

    def settings(self) -> T | None:
        """current(), by the name the settings tables' tabs use."""
        return self.current()

    def set_settings(self, settings: T) -> None:
        self.set_object(settings)

    def values(self) -> dict[str, Any]:
        """Each field's last valid value, by key."""
        return dict(self._values)

    def set_object(self, obj: T) -> None:
        """Show `obj` in every field (File → Open, an earlier job's settings), clear old errors, validate afresh."""
        for key, value in self._table.values_of(obj).items():
            self._editors[key].set_value(value)
        self._value_errors.clear()
        self._apply(set(self._editors))

    def set_field(self, name: str, value: Any) -> None:
        """Put `value` into one field as if the user had typed it: validated, and `changed` follows."""
        self.set_values({name: value})

    def set_values(self, values: Mapping[str, Any]) -> None:
        """set_field for several fields at once (checked together, one `changed`)."""
        keys = {self._key(name) for name in values}
        for name, value in values.items():
            self._editors[self._key(name)].set_value(value)
        self._apply(keys)

    def editor(self, name: str) -> FieldEditor:
        """The input of one field, by key ("range_test.start_lr") or, in a one-section table, by name."""
        return self._editors[self._key(name)]

    def label(self, name: str) -> QLabel:
        """The row label of one field (it carries the row's Alt key)."""
        return self._labels[self._key(name)]

    def editors(self) -> dict[str, FieldEditor]:
        return dict(self._editors)

    def errors(self) -> dict[str, str]:
        """Field key → full message ("optim.lr = '-1' is invalid: a number in (0, 100]")."""
        return {key: str(exc) for key, exc in self._errors.items()}

    def first_error(self) -> str:
        """The message of the topmost invalid field; "" when the form is valid."""
        for key in (*self._editors, *self._errors):
            if key in self._errors:
                return str(self._errors[key])
        return ""

    def first_problem(self) -> str:
        """first_error() as a person reads it: the field's label and the value it holds now; "" when valid."""
        for key in (*self._editors, *self._errors):
            if key in self._errors:
                exc = self._errors[key]
                if key in self._labels and isinstance(exc, ConfigError) and getattr(exc, "field", None) == key:
                    return problem_line(self._labels[key].text().replace("&", ""), exc)
                return str(exc)
        return ""

    def is_shown(self, name: str) -> bool:
        key = self._key(name)
        return self._layouts[key].isRowVisible(self._editors[key])

    def shown_fields(self) -> list[str]:
        """The shown fields, by name in a one-section table, else by key."""
        short = {key: name for name, key in self._names.items()}
        return [short.get(key, key) for key in self._editors if self.is_shown(key)]

    def set_locked(self, locked: bool) -> None:
        """Disable every input while a job uses what the form holds."""
        self._locked = locked
        self._refresh_states()

    # ---- reacting to edits ---------------------------------------------------------------
    def _key(self, name: str) -> str:
        return name if name in self._editors else self._names[name]

    def _on_edited(self, key: str) -> None:
        self._apply({key})

    def _apply(self, keys: set[str]) -> None:
        triggers = self._rules.triggers
        if triggers is None or keys & triggers:
            self._refresh_states()
        self._revalidate(keys)
        self._after_change(keys)
        self.changed.emit()

    def _after_change(self, keys: set[str]) -> None:
        """A specialised form's own reaction to an edit of `keys`, before `changed` is emitted."""

    def _refresh_states(self) -> None:
        """Show or hide and enable or disable fields for the current choices and lock; a field going out of use
        takes its last valid value, so it never blocks."""
        rules = self._rules
        raws = {key: self._editors[key].raw() for key in (rules.triggers or self._editors)}
        for key, editor in self._editors.items():
            shown, switched_on = rules.shown(key, raws), rules.switched_on(key, raws)
            self._active[key] = shown and switched_on
            if not self._active[key] and self._value_errors.pop(key, None) is not None:
                editor.set_value(self._values[key])
            self._layouts[key].setRowVisible(editor, shown)  # hides the label too, and the row's spacing
            editor.setEnabled(switched_on and not self._locked)
            mode = rules.browse(key, raws)
            if mode is not None:
                editor.set_browse_mode(*mode)

    def _revalidate(self, fresh: set[str] | tuple[()]) -> None:
        """Check the `fresh` fields' values once each, then, when every field in use is valid, the whole once."""
        for key in fresh:
            self._value_errors.pop(key, None)
        typed, value_errors = self._table.check_values({key: self._editors[key].raw() for key in fresh})
        self._values.update(typed)
        self._value_errors.update(value_errors)
        errors = {key: exc for key, exc in self._value_errors.items() if self._active[key]}
        obj = None
        if not errors:
            obj, errors = self._validate_whole()
        if obj is not None:
            self._last_good = dict(self._values)
        for key, editor in self._editors.items():
            editor.set_error(reason_text(errors[key]) if key in errors else None)
        self._errors, self._obj = errors, obj
        if (obj is not None) != self._valid:
            self._valid = obj is not None
            self.validity_changed.emit(self._valid)

    def _validate_whole(self) -> tuple[T | None, dict[str, ConfigError]]:
        """The rules that tie fields together; one broken by a field out of use resets that field and retries."""
        obj, errors = self._table.from_checked(self._values)
        for _ in range(2 * len(self._values)):  # each reset moves a field to its last good value, then its default
            unused = [key for key in errors if key in self._editors and not self._active[key]]
            if not unused or not any([self._fall_back(key) for key in unused]):
                break
            obj, errors = self._table.from_checked(self._values)
        return obj, errors

    def _fall_back(self, key: str) -> bool:
        """Give a field out of use the value it had in the last valid whole, else its default."""
        value = self._values[key]
        fallback = self._last_good[key] if value != self._last_good[key] else self._editors[key].spec.default
        if fallback == value:
            return False
        self._values[key] = fallback
        self._editors[key].set_value(fallback)
        return True


def _check_one(table: FieldTable[Any], key: str, raw: Any) -> Any:
    """FieldEditor.value(): one field checked through its table, or the ConfigError naming it."""
    typed, errors = table.check_values({key: raw})
    if errors:
        raise errors[key]
    return typed[key]
