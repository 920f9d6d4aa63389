"""Opening a store's database: the engine with SQLite's pragmas, the tables created and older ones brought up
to date (trainers/store/migrations.py)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import StaticPool

from trainers.store.migrations import add_missing_columns
from trainers.store.schema import Base

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


CREATE_ATTEMPTS = 5


def open_engine(url: URL) -> Engine:
    """An engine for `url` with the tables created (existing ones are kept)."""
    sqlite = url.get_backend_name() == "sqlite"
    options: dict[str, Any] = {}
    if sqlite and sqlite_file(url) is None:
        # In memory: one shared connection, or each thread would see its own empty database.
        options = {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
    engine = create_engine(url, **options)
    if sqlite:
        event.listen(engine, "connect", _sqlite_pragmas)
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
