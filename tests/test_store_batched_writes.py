"""Writes that wait together are written together: a run's epochs handed to the store's thread and the write that
ends the trial share one transaction when they wait at the same time, and one refused write among them is the only
one lost — its caller hears why, the others are stored. On SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, text

from trainers.spec.errors import StoreError
from trainers.store import TrialStore

OPEN_AFTER_S = 0.3  # long enough for the test's later writes to queue behind the held one


@pytest.fixture
def store(any_store_url: str) -> Iterator[TrialStore]:
    with TrialStore(any_store_url) as s:
        yield s


METRICS = {"train_acc": 0.5, "val_acc": 0.5, "lr": 1e-3, "seconds": 0.01, "samples_per_sec": 100.0}


def _epoch(store: TrialStore, trial_id: int, epoch: int) -> None:
    """One epoch handed to the store's thread, as training hands it."""
    store.add_epoch(trial_id, epoch, train_loss=1.0 / epoch, val_loss=1.0 / epoch, wait=False, **METRICS)


def _hold_first_epoch(store: TrialStore, trial_id: int) -> tuple[threading.Event, list[str]]:
    """Epoch 1 handed to the store's writer thread, which waits at the start of that transaction until the returned
    event is set; every transaction of the store is recorded as it commits ("commit") or rolls back ("rollback")."""
    gate, held, ended = threading.Event(), threading.Event(), []

    def begin(_conn: object) -> None:
        if threading.current_thread().name == "store-outbox" and not gate.is_set():
            held.set()
            gate.wait(timeout=10)

    event.listen(store.engine, "begin", begin)
    event.listen(store.engine, "commit", lambda _c: ended.append("commit"))
    event.listen(store.engine, "rollback", lambda _c: ended.append("rollback"))
    _epoch(store, trial_id, 1)
    assert held.wait(timeout=10)  # the thread has taken epoch 1 alone: what follows waits behind it
    return gate, ended


def test_the_last_epochs_and_the_end_of_a_trial_are_one_transaction(store: TrialStore) -> None:
    trial_id = store.create_trial("train", {"x": 1}, name="batched", epochs_planned=3)
    gate, ended = _hold_first_epoch(store, trial_id)
    for epoch in (2, 3):
        _epoch(store, trial_id, epoch)
    threading.Timer(OPEN_AFTER_S, gate.set).start()
    store.finish_trial(trial_id, "completed", best_val_acc=0.5)  # waits behind epochs 2 and 3, and joins them

    assert ended == ["commit", "commit"]  # epoch 1 alone, then epochs 2 and 3 and the end in one
    assert [e.epoch for e in store.epochs(trial_id)] == [1, 2, 3]
    record = store.get_trial(trial_id)
    assert (record.status, record.epochs_run, record.best_val_acc) == ("completed", 3, 0.5)
    assert record.ended_at is not None and record.duration_s is not None


def test_a_refused_write_among_waiting_ones_is_the_only_one_lost_and_its_caller_hears_why(store: TrialStore) -> None:
    trial_id = store.create_trial("train", {"x": 1}, name="kept", epochs_planned=3)
    gate, ended = _hold_first_epoch(store, trial_id)
    _epoch(store, trial_id, 2)
    threading.Timer(OPEN_AFTER_S, gate.set).start()
    with pytest.raises(StoreError, match="there is no trial 987654"):
        store.update_trial(987654, name="nobody")  # queued behind epoch 2: the batch of both is refused

    assert ended == ["commit", "rollback", "commit", "rollback"]  # epoch 1; both; epoch 2 alone; the refused one
    assert [e.epoch for e in store.epochs(trial_id)] == [1, 2]
    _epoch(store, trial_id, 3)  # the thread writes batches again
    store.finish_trial(trial_id, "completed")
    assert store.get_trial(trial_id).epochs_run == 3


def test_an_epoch_stored_twice_is_refused_alone_and_the_rest_of_its_batch_is_written(store: TrialStore) -> None:
    trial_id = store.create_trial("train", {"x": 1}, name="twice", epochs_planned=3)
    gate, _ended = _hold_first_epoch(store, trial_id)
    _epoch(store, trial_id, 1)  # its first try committed but its answer was lost: a repeat the store refuses
    _epoch(store, trial_id, 2)
    threading.Timer(OPEN_AFTER_S, gate.set).start()
    store.finish_trial(trial_id, "completed")  # no error: a repeated epoch is dropped, as before

    assert [e.epoch for e in store.epochs(trial_id)] == [1, 2]
    assert store.get_trial(trial_id).status == "completed"


