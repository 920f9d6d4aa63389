"""One searched field of the run config: how it varies (fixed, a float or int range, or choices), as text and back.

The text forms are what the [search] section of a config file, the `--search.FIELD` flags and the Search tab's rows
hold: fixed · float:LOW:HIGH[:STEP] · log:LOW:HIGH · int:LOW:HIGH[:STEP] · logint:LOW:HIGH · choice:A,B,…
Torch-free and Optuna-free: the window reads it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal, Mapping, Sequence

from trainers.spec.applicability import CONTROLLERS, applies
from trainers.spec.config import FieldSpec, check_value, field_specs, spec
from trainers.spec.errors import ConfigError

Mode = Literal["fixed", "float", "int", "choice"]
MODES: tuple[Mode, ...] = ("fixed", "float", "int", "choice")
FORMS = "fixed, float:LOW:HIGH[:STEP], log:LOW:HIGH, int:LOW:HIGH[:STEP], logint:LOW:HIGH or choice:A,B,…"
# A grid visits every value; a stepped range with more values than this is a continuous range to it.
MAX_GRID_VALUES = 10_000

# Fields a search never varies: where the data comes from and how it is split or prepared (trials on other data are
# not ranked together), where and how fast a run happens, its seed, and its bookkeeping. Of the data fields only the
# augmentation of training images is a training choice.
_SEARCHED_DATA_FIELDS = ("data.augment_flip", "data.augment_crop_padding")
_NEVER_SEARCHED = (
    "model.weights_path",
    "train.device",
    "train.amp",
    "train.seed",
    "train.threads",
    "train.checkpoints",
)
_KEYS = tuple(s.key for s in field_specs())


def is_searchable(key: str) -> bool:
    """Whether a search may vary the field `key` ("optim.lr") at all, whatever the base config."""
    if key not in _KEYS or key in _NEVER_SEARCHED:
        return False
    return not key.startswith("data.") or key in _SEARCHED_DATA_FIELDS


def resolve_field(name: str, value: Any) -> str:
    """The dotted field a [search] key names: a dotted field or a field's unique short name ("lr", "batch_size").
    A ConfigError names `search.<name>` when it names none, several, or a field a search never varies."""
    key = name if name in _KEYS else None
    if key is None:
        matches = [k for k in _KEYS if k.partition(".")[2] == name]
        if len(matches) > 1:
            raise ConfigError(f"search.{name}", value, "a dotted field name: " + " or ".join(matches))
        key = matches[0] if matches else None
    if key is None:
        raise ConfigError(f"search.{name}", value, "a field of the run config, e.g. optim.lr or batch_size")
    if not is_searchable(key):
        raise ConfigError(
            f"search.{key}", value, "a field a search may vary (not the data, device, threads, seed or checkpoints)"
        )
    return key


def may_apply(key: str, values: Mapping[str, Any], choices: Mapping[str, Sequence[Any]]) -> bool:
    """Whether `key` is read given the base config's `values`, or for one of the `choices` a space offers for the
    field that decides its section (momentum when the optimizer choices include sgd)."""
    if applies(key, values):
        return True
    controller = CONTROLLERS.get(key.partition(".")[0], "")
    return any(applies(key, {**values, controller: c}) for c in choices.get(controller, ()))


def _num(x: float) -> str:
    """A bound as short text that reads back to the same float: 0, 0.5, 1e-05."""
    x = float(x)
    return str(int(x)) if x.is_integer() and abs(x) < 2**53 else repr(x)


def _value_text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return _num(v) if isinstance(v, float) else str(v)


@dataclass(frozen=True)
class ParamSpec:
    """How one field varies. Ranges hold their bounds as floats; an int range always has its step (1 unless
    given), a log range never; choices hold values of the field's own type."""

    field: str
    mode: Mode
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple[Any, ...] = ()

    def text(self) -> str:
        """The text form: "log:1e-05:0.1", "int:1:4:1", "choice:32,64,128", "float:0:0.5", "fixed"."""
        if self.mode == "choice":
            return "choice:" + ",".join(_value_text(v) for v in self.choices)
        if self.mode in ("float", "int") and self.low is not None and self.high is not None:
            kind = ("log" if self.mode == "float" else "logint") if self.log else self.mode
            parts = [kind, _num(self.low), _num(self.high)] + ([_num(self.step)] if self.step is not None else [])
            return ":".join(parts)
        return "fixed"

    @staticmethod
    def parse(field: str, text: str) -> ParamSpec:
        """The inverse of text(), checked against the field on its own; a ConfigError names search.<field>."""
        key = resolve_field(field, text)
        return check_param(_parse_form(key, text))

    def grid_values(self) -> tuple[Any, ...] | None:
        """Every value a grid visits: the choices, or each step of a stepped range (in the field's type); None for
        a continuous range, a log range, or one of more than MAX_GRID_VALUES values."""
        if self.mode == "choice":
            return self.choices
        if self.mode not in ("float", "int") or self.step is None or self.low is None or self.high is None:
            return None
        count = math.floor((self.high - self.low) / self.step + 1e-9) + 1
        if count > MAX_GRID_VALUES:
            return None
        as_int = spec(self.field).type is int
        points = (self.low + i * self.step for i in range(count))
        return tuple(int(round(x)) if as_int else round(x, 12) for x in points)


