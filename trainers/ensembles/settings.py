"""What an ensemble job is asked to do, validated like the run config (torch-free: the tab's form reads it).

Combining methods take trials from the store (the top K by rank, or the trials named); training methods
train new members with the run config (the Training tab's, or `tunelab ensemble`'s config flags).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from trainers.config import FieldSpec, _f, check_spec, specs_of
from trainers.errors import ConfigError

SECTION = "ensemble"
COMBINE_METHODS = ("soft-vote", "hard-vote", "weighted", "stacking")
TRAIN_METHODS = ("bagging", "adaboost", "gradient-boost", "snapshot")
METHODS = COMBINE_METHODS + TRAIN_METHODS
METHOD_LABELS = {"soft-vote": "Soft voting", "hard-vote": "Hard voting", "weighted": "Weighted averaging",
                 "stacking": "Stacking", "bagging": "Bagging", "adaboost": "AdaBoost (SAMME)",
                 "gradient-boost": "Gradient boosting", "snapshot": "Snapshot ensemble"}
# Members are chosen by a validation metric only: the test split never takes part in a choice.
SELECT_BY = ("val_acc", "val_loss")


@dataclass(frozen=True)
class EnsembleSettings:
    method: str = _f("soft-vote", "how members are made and combined", choices=METHODS)
    top: int = _f(3, "combine the top K trials by rank (when no trials are named)", lo=2, hi=100)
    trials: str = _f("", "trial ids to combine, e.g. '3, 7, 12' (empty: the top K)")
    select_by: str = _f("val_acc", "the validation metric the top K are ranked by", choices=SELECT_BY)
    members: int = _f(5, "members to train (bagging, boosting) or cycles (snapshot)", lo=2, hi=50)
    boost_rate: float = _f(1.0, "boosting: shrinks each member's weight (AdaBoost) or step (gradient boosting)",
                           lo=0, hi=10, lo_open=True)
    vectorise: bool = _f(True, "train members of one architecture together as one vectorised model")
    stacking_folds: int = _f(5, "stacking: folds of the validation split for the meta-learner's own score",
                             lo=2, hi=20)

    @property
    def trains(self) -> bool:
        """True for the methods that train new members."""
        return self.method in TRAIN_METHODS

    def trial_ids(self) -> tuple[int, ...]:
        """The named trials, in the order given, each once."""
        return parse_trial_ids(self.trials)

    def replace(self, **changes: Any) -> "EnsembleSettings":
        """A validated copy with fields changed by name; text values are converted as from a form or flag."""
        typed = {name: coerce_setting(name, value) for name, value in changes.items()}
        return validate_settings(dataclasses.replace(self, **typed))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> "EnsembleSettings":
        return cls().replace(**raw)


def parse_trial_ids(text: str) -> tuple[int, ...]:
    """'3, 7 #12' → (3, 7, 12); anything else than ids is a ConfigError naming ensemble.trials."""
    ids: list[int] = []
    for part in text.replace(",", " ").split():
        digits = part.lstrip("#")
        if not digits.isdigit() or int(digits) < 1 or int(digits) > 2**62:
            raise ConfigError(f"{SECTION}.trials", text, "trial ids separated by commas, e.g. 3, 7, 12")
        if int(digits) not in ids:
            ids.append(int(digits))
    return tuple(ids)


def setting_specs() -> list[FieldSpec]:
    return specs_of(SECTION, EnsembleSettings)


_SPECS: dict[str, FieldSpec] = {s.name: s for s in setting_specs()}


def setting_spec(name: str) -> FieldSpec:
    return _SPECS[name]


def coerce_setting(name: str, value: Any) -> Any:
    """One setting converted to its type and checked against its range, or a ConfigError naming it."""
    if name not in _SPECS:
        raise ConfigError(f"{SECTION}.{name}", value, "one of " + ", ".join(_SPECS))
    return check_spec(_SPECS[name], value)


def validate_settings(s: EnsembleSettings) -> EnsembleSettings:
    """The settings with every value converted and checked, or a ConfigError naming the field."""
    s = dataclasses.replace(s, **{f.name: coerce_setting(f.name, getattr(s, f.name)) for f in dataclasses.fields(s)})
    ids = parse_trial_ids(s.trials)
    if s.method in COMBINE_METHODS and len(ids) == 1:
        raise ConfigError(f"{SECTION}.trials", s.trials, "at least two trial ids (or none, for the top K)")
    return s
