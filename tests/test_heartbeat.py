"""Liveness across hosts: a running trial beats a heartbeat into the store; any process opening the store marks a
trial whose heartbeat is older than the grace period "interrupted" (keeping its epochs), whichever host ran it."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from trainers.spec.errors import StoreError
from trainers.store import TrialRecord, TrialStore
from trainers.store.heartbeat import GRACE_ENV
from trainers.store.recovery import HOST_ENV, STALE_MESSAGE

REPO = Path(__file__).resolve().parents[1]
GRACE_S = 1.5
HOST_GRACE_S = 3.0  # the cross-host test's: a store open takes a while on a busy machine, well under this
EPOCH = dict(train_loss=1.0, train_acc=0.5, val_loss=1.1, val_acc=0.4, lr=0.01, seconds=0.1, samples_per_sec=10.0)

# Host A: create a trial, record two epochs, say its id, then keep running (beating) until stopped.
HOST_A = (
    "import sys, time\nfrom trainers.store import TrialStore\n"
    "s = TrialStore(sys.argv[1])\nt = s.create_trial('train', {'lr': 0.1}, device='cpu')\n"
    "for e in (1, 2):\n"
    "    s.add_epoch(t, e, train_loss=1.0, train_acc=0.5, val_loss=1.1, val_acc=0.4, lr=0.01, seconds=0.1,"
    " samples_per_sec=10.0)\n"
    "print(t, flush=True)\ntime.sleep(600)\n"
)


def _wait_for(check: Callable[[], TrialRecord | None], seconds: float) -> TrialRecord:
    """Poll `check` until it returns a record; fail after `seconds`."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        found = check()
        if found is not None:
            return found
        time.sleep(0.05)
    raise AssertionError(f"nothing after {seconds} s of polling")


def _set(store: TrialStore, trial_id: int, **values: object) -> None:
    assignments = ", ".join(f"{key} = :{key}" for key in values)
    with store.engine.begin() as conn:
        conn.execute(text(f"UPDATE trials SET {assignments} WHERE id = :id"), {**values, "id": trial_id})


@pytest.fixture
def short_grace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(GRACE_ENV, str(GRACE_S))


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="SIGSTOP freezes host A's process")
def test_a_trial_whose_host_is_gone_is_interrupted_by_another_hosts_process(
    any_store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = any_store_url
    monkeypatch.setenv(GRACE_ENV, str(HOST_GRACE_S))
    env = {**os.environ, HOST_ENV: "host-a", GRACE_ENV: str(HOST_GRACE_S), "PYTHONPATH": str(REPO)}
    child = subprocess.Popen([sys.executable, "-c", HOST_A, db], cwd=REPO, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        tid = int(child.stdout.readline())
        monkeypatch.setenv(HOST_ENV, "host-b")
        with TrialStore(db) as look:
            created = look.get_trial(tid)
            assert created.host == "host-a" and created.device == "cpu" and created.heartbeat_at is not None
            # host A beats while it lives: its heartbeat moves on, and opening the store leaves it running
            _wait_for(lambda: _newer(look.get_trial(tid), created.heartbeat_at), 4 * HOST_GRACE_S)
        os.kill(child.pid, signal.SIGSTOP)  # host A is gone: no more beats (its pid still exists: irrelevant)

        def opened_by_host_b() -> TrialRecord | None:
            with TrialStore(db) as store:  # each look is a fresh open by another host's process
                record = store.get_trial(tid)
                return record if record.status != "running" else None

        record = _wait_for(opened_by_host_b, 10 * HOST_GRACE_S)
        assert record.status == "interrupted" and record.message == STALE_MESSAGE.format(grace=HOST_GRACE_S)
        assert record.host == "host-a"
        assert record.ended_at is not None and record.heartbeat_at is not None
        assert record.ended_at - record.heartbeat_at <= timedelta(seconds=2 * HOST_GRACE_S)
        with TrialStore(db) as store:
            assert [e.epoch for e in store.epochs(tid)] == [1, 2] and store.get_trial(tid).epochs_run == 2
    finally:
        child.kill()
        child.wait()


def _newer(record: TrialRecord, than: datetime | None) -> TrialRecord | None:
    return record if record.heartbeat_at is not None and than is not None and record.heartbeat_at > than else None


def test_a_long_lived_process_marks_a_silent_trial_at_its_next_beat(tmp_path: Path, short_grace: None) -> None:
    db = str(tmp_path / "trials.db")
    with TrialStore(db) as store:
        own = store.create_trial("train", {})
        other = store.create_trial("train", {})
        store.heartbeat.remove(other)  # as if another host ran it
        old = datetime.now(UTC) - timedelta(seconds=3 * GRACE_S)
        _set(store, other, host="elsewhere", pid=1, heartbeat_at=old.replace(tzinfo=None))
        assert store.heartbeat.beat_once() == [other]
        assert store.get_trial(other).status == "interrupted"
        assert store.get_trial(own).status == "running"


def test_a_trial_taken_for_dead_that_beats_again_is_running_again(tmp_path: Path, short_grace: None) -> None:
    db = str(tmp_path / "trials.db")
    with TrialStore(db) as store:
        tid = store.create_trial("train", {})
        store.add_epoch(tid, 1, **EPOCH)
        _set(store, tid, status="interrupted", message=STALE_MESSAGE.format(grace=GRACE_S), ended_at="2026-01-01")
        store.heartbeat.beat_once()  # its host was cut off, not dead
        record = store.get_trial(tid)
        assert record.status == "running" and record.ended_at is None and record.message == ""
        store.finish_trial(tid, "completed")
        assert store.get_trial(tid).status == "completed" and store.get_trial(tid).epochs_run == 1


def test_a_trial_without_heartbeat_keeps_the_pid_rule(tmp_path: Path, short_grace: None) -> None:
    """A trial written by a version without heartbeats is judged by its pid, on its own host only."""
    db = str(tmp_path / "trials.db")
    with TrialStore(db) as store:
        tid = store.create_trial("train", {})
        store.heartbeat.remove(tid)
        _set(store, tid, host="elsewhere", pid=1, heartbeat_at=None)
    with TrialStore(db) as store:
        assert store.get_trial(tid).status == "running"


def test_an_older_store_gets_the_heartbeat_and_device_columns(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    with TrialStore(str(db)) as store:
        tid = store.create_trial("train", {})
        store.finish_trial(tid, "completed")
    con = sqlite3.connect(db)
    con.execute("ALTER TABLE trials DROP COLUMN heartbeat_at")
    con.execute("ALTER TABLE trials DROP COLUMN device")
    con.commit()
    con.close()
    with TrialStore(str(db)) as store:
        old = store.get_trial(tid)
        assert old.heartbeat_at is None and old.device is None and old.status == "completed"
        new = store.create_trial("train", {}, device="cuda:1")
        assert store.get_trial(new).device == "cuda:1" and store.get_trial(new).heartbeat_at is not None


def test_a_bad_grace_period_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(GRACE_ENV, "soon")
    with pytest.raises(StoreError, match=GRACE_ENV):
        TrialStore(str(tmp_path / "trials.db"))
