"""A store that can be away: writes that find the database unreachable wait here and are retried, in order.

A write is tried at once, as always. When the database cannot be reached (a server restarting, a network gone, an
SQLite file on a share that vanished) the write, and every later one of this store, waits in a list kept on disk
in a spool file (data folder/unsent/, one JSON file per open store), and a thread retries them in order with backoff
until the database answers. The run goes on meanwhile; listeners (the run's sink) hear StoreUnreachable and, once
everything is written, StoreReachable — always on the writing thread, never on the retry thread. Reading a trial
that has writes waiting waits for them. The thread writes the writes waiting together in one transaction (a run's
last epoch and its end, typically): on a server each transaction costs round trips that sixteen workers on a few
cores wait to be scheduled for. Once the database has been away for longer than the limit
(TUNELAB_STORE_AWAY_LIMIT_S, default 600 s) the next write raises a StoreError that ends the run, naming the spool
file: nothing that finished is lost, and the next process opening the store on this machine writes the file's
contents (trainers/store/trial_store.py calls replay_unsent).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError

from trainers.spec.errors import StoreError
from trainers.spec.store_events import StoreReachable, StoreUnreachable
from trainers.spec.url_display import mask_urls
from trainers.store.env_seconds import env_seconds
from trainers.store.recovery import host_name, process_alive

log = logging.getLogger(__name__)

LIMIT_ENV = "TUNELAB_STORE_AWAY_LIMIT_S"
DEFAULT_LIMIT_S = 600.0
RETRY_FIRST_S = 0.2
RETRY_MAX_S = 5.0
NOTICE_EVERY_S = 5.0  # how often a run that waits for its store says so again
LINGER_S = 2.0  # how long the thread stays for the next handed-over write
CLOSE_WAIT_S = 30.0  # how long closing waits for handed-over writes while the database answers

Op = dict[str, Any]  # one write as plain JSON data (trainers/store/trial_writes.py applies it)
Apply = Callable[[list[Op]], None]  # writes the given writes in one transaction, all or none
BATCH_MAX = 64  # the most waiting writes one transaction takes
Listener = Callable[[Any], None]  # a sink's emit
_OWNED: set[Path] = set()  # spool files of outboxes open in this process: never replayed from under them


def unreachable(exc: BaseException) -> bool:
    """Whether a database error means "cannot reach the database now" (worth retrying), not a refused write."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, (OperationalError, InterfaceError)):
        text = str(exc.orig if isinstance(exc, DBAPIError) else exc).lower()
        refused = ("no such table", "no such column", "syntax error", "readonly database", "read-only")
        return not any(word in text for word in refused)
    return False


def _one_line(exc: BaseException) -> str:
    """The database's own words, first line only, with any URL's password masked."""
    lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return mask_urls(lines[0]) if lines else type(exc).__name__


def away_limit_s() -> float:
    return env_seconds(LIMIT_ENV, DEFAULT_LIMIT_S)


def spool_path(folder: Path, digest: str) -> Path:
    """This open store's spool file: named by the store, the host and the process, so another process can tell
    whether its writer still runs."""
    return folder / f"{digest}--{host_name()}--{os.getpid()}--{uuid.uuid4().hex[:8]}.json"


