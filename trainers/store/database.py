"""Opening a store's database: the engine with SQLite's pragmas, the tables created and older ones brought up
to date (trainers/store/migrations.py); or, for reading only, an engine that cannot write at all."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import StaticPool

from trainers.spec.errors import StoreError
from trainers.store import artifact_table  # noqa: F401  (its table joins Base.metadata, so create_all makes it)
from trainers.store.drivers import require_driver
from trainers.store.idle_ping import ping_idle_connections
from trainers.store.migrations import add_missing_columns
from trainers.store.schema import Base, Trial

BUSY_TIMEOUT_MS = 10_000  # a reader or a second process waits this long for the writer's lock


def sqlite_file(url: URL) -> Path | None:
    """The database file of an SQLite URL; None for in-memory databases and other backends."""
    if url.get_backend_name() != "sqlite":
        return None
    db = url.database or ""
    if db in ("", ":memory:") or db.startswith("file:"):
        return None
    return Path(db).expanduser().resolve()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Per-connection settings: SQLite forgets them when a connection closes (WAL alone persists).
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
    finally:
        cursor.close()


def _sqlite_read_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # A read-only connection cannot change the journal mode; a store is already in WAL mode.
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    finally:
        cursor.close()


CREATE_ATTEMPTS = 5


def open_engine(url: URL) -> Engine:
    """An engine for `url` with the tables created (existing ones are kept)."""
    require_driver(url)
    sqlite = url.get_backend_name() == "sqlite"
    options: dict[str, Any] = {}
    if sqlite and sqlite_file(url) is None:
        # In memory: one shared connection, or each thread would see its own empty database.
        options = {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
    engine = create_engine(url, **options)
    if sqlite:
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        ping_idle_connections(engine)  # a server may restart under a long-lived process
    try:
        # Processes creating a fresh store together race between "table missing?" and CREATE TABLE, one
        # table at a time; a loser finds more tables on each look. A real fault fails every time and is raised.
        for attempt in range(CREATE_ATTEMPTS):
            try:
                Base.metadata.create_all(engine)
                add_missing_columns(engine, Base.metadata)
                break
            except DBAPIError:
                if attempt == CREATE_ATTEMPTS - 1:
                    raise
                time.sleep(0.05 * (attempt + 1))
    except BaseException:
        engine.dispose()
        raise
    return engine


def read_only_url(url: URL, db_file: Path | None) -> URL:
    """For an SQLite file, the same file opened by SQLite itself as read-only (a write fails, nothing is created);
    other URLs as given."""
    if db_file is None:
        return url
    query = {"mode": "ro", "uri": "true"}
    if not os.access(db_file.parent, os.W_OK) and not Path(f"{db_file}-shm").exists():
        # WAL readers need a shared-memory file beside the database; where none exists and none can be made,
        # no writer can be at work either, so the file is read as it stands
        query["immutable"] = "1"
    return URL.create("sqlite", database="file:" + quote(str(db_file)), query=query)


def open_read_only(url: URL, db_file: Path | None, shown: str) -> Engine:
    """An engine that only reads an existing store: no tables created, no columns added."""
    require_driver(url)
    engine = create_engine(read_only_url(url, db_file))
    if url.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_read_pragmas)
    try:
        inspector = inspect(engine)
        if not inspector.has_table(Trial.__tablename__):
            raise StoreError(f"{shown} is not a TuneLab trial store (it has no trials table)")
        for table in Base.metadata.sorted_tables:
            if table.info.get("optional_for_reading") and not inspector.has_table(table.name):
                continue  # a table a later version added (artifacts): read as empty
            present = (
                {c["name"] for c in inspector.get_columns(table.name)} if inspector.has_table(table.name) else set()
            )
            if any(c.name not in present for c in table.columns):
                raise StoreError(
                    f"{shown} was made by an earlier TuneLab: open it once with a command that writes "
                    f"(such as `tunelab train`) to bring it up to date"
                )
    except BaseException:
        engine.dispose()
        raise
    return engine
