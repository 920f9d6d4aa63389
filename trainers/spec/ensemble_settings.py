"""What an ensemble job is asked to do, validated like the run config (torch-free: the tab's form reads it).

Combining methods take trials from the store (the top K by rank, or the trials named; greedy selection chooses from
the best `pool` trials); training methods train new members with the run config (the Training tab's, or
`tunelab ensemble`'s config flags).
"""

from __future__ import annotations

from dataclasses import dataclass

from trainers.spec.config import _f
from trainers.spec.errors import ConfigError
from trainers.spec.settings_table import SettingsMixin, SettingsTable

SECTION = "ensemble"
COMBINE_METHODS = ("greedy-selection", "soft-vote", "hard-vote", "weighted", "stacking")
TRAIN_METHODS = ("bagging", "adaboost", "gradient-boost", "snapshot")
METHODS = COMBINE_METHODS + TRAIN_METHODS
METHOD_LABELS = {
    "greedy-selection": "Greedy selection",
    "soft-vote": "Soft voting",
    "hard-vote": "Hard voting",
    "weighted": "Weighted averaging",
    "stacking": "Stacking",
    "bagging": "Bagging",
    "adaboost": "AdaBoost (SAMME)",
    "gradient-boost": "Gradient boosting",
    "snapshot": "Snapshot ensemble",
}
# What an ensemble is worth, as measured by the advice benchmark (tests/bench/bench_advice.py, ensembles section):
# greedy selection over every stored trial against the best single trial (first by validation accuracy), in test
# accuracy, on the benchmark's eight tables. Quoted by the window and the diagnosis; measure again before changing.
MEASURED_GAIN = (
    "on eight benchmark tables, greedy selection over the stored trials scored −0.1 to +1.1 points of test accuracy "
    "against the best single trial (a gain on two, no change on five, one test sample lost on one)"
)
# Members are chosen by a validation metric only: the test split never takes part in a choice.
SELECT_BY = ("val_acc", "val_loss")


@dataclass(frozen=True)
class EnsembleSettings(SettingsMixin):
    method: str = _f("greedy-selection", "how members are made and combined", choices=METHODS)
    top: int = _f(
        3,
        "combine the top K trials by rank on the dataset of the most recent training trial (when no trials are named)",
        lo=2,
        hi=100,
    )
    trials: str = _f("", "trial ids to combine, e.g. '3, 7, 12' (empty: the top K)")
    select_by: str = _f("val_acc", "the validation metric the top K (or the pool) are ranked by", choices=SELECT_BY)
    pool: int = _f(
        50,
        "greedy selection: choose among the best N trials by rank on the dataset of the most recent training trial "
        "(all of them when there are fewer)",
        lo=2,
        hi=1000,
    )
    rounds: int = _f(
        25,
        "greedy selection: most trials added after the first (a trial may be added again); stops sooner when none "
        "raises validation accuracy (or keeps it and lowers the log loss)",
        lo=1,
        hi=1000,
    )
    members: int = _f(5, "members to train (bagging, boosting) or cycles (snapshot)", lo=2, hi=50)
    boost_rate: float = _f(
        1.0, "boosting: shrinks each member's weight (AdaBoost) or step (gradient boosting)", lo=0, hi=10, lo_open=True
    )
    vectorise: bool = _f(True, "bagging: train the members together as one vectorised model")
    folds: int = _f(
        5,
        "greedy selection, weighted, stacking: folds of the validation split for their out-of-fold validation score",
        lo=2,
        hi=20,
    )

    @property
    def trains(self) -> bool:
        """True for the methods that train new members."""
        return self.method in TRAIN_METHODS

    def trial_ids(self) -> tuple[int, ...]:
        """The named trials, in the order given, each once."""
        return parse_trial_ids(self.trials)


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


def _rules(s: EnsembleSettings) -> None:
    if s.method in COMBINE_METHODS and len(parse_trial_ids(s.trials)) == 1:
        raise ConfigError(f"{SECTION}.trials", s.trials, "at least two trial ids (or none, for the top K)")


_TABLE = SettingsTable(SECTION, EnsembleSettings, _rules, {"trials": parse_trial_ids})
TABLE = _TABLE  # the field table, for the form
setting_specs = _TABLE.all_specs  # the fields, for forms and flags
setting_spec = _TABLE.spec
coerce_setting = _TABLE.coerce  # one setting converted and checked, or a ConfigError naming it


def validate_settings(s: EnsembleSettings) -> EnsembleSettings:
    """The settings with every value converted and checked, or a ConfigError naming the field."""
    return _TABLE.checked(s)


EnsembleSettings._table = _TABLE
EnsembleSettings._validate = staticmethod(validate_settings)