class Outbox:
    """The writes of one open store that wait for the database, and the thread that retries them."""

    def __init__(self, apply: Apply, spool: Path, shown: str, limit_s: float) -> None:
        self._apply = apply
        self.spool = spool
        self._shown = shown
        self.limit_s = limit_s
        self._pending: list[Op] = []
        self._cond = threading.Condition()
        self._away_since: float | None = None  # monotonic time of the first failed write
        self._reason = ""
        self._written = 0  # waiting writes stored since the store went away
        self._away_s = 0.0  # how long it was away, once it is back
        self._thread: threading.Thread | None = None
        self._closed = False
        self._told: str = ""  # "away" or "" : what the listeners last heard
        self._told_at = 0.0
        self._waited: dict[int, BaseException | None] = {}  # id() of writes a caller waits on: their refusal
        self._singles = 0  # writes of a refused batch still to write one at a time, so only the refused one is lost
        self._holds = 0  # open held() blocks: writes handed over wait for their end
        self._flush = False  # a caller waits for a write inside a held() block: the thread writes all the same
        self.listeners: list[Listener] = []

    @property
    def pending(self) -> int:
        with self._cond:
            return len(self._pending)

    def submit(self, op: Op, *, wait: bool = True) -> None:
        """Write `op` now, or queue it behind earlier waiting writes; raises StoreError once the store has been away
        past the limit (the write is kept in the spool file all the same).

        `wait=False` (a training run's epochs): hand the write to the outbox's thread and return at once, so the run
        never waits on a slow or remote database; later writes of this store keep their order behind it. A write
        that waits and finds writes handed over before it joins them, and the thread writes them in one
        transaction; the caller waits for it and hears its refusal as if it had written it itself."""
        with self._cond:
            queued = bool(self._pending) or not wait
            if queued:
                self._queue(op)
                self._start_thread()
                self._cond.notify_all()  # wakes a thread lingering for more
                if wait and self._away_since is None:
                    self._wait_written(op)
        if not queued:
            try:
                self._apply([op])
            except SQLAlchemyError as exc:
                if not unreachable(exc):
                    raise
                with self._cond:
                    self._went_away(exc)
                    self._queue(op)
        self._tell()
        self._check_limit()

    def _wait_written(self, op: Op) -> None:
        """Under the lock: wait until the thread has written `op` (or the database went away, or the store closed:
        it then waits in the spool file); raise what refused it."""
        self._waited[id(op)] = None
        self._release_held()
        try:
            while any(w is op for w in self._pending) and self._away_since is None and not self._closed:
                self._cond.wait(timeout=NOTICE_EVERY_S)
        finally:
            refusal = self._waited.pop(id(op), None)
        if refusal is not None:
            raise refusal

    @contextmanager
    def held(self) -> Iterator[None]:
        """Writes handed over inside the block wait for its end, then go to the thread together (one transaction):
        a stack's members end an epoch one after another, and a thread writing the first member's epoch while the
        others' are handed over competes with them for the interpreter. A write waited for inside is not held."""
        with self._cond:
            self._holds += 1
        try:
            yield
        finally:
            with self._cond:
                self._holds -= 1
                if not self._holds:
                    self._flush = False
                    self._cond.notify_all()

    def _release_held(self) -> None:
        """Under the lock: a caller is about to wait for writes, so held ones go now."""
        if self._holds:
            self._flush = True
            self._cond.notify_all()

    def wait_for(self, trial_id: int) -> None:
        """Return once no write of `trial_id` waits; StoreError once the store has been away past the limit."""
        while True:
            with self._cond:
                self._release_held()
                if self._gave_up() or not any(op["trial_id"] == trial_id for op in self._pending):
                    break
                self._cond.wait(timeout=min(NOTICE_EVERY_S, self.limit_s))
            self._tell()
        self._tell()
        self._check_limit(trial_id)

    def close(self) -> None:
        """Stop retrying; writes still waiting stay in the spool file for the next open to write."""
        with self._cond:
            self._release_held()
            end = time.monotonic() + CLOSE_WAIT_S
            while self._pending and self._away_since is None and time.monotonic() < end:
                self._cond.wait(timeout=0.1)  # writes handed over without waiting reach the database first
            self._closed = True
            if self._pending:
                self._save(always=True)
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout=10)
        _OWNED.discard(self.spool)

    # -- inside (callers hold self._cond unless said otherwise) -----------------------------------------

    def _went_away(self, exc: BaseException | None) -> None:
        if exc is not None:
            self._reason = _one_line(exc)
        if self._away_since is None:
            self._away_since = time.monotonic()
            self._written = 0
            self._save()
        self._start_thread()

    def _start_thread(self) -> None:
        if self._thread is None and not self._closed:
            self._thread = threading.Thread(target=self._retry, name="store-outbox", daemon=True)
            self._thread.start()

    def _queue(self, op: Op) -> None:
        self._pending.append(op)
        self._save()

    def _save(self, always: bool = False) -> None:
        """The waiting writes on disk (atomically) while the database is away; the file goes once nothing waits.
        Writes merely handed to the thread (submit's wait=False) stay in memory: they take milliseconds."""
        try:
            if not self._pending:
                self.spool.unlink(missing_ok=True)
                _OWNED.discard(self.spool)
                return
            if not (always or self._away_since is not None):
                return
            self.spool.parent.mkdir(parents=True, exist_ok=True)
            _OWNED.add(self.spool)
            part = self.spool.with_suffix(".part")
            part.write_text(json.dumps({"store": self._shown, "ops": self._pending}))
            os.replace(part, self.spool)
        except OSError as exc:
            self._reason = f"{self._reason}; the spool file {self.spool} cannot be written either: {exc}"

    def _gave_up(self) -> bool:
        return self._away_since is not None and time.monotonic() - self._away_since > self.limit_s

    def _check_limit(self, trial_id: int | None = None) -> None:
        """Outside the lock: the StoreError that ends a run whose store stayed away too long."""
        with self._cond:
            waiting = [op for op in self._pending if trial_id is None or op["trial_id"] == trial_id]
            if not (waiting and self._gave_up()):
                return
            epochs = [op["epoch"] for op in waiting if op["op"] == "epoch"]
        what = f"{len(waiting)} write(s)" + (f", epochs {', '.join(map(str, epochs))}" if epochs else "")
        raise StoreError(
            f"the trial store {self._shown} has been unreachable for over {self.limit_s:g} s ({self._reason}): the "
            f"run stops; its unsaved results ({what}) are kept in {self.spool} and are written the next time the "
            f"store is opened on this machine ({LIMIT_ENV} sets the limit)"
        )

    def _holding(self) -> bool:
        """Under the lock: writes handed over now wait for a held() block's end (none waits for them yet)."""
        return bool(self._holds) and not self._flush

    def _retry(self) -> None:
        """Write the waiting writes in order, together, waiting longer after each failure, until none is left."""
        delay = RETRY_FIRST_S
        while True:
            with self._cond:
                if (self._holding() or not self._pending) and not self._closed:
                    self._cond.wait(timeout=LINGER_S)  # a run's next epoch is usually close behind: no new thread
                if self._closed or not self._pending:
                    self._thread = None  # decided under the lock: a write failing from now on starts a new one
                    return
                if self._holding():
                    continue  # handed over inside a held() block that has not ended
                batch = self._pending[: 1 if self._singles else BATCH_MAX]
            done = self._try(batch)
            if done is None:
                return  # the store closed under this try: the writes stay in the spool file
            with self._cond:
                if done == "split":
                    self._singles = len(batch)  # one of them is refused: it alone is dropped, the others written
                    continue
                if not done and self._away_since is None:
                    self._went_away(None)  # a handed-over write found the database away
                if done:
                    del self._pending[: len(batch)]
                    self._singles = max(0, self._singles - 1)
                    self._written += len(batch)
                    self._save()
                    if not self._pending and self._away_since is not None:
                        self._away_s, self._away_since = time.monotonic() - self._away_since, None
                    delay = RETRY_FIRST_S
                    self._cond.notify_all()
                    continue
                self._cond.wait(timeout=delay)
            delay = min(RETRY_MAX_S, delay * 2)

    def _try(self, batch: list[Op]) -> bool | str | None:
        """One try of the first waiting writes, in one transaction: True when they are done with (written, or a
        lone write refused for ever), "split" when one of several is refused, False when the database is still
        away, None when the store closed meanwhile."""
        try:
            self._apply(batch)
            return True
        except SQLAlchemyError as exc:
            if self._closed:
                return None
            with self._cond:
                self._reason = _one_line(exc)
            if unreachable(exc):
                return False
            if len(batch) > 1:
                return "split"
            # anything else would fail for ever: it is dropped, not retried, and said where someone may look
            if not self._refused(batch[0], exc):
                trial_id = batch[0]["trial_id"]
                log.warning("%s refused a write of trial %s (%s): dropped", self._shown, trial_id, self._reason)
            return True
        except StoreError as exc:
            # refused, not away: an epoch already stored (its first try committed but its answer was lost)
            if self._closed:
                return None
            if len(batch) > 1:
                return "split"
            self._refused(batch[0], exc)
            return True
        except Exception as exc:  # a write that can never succeed must not hold back those behind it
            if len(batch) > 1:
                return "split"
            with self._cond:
                self._reason = f"a waiting write was dropped: {type(exc).__name__}: {exc}"
            if not self._refused(batch[0], exc):
                log.warning("%s: %s (trial %s)", self._shown, self._reason, batch[0]["trial_id"])
            return True

    def _refused(self, op: Op, exc: BaseException) -> bool:
        """A caller waiting on `op` hears why it was refused; whether one waits."""
        with self._cond:
            if id(op) not in self._waited:
                return False
            self._waited[id(op)] = exc
            return True

    def _tell(self) -> None:
        """Outside the lock, on the caller's thread: the listeners hear the store went away, that it still is
        (every NOTICE_EVERY_S), or that it is back."""
        with self._cond:
            now = time.monotonic()
            away = self._away_since is not None
            if away and (self._told != "away" or now - self._told_at >= NOTICE_EVERY_S):
                since = self._away_since or now
                event: object = StoreUnreachable(
                    self._shown, self._reason, len(self._pending), now - since, self.limit_s, str(self.spool)
                )
                self._told, self._told_at = "away", now
            elif not away and self._told == "away":
                event = StoreReachable(self._shown, self._written, self._away_s)
                self._told = ""
            else:
                return
            listeners = list(self.listeners)
        for listener in listeners:
            listener(event)


def replay_unsent(folder: Path, digest: str, apply: Apply) -> list[Path]:
    """Write the spool files of this store left by processes of this host that ended; returns the files written
    (and removed). A file whose writes still cannot be stored is left for a later open."""
    done: list[Path] = []
    for path in sorted(folder.glob(f"{digest}--*.json")):
        parts = path.stem.split("--")
        if path in _OWNED or len(parts) != 4 or parts[1] != host_name():
            continue
        if not parts[2].isdigit() or (int(parts[2]) != os.getpid() and process_alive(int(parts[2]), None)):
            continue
        try:
            ops = json.loads(path.read_text()).get("ops", [])
        except (OSError, ValueError):
            continue
        try:
            for op in ops:
                try:
                    apply([op])
                except StoreError:
                    pass  # already stored
        except SQLAlchemyError:
            continue
        path.unlink(missing_ok=True)
        done.append(path)
    return done
