"""Settings tables beside the run config (the range test's, the ensemble's): frozen dataclasses declared with the
config's `_f` fields, converted and checked field by field with the same rules, errors naming `section.field`."""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, TypeVar

from trainers.spec.config import FieldSpec, check_spec, specs_of
from trainers.spec.errors import ConfigError

S = TypeVar("S")


class SettingsTable:
    def __init__(self, section: str, cls: type) -> None:
        self.section = section
        self.specs: list[FieldSpec] = specs_of(section, cls)
        self._by_name = {s.name: s for s in self.specs}

    def all_specs(self) -> list[FieldSpec]:
        return list(self.specs)

    def spec(self, name: str) -> FieldSpec:
        return self._by_name[name]

    def coerce(self, name: str, value: Any) -> Any:
        """One setting converted to its type and checked against its range, or a ConfigError naming it."""
        if name not in self._by_name:
            raise ConfigError(f"{self.section}.{name}", value, "one of " + ", ".join(self._by_name))
        return check_spec(self._by_name[name], value)

    def checked(self, settings: S) -> S:
        """The settings with every value converted to its type (2.0 iterations → 2) and checked."""
        fields = dataclasses.fields(settings)  # type: ignore[arg-type]
        return dataclasses.replace(settings, **{f.name: self.coerce(f.name, getattr(settings, f.name))  # type: ignore[type-var]
                                                for f in fields})


class SettingsMixin:
    """replace / to_dict / from_dict for a settings dataclass whose module validates it with `_validate`."""

    _validate: Callable[[Any], Any]
    _table: SettingsTable

    def replace(self: S, **changes: Any) -> S:
        """A validated copy with fields changed by name; text values are converted as from a form or flag."""
        typed = {name: self._table.coerce(name, value) for name, value in changes.items()}  # type: ignore[attr-defined]
        return type(self)._validate(dataclasses.replace(self, **typed))  # type: ignore[type-var, attr-defined]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls: type[S], raw: dict[str, Any]) -> S:
        return cls().replace(**raw)  # type: ignore[attr-defined]
