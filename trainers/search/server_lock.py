"""A lock every host of a PostgreSQL-backed search shares: a session-level advisory lock on the Optuna storage's own
server, keyed by the study's name. Held while a worker looks at the budget and asks for a trial, so workers on
different hosts never both take the last trial (the journal's lock file only reaches one machine)."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

from sqlalchemy import text
from sqlalchemy.engine import Engine


def rdb_engine(storage: Any) -> Engine | None:
    """The SQLAlchemy engine behind an Optuna RDB storage (unwrapping Optuna's cache); None for other storages."""
    backend = getattr(storage, "_backend", storage)
    engine = getattr(backend, "engine", None)
    return engine if isinstance(engine, Engine) else None


@contextmanager
def advisory_lock(engine: Engine, name: str) -> Iterator[None]:
    """Hold PostgreSQL's advisory lock for `name` (hashtext → a 32-bit key) on one connection of `engine`."""
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(hashtext(:name))"), {"name": name})
        conn.commit()  # the lock belongs to the session, not to this transaction
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(hashtext(:name))"), {"name": name})
            conn.commit()