def test_the_epochs_of_runs_that_end_an_epoch_together_are_written_together(store: TrialStore) -> None:
    # a stack's members hand their epochs over at once: one transaction, one statement per table
    first, *members = (store.create_trial("train", {"k": k}, name=f"m{k}", epochs_planned=2) for k in range(5))
    gate, ended = _hold_first_epoch(store, first)
    statements: list[tuple[str, int]] = []  # each statement sent: its verb, and how many times (executemany)

    def sent(_conn: object, _cursor: object, sql: str, params: Any, _context: object, many: bool) -> None:
        statements.append((sql.split()[0], len(params) if many else 1))

    event.listen(store.engine, "before_cursor_execute", sent)
    for trial_id in members:
        _epoch(store, trial_id, 1)
    _epoch(store, members[0], 2)  # a member's next epoch in the same batch: advanced again, never moved back
    gate.set()
    for trial_id in (first, *members):
        store.finish_trial(trial_id, "completed")

    assert ended[:2] == ["commit", "commit"]  # the held epoch, then the members' five epochs
    # the held epoch; then the five: one UPDATE run for each, one INSERT of all five rows; then the first's end
    assert [verb for verb, _ in statements[:5]] == ["UPDATE", "INSERT", "UPDATE", "INSERT", "SELECT"]
    assert statements[2] == ("UPDATE", 5)
    assert [store.get_trial(t).epochs_run for t in (first, *members)] == [1, 2, 1, 1, 1]
    assert [[e.epoch for e in store.epochs(t)] for t in members] == [[1, 2], [1], [1], [1]]
    assert [e.val_loss for e in store.epochs(members[0])] == [1.0, 0.5]


def test_a_repeated_epoch_among_several_runs_epochs_is_the_only_one_dropped(store: TrialStore) -> None:
    first, *members = (store.create_trial("train", {"k": k}, name=f"r{k}", epochs_planned=2) for k in range(4))
    gate, _ended = _hold_first_epoch(store, first)
    _epoch(store, members[0], 1)
    _epoch(store, members[1], 1)
    _epoch(store, first, 1)  # stored already (held, then committed): refused alone
    _epoch(store, members[2], 1)
    gate.set()
    for trial_id in (first, *members):
        store.finish_trial(trial_id, "completed")
    assert [len(store.epochs(t)) for t in (first, *members)] == [1, 1, 1, 1]
    assert all(store.get_trial(t).epochs_run == 1 for t in (first, *members))


def _stored_epochs(store: TrialStore) -> int:
    """Epoch rows in the database now, read past the store (whose own reads wait for its writes)."""
    with store.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM epoch_metrics")).scalar_one())


def test_epochs_handed_over_in_a_held_block_wait_for_its_end_and_go_in_one_transaction(store: TrialStore) -> None:
    trials = [store.create_trial("train", {"k": k}, name=f"h{k}", epochs_planned=1) for k in range(3)]
    inserts: list[str] = []
    event.listen(store.engine, "before_cursor_execute", lambda *a: inserts.append(a[2]) if "INSERT" in a[2] else None)
    with store.outbox.held():
        for trial_id in trials:
            _epoch(store, trial_id, 1)
        time.sleep(OPEN_AFTER_S)  # the writer thread would have written them by now
        assert _stored_epochs(store) == 0
    for trial_id in trials:
        store.finish_trial(trial_id, "completed")
    assert _stored_epochs(store) == 3
    assert len(inserts) == 1  # the three epochs' rows in one statement (of one transaction)


def test_a_write_waited_for_inside_a_held_block_is_written_with_those_before_it(store: TrialStore) -> None:
    trial_id = store.create_trial("train", {"k": 1}, name="waited", epochs_planned=2)
    with store.outbox.held():
        _epoch(store, trial_id, 1)
        store.update_trial(trial_id, notes="inside")  # waits: must not wait for the block's end
        assert _stored_epochs(store) == 1
        _epoch(store, trial_id, 2)
        assert [e.epoch for e in store.epochs(trial_id)] == [1, 2]  # a read waits for the held epoch, too
    assert store.get_trial(trial_id).notes == "inside"
