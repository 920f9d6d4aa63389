"""Queued trials: runs written to the store for `tunelab worker --queue` to train, on whichever host takes them.

A queued trial has status "queued", no process and no heartbeat, so recovery (trainers/store/recovery.py) never marks
it interrupted. A worker claims one with a single conditional UPDATE (`... WHERE id = ? AND status = 'queued'`,
checked by its row count); on PostgreSQL the candidate is also read `FOR UPDATE SKIP LOCKED`, so concurrent workers
pick different rows instead of waiting on one. Each queued trial is therefore trained exactly once, as itself."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from trainers.spec.dataset_label import dataset_label
from trainers.spec.errors import StoreError
from trainers.spec.url_display import mask_urls
from trainers.store.config_key import config_key
from trainers.store.records import parse_json
from trainers.store.recovery import host_name, process_start_time
from trainers.store.schema import QUEUED, RUNNING, Trial, summary_values
from trainers.store.trial_store import TrialStore


def _session(store: TrialStore) -> Session:
    return Session(store.engine, expire_on_commit=False)


def _failed(store: TrialStore, what: str, exc: SQLAlchemyError) -> StoreError:
    return StoreError(f"the trial store {store._shown} could not {what}: {mask_urls(str(getattr(exc, 'orig', exc)))}")


def add_queued(store: TrialStore, kind: str, config: dict[str, Any], **summary: Any) -> int:
    """A new trial with status "queued" (no process, no heartbeat) for a worker to train; its id."""
    if store.read_only:
        raise StoreError(f"the trial store {store._shown} is open read-only: nothing can be queued")
    row = Trial(
        kind=kind,
        status=QUEUED,
        created_at=datetime.now(UTC),
        epochs_run=0,
        config_json=json.dumps(config),
        extra_json="{}",
        config_key=config_key(config),
        dataset_label=dataset_label(config),
        host="",
        **summary_values(summary),
    )
    try:
        with _session(store) as session, session.begin():
            session.add(row)
            session.flush()
            return int(row.id)
    except SQLAlchemyError as exc:
        raise _failed(store, "queue a run", exc) from exc


def claim_queued(store: TrialStore, kind: str = "train") -> int | None:
    """Take the oldest queued trial of `kind` for this process: it is "running" here, beating, from now on. None when
    nothing is queued. Two processes never take the same trial."""
    pid = os.getpid()
    candidate = (
        select(Trial.id)
        .where(Trial.status == QUEUED, Trial.kind == kind)
        .order_by(Trial.id)
        .limit(1)
        .with_for_update(skip_locked=True)  # PostgreSQL; SQLite ignores it and relies on the checked UPDATE
    )
    try:
        for _ in range(50):  # another worker may win each race; a few tries find the next free trial
            with _session(store) as session, session.begin():
                trial_id = session.scalar(candidate)
                if trial_id is None:
                    return None
                now = datetime.now(UTC)
                result = session.execute(
                    update(Trial)
                    .where(Trial.id == trial_id, Trial.status == QUEUED)
                    .values(
                        status=RUNNING,
                        host=host_name(),
                        pid=pid,
                        process_start=process_start_time(pid),
                        started_at=now,
                        heartbeat_at=now,
                    )
                )
                if cast(CursorResult, result).rowcount:
                    store.heartbeat.add(int(trial_id))
                    return int(trial_id)
    except SQLAlchemyError as exc:
        raise _failed(store, "hand out a queued run", exc) from exc
    return None


def adopt_trial(store: TrialStore, trial_id: int, device: str, extra: dict[str, Any]) -> None:
    """Record where a claimed trial runs and merge `extra` into its stored extra, as creating it would have."""
    try:
        with _session(store) as session, session.begin():
            row = session.get(Trial, trial_id)
            if row is None or row.status != RUNNING or row.pid != os.getpid():
                raise StoreError(f"trial {trial_id} is not a running trial of this process: claim it first")
            row.device = device
            row.extra_json = json.dumps({**parse_json(row.extra_json), **extra})
    except SQLAlchemyError as exc:
        raise _failed(store, "start a queued run", exc) from exc
