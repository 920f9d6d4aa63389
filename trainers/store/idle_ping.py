"""Checking a pooled server connection before use only when it has sat idle.

SQLAlchemy's pool_pre_ping costs one round trip before every transaction; a worker writes a trial's row, its
epochs and its end in quick succession, and a connection used a moment ago is as alive as a ping would show.
A connection idle for longer than PING_AFTER_IDLE_S (a server may have restarted meanwhile) is pinged with the
dialect's own ping, and a dead one is replaced before the transaction starts. A restart inside that second shows
as a failed statement: writes wait and are retried by the outbox (trainers/store/outbox.py)."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.exc import DisconnectionError

PING_AFTER_IDLE_S = 1.0
_RETURNED = "tunelab_returned_at"


def ping_idle_connections(engine: Engine) -> None:
    """Ping a checked-out connection of `engine` that was idle for over PING_AFTER_IDLE_S, else not."""
    dialect = engine.dialect

    def _returned(_dbapi: Any, record: Any) -> None:
        record.info[_RETURNED] = time.monotonic()

    def _ping_if_idle(dbapi: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get(_RETURNED, 0.0) < PING_AFTER_IDLE_S:
            return
        try:
            alive = dialect.do_ping(dbapi)
        except Exception as exc:  # the driver's own error: the connection is gone
            raise DisconnectionError(str(exc)) from exc
        if not alive:
            raise DisconnectionError("the connection no longer answers")

    event.listen(engine, "connect", _returned)  # a new connection has just answered
    event.listen(engine, "checkin", _returned)
    event.listen(engine, "checkout", _ping_if_idle)
