"""The trial store: every run, its epoch metrics and its checkpoint folder, kept across sessions."""

from __future__ import annotations

from trainers.store.location import resolve_store_url
from trainers.store.records import EpochRecord, TrialRecord
from trainers.store.recovery import INTERRUPTED_MESSAGE
from trainers.store.schema import FINAL_STATUSES, RUNNING, STATUSES, UPDATABLE
from trainers.store.trial_query import RANK_METRICS, RankedTrial, TrialQuery
from trainers.store.trial_store import TrialStore

__all__ = [
    "EpochRecord",
    "FINAL_STATUSES",
    "INTERRUPTED_MESSAGE",
    "RANK_METRICS",
    "RankedTrial",
    "RUNNING",
    "STATUSES",
    "TrialRecord",
    "TrialQuery",
    "TrialStore",
    "UPDATABLE",
    "resolve_store_url",
]
