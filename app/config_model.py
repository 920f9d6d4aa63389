"""ConfigModel: the window's current run config, one for every tab.

MainWindow owns it and the Training tab's form feeds it; the LR finder and Ensembles tabs read it and follow
`changed` instead of reaching into the Training tab. A tab that changes the config (Use this LR) asks the model,
which puts the values into the form as if typed, so the user sees them and they are validated like an edit.
"""

from __future__ import annotations

from typing import Any, Mapping

from PySide6.QtCore import QObject, Signal

from app.forms.config_form import ConfigForm
from trainers.spec.config import RunConfig
from trainers.spec.rates import learning_rate_fields


class ConfigModel(QObject):
    changed = Signal()  # after every change of the config or its errors

    def __init__(self, form: ConfigForm, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._form = form
        self._take()
        form.changed.connect(self._on_form_changed)

    def _take(self) -> None:
        f = self._form
        self._cfg, self._errors, self._first, self._values = f.current(), f.errors(), f.first_error(), f.values()

    def _on_form_changed(self) -> None:
        self._take()
        self.changed.emit()

    def config(self) -> RunConfig | None:
        """The current config (frozen), or None while the Training tab's form holds an error."""
        return self._cfg

    def errors(self) -> dict[str, str]:
        """Field key → message, for every invalid field."""
        return dict(self._errors)

    def first_error(self) -> str:
        return self._first

    def value(self, key: str) -> Any:
        """A field's last valid value, also while another field is invalid."""
        return self._values[key]

    def set_config(self, cfg: RunConfig) -> None:
        """Make `cfg` the current config (File → Open, a trial cloned from History)."""
        self._form.set_config(cfg)

    def set_values(self, values: Mapping[str, Any]) -> dict[str, str]:
        """Put `values` (by key) into the config as if typed; the errors they leave, by key ({} when all took)."""
        self._form.set_values(values)  # the form validates and feeds this model back before returning
        return {key: self._errors[key] for key in values if key in self._errors}

    def set_learning_rate(self, rate: float) -> tuple[tuple[str, ...], dict[str, str]]:
        """Train at `rate` (the engine's rule: optim.lr, and the one-cycle peak): (the fields set, their errors)."""
        keys = learning_rate_fields(str(self._values["schedule.name"]))
        return keys, self.set_values(dict.fromkeys(keys, rate))
