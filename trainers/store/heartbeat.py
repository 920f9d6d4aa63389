"""Liveness across hosts: every running trial of a store beats a heartbeat into its row.

One daemon thread per open store stamps `heartbeat_at` of all the trials this process runs in a single UPDATE every
grace/3 seconds, and marks trials of any host whose heartbeat is older than the grace period as interrupted
(trainers/store/recovery.py), so a long-lived worker notices a dead neighbour without opening the store again.
A missed beat (the database away for a moment) is not fatal: the next one, or the grace period, decides. A trial
taken for dead whose process still runs (its host was cut off for longer than the grace period) is running again at
its next beat.

The grace period is TUNELAB_HEARTBEAT_GRACE_S seconds (default 60); every process sharing a store should use the
same, and hosts need synchronised clocks (NTP): a heartbeat is the beating host's time.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Callable

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from trainers.store.env_seconds import env_seconds
from trainers.store.recovery import STALE_MESSAGE, mark_stale
from trainers.store.schema import RUNNING, Trial

GRACE_ENV = "TUNELAB_HEARTBEAT_GRACE_S"
DEFAULT_GRACE_S = 60.0


def grace_seconds() -> float:
    """The heartbeat grace period: TUNELAB_HEARTBEAT_GRACE_S when set, else DEFAULT_GRACE_S."""
    return env_seconds(GRACE_ENV, DEFAULT_GRACE_S)


def _now() -> datetime:
    return datetime.now(UTC)


def beat(session: Session, trial_ids: list[int], now: datetime, grace_s: float) -> None:
    """Stamp the running trials among `trial_ids`; one of them marked interrupted for want of a heartbeat (its host
    was cut off, not dead) is running again."""
    if not trial_ids:
        return
    session.execute(update(Trial).where(Trial.id.in_(trial_ids), Trial.status == RUNNING).values(heartbeat_at=now))
    session.execute(
        update(Trial)
        .where(
            Trial.id.in_(trial_ids),
            Trial.status == "interrupted",
            Trial.message == STALE_MESSAGE.format(grace=grace_s),
        )
        .values(status=RUNNING, message="", ended_at=None, heartbeat_at=now)
    )


class Heartbeat:
    """The beating thread of one store: started with its first trial, stopped when the store closes."""

    def __init__(self, engine: Engine, grace_s: float, on_marked: Callable[[list[int]], None] | None = None) -> None:
        self.grace_s = grace_s
        self.interval = grace_s / 3
        self._sessions = sessionmaker(engine)
        self._ids: set[int] = set()
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self._on_marked = on_marked
        # An in-memory database (one connection shared by every thread) is seen by this process alone: no beats.
        self.beating = not isinstance(engine.pool, StaticPool)

    def add(self, trial_id: int) -> None:
        """Beat for `trial_id` (its row already carries the first heartbeat) until `remove`."""
        with self._lock:
            self._ids.add(trial_id)
            if self._thread is None and self.beating and not self._done.is_set():
                self._thread = threading.Thread(target=self._run, name="store-heartbeat", daemon=True)
                self._thread.start()

    def remove(self, trial_id: int) -> None:
        with self._lock:
            self._ids.discard(trial_id)

    @property
    def trial_ids(self) -> list[int]:
        with self._lock:
            return sorted(self._ids)

    def beat_once(self) -> list[int]:
        """One beat for this process's trials and one look for dead ones; returns the ids marked interrupted."""
        now = _now()
        with self._sessions.begin() as session:
            beat(session, self.trial_ids, now, self.grace_s)
            marked = mark_stale(session, now=now, grace_s=self.grace_s)
        if marked and self._on_marked is not None:
            self._on_marked(marked)
        return marked

    def _run(self) -> None:
        while not self._done.wait(self.interval):
            try:
                self.beat_once()
            except SQLAlchemyError:
                pass  # the database is away for a moment: the next beat, or the grace period, decides

    def stop(self) -> None:
        self._done.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)
