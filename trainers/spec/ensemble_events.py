"""What an ensemble job reports: its start, each member's epochs, and the result with its table.

Plain frozen dataclasses of numbers and strings, like trainers.spec.events: they cross to the GUI thread."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from trainers.spec.json_data import finite_json


@dataclass(frozen=True)
class EnsembleStarted:
    trial_id: int | None
    method: str  # one of trainers.spec.ensemble_settings.METHODS
    labels: tuple[str, ...]  # one per member: "#12 · mlp" for a stored trial, "member 3" for a new one
    epochs: int  # epochs each member trains (0: members are loaded, not trained)
    vectorised: bool  # members train together as one vectorised model


@dataclass(frozen=True)
class MemberProgress:
    """Members trained together report together: one event per epoch for each member."""

    member: int  # 0-based
    epoch: int  # 1-based, epochs done
    epochs: int
    train_loss: float
    val_loss: float | None
    val_acc: float | None


@dataclass(frozen=True)
class MemberScore:
    """One row of the results table (a member, or the ensemble itself)."""

    label: str
    trial_id: int | None  # the stored trial a member came from (None for trained members)
    weight: float | None  # its weight in the combination (None where members are not weighted)
    val_acc: float | None
    val_loss: float | None
    test_acc: float | None
    test_loss: float | None


@dataclass(frozen=True)
class EnsembleResult:
    trial_id: int | None
    status: str  # completed, stopped, failed
    method: str
    members: tuple[MemberScore, ...]
    ensemble: MemberScore | None
    # {"val_acc": {"best": Δ, "mean": Δ, "first": Δ}, "test_acc": {...}}: the ensemble's accuracy minus the best
    # member's, the mean member's and (stored trials) best_single's, in accuracy units (0.01 = one point)
    gains: dict[str, dict[str, float | None]] = field(default_factory=dict)
    diversity: float | None = None  # mean pairwise disagreement of the members' predictions
    diversity_split: str = ""  # which split it was measured on (test, else val)
    seconds: float = 0.0
    message: str = ""
    file: str | None = None  # the saved ensemble (one file that loads back)
    member_note: str = ""  # what a member row means when it is not a model on its own
    # combining stored trials: the best of them by the ranking metric (what History ranks first), whether or not
    # the ensemble kept it, scored as the members are, so the ensemble can be judged against using it alone
    best_single: MemberScore | None = None
    pool: int = 0  # stored trials combined, or chosen among (greedy selection)

    def to_dict(self) -> dict:
        return finite_json(asdict(self))

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), allow_nan=False)