def _parse_form(key: str, text: Any) -> ParamSpec:
    name = f"search.{key}"
    if not isinstance(text, str):
        raise ConfigError(name, text, FORMS)
    kind, _, rest = text.strip().partition(":")
    kind = kind.strip().lower()
    if kind == "fixed" and not rest.strip():
        return ParamSpec(key, "fixed")
    if kind == "choice":
        values = tuple(v.strip() for v in rest.split(",")) if rest.strip() else ()
        return ParamSpec(key, "choice", choices=values)
    if kind not in ("float", "log", "int", "logint"):
        raise ConfigError(name, text, FORMS)
    parts = rest.split(":")
    log = kind.startswith("log")
    if log and len(parts) == 3:
        raise ConfigError(name, text, "no step on a log range (log:LOW:HIGH, logint:LOW:HIGH)")
    if len(parts) not in (2, 3):
        raise ConfigError(name, text, FORMS)
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        raise ConfigError(name, text, f"numbers as the bounds and step: {FORMS}") from None
    step = numbers[2] if len(numbers) == 3 else None
    return ParamSpec(key, "int" if kind in ("int", "logint") else "float", numbers[0], numbers[1], log, step)


def check_param(p: ParamSpec) -> ParamSpec:
    """The param checked against its field on its own and normalised (bounds as floats, an int range's step,
    choices in the field's type); a ConfigError names search.<field>."""
    if not is_searchable(p.field):
        resolve_field(p.field, p.text())  # raises, naming why
    s = spec(p.field)
    if p.mode == "fixed":
        return ParamSpec(p.field, "fixed")
    if p.mode == "choice":
        return _checked_choices(p, s)
    if p.mode in ("float", "int"):
        return _checked_range(p, s)
    raise ConfigError(f"search.{p.field}", p.mode, "a mode of: " + ", ".join(MODES))


def _checked_choices(p: ParamSpec, s: FieldSpec) -> ParamSpec:
    name = f"search.{p.field}"
    if not p.choices:
        raise ConfigError(name, "choice:", f"at least one choice, each {s.allowed()}")
    typed: list[Any] = []
    for v in p.choices:
        try:
            value = check_value(p.field, v)
        except ConfigError:
            raise ConfigError(name, v, f"choices that are each {s.allowed()}") from None
        if value in typed:
            raise ConfigError(name, v, "each choice once")
        typed.append(value)
    return ParamSpec(p.field, "choice", choices=tuple(typed))


def _finite(name: str, x: Any, what: str) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
        raise ConfigError(name, x, f"a finite number as the {what}")
    return float(x)


def _checked_range(p: ParamSpec, s: FieldSpec) -> ParamSpec:
    name = f"search.{p.field}"
    given = p.text() if p.low is not None and p.high is not None else p.mode
    if s.type not in (int, float):
        raise ConfigError(name, given, f"choices: the field is {s.allowed()}, not a number")
    if p.mode == "float" and s.type is int:
        raise ConfigError(name, given, "an int range or choices: the field holds integers")
    low, high = _finite(name, p.low, "low bound"), _finite(name, p.high, "high bound")
    step = None if p.step is None else _finite(name, p.step, "step")
    shown = ParamSpec(p.field, p.mode, low, high, p.log, step).text()
    if low >= high:
        raise ConfigError(name, shown, "a low bound below the high bound")
    if p.log and low <= 0:
        raise ConfigError(name, shown, "a low bound above 0 on a log range")
    if p.log and step is not None:
        raise ConfigError(name, shown, "no step on a log range")
    if p.mode == "int":
        if not (low.is_integer() and high.is_integer()):
            raise ConfigError(name, shown, "whole numbers as the bounds of an int range")
        step = None if p.log else (1.0 if step is None else step)
        if step is not None and not (step.is_integer() and step >= 1):
            raise ConfigError(name, shown, "a whole number of at least 1 as the step of an int range")
    if step is not None and not 0 < step <= high - low:
        raise ConfigError(name, shown, f"a step above 0 and at most the range's width ({_num(high - low)})")
    for bound in (low, high):
        try:
            check_value(p.field, int(bound) if s.type is int else bound)
        except ConfigError:
            raise ConfigError(name, shown, f"bounds inside the field's range: {s.allowed()}") from None
    return ParamSpec(p.field, p.mode, low, high, p.log, step)
