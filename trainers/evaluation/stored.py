"""Evaluations kept with their trial, in its extra JSON under "evaluation" -> {split: evaluation}."""

from __future__ import annotations

from trainers.evaluation.evaluation import Evaluation
from trainers.store import TrialStore
from trainers.store.records import TrialRecord

KEY = "evaluation"


def stored_evaluation(trial: TrialRecord, split: str) -> Evaluation | None:
    """The evaluation kept with the trial for `split`, or None (never computed, or unreadable)."""
    raw = (trial.extra.get(KEY) or {}).get(split)
    if not isinstance(raw, dict):
        return None
    try:
        return Evaluation.from_dict(raw)
    except (KeyError, TypeError, ValueError):
        return None


def evaluation_extra(ev: Evaluation, kept: dict | None = None) -> dict:
    """What a trial's extra gains to keep `ev` beside the evaluations of other splits already `kept` there."""
    return {KEY: {**(kept or {}), ev.split: ev.to_dict()}}


def save_evaluation(store: TrialStore, ev: Evaluation) -> None:
    """Keep `ev` with its trial beside the evaluations of its other splits; a read-only store keeps nothing."""
    if store.read_only:
        return
    store.update_trial(ev.trial_id, extra=evaluation_extra(ev, store.get_trial(ev.trial_id).extra.get(KEY)))
