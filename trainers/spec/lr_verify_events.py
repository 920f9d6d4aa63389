"""What the LR finder's verification reports: a few short training runs at candidate rates, halved by validation
loss until one rate is left (torch-free: the window shows the evidence and the progress)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

# How a candidate left a rung: it was chosen, went on to the next rung, was dropped, diverged, or was stopped.
OUTCOMES = ("chosen", "kept", "dropped", "diverged", "stopped")


@dataclass(frozen=True)
class VerifyRow:
    """One candidate at the end of one rung."""

    rate: float
    epochs: int  # epochs it had trained when scored
    val_loss: float | None  # None: diverged, or no validation split and no finite training loss
    val_acc: float | None
    outcome: str  # one of OUTCOMES


@dataclass(frozen=True)
class VerifiedRate:
    """The verification's answer and its evidence: every candidate's score at every rung it reached."""

    rate: float | None  # the chosen rate; None when no candidate finished (why: message)
    planned_epochs: int  # the schedule of every short run is the one of a run this long
    candidates: tuple[float, ...]
    rows: tuple[VerifyRow, ...]
    message: str  # how the candidates were ranked, or why there is no rate
    seconds: float
    ranked_by: str = "val_loss"  # "train_loss" when the data has no validation split

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> VerifiedRate:
        """From the trial's stored extra (to_dict of the LR finder's result)."""
        rows = tuple(
            VerifyRow(
                float(r["rate"]),
                int(r["epochs"]),
                _number(r.get("val_loss")),
                _number(r.get("val_acc")),
                str(r["outcome"]),
            )
            for r in raw.get("rows", ())
        )
        return cls(
            _number(raw.get("rate")),
            int(raw["planned_epochs"]),
            tuple(float(c) for c in raw.get("candidates", ())),
            rows,
            str(raw.get("message", "")),
            float(raw.get("seconds") or 0.0),
            str(raw.get("ranked_by", "val_loss")),
        )

    def final_rows(self) -> tuple[VerifyRow, ...]:
        """Each candidate's last row (its furthest rung), in candidate order."""
        last = {r.rate: r for r in self.rows}
        return tuple(last[c] for c in self.candidates if c in last)


@dataclass(frozen=True)
class LrVerifyStarted:
    """The verification begins: these candidates, scored at these epoch counts (rungs)."""

    trial_id: int | None
    candidates: tuple[float, ...]
    rungs: tuple[int, ...]  # the epoch count of each rung
    planned_epochs: int
    total_epochs: int  # epochs the short runs take at most, over all candidates


@dataclass(frozen=True)
class LrVerifyEpoch:
    """One epoch of one candidate's short run."""

    candidate: int  # 1-based, in candidate order
    candidates: int
    rate: float
    epoch: int
    rung_epochs: int  # the epoch count this rung stops at
    val_loss: float | None
    val_acc: float | None
    done: int  # epochs run so far over all candidates
    total: int


def _number(value: Any) -> float | None:
    if value is None:
        return None
    v = float(value)
    return v if math.isfinite(v) else None
