"""Stored trials of one kind as choices for a drop-down: (trial id, one-line label), newest first."""

from __future__ import annotations

from typing import Callable

from trainers.store import TrialStore
from trainers.store.records import TrialRecord


def trial_choices(
    store: TrialStore, kind: str, describe: Callable[[TrialRecord], str], limit: int = 100
) -> list[tuple[int, str]]:
    """Each label starts "#id · date time · " and goes on with describe(trial)."""
    rows = []
    for t in store.list_trials(kind=kind, order_by="id", descending=True, limit=limit):
        when = t.created_at.astimezone().strftime("%Y-%m-%d %H:%M") if t.created_at else ""
        rows.append((t.id, f"#{t.id} · {when} · {describe(t)}"))
    return rows
