"""A search's trials read back from its study: how each ended (as TuneLab counts it), the counts and the best.

Everything here is read from the storage alone, so the searching process, a worker and the window agree."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import optuna
from optuna.trial import FrozenTrial, TrialState

from trainers.spec.search_events import SearchTrialEnded, empty_counts

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)


def trial_state(t: FrozenTrial) -> str | None:
    """complete, pruned, failed or stopped; None while it runs or waits."""
    if t.state == TrialState.COMPLETE:
        return "complete"
    if t.state == TrialState.PRUNED:
        return "pruned"
    if t.state == TrialState.FAIL:
        return "stopped" if t.user_attrs.get("status") == "stopped" else "failed"
    return None


def budget_used(trials: Sequence[FrozenTrial]) -> int:
    """Finished trials that use up the budget: one whose worker died and whose parameters were queued again (a later
    trial's retry_history names it) does not."""
    retried = {n for t in trials for n in t.system_attrs.get("retry_history", ())}
    return sum(1 for t in trials if t.state in FINISHED and t.number not in retried)


def _finite(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def ended_event(t: FrozenTrial) -> SearchTrialEnded:
    """A finished trial as the search reports it."""
    steps = sorted(t.intermediate_values)  # one per epoch: the last is the epochs run (and where a pruned one ended)
    return SearchTrialEnded(
        number=t.number,
        trial_id=t.user_attrs.get("trial_id"),
        state=trial_state(t) or "failed",
        value=_finite(t.value) if t.state != TrialState.FAIL else None,
        params=dict(t.params),
        epochs=steps[-1] if steps else 0,
        pruned_at=steps[-1] if t.state == TrialState.PRUNED and steps else None,
        intermediate=tuple(float(t.intermediate_values[s]) for s in steps),
        seconds=t.duration.total_seconds() if t.duration is not None else None,
    )


def count_states(trials: Iterable[FrozenTrial]) -> dict[str, int]:
    counts = empty_counts()
    for t in trials:
        state = trial_state(t)
        if state is not None:
            counts[state] += 1
    return counts


@dataclass(frozen=True)
class Best:
    number: int | None = None
    trial_id: int | None = None
    value: float | None = None
    params: dict[str, Any] | None = None


def best_of(study: optuna.Study) -> Best:
    """The best complete trial (none when no trial completed)."""
    try:
        t = study.best_trial
    except ValueError:
        return Best()
    return Best(t.number, t.user_attrs.get("trial_id"), _finite(t.value), dict(t.params))


def first_failure(trials: Iterable[FrozenTrial]) -> str:
    """Why the first failed trial failed (for a search whose every trial failed)."""
    for t in trials:
        if trial_state(t) == "failed":
            return str(t.user_attrs.get("message") or "no message")
    return ""
