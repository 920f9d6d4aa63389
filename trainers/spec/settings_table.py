"""Field tables: the run config's, and the settings tables beside it (the LR finder's, the ensemble's).

A settings table is a frozen dataclass declared with the config's `_f` fields, converted and checked field by field
with the same rules, errors naming `section.field`. Every table offers the same path from form or flag values to a
validated object: each value checked once (`check_values`), then the whole once (`from_checked`), so one form class
serves them all.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Generic, Mapping, Protocol, TypeVar

from trainers.spec.config import (
    FieldSpec,
    RunConfig,
    check_spec,
    check_values,
    config_from_checked,
    config_values,
    field_specs,
    specs_of,
)
from trainers.spec.errors import ConfigError

S = TypeVar("S")
T = TypeVar("T", covariant=True)
Errors = dict[str, ConfigError]


class FieldTable(Protocol[T]):
    """What a form needs of a table; every key is "section.field"."""

    def specs(self) -> list[FieldSpec]: ...

    def check_values(self, values: Mapping[str, Any]) -> tuple[dict[str, Any], Errors]: ...

    def from_checked(self, values: Mapping[str, Any]) -> tuple[T | None, Errors]: ...

    def values_of(self, obj: Any) -> dict[str, Any]: ...


class RunConfigTable:
    """The run config as a field table."""

    def specs(self) -> list[FieldSpec]:
        return list(field_specs())

    def check_values(self, values: Mapping[str, Any]) -> tuple[dict[str, Any], Errors]:
        return check_values(values)

    def from_checked(self, values: Mapping[str, Any]) -> tuple[RunConfig | None, Errors]:
        return config_from_checked(values)

    def values_of(self, obj: RunConfig) -> dict[str, Any]:
        return config_values(obj)


RUN_CONFIG = RunConfigTable()


class SettingsTable(Generic[S]):
    def __init__(
        self,
        section: str,
        cls: Callable[..., S],
        rules: Callable[[S], None] | None = None,
        parsers: Mapping[str, Callable[[Any], Any]] | None = None,
    ) -> None:
        """`rules`: the checks across fields, raising a ConfigError naming one of them; `parsers`: by field name,
        a check of a text field's content beyond its type (trial ids), raising a ConfigError."""
        self.section = section
        self.cls = cls
        self.rules = rules
        self.parsers = dict(parsers or {})
        self._specs: list[FieldSpec] = specs_of(section, cls)  # type: ignore[arg-type]
        self._by_name = {s.name: s for s in self._specs}

    def all_specs(self) -> list[FieldSpec]:
        return list(self._specs)

    specs = all_specs

    def spec(self, name: str) -> FieldSpec:
        return self._by_name[name]

    def coerce(self, name: str, value: Any) -> Any:
        """One setting converted to its type and checked against its range, or a ConfigError naming it."""
        if name not in self._by_name:
            raise ConfigError(f"{self.section}.{name}", value, "one of " + ", ".join(self._by_name))
        typed = check_spec(self._by_name[name], value)
        if name in self.parsers:
            self.parsers[name](typed)
        return typed

    def check_values(self, values: Mapping[str, Any]) -> tuple[dict[str, Any], Errors]:
        """Each value (by key, "range_test.start_lr") checked once: (typed values, errors), both by key."""
        typed: dict[str, Any] = {}
        errors: Errors = {}
        for key, value in values.items():
            try:
                typed[key] = self.coerce(key.rpartition(".")[2], value)
            except ConfigError as exc:
                errors[key] = exc
        return typed, errors

    def from_checked(self, values: Mapping[str, Any]) -> tuple[S | None, Errors]:
        """The settings made of checked values (by key; others take their defaults), the rules checked once."""
        settings = self.cls(**{key.rpartition(".")[2]: value for key, value in values.items()})
        try:
            if self.rules is not None:
                self.rules(settings)
        except ConfigError as exc:
            return None, {exc.field: exc}
        return settings, {}

    def values_of(self, obj: S) -> dict[str, Any]:
        return {s.key: getattr(obj, s.name) for s in self._specs}

    def checked(self, settings: S) -> S:
        """The settings with every value converted to its type (2.0 iterations → 2) and checked, then the rules."""
        fields = dataclasses.fields(settings)  # type: ignore[arg-type]
        typed = dataclasses.replace(
            settings,
            **{
                f.name: self.coerce(f.name, getattr(settings, f.name))  # type: ignore[type-var]
                for f in fields
            },
        )
        if self.rules is not None:
            self.rules(typed)
        return typed


class SettingsMixin:
    """replace / to_dict / from_dict for a settings dataclass whose module validates it with `_validate`."""

    _validate: Callable[[Any], Any]
    _table: SettingsTable[Any]

    def replace(self: S, **changes: Any) -> S:
        """A validated copy with fields changed by name; text values are converted as from a form or flag."""
        typed = {name: self._table.coerce(name, value) for name, value in changes.items()}  # type: ignore[attr-defined]
        return type(self)._validate(dataclasses.replace(self, **typed))  # type: ignore[type-var, attr-defined]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls: type[S], raw: dict[str, Any]) -> S:
        return cls().replace(**raw)  # type: ignore[attr-defined]
