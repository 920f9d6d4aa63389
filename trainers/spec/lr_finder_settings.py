"""The learning-rate range test's own settings, validated like the run config (torch-free: the form reads it).

The run config still says what is trained (data, model, optimizer, batch size); these fields say how the
learning rate is swept and when the sweep ends.
"""

from __future__ import annotations

from dataclasses import dataclass

from trainers.spec.config import _f
from trainers.spec.errors import ConfigError
from trainers.spec.settings_table import SettingsMixin, SettingsTable

SECTION = "range_test"
MODES = ("exp", "linear")
# The suggestion rules read from a curve (trainers/lr_finder/suggest.py), in the order the window lists them.
SUGGESTION_NAMES = ("steepest", "valley", "min_div_10")


@dataclass(frozen=True)
class LrFinderSettings(SettingsMixin):
    start_lr: float = _f(1e-7, "learning rate of the first iteration", lo=0, hi=100, lo_open=True)
    end_lr: float = _f(10.0, "learning rate of the last iteration", lo=0, hi=1000, lo_open=True)
    iterations: int = _f(100, "iterations (batches) of the sweep", lo=5, hi=100_000)
    mode: str = _f("exp", "how the rate rises: exponentially or linearly", choices=MODES)
    smoothing: float = _f(0.9, "loss smoothing: beta of the bias-corrected moving average", lo=0, hi=1, hi_open=True)
    diverge_factor: float = _f(
        4.0, "stop once the smoothed loss exceeds this many times its best", lo=1, hi=1e6, lo_open=True
    )
    repeats: int = _f(1, "repeats with other seeds (a band of curves, each suggestion with its spread)", lo=1, hi=20)
    val_loss: bool = _f(False, "also measure the validation loss at every iteration (slower)")
    val_samples: int = _f(
        512, "validation samples used per iteration when measuring validation loss", lo=1, hi=1_000_000
    )
    verify: bool = _f(False, "check the suggestion with a few short training runs")
    verify_candidates: int = _f(4, "rates tried by the check, from the band up to the loss minimum ÷ 3", lo=2, hi=8)


def _rules(s: LrFinderSettings) -> None:
    if s.end_lr <= s.start_lr:
        raise ConfigError(f"{SECTION}.end_lr", s.end_lr, f"a learning rate above start_lr ({s.start_lr:g})")


_TABLE = SettingsTable(SECTION, LrFinderSettings, _rules)
TABLE = _TABLE  # the field table, for the form
setting_specs = _TABLE.all_specs  # the fields, for forms and flags
setting_spec = _TABLE.spec
coerce_setting = _TABLE.coerce  # one setting converted and checked, or a ConfigError naming it


def validate_settings(s: LrFinderSettings) -> LrFinderSettings:
    """The settings with every value converted to its type (2.0 iterations → 2) and checked, or a ConfigError."""
    return _TABLE.checked(s)


LrFinderSettings._table = _TABLE
LrFinderSettings._validate = staticmethod(validate_settings)
