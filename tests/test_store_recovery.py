"""Trials left "running" by a process that died become "interrupted" when a store is next opened."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from trainers.store import INTERRUPTED_MESSAGE, TrialStore
from trainers.store.recovery import host_name, process_alive, process_start_time, recover_interrupted

REPO = Path(__file__).resolve().parents[1]
EPOCH = "train_loss=1.0, train_acc=0.5, val_loss=1.1, val_acc=0.4, lr=0.01, seconds=0.1, samples_per_sec=10.0"
on_linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process start times come from /proc")


def _python(code: str, *args: str, **popen: object) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    return subprocess.Popen([sys.executable, "-c", code, *args], cwd=REPO, env=env, **popen)  # type: ignore[arg-type]


def _epoch(store: TrialStore, trial_id: int, epoch: int) -> None:
    store.add_epoch(
        trial_id,
        epoch,
        train_loss=1.0,
        train_acc=0.5,
        val_loss=1.1,
        val_acc=0.4,
        lr=0.01,
        seconds=0.1,
        samples_per_sec=10.0,
    )


def _set(store: TrialStore, trial_id: int, **values: object) -> None:
    assignments = ", ".join(f"{key} = :{key}" for key in values)
    with store.engine.begin() as conn:
        conn.execute(text(f"UPDATE trials SET {assignments} WHERE id = :id"), {**values, "id": trial_id})


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "trials.db")


def _dead_pid() -> int:
    child = _python("pass")
    child.wait()
    return child.pid


@pytest.mark.slow
def test_trial_of_a_dead_process_is_interrupted(db: str) -> None:
    code = (
        "import sys\nfrom trainers.store import TrialStore\n"
        "s = TrialStore(sys.argv[1])\nt = s.create_trial('train', {'lr': 0.1})\n"
        f"s.add_epoch(t, 1, {EPOCH})\ns.add_epoch(t, 2, {EPOCH})\nprint(t)\n"
    )
    child = _python(code, db, stdout=subprocess.PIPE, text=True)
    out, _ = child.communicate(timeout=120)
    assert child.returncode == 0
    tid = int(out.strip())
    with TrialStore(db) as store:
        record = store.get_trial(tid)
        assert record.status == "interrupted"
        assert record.message == INTERRUPTED_MESSAGE
        assert record.ended_at is not None and record.pid == child.pid
        assert [e.epoch for e in store.epochs(tid)] == [1, 2]
        assert record.epochs_run == 2 and record.config == {"lr": 0.1}
        assert store.recovered_ids == (tid,)
    with TrialStore(db) as again:
        assert again.recovered_ids == ()  # marked once, not on every open


def test_trial_of_this_live_process_is_left_running(db: str) -> None:
    with TrialStore(db) as store:
        tid = store.create_trial("train", {})
        _epoch(store, tid, 1)
    with TrialStore(db) as store:
        assert store.get_trial(tid).status == "running"
        assert store.recovered_ids == ()


@on_linux
def test_reused_pid_is_told_apart_by_start_time(db: str) -> None:
    with TrialStore(db) as store:
        tid = store.create_trial("train", {})
        _epoch(store, tid, 1)
        real = store.get_trial(tid).process_start
        assert real == process_start_time(os.getpid()) and real is not None
        # Same live pid, different start time: the process that wrote the trial is gone.
        _set(store, tid, process_start=real + 1)
    with TrialStore(db) as store:
        assert store.get_trial(tid).status == "interrupted"
        assert len(store.epochs(tid)) == 1


@pytest.mark.slow
def test_other_hosts_and_finished_trials_are_left_alone(db: str) -> None:
    dead = _dead_pid()
    with TrialStore(db) as store:
        remote = store.create_trial("train", {})
        done = store.create_trial("train", {})
        store.finish_trial(done, "completed")
        _set(store, remote, host="another-machine", pid=dead)
        _set(store, done, pid=dead)
    with TrialStore(db) as store:
        assert store.get_trial(remote).status == "running"
        assert store.get_trial(done).status == "completed"
        assert store.recovered_ids == ()


@pytest.mark.slow
def test_process_alive() -> None:
    assert process_alive(os.getpid(), process_start_time(os.getpid()))
    assert not process_alive(_dead_pid(), None)
    assert not process_alive(0, None) and not process_alive(-1, None)


@pytest.mark.slow
@on_linux
def test_unreaped_child_counts_as_ended() -> None:
    child = _python("pass")
    try:
        deadline = time.monotonic() + 60
        while process_alive(child.pid, None):  # alive until it exits; then a zombie until reaped
            assert time.monotonic() < deadline
            time.sleep(0.01)
        os.kill(child.pid, 0)  # still there as a zombie: the signal check alone would call it alive
    finally:
        child.wait()


def test_recover_interrupted_with_a_given_liveness_check(db: str) -> None:
    with TrialStore(db) as store:
        a, b = store.create_trial("train", {}), store.create_trial("train", {})
        now = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
        with Session(store.engine) as session, session.begin():
            marked = recover_interrupted(session, host=host_name(), now=now, alive=lambda pid, start: False)
        assert marked == [a, b]
        assert store.get_trial(a).ended_at == now
        with Session(store.engine) as session, session.begin():
            assert recover_interrupted(session, host=host_name(), now=now, alive=lambda p, s: False) == []


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_store_survives_sigkill_in_the_middle_of_writing(db: str) -> None:
    with TrialStore(db) as store:
        earlier = store.create_trial("train", {"n": 1}, name="earlier")
        for epoch in (1, 2, 3):
            _epoch(store, earlier, epoch)
        store.finish_trial(earlier, "completed", best_val_acc=0.8)
        before = (store.get_trial(earlier), store.epochs(earlier))

    code = (
        "import sys\nfrom trainers.store import TrialStore\n"
        "s = TrialStore(sys.argv[1])\nt = s.create_trial('train', {'n': 2})\n"
        f"s.add_epoch(t, 1, {EPOCH})\ns.add_epoch(t, 2, {EPOCH})\n"
        "print(t, flush=True)\ne = 3\n"
        f"while True:\n    s.add_epoch(t, e, {EPOCH})\n    e += 1\n"
    )
    child = _python(code, db, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        tid = int(child.stdout.readline())
        # Let it get well into the loop, so the kill lands among writes.
        deadline = time.monotonic() + 60
        raw = sqlite3.connect(db, timeout=30)
        try:
            while raw.execute("SELECT COUNT(*) FROM epoch_metrics WHERE trial_id = ?", (tid,)).fetchone()[0] < 20:
                assert time.monotonic() < deadline and child.poll() is None
                time.sleep(0.01)
        finally:
            raw.close()
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=60)
        if child.stdout is not None:
            child.stdout.close()
    assert child.returncode == -signal.SIGKILL

    with TrialStore(db) as store:
        with store.engine.connect() as conn:
            assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        record = store.get_trial(tid)
        assert record.status == "interrupted" and tid in store.recovered_ids
        epochs = [e.epoch for e in store.epochs(tid)]
        assert len(epochs) >= 20 and epochs == list(range(1, len(epochs) + 1))
        assert record.epochs_run == len(epochs)  # the epoch row and the counter commit together
        assert (store.get_trial(earlier), store.epochs(earlier)) == before
