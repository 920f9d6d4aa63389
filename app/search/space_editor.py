"""The search space as a person edits it: one row per field a search may vary (those the Training tab's config
reads, plus those a searched choice makes apply: momentum once sgd is among the optimizers), each with its range
from the engine's defaults. Every edit checks the rows through trainers.spec.search_space against the Training tab's
config; a row that fails is marked in place with the engine's reason, and problem() says why a search cannot start.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

from app.forms.field_editor import INVALID_FIELD_STYLE
from app.forms.field_form import reason_text
from app.search.space_row import SpaceRow
from trainers.spec.config import RunConfig, field_specs
from trainers.spec.errors import ConfigError
from trainers.spec.search_param import is_searchable
from trainers.spec.search_space import ParamSpec, SearchSpace, searchable_fields

SEARCHED_FIRST = ("optim.lr",)  # ticked in a new window: the field a search most often varies
NOTHING_SEARCHED = "no field is searched: tick at least one, e.g. Learning rate"


class SpaceEditor(QWidget):
    changed = Signal()  # after every edit, and after set_base / set_space

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setStyleSheet(INVALID_FIELD_STYLE)
        self._base: RunConfig | None = None
        self._space: SearchSpace | None = None
        self._problem = NOTHING_SEARCHED
        self.rows: dict[str, SpaceRow] = {}
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setVerticalSpacing(2)
        for c, title in enumerate(("Search", "Mode", "Low, high, step · or choices")):
            grid.addWidget(QLabel(f"<b>{title}</b>"), 0, c)
        for i, s in enumerate(s for s in field_specs() if is_searchable(s.key)):
            row = SpaceRow(s.key, self)
            row.check.setChecked(s.key in SEARCHED_FIRST)
            check, mode, values, error = row.widgets()
            grid.addWidget(check, 1 + 2 * i, 0)
            grid.addWidget(mode, 1 + 2 * i, 1)
            grid.addWidget(values, 1 + 2 * i, 2)
            grid.addWidget(error, 2 + 2 * i, 0, 1, 3)
            row.edited.connect(self._on_edited)
            self.rows[s.key] = row
        grid.setColumnStretch(2, 1)

    # ---- what it holds -----------------------------------------------------------------------
    def space(self) -> SearchSpace | None:
        """The checked space, validated against the base config; None while a row (or the whole) is invalid."""
        return self._space

    def problem(self) -> str:
        """Why the space cannot be searched now (the engine's message, naming search.<field>); "" when it can."""
        return self._problem

    def searched(self) -> list[str]:
        return [key for key, row in self.rows.items() if row.searched]

    def row(self, key: str) -> SpaceRow:
        return self.rows[key]

    # ---- changes -----------------------------------------------------------------------------
    def set_base(self, base: RunConfig | None) -> None:
        """The Training tab's config changed: which fields apply, and whether the ranges still fit it."""
        if base is not None:
            self._base = base
        self._check()
        self.changed.emit()

    def set_space(self, space: dict[str, str]) -> None:
        """Show a stored search's space ({field: text form}): those rows ticked with its ranges, the rest not."""
        for key, row in self.rows.items():
            row.check.blockSignals(True)
            row.check.setChecked(key in space)
            row.check.blockSignals(False)
            if key in space:
                try:
                    row.set_param(ParamSpec.parse(key, space[key]))
                except ConfigError:
                    row.check.setChecked(False)  # a range this version no longer takes: left out, as unticked
            row.sync_inputs()
        self._check()
        self.changed.emit()

    def set_locked(self, locked: bool) -> None:
        """No edits while a search uses the space."""
        for row in self.rows.values():
            row.set_locked(locked)

    def _on_edited(self) -> None:
        self._check()
        self.changed.emit()

    # ---- checking ----------------------------------------------------------------------------
    def _check(self) -> None:
        self._show_applicable()
        errors: dict[str, ConfigError] = {}
        texts: dict[str, str] = {}
        for key, row in self.rows.items():
            if not row.searched:
                continue
            try:
                p = row.param()
            except ConfigError as exc:
                errors[key] = exc
                continue
            if p is not None:
                texts[key] = p.text()
        self._space, self._problem = None, ""
        if not errors:
            self._check_whole(texts, errors)
        for key, row in self.rows.items():
            row.set_error(reason_text(errors[key]) if key in errors else None)
        if errors:
            self._problem = str(next(iter(errors.values())))

    def _check_whole(self, texts: dict[str, str], errors: dict[str, ConfigError]) -> None:
        """The rows together against the base config: values it rejects, fields that cannot apply."""
        if not texts:
            self._problem = NOTHING_SEARCHED
            return
        if self._base is None:
            self._problem = "the Training tab's config is not loaded yet"
            return
        try:
            self._space = SearchSpace.from_dict(texts, self._base)
        except ConfigError as exc:
            key = exc.field.removeprefix("search.")
            if key in self.rows:
                errors[key] = exc
            else:
                self._problem = str(exc)

    def _show_applicable(self) -> None:
        """Rows of the fields that can apply to the base config, given the choices being searched."""
        if self._base is None:
            return
        choices = []
        for row in self.rows.values():
            if row.searched and row.mode_name() == "choice":
                try:
                    p = row.param()
                except ConfigError:
                    continue
                if p is not None:
                    choices.append(p)
        shown = set(searchable_fields(self._base, SearchSpace(tuple(choices))))
        for key, row in self.rows.items():
            row.set_shown(key in shown)
