"""The search space: which run-config fields a search varies and how, validated against a base config, and one
config sampled from it through any suggester (an Optuna trial is one). Torch-free and Optuna-free.

Conditional fields follow the config's own tables (trainers/spec/applicability.py): fields are sampled in
field-table order, so a section's deciding field (optimizer, schedule, family) comes first, and a field it makes
irrelevant is not sampled at all (momentum under adam, max_lr under any schedule but one_cycle).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Protocol, Sequence

from trainers.spec.applicability import CONTROLLERS, applies
from trainers.spec.config import RunConfig, check_value, config_from_values, config_values, field_specs
from trainers.spec.errors import ConfigError
from trainers.spec.search_defaults import default_param as default_param
from trainers.spec.search_param import FORMS, check_param, is_searchable, may_apply, resolve_field
from trainers.spec.search_param import Mode as Mode
from trainers.spec.search_param import ParamSpec as ParamSpec

_ORDER = {s.key: i for i, s in enumerate(field_specs())}
# Values of one param tried on the base config before a search starts (all of a short grid, else the bounds).
_CHECKED_VALUES = 64


class Suggester(Protocol):
    """What sampling needs of an Optuna trial (optuna.Trial satisfies it; tests pass a seeded fake)."""

    def suggest_float(
        self, name: str, low: float, high: float, *, step: float | None = None, log: bool = False
    ) -> float: ...

    def suggest_int(self, name: str, low: int, high: int, *, step: int = 1, log: bool = False) -> int: ...

    def suggest_categorical(self, name: str, choices: Sequence[Any]) -> Any: ...


@dataclass(frozen=True)
class SearchSpace:
    """The fields a search varies (never a fixed one: that is the base config's value), in field-table order."""

    params: tuple[ParamSpec, ...] = ()

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(p.field for p in self.params)

    def param(self, field: str) -> ParamSpec | None:
        return next((p for p in self.params if p.field == field), None)

    def to_dict(self) -> dict[str, str]:
        """The [search] section: {"optim.lr": "log:1e-05:0.1", ...}."""
        return {p.field: p.text() for p in self.params}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], base: RunConfig) -> SearchSpace:
        """A space from a [search] section: keys are dotted fields or unique short names ("lr"), also nested as
        TOML reads `optim.lr = ...`; values are text forms or a list of choices. Checked on its own and against
        `base`; the first problem is a ConfigError naming search.<field>."""
        if not isinstance(raw, Mapping):
            raise ConfigError("search", raw, 'a table of fields, e.g. lr = "log:1e-5:1e-1"')
        parsed: dict[str, ParamSpec] = {}
        for name, value in _entries(raw):
            key = resolve_field(name, value)
            if key in parsed:
                raise ConfigError(f"search.{key}", value, "one entry per field (given twice, e.g. as lr and optim.lr)")
            parsed[key] = _param_of(key, value)
        varied = sorted((p for p in parsed.values() if p.mode != "fixed"), key=lambda p: _ORDER[p.field])
        space = cls(tuple(varied))
        _check_on_base(space, base)
        return space

    @classmethod
    def of_params(cls, params: Sequence[ParamSpec], base: RunConfig) -> SearchSpace:
        """A space from params made in code (an lr range moved by the LR finder), checked as from_dict checks."""
        return cls.from_dict(SearchSpace(tuple(params)).to_dict(), base)


def _entries(raw: Mapping[Any, Any]) -> Iterator[tuple[str, Any]]:
    for name, value in raw.items():
        if isinstance(value, Mapping):  # TOML reads `optim.lr = "..."` as a nested table
            for sub, inner in value.items():
                yield f"{name}.{sub}", inner
        else:
            yield str(name), value


def _param_of(key: str, value: Any) -> ParamSpec:
    if isinstance(value, str):
        return ParamSpec.parse(key, value)
    if isinstance(value, (list, tuple)):
        return check_param(ParamSpec(key, "choice", choices=tuple(value)))
    raise ConfigError(f"search.{key}", value, f"text ({FORMS}) or a list of choices")


def _check_on_base(space: SearchSpace, base: RunConfig) -> None:
    """Each param can apply, and each of its values (all of a short grid, else its bounds) makes a valid config with
    the base config's other values: an impossible space never starts."""
    values = config_values(base)
    choices = {p.field: p.choices for p in space.params if p.mode == "choice"}
    for p in space.params:
        if not may_apply(p.field, values, choices):
            controller = CONTROLLERS[p.field.partition(".")[0]]
            raise ConfigError(
                f"search.{p.field}",
                p.text(),
                f"a field that applies: not read with {controller} = {values[controller]!r}, and no choice of "
                f"{controller} in the space reads it",
            )
        context = _context(p.field, values, choices)
        for v in _values_to_check(p):
            _cfg, errors = config_from_values(context | {p.field: v}, checked=values)
            if errors:
                first = next(iter(errors.values()))
                raise ConfigError(f"search.{p.field}", v, f"values the base config accepts ({first})")


def _context(key: str, values: Mapping[str, Any], choices: Mapping[str, Sequence[Any]]) -> dict[str, Any]:
    """The controller value under which `key` applies: none needed when the base config reads it, else the first
    choice of the space's controller that does."""
    if applies(key, values):
        return {}
    controller = CONTROLLERS[key.partition(".")[0]]
    first = next(c for c in choices[controller] if applies(key, {**values, controller: c}))
    return {controller: first}


def _values_to_check(p: ParamSpec) -> tuple[Any, ...]:
    grid = p.grid_values()
    if grid is not None and len(grid) <= _CHECKED_VALUES:
        return grid
    assert p.low is not None and p.high is not None
    return (check_value(p.field, p.low), check_value(p.field, p.high))


def _suggest(p: ParamSpec, suggest: Suggester) -> Any:
    if p.mode == "choice":
        value = suggest.suggest_categorical(p.field, list(p.choices))
    elif p.mode == "int":
        assert p.low is not None and p.high is not None
        value = suggest.suggest_int(p.field, int(p.low), int(p.high), step=int(p.step or 1), log=p.log)
    else:
        assert p.low is not None and p.high is not None
        value = suggest.suggest_float(p.field, p.low, p.high, step=p.step, log=p.log)
    return check_value(p.field, value)  # in the field's type: an int range on a float field gives floats


def sample_config(space: SearchSpace, base: RunConfig, suggest: Suggester) -> tuple[RunConfig, dict[str, Any]]:
    """One config from the space: params sampled in field-table order, each skipped when its field does not apply
    given the values so far; returns the validated config and {field: value} of what was sampled. A combination the
    config rejects (a warmup as long as the sampled epochs) is a ConfigError naming the field."""
    values = config_values(base)
    sampled: dict[str, Any] = {}
    for p in space.params:
        if applies(p.field, values):
            sampled[p.field] = values[p.field] = _suggest(p, suggest)
    cfg, errors = config_from_values(sampled, checked=config_values(base))
    if cfg is None:
        raise next(iter(errors.values()))
    return cfg, sampled


def searchable_fields(base: RunConfig, space: SearchSpace | None = None) -> list[str]:
    """The fields a search may vary for `base`, in field-table order: those the Training form shows (they apply to
    the base config), or that apply for a choice `space` offers (momentum once the optimizer choices include sgd);
    never the data, device, threads, seed or checkpoints."""
    values = config_values(base)
    choices = {p.field: p.choices for p in space.params if p.mode == "choice"} if space is not None else {}
    return [s.key for s in field_specs() if is_searchable(s.key) and may_apply(s.key, values, choices)]
