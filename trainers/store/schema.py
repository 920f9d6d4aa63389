"""The store's tables (one row per trial, one row per finished epoch) and the engine that holds them.

Only portable column types are used, so the same schema runs on SQLite today and PostgreSQL later;
SQLite-specific settings live in a connect listener, never in the SQL.
"""

from __future__ import annotations

import math
import numbers
import os
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from trainers.spec.errors import StoreError

# A trial is "running" until one of the final statuses is written.
RUNNING = "running"
# "pruned": a search's pruner ended the run early; its epochs are kept, as a stopped run's are.
FINAL_STATUSES = ("completed", "stopped", "pruned", "diverged", "failed", "interrupted")
# "queued": written for `tunelab worker --queue` to train (trainers/store/queued.py); no process, no heartbeat yet.
QUEUED = "queued"
STATUSES = (RUNNING, *FINAL_STATUSES, QUEUED)

# Explicit constraint names keep later migrations (Alembic) identical on every database.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s_%(column_1_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every backend (SQLite has no time zones and returns naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Real(TypeDecorator[float]):
    """A float where NaN is stored as NULL: SQLite does that silently, and PostgreSQL would sort NaN
    above every number, which would put a diverged run at the top of a ranking."""

    impl = Float
    cache_ok = True

    @property
    def python_type(self) -> type:
        return float

    def process_bind_param(self, value: Any, dialect: Dialect) -> float | None:
        if value is None:
            return None
        value = float(value)
        return None if math.isnan(value) else value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime, float: Real}


class Trial(Base):
    __tablename__ = "trials"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(64), index=True)  # train, lr_test, ensemble, ...
    status: Mapped[str] = mapped_column(String(16), index=True, default=RUNNING)
    name: Mapped[str] = mapped_column(String, default="")
    created_at: Mapped[datetime] = mapped_column(index=True)
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    duration_s: Mapped[float | None]
    config_json: Mapped[str] = mapped_column(Text, default="{}")

    # Summary columns, copied out of the config and the metrics so ranking never parses JSON.
    dataset: Mapped[str] = mapped_column(String, default="", index=True)
    model: Mapped[str] = mapped_column(String, default="", index=True)
    optimizer: Mapped[str] = mapped_column(String, default="")
    lr: Mapped[float | None] = mapped_column(index=True)
    batch_size: Mapped[int | None]
    dropout: Mapped[float | None]
    weight_decay: Mapped[float | None]
    seed: Mapped[int | None]
    epochs_planned: Mapped[int | None]
    epochs_run: Mapped[int] = mapped_column(default=0)
    best_epoch: Mapped[int | None]
    best_val_acc: Mapped[float | None] = mapped_column(index=True)
    best_val_loss: Mapped[float | None] = mapped_column(index=True)
    final_train_loss: Mapped[float | None]
    test_acc: Mapped[float | None] = mapped_column(index=True)
    test_loss: Mapped[float | None]
    message: Mapped[str] = mapped_column(Text, default="")  # error or divergence text
    diverged_step: Mapped[int | None]
    notes: Mapped[str] = mapped_column(Text, default="")
    checkpoint_best: Mapped[str | None] = mapped_column(String)
    checkpoint_last: Mapped[str | None] = mapped_column(String)

    # Which process runs the trial, so a later open can tell a crashed run from a live one.
    pid: Mapped[int | None]
    host: Mapped[str] = mapped_column(String, default="")
    process_start: Mapped[int | None] = mapped_column(BigInteger)  # start time of pid, guards against pid reuse

    extra_json: Mapped[str] = mapped_column(Text, default="{}")  # LR-test curves, ensemble members, ...

    # Added after the first release; trainers/store/migrations.py adds them to older databases.
    config_key: Mapped[str | None] = mapped_column(String(40), index=True)  # the config minus its seed
    diagnosis: Mapped[str | None] = mapped_column(String(32), index=True)  # label, once the run has ended
    # "csv: iris.csv", "digits" (trainers/spec/dataset_label.py): which data, for the table, search and filters
    dataset_label: Mapped[str | None] = mapped_column(String, index=True)
    # Liveness across hosts (trainers/store/heartbeat.py): a running trial's process stamps this every few seconds;
    # one silent for longer than the grace period is taken for dead by any process that opens the store.
    heartbeat_at: Mapped[datetime | None]
    device: Mapped[str | None] = mapped_column(String(32))  # "cpu", "cuda:0", "mps": where the trial ran


class EpochMetric(Base):
    __tablename__ = "epoch_metrics"
    __table_args__ = (UniqueConstraint("trial_id", "epoch"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id", ondelete="CASCADE"))
    epoch: Mapped[int]
    train_loss: Mapped[float | None]
    train_acc: Mapped[float | None]
    val_loss: Mapped[float | None]
    val_acc: Mapped[float | None]
    lr: Mapped[float | None]
    seconds: Mapped[float | None]
    samples_per_sec: Mapped[float | None]


# Finished-trial listings filter on kind and status together and sort by a score.
Index("ix_trials_kind_status", Trial.kind, Trial.status)

# What update_trial / finish_trial may write; everything else is owned by the store itself.
UPDATABLE = (
    "name",
    "dataset",
    "model",
    "optimizer",
    "lr",
    "batch_size",
    "dropout",
    "weight_decay",
    "seed",
    "epochs_planned",
    "epochs_run",
    "best_epoch",
    "best_val_acc",
    "best_val_loss",
    "final_train_loss",
    "test_acc",
    "test_loss",
    "message",
    "diverged_step",
    "notes",
    "checkpoint_best",
    "checkpoint_last",
    "diagnosis",
)


def coerce(table: Any, name: str, value: Any) -> Any:
    """A plain Python value of the column's type, so numpy scalars and Paths are stored correctly."""
    column = table.c[name]
    if value is None:
        if column.nullable:
            return None
        raise StoreError(f"{name} = None is invalid: it needs a value")
    kind = column.type.python_type
    if isinstance(value, bool):
        pass  # a flag where a number belongs is a mistake, not 0 or 1
    elif kind is float and isinstance(value, numbers.Real):
        return float(value)
    elif kind is int and isinstance(value, numbers.Integral):
        return int(value)
    elif kind is str and isinstance(value, (str, os.PathLike)):
        return str(os.fspath(value))
    raise StoreError(f"{name} = {value!r} is invalid: expected {kind.__name__}")


def summary_values(fields: dict[str, Any]) -> dict[str, Any]:
    """Validated values for UPDATABLE trial columns; an unknown name is refused."""
    unknown = sorted(set(fields) - set(UPDATABLE))
    if unknown:
        raise StoreError(f"unknown trial field(s) {', '.join(unknown)}: allowed are {', '.join(UPDATABLE)}, extra")
    return {name: coerce(Trial.__table__, name, value) for name, value in fields.items()}
