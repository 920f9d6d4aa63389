"""A running trial's writes as plain data: validated once by the store, then applied now or, when the database is
away, later from the outbox (trainers/store/outbox.py) or a spool file — the same way each time, so a write waiting
an hour ends exactly as it would have at once (its end time included)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from trainers.spec.errors import StoreError
from trainers.store.records import parse_json
from trainers.store.schema import EpochMetric, Trial

Op = dict[str, Any]


def epoch_op(trial_id: int, epoch: int, metrics: dict[str, Any], fields: dict[str, Any]) -> Op:
    """One finished epoch and the trial columns set with it (values already coerced)."""
    return {"op": "epoch", "trial_id": int(trial_id), "epoch": epoch, "metrics": metrics, "fields": fields}


def write_op(trial_id: int, fields: dict[str, Any], extra: dict | None, status: str | None, at: datetime) -> Op:
    """Trial columns, extra merged into the stored one, and for a final status the end time `at`."""
    return {
        "op": "write",
        "trial_id": int(trial_id),
        "fields": fields,
        "extra": extra,
        "status": status,
        "at": at.isoformat(),
    }


def _trial(session: Session, trial_id: int) -> Trial:
    row = session.get(Trial, trial_id)
    if row is None:
        raise StoreError(f"there is no trial {trial_id} in the store")
    return row


def apply_op(session: Session, op: Op) -> None:
    """Apply one write in `session`'s transaction; StoreError for a write the store refuses."""
    trial = _trial(session, op["trial_id"])
    for key, value in op["fields"].items():
        setattr(trial, key, value)
    if op["op"] == "epoch":
        _apply_epoch(session, trial, op)
        return
    if op["extra"] is not None:
        trial.extra_json = json.dumps({**parse_json(trial.extra_json), **op["extra"]})
    if op["status"] is not None:
        trial.status = op["status"]
        trial.ended_at = datetime.fromisoformat(op["at"])
        if trial.started_at is not None:
            trial.duration_s = (trial.ended_at - trial.started_at).total_seconds()


def _apply_epoch(session: Session, trial: Trial, op: Op) -> None:
    epoch = op["epoch"]
    # Looked for first: a failed INSERT would end the transaction before the refusal could be told apart.
    if session.scalar(select(EpochMetric.id).where(EpochMetric.trial_id == trial.id, EpochMetric.epoch == epoch)):
        raise StoreError(f"epoch {epoch} of trial {trial.id} is already recorded")
    session.add(EpochMetric(trial_id=trial.id, epoch=epoch, **op["metrics"]))
    trial.epochs_run = max(trial.epochs_run or 0, epoch)
    try:
        session.flush()
    except IntegrityError as exc:
        raise StoreError(f"epoch {epoch} of trial {trial.id} is already recorded") from exc
