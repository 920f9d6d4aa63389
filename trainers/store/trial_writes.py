"""A running trial's writes as plain data: validated once by the store, then applied now or, when the database is
away, later from the outbox (trainers/store/outbox.py) or a spool file — the same way each time, so a write waiting
an hour ends exactly as it would have at once (its end time included)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Row, Table, Update, bindparam, case, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from trainers.spec.errors import StoreError
from trainers.store.records import parse_json
from trainers.store.schema import EpochMetric, Trial

Op = dict[str, Any]
# Core tables, statements with bound parameters: building an ORM statement with the values in it cost a worker
# more of its CPU than the database's answer (1.7 ms against 0.3 ms for a trial's row), and sixteen workers on a few
# cores wait for each other's.
TRIALS, EPOCHS = cast(Table, Trial.__table__), cast(Table, EpochMetric.__table__)
_ID = "trial_id_"  # the bound parameter of the trial's id (not a column's name, so never a SET clause)


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


def _started_and_extra(conn: Connection, trial_id: int) -> Row:
    row = conn.execute(
        select(TRIALS.c.started_at, TRIALS.c.extra_json).where(TRIALS.c.id == bindparam(_ID)), {_ID: trial_id}
    ).first()
    if row is None:
        raise StoreError(f"there is no trial {trial_id} in the store")
    return row


def _update(conn: Connection, trial_id: int, values: dict[str, Any]) -> None:
    """Set `values` on the trial's row; StoreError when there is no such row."""
    if not values:
        _started_and_extra(conn, trial_id)  # nothing to set: still refuse an unknown trial
        return
    if conn.execute(_trial_update({k: bindparam(k) for k in values}), {_ID: trial_id, **values}).rowcount == 0:
        raise StoreError(f"there is no trial {trial_id} in the store")


def _trial_update(sets: dict[str, Any]) -> Update:
    """UPDATE of one trial's row (its id bound as _ID) setting `sets`."""
    return update(TRIALS).where(TRIALS.c.id == bindparam(_ID)).values(sets)


def apply_ops(conn: Connection, ops: list[Op]) -> None:
    """Apply writes in order in `conn`'s transaction; StoreError for a write the store refuses (which one is found
    by writing them singly). Epochs in a row that set the same columns (a stack's members end an epoch together)
    go as one statement per table with a row of values each: the statements are built, and on a server sent, once."""
    start = 0
    while start < len(ops):
        end = start + 1
        if ops[start]["op"] == "epoch":
            shape = _epoch_shape(ops[start])
            while end < len(ops) and ops[end]["op"] == "epoch" and _epoch_shape(ops[end]) == shape:
                end += 1
            _apply_epochs(conn, ops[start:end])
        else:
            apply_op(conn, ops[start])
        start = end


def apply_op(conn: Connection, op: Op) -> None:
    """Apply one write in `conn`'s transaction; StoreError for a write the store refuses.

    Plain UPDATE and INSERT statements rather than ORM objects: an epoch is written by every worker after every
    epoch, and loading the trial's row (its config and extra JSON) for each cost most of the write's time."""
    trial_id, values = op["trial_id"], dict(op["fields"])
    if op["op"] == "epoch":
        _apply_epochs(conn, [op])
        return
    if op["extra"] is not None or op["status"] is not None:
        row = _started_and_extra(conn, trial_id)
        if op["extra"] is not None:
            values["extra_json"] = json.dumps({**parse_json(row.extra_json), **op["extra"]})
        if op["status"] is not None:
            ended = datetime.fromisoformat(op["at"])
            values.update(status=op["status"], ended_at=ended)
            if row.started_at is not None:
                values["duration_s"] = (ended - row.started_at).total_seconds()
    _update(conn, trial_id, values)


def _epoch_shape(op: Op) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The columns an epoch write sets: epochs with the same go in one statement."""
    return tuple(k for k in op["fields"] if k != "epochs_run"), tuple(op["metrics"])


def _apply_epochs(conn: Connection, ops: list[Op]) -> None:
    """Epochs that set the same columns: each trial's columns and epochs_run (advanced, never moved back), then the
    epoch rows; StoreError when a trial is not there or an epoch is there already."""
    # The trials' rows first: on PostgreSQL a row lock orders two writers of one trial's epochs.
    fields = [{k: v for k, v in op["fields"].items() if k != "epochs_run"} for op in ops]
    runs = func.coalesce(TRIALS.c.epochs_run, 0)
    sets: dict[str, Any] = {k: bindparam(k) for k in fields[0]}
    sets["epochs_run"] = case((runs < bindparam("epoch_"), bindparam("epoch_")), else_=runs)
    params = [{_ID: op["trial_id"], "epoch_": op["epoch"], **f} for op, f in zip(ops, fields)]
    if conn.execute(_trial_update(sets), params if len(ops) > 1 else params[0]).rowcount != len(ops):
        raise StoreError(f"there is no trial {_ids(ops)} in the store")
    # One statement that inserts nothing when the epoch is there already (a failed INSERT would end the
    # transaction on PostgreSQL before the refusal could be told apart); both databases speak ON CONFLICT.
    upsert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    rows = [{"trial_id": op["trial_id"], "epoch": op["epoch"], **op["metrics"]} for op in ops]
    stmt = upsert(EPOCHS).on_conflict_do_nothing().returning(EPOCHS.c.id)
    inserted = conn.execute(stmt, rows if len(ops) > 1 else rows[0]).all()
    if len(inserted) != len(ops):  # rowcount is -1 with RETURNING
        what = f"epoch {ops[0]['epoch']} of trial {ops[0]['trial_id']}" if len(ops) == 1 else "an epoch of these"
        raise StoreError(f"{what} is already recorded")


def _ids(ops: list[Op]) -> str:
    return ", ".join(dict.fromkeys(str(op["trial_id"]) for op in ops))
