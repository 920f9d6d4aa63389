"""The trial store: every run a row, every finished epoch a row, each write committed at once.

One store is one SQLAlchemy URL. A file path means SQLite (WAL, so a reader thread never blocks the
writer); the SQL is kept portable so a shared PostgreSQL server is only a different URL. A store opened
read-only creates nothing, changes nothing and leaves interrupted trials for the next writable open to mark.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Iterable, Iterator

from sqlalchemy import bindparam, case, delete, func, insert, select
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from trainers.spec.dataset_label import dataset_label
from trainers.spec.errors import StoreError
from trainers.spec.paths import data_dir
from trainers.spec.url_display import mask_urls, safe_url
from trainers.store.artifact_policy import artifact_policy
from trainers.store.artifact_publish import FILE_FIELDS, publish_files
from trainers.store.artifact_store import ArtifactStore
from trainers.store.artifact_table import Artifact
from trainers.store.config_key import config_key
from trainers.store.database import open_engine, open_read_only, sqlite_file
from trainers.store.heartbeat import Heartbeat, grace_seconds
from trainers.store.location import check_store_file, resolve_store_url
from trainers.store.migrations import fill_config_keys, fill_dataset_labels, keep_best_epoch_numbers
from trainers.store.outbox import Outbox, away_limit_s, replay_unsent, spool_path
from trainers.store.records import (
    EpochRecord,
    TrialRecord,
    epoch_record,
    trial_record,
)
from trainers.store.recovery import host_name, mark_stale, process_start_time, recover_interrupted
from trainers.store.schema import (
    FINAL_STATUSES,
    RUNNING,
    STATUSES,
    EpochMetric,
    Trial,
    coerce,
    summary_values,
)
from trainers.store.trial_query import (
    RankedTrial,
    RobustStats,
    TrialQuery,
    count_matching,
    distinct_values,
    query_page,
    robust_table,
)
from trainers.store.trial_writes import EPOCHS, TRIALS, Op, apply_ops, epoch_op, write_op

_SORTABLE = tuple(column.key for column in Trial.__table__.columns if not column.key.endswith("_json"))


def _reason(exc: BaseException) -> str:
    return mask_urls(str(getattr(exc, "orig", None) or exc))


def _now() -> datetime:
    return datetime.now(UTC)


def _dumps(value: Any, what: str) -> str:
    if not isinstance(value, dict):
        raise StoreError(f"{what} must be a dict, not {type(value).__name__}")
    try:
        return json.dumps(value)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"{what} cannot be stored as JSON: {exc}") from exc


class TrialStore:
    """Trials and their epoch metrics. Safe for one writer thread plus reader threads: each call
    uses its own session, and returns frozen records rather than ORM objects."""

    def __init__(self, url: str | None = None, *, read_only: bool = False, must_exist: bool = False) -> None:
        """Open the store at `url` (see trainers/store/location.py). `read_only`: only read an existing store, with
        no recovery of interrupted trials; `must_exist`: refuse to create a new one (implied by `read_only`)."""
        self.read_only = read_only
        self.url = resolve_store_url(url, create_folder=not (read_only or must_exist))
        self._engine: Engine | None = None
        self.heartbeat_grace_s = grace_seconds()
        away_limit = away_limit_s()
        shown = safe_url(self.url)
        marked: list[int] = []
        try:
            parsed = make_url(self.url)
            db_file = sqlite_file(parsed)
            if db_file is not None:
                shown = str(db_file)
                check_store_file(db_file, must_exist=read_only or must_exist)
                parsed = parsed.set(database=str(db_file))  # a later chdir must not move the database
            self.artifact_policy = artifact_policy(parsed, db_file)  # where its files go, and why
            self._engine = open_read_only(parsed, db_file, shown) if read_only else self._open(parsed, db_file)
            self._checkpoint_root = self.artifact_policy.folder
            self._sessions = sessionmaker(self._engine, expire_on_commit=False)
            self.artifacts = ArtifactStore(self._session, self._engine, read_only)
            if not read_only:
                with self._sessions.begin() as session:
                    marked = recover_interrupted(session, host=host_name(), now=_now())
                    marked += mark_stale(session, now=_now(), grace_s=self.heartbeat_grace_s)
                    fill_config_keys(session)
                    keep_best_epoch_numbers(session)
                    fill_dataset_labels(session)
        except (SQLAlchemyError, OSError, ImportError) as exc:
            if self._engine is not None:
                self._engine.dispose()
            raise StoreError(f"cannot open the trial store {shown}: {_reason(exc)}") from exc
        self._shown = shown
        self._closed = False
        self.heartbeat = Heartbeat(self._engine, self.heartbeat_grace_s)  # beats for the trials this process runs
        # writes that find the database away wait in a local file and are retried (trainers/store/outbox.py)
        unsent, digest = data_dir() / "unsent", hashlib.sha1(shown.encode()).hexdigest()[:12]
        self.outbox = Outbox(self._apply, spool_path(unsent, digest), shown, away_limit)
        if not read_only:
            replay_unsent(unsent, digest, self._apply)
        self.recovered_ids: tuple[int, ...] = tuple(marked)  # trials this open marked "interrupted"
        # the file paths written for trials this process created, so finishing one need not read them back
        self._own_files: dict[int, dict[str, str]] = {}

    @classmethod
    def open_existing(cls, url: str | None = None, *, read_only: bool = False) -> TrialStore:
        """The store at `url` if there is one; StoreMissing "no store at ..." if not (nothing is created)."""
        return cls(url, read_only=read_only, must_exist=True)

    @staticmethod
    def _open(url: URL, db_file: Path | None) -> Engine:
        if db_file is not None:
            db_file.parent.mkdir(parents=True, exist_ok=True)
        return open_engine(url)

    # -- plumbing -------------------------------------------------------------------------------

    @property
    def engine(self) -> Engine:
        assert self._engine is not None
        return self._engine

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError(f"the trial store {self._shown} is closed")

    @contextmanager
    def _session(self) -> Iterator[Session]:
        """One transaction, committed on success; database errors become StoreError."""
        self._check_open()
        try:
            with self._sessions.begin() as session:
                yield session
        except SQLAlchemyError as exc:
            raise StoreError(f"the trial store {self._shown} could not be read or written: {_reason(exc)}") from exc

    @contextmanager
    def _one_statement(self) -> Iterator[Connection]:
        """A connection for one statement that is a transaction by itself: on a server it is then sent alone, not
        between a BEGIN and a COMMIT that each cost a round trip (SQLite, in process, keeps its own transaction)."""
        self._check_open()
        try:
            with self.engine.connect() as conn:
                if conn.dialect.name != "sqlite":
                    conn = conn.execution_options(isolation_level="AUTOCOMMIT")
                yield conn
                conn.commit()
        except SQLAlchemyError as exc:
            raise StoreError(f"the trial store {self._shown} could not be written: {_reason(exc)}") from exc

    def _writable(self) -> None:
        if self.read_only:
            raise StoreError(f"the trial store {self._shown} is open read-only: nothing can be changed")

    @staticmethod
    def _trial(session: Session, trial_id: int) -> Trial:
        row = session.get(Trial, trial_id)
        if row is None:
            raise StoreError(f"there is no trial {trial_id} in the store")
        return row

    # -- writing --------------------------------------------------------------------------------

    def create_trial(
        self,
        kind: str,
        config: dict,
        *,
        name: str = "",
        dataset: str = "",
        model: str = "",
        optimizer: str = "",
        lr: float | None = None,
        batch_size: int | None = None,
        dropout: float | None = None,
        weight_decay: float | None = None,
        seed: int | None = None,
        epochs_planned: int | None = None,
        extra: dict | None = None,
        device: str | None = None,
    ) -> int:
        """A new "running" trial of this process, on `device` ("cpu", "cuda:0"), beating until finished. Its id."""
        self._writable()
        if not isinstance(kind, str) or not kind.strip():
            raise StoreError(f"kind = {kind!r} is invalid: a non-empty name such as 'train'")
        summary = summary_values(
            dict(
                name=name,
                dataset=dataset,
                model=model,
                optimizer=optimizer,
                lr=lr,
                batch_size=batch_size,
                dropout=dropout,
                weight_decay=weight_decay,
                seed=seed,
                epochs_planned=epochs_planned,
            )
        )
        now, pid = _now(), os.getpid()
        row = dict(
            kind=kind,
            status=RUNNING,
            created_at=now,
            started_at=now,
            epochs_run=0,
            config_json=_dumps(config, "config"),
            extra_json=_dumps(extra or {}, "extra"),
            config_key=config_key(config),
            dataset_label=dataset_label(config),
            pid=pid,
            host=host_name(),
            process_start=process_start_time(pid),
            heartbeat_at=now,
            device=device,
            **summary,  # message and notes start empty (the columns' defaults)
        )
        with self._one_statement() as conn:  # one INSERT, not an ORM object: every worker creates trials all the time
            trial_id = int(conn.execute(insert(TRIALS).returning(TRIALS.c.id), row).scalar_one())
        self.heartbeat.add(trial_id)  # trainers/store/heartbeat.py
        self._own_files[trial_id] = {}
        return trial_id

    def add_epoch(
        self,
        trial_id: int,
        epoch: int,
        *,
        train_loss: float | None,
        train_acc: float | None,
        val_loss: float | None,
        val_acc: float | None,
        lr: float | None,
        seconds: float | None,
        samples_per_sec: float | None,
        wait: bool = True,
        **trial_fields: Any,
    ) -> None:
        """Record one finished epoch (NaN is stored as None) and advance the trial's epochs_run.

        `trial_fields` (running best metrics, a new checkpoint path) are set in the same transaction,
        so an epoch costs one commit. `wait=False` (training) returns before the write is done: it is written in
        order by the store's outbox thread, and reading or finishing the trial waits for it; a refusal (the epoch
        is there already) then drops the write instead of raising."""
        self._writable()
        epoch = coerce(EpochMetric.__table__, "epoch", epoch)
        given = dict(
            train_loss=train_loss,
            train_acc=train_acc,
            val_loss=val_loss,
            val_acc=val_acc,
            lr=lr,
            seconds=seconds,
            samples_per_sec=samples_per_sec,
        )
        metrics = {name: coerce(EpochMetric.__table__, name, value) for name, value in given.items()}
        self._submit(epoch_op(trial_id, epoch, metrics, summary_values(trial_fields)), wait=wait)

    def update_trial(self, trial_id: int, **fields: Any) -> None:
        """Set summary columns; `extra=` is merged into the stored extra dict."""
        self._write(trial_id, fields)

    def finish_trial(self, trial_id: int, status: str, *, message: str = "", **fields: Any) -> None:
        """End a trial: final status, end time, duration, and any last summary fields.
        An empty message keeps one set earlier."""
        if status not in FINAL_STATUSES:
            raise StoreError(f"status = {status!r} is invalid: one of {', '.join(FINAL_STATUSES)}")
        # its files reach the database (when the policy says so) before the trial counts as ended
        unreached = publish_files(self, trial_id, fields)
        message = "; ".join(m for m in (message, unreached) if m)
        if message:
            fields["message"] = message
        self._write(trial_id, fields, final_status=status)
        try:
            self.outbox.wait_for(trial_id)  # the final status is stored before the run counts as ended
        finally:
            self.heartbeat.remove(trial_id)
            self._own_files.pop(trial_id, None)

    def _write(self, trial_id: int, fields: dict[str, Any], final_status: str | None = None) -> None:
        self._writable()
        extra = fields.pop("extra", None)
        if extra is not None:
            _dumps(extra, "extra")  # refuse a bad value before touching the row
        self._submit(write_op(trial_id, summary_values(fields), extra, final_status, _now()))

    def _submit(self, op: Op, wait: bool = True) -> None:
        """A write now, or queued while the database is away (trainers/store/outbox.py)."""
        self._writable()
        own = self._own_files.get(op["trial_id"])
        if own is not None:
            own.update({k: str(v) for k, v in op["fields"].items() if k in FILE_FIELDS and v})
        try:
            self.outbox.submit(op, wait=wait)
        except SQLAlchemyError as exc:
            raise StoreError(f"the trial store {self._shown} could not be written: {_reason(exc)}") from exc

    def _apply(self, ops: list[Op]) -> None:
        """Writes in one transaction, all or none; database errors are the outbox's to judge."""
        self._check_open()
        with self.engine.begin() as conn:
            apply_ops(conn, ops)

    def set_notes(self, trial_id: int, text: str) -> None:
        self.update_trial(trial_id, notes=text)

    def delete_trial(self, trial_id: int) -> None:
        """Remove the trial, its epochs and its checkpoint folder."""
        self._writable()
        with self._session() as session:
            self._trial(session, trial_id)
            # Explicit, rather than relying on ON DELETE CASCADE being enabled on this connection.
            session.execute(delete(EpochMetric).where(EpochMetric.trial_id == trial_id))
            session.execute(delete(Artifact).where(Artifact.trial_id == trial_id))
            session.execute(delete(Trial).where(Trial.id == trial_id))
        folder = self._checkpoint_root / str(int(trial_id))
        try:
            shutil.rmtree(folder)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise StoreError(f"trial {trial_id} was deleted but its checkpoints {folder} were not: {exc}") from exc

    # -- reading --------------------------------------------------------------------------------

    def file_columns(self, trial_id: int) -> tuple[str | None, ...]:
        """The trial's stored file paths, in FILE_FIELDS order (trainers/store/artifact_publish.py), without
        reading the rest of its row (nor any of it for a trial this process created)."""
        own = self._own_files.get(trial_id)
        if own is not None:
            return tuple(own.get(name) for name in FILE_FIELDS)
        columns = [getattr(Trial, name) for name in FILE_FIELDS]
        with self._session() as session:
            row = session.execute(select(*columns).where(Trial.id == trial_id)).first()
        if row is None:
            raise StoreError(f"there is no trial {trial_id} in the store")
        return tuple(row)

    def get_trial(self, trial_id: int) -> TrialRecord:
        self.outbox.wait_for(trial_id)  # a trial with writes waiting for the database is read once they are in
        with self._session() as session:
            return trial_record(self._trial(session, trial_id))

    def epochs(self, trial_id: int) -> list[EpochRecord]:
        """The trial's epochs in order (read as plain rows: every run's diagnosis reads them as it ends)."""
        self.outbox.wait_for(trial_id)
        with self._session() as session:
            params = {"id_": trial_id}
            if session.execute(select(TRIALS.c.id).where(TRIALS.c.id == bindparam("id_")), params).first() is None:
                raise StoreError(f"there is no trial {trial_id} in the store")
            rows = session.execute(
                select(EPOCHS).where(EPOCHS.c.trial_id == bindparam("id_")).order_by(EPOCHS.c.epoch), params
            )
            return [epoch_record(row) for row in rows]

    def list_trials(
        self,
        *,
        kind: str | Iterable[str] | None = None,
        status: str | Iterable[str] | None = None,
        order_by: str = "best_val_acc",
        descending: bool = True,
        limit: int | None = None,
        offset: int = 0,
        config_key: str | None = None,
    ) -> list[TrialRecord]:
        """Trials matching kind/status, sorted by `order_by` with empty values last either way."""
        if order_by not in _SORTABLE:
            raise StoreError(f"order_by = {order_by!r} is invalid: one of {', '.join(_SORTABLE)}")
        if (limit is not None and limit < 0) or offset < 0:
            raise StoreError(f"limit = {limit!r}, offset = {offset!r} are invalid: they cannot be negative")
        column = getattr(Trial, order_by)
        # (col IS NULL) first works on every database, unlike NULLS LAST or SQLite's default order.
        where = self._filters(kind, status) + ([Trial.config_key == config_key] if config_key else [])
        stmt = (
            select(Trial)
            .where(*where)
            .order_by(
                case((column.is_(None), 1), else_=0),
                column.desc() if descending else column.asc(),
                Trial.id.desc() if descending else Trial.id.asc(),
            )
            .offset(offset)
        )
        if limit is not None:
            stmt = stmt.limit(limit)
        with self._session() as session:
            return [trial_record(row) for row in session.scalars(stmt)]

    def query_trials(
        self,
        query: TrialQuery | None = None,
        offset: int = 0,
        limit: int | None = None,
        robust: dict[str, RobustStats] | None = None,
    ) -> list[RankedTrial]:
        """A page of trials filtered, ranked and sorted as `query` says (see trainers/store/trial_query.py).
        `robust`: robust_table(query) kept by a caller reading many pages; computed per call when None."""
        if (limit is not None and limit < 0) or offset < 0:
            raise StoreError(f"limit = {limit!r}, offset = {offset!r} are invalid: they cannot be negative")
        with self._session() as session:
            return query_page(session, query or TrialQuery(), offset, limit, robust)

    def robust_table(self, query: TrialQuery | None = None) -> dict[str, RobustStats]:
        """config_key -> mean, std, seeds and robust rank of the query's metric (one pass over every trial)."""
        with self._session() as session:
            return robust_table(session, query or TrialQuery())

    def count_matching(self, query: TrialQuery | None = None) -> int:
        with self._session() as session:
            return count_matching(session, query or TrialQuery())

    def distinct_values(self, column: str) -> list[str]:
        """The values a filter column takes (for filter choices)."""
        with self._session() as session:
            return distinct_values(session, column)

    def count_trials(self, kind: str | Iterable[str] | None = None, status: str | Iterable[str] | None = None) -> int:
        stmt = select(func.count()).select_from(Trial).where(*self._filters(kind, status))
        with self._session() as session:
            return int(session.scalar(stmt) or 0)

    @staticmethod
    def _filters(kind: str | Iterable[str] | None, status: str | Iterable[str] | None) -> list[Any]:
        clauses: list[Any] = []
        if kind is not None:
            clauses.append(Trial.kind.in_([kind] if isinstance(kind, str) else list(kind)))
        if status is not None:
            statuses = [status] if isinstance(status, str) else list(status)
            if set(statuses) - set(STATUSES):  # a typo would otherwise just list nothing
                raise StoreError(f"status = {status!r} is invalid: one of {', '.join(STATUSES)}")
            clauses.append(Trial.status.in_(statuses))
        return clauses

    # -- files and lifetime ---------------------------------------------------------------------

    def checkpoint_dir(self, trial_id: int) -> Path:
        """The folder holding this trial's checkpoint files, created on demand."""
        self._writable()
        folder = self._checkpoint_root / str(int(trial_id))
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the checkpoint folder {folder}: {exc}") from exc
        return folder

    def close(self) -> None:
        if not self._closed:
            self.outbox.close()  # writes still waiting stay in its spool file for the next open
            self._closed = True
            self.heartbeat.stop()
            self.engine.dispose()

    def __enter__(self) -> TrialStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"TrialStore({self._shown!r})"
