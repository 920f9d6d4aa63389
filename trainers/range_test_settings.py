"""The learning-rate range test's own settings, validated like the run config (torch-free: the form reads it).

The run config still says what is trained (data, model, optimizer, batch size); these fields say how the
learning rate is swept and when the sweep ends.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from trainers.config import FieldSpec, _f, check_spec, specs_of
from trainers.errors import ConfigError

SECTION = "range_test"
MODES = ("exp", "linear")


@dataclass(frozen=True)
class RangeTestSettings:
    start_lr: float = _f(1e-7, "learning rate of the first iteration", lo=0, hi=100, lo_open=True)
    end_lr: float = _f(10.0, "learning rate of the last iteration", lo=0, hi=1000, lo_open=True)
    iterations: int = _f(100, "iterations (batches) of the sweep", lo=5, hi=100_000)
    mode: str = _f("exp", "how the rate rises: exponentially or linearly", choices=MODES)
    smoothing: float = _f(0.9, "loss smoothing: beta of the bias-corrected moving average", lo=0, hi=1,
                          hi_open=True)
    diverge_factor: float = _f(4.0, "stop once the smoothed loss exceeds this many times its best", lo=1,
                               hi=1e6, lo_open=True)
    repeats: int = _f(1, "repeats with other seeds (a band of curves, each suggestion with its spread)", lo=1,
                      hi=20)
    val_loss: bool = _f(False, "also measure the validation loss at every iteration (slower)")
    val_samples: int = _f(512, "validation samples used per iteration when measuring validation loss", lo=1,
                          hi=1_000_000)

    def replace(self, **changes: Any) -> "RangeTestSettings":
        """A validated copy with fields changed by name; text values are converted as from a form or flag."""
        typed = {name: coerce_setting(name, value) for name, value in changes.items()}
        return validate_settings(dataclasses.replace(self, **typed))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> "RangeTestSettings":
        return cls().replace(**raw)


def setting_specs() -> list[FieldSpec]:
    return specs_of(SECTION, RangeTestSettings)


_SPECS: dict[str, FieldSpec] = {s.name: s for s in setting_specs()}


def setting_spec(name: str) -> FieldSpec:
    return _SPECS[name]


def coerce_setting(name: str, value: Any) -> Any:
    """One setting converted to its type and checked against its range, or a ConfigError naming it."""
    if name not in _SPECS:
        raise ConfigError(f"{SECTION}.{name}", value, "one of " + ", ".join(_SPECS))
    return check_spec(_SPECS[name], value)


def validate_settings(s: RangeTestSettings) -> RangeTestSettings:
    """The settings with every value converted to its type (2.0 iterations → 2) and checked, or a ConfigError."""
    s = dataclasses.replace(s, **{f.name: coerce_setting(f.name, getattr(s, f.name)) for f in dataclasses.fields(s)})
    if s.end_lr <= s.start_lr:
        raise ConfigError(f"{SECTION}.end_lr", s.end_lr, f"a learning rate above start_lr ({s.start_lr:g})")
    return s
