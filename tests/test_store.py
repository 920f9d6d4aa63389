"""The trial store: round trips, ranking, filters, errors, SQLite settings and store location."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import sqlite3
import subprocess
import sys
import threading
from datetime import UTC
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import make_url, text

from trainers.spec.errors import StoreError
from trainers.store import EpochRecord, TrialRecord, TrialStore, resolve_store_url
from trainers.store.schema import Trial

METRICS = ("train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds", "samples_per_sec")


@pytest.fixture
def store(any_store_url: str):
    """A fresh store on SQLite, and again on PostgreSQL (tests/pg_fixtures.py)."""
    with TrialStore(any_store_url) as s:
        yield s


@pytest.fixture
def sqlite_store(tmp_path: Path):
    with TrialStore(str(tmp_path / "store" / "trials.db")) as s:
        yield s


def _epoch(store: TrialStore, trial_id: int, epoch: int, loss: float = 1.0) -> None:
    store.add_epoch(
        trial_id,
        epoch,
        train_loss=loss,
        train_acc=0.5,
        val_loss=loss + 0.1,
        val_acc=0.4,
        lr=0.01,
        seconds=1.5,
        samples_per_sec=1000.0,
    )


def test_round_trip_of_everything(store: TrialStore) -> None:
    config = {
        "data": {"name": "digits", "val_fraction": 0.1},
        "optim": {"lr": 3e-4, "betas": [0.9, 0.999]},
        "note": "ünïcode ✓",
        "flags": [True, False, None],
    }
    tid = store.create_trial(
        "train",
        config,
        name="first",
        dataset="digits",
        model="mlp",
        optimizer="adamw",
        lr=3e-4,
        batch_size=128,
        dropout=0.1,
        weight_decay=0.01,
        seed=7,
        epochs_planned=3,
        extra={"tag": "a"},
    )
    record = store.get_trial(tid)
    assert record.status == "running" and record.running and record.kind == "train"
    assert record.ended_at is None and record.epochs_run == 0 and record.notes == "" and record.message == ""
    for epoch in (1, 2, 3):
        _epoch(store, tid, epoch, loss=1.0 / epoch)
    store.update_trial(
        tid,
        best_epoch=3,
        best_val_acc=0.93,
        best_val_loss=0.2,
        checkpoint_best=Path("/x/best.pt"),
        extra={"more": [1, 2]},
    )
    store.finish_trial(
        tid, "completed", final_train_loss=0.33, test_acc=0.91, test_loss=0.25, checkpoint_last="/x/last.pt"
    )

    r = store.get_trial(tid)
    assert isinstance(r, TrialRecord)
    assert r.config == config and json.loads(r.config_json) == config
    assert r.extra == {"tag": "a", "more": [1, 2]}
    assert (r.name, r.dataset, r.model, r.optimizer) == ("first", "digits", "mlp", "adamw")
    assert (r.lr, r.batch_size, r.dropout, r.weight_decay, r.seed, r.epochs_planned) == (3e-4, 128, 0.1, 0.01, 7, 3)
    assert (r.epochs_run, r.best_epoch, r.best_val_acc, r.best_val_loss) == (3, 3, 0.93, 0.2)
    assert (r.final_train_loss, r.test_acc, r.test_loss) == (0.33, 0.91, 0.25)
    assert (r.checkpoint_best, r.checkpoint_last) == (str(Path("/x/best.pt")), "/x/last.pt")
    assert r.status == "completed" and not r.running
    for stamp in (r.created_at, r.started_at, r.ended_at):
        assert stamp is not None and stamp.tzinfo == UTC
    assert r.duration_s == pytest.approx((r.ended_at - r.started_at).total_seconds())
    assert r.duration_s >= 0
    assert r.host and r.pid is not None

    epochs = store.epochs(tid)
    assert [e.epoch for e in epochs] == [1, 2, 3]
    assert epochs[1] == EpochRecord(tid, 2, 0.5, 0.5, 0.6, 0.4, 0.01, 1.5, 1000.0)
    assert store.list_trials() == [r]
    assert store.count_trials() == 1


def test_record_has_every_column() -> None:
    columns = [c.key for c in Trial.__table__.columns]
    names = [f.name for f in dataclasses.fields(TrialRecord)]
    assert names == columns + ["config", "extra"]


def test_records_are_frozen(store: TrialStore) -> None:
    tid = store.create_trial("train", {})
    with pytest.raises(dataclasses.FrozenInstanceError):
        store.get_trial(tid).status = "completed"  # type: ignore[misc]


def test_epochs_come_back_ordered_and_nan_is_none(store: TrialStore) -> None:
    tid = store.create_trial("train", {})
    for epoch in (3, 1, 2):
        _epoch(store, tid, epoch)
    store.add_epoch(
        tid,
        4,
        train_loss=float("nan"),
        train_acc=None,
        val_loss=float("inf"),
        val_acc=np.float32(0.5),
        lr=np.float64(0.1),
        seconds=2,
        samples_per_sec=None,
    )
    epochs = store.epochs(tid)
    assert [e.epoch for e in epochs] == [1, 2, 3, 4]
    last = epochs[-1]
    assert last.train_loss is None and last.train_acc is None and last.val_loss == math.inf
    assert last.val_acc == 0.5 and type(last.val_acc) is float and last.seconds == 2.0
    assert store.get_trial(tid).epochs_run == 4


def _ranked(store: TrialStore) -> dict[str, int]:
    ids = {}
    for name, acc, kind in (
        ("mid", 0.5, "train"),
        ("none1", None, "train"),
        ("top", 0.9, "lr_test"),
        ("low", 0.1, "train"),
        ("none2", None, "ensemble"),
    ):
        ids[name] = store.create_trial(kind, {}, name=name)
        if acc is not None:
            store.update_trial(ids[name], best_val_acc=acc)
    return ids


def test_ordering_puts_nulls_last_in_both_directions(store: TrialStore) -> None:
    _ranked(store)
    down = [r.name for r in store.list_trials(order_by="best_val_acc", descending=True)]
    up = [r.name for r in store.list_trials(order_by="best_val_acc", descending=False)]
    assert down[:3] == ["top", "mid", "low"] and set(down[3:]) == {"none1", "none2"}
    assert up[:3] == ["low", "mid", "top"] and set(up[3:]) == {"none1", "none2"}
    assert [r.name for r in store.list_trials(limit=2)] == ["top", "mid"]
    assert [r.name for r in store.list_trials(limit=2, offset=1)] == ["mid", "low"]
    assert [r.name for r in store.list_trials(order_by="id", descending=False)] == [
        "mid",
        "none1",
        "top",
        "low",
        "none2",
    ]


def test_filters_and_counts(store: TrialStore) -> None:
    ids = _ranked(store)
    store.finish_trial(ids["mid"], "completed")
    store.finish_trial(ids["low"], "diverged", message="loss became NaN at step 12", diverged_step=12)
    assert {r.name for r in store.list_trials(kind="train")} == {"mid", "none1", "low"}
    assert {r.name for r in store.list_trials(kind=["lr_test", "ensemble"])} == {"top", "none2"}
    assert [r.name for r in store.list_trials(kind="train", status="completed")] == ["mid"]
    assert {r.name for r in store.list_trials(status=("completed", "diverged"))} == {"mid", "low"}
    assert store.count_trials() == 5
    assert store.count_trials(kind="train") == 3
    assert store.count_trials(status="running") == 3
    assert store.count_trials(kind="train", status="diverged") == 1
    assert store.count_trials(kind="nothing") == 0
    low = store.get_trial(ids["low"])
    assert (low.message, low.diverged_step) == ("loss became NaN at step 12", 12)


def test_finish_keeps_an_earlier_message_unless_given_one(store: TrialStore) -> None:
    tid = store.create_trial("train", {})
    store.update_trial(tid, message="early stop at epoch 4")
    store.finish_trial(tid, "stopped")
    assert store.get_trial(tid).message == "early stop at epoch 4"
    store.finish_trial(tid, "failed", message="CUDA out of memory")
    assert store.get_trial(tid).message == "CUDA out of memory"


def test_notes(store: TrialStore) -> None:
    tid = store.create_trial("train", {})
    store.set_notes(tid, "try a smaller lr\nsecond line")
    assert store.get_trial(tid).notes == "try a smaller lr\nsecond line"
    store.set_notes(tid, "")
    assert store.get_trial(tid).notes == ""


def test_delete_removes_rows_and_checkpoint_folder(store: TrialStore) -> None:
    keep, gone = store.create_trial("train", {}), store.create_trial("train", {})
    for tid in (keep, gone):
        _epoch(store, tid, 1)
        (store.checkpoint_dir(tid) / "best.pt").write_bytes(b"x")
    folder = store.checkpoint_dir(gone)
    store.delete_trial(gone)
    assert not folder.exists()
    assert (store.checkpoint_dir(keep) / "best.pt").exists()
    with pytest.raises(StoreError):
        store.get_trial(gone)
    with store.engine.connect() as conn:
        left = conn.execute(text("SELECT trial_id FROM epoch_metrics")).scalars().all()
    assert left == [keep]
    assert store.count_trials() == 1


def test_foreign_key_cascade_is_on(store: TrialStore) -> None:
    tid = store.create_trial("train", {})
    _epoch(store, tid, 1)
    with store.engine.begin() as conn:
        if store.engine.dialect.name == "sqlite":
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        conn.execute(text("DELETE FROM trials WHERE id = :id"), {"id": tid})
        assert conn.execute(text("SELECT COUNT(*) FROM epoch_metrics")).scalar() == 0


def test_checkpoint_dir_sits_beside_the_database(sqlite_store: TrialStore, tmp_path: Path) -> None:
    tid = sqlite_store.create_trial("train", {})
    folder = sqlite_store.checkpoint_dir(tid)
    db = Path(make_url(sqlite_store.url).database)
    assert folder == db.parent / f"{db.stem}-checkpoints" / str(tid) and folder.is_dir()


def test_two_stores_in_one_folder_keep_separate_checkpoints(tmp_path: Path) -> None:
    with TrialStore(str(tmp_path / "a.db")) as a, TrialStore(str(tmp_path / "b.db")) as b:
        ta, tb = a.create_trial("train", {}), b.create_trial("train", {})
        assert ta == tb == 1
        (a.checkpoint_dir(ta) / "best.pt").write_bytes(b"a")
        (b.checkpoint_dir(tb) / "best.pt").write_bytes(b"b")
        b.delete_trial(tb)
        assert (a.checkpoint_dir(ta) / "best.pt").read_bytes() == b"a"


def test_in_memory_store_keeps_checkpoints_apart_from_the_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TUNELAB_DATA_DIR", str(tmp_path / "data"))
    with TrialStore("sqlite://") as s:
        tid = s.create_trial("train", {})
        assert not s.checkpoint_dir(tid).is_relative_to(tmp_path / "data")
        # An in-memory store is one database for every thread.
        seen: list[int] = []
        thread = threading.Thread(target=lambda: seen.append(s.count_trials()))
        thread.start()
        thread.join()
        assert seen == [1]


@pytest.mark.slow
@pytest.mark.parametrize(
    "call",
    [
        lambda s, t: s.update_trial(t, no_such_field=1),
        lambda s, t: s.update_trial(t, status="completed"),
        lambda s, t: s.update_trial(t, lr="fast"),
        lambda s, t: s.update_trial(t, batch_size=1.5),
        lambda s, t: s.update_trial(t, name=None),
        lambda s, t: s.update_trial(t, extra=[1]),
        lambda s, t: s.finish_trial(t, "done"),
        lambda s, t: s.finish_trial(t, "running"),
        lambda s, t: s.get_trial(t + 100),
        lambda s, t: s.epochs(t + 100),
        lambda s, t: s.update_trial(t + 100, notes="x"),
        lambda s, t: s.finish_trial(t + 100, "completed"),
        lambda s, t: s.delete_trial(t + 100),
        lambda s, t: _epoch(s, t + 100, 1),
        lambda s, t: _epoch(s, t, 1),  # already recorded
        lambda s, t: s.list_trials(order_by="config_json"),
        lambda s, t: s.list_trials(order_by="nope"),
        lambda s, t: s.list_trials(status="complete"),
        lambda s, t: s.create_trial("", {}),
        lambda s, t: s.create_trial("train", {"f": object()}),
        lambda s, t: s.create_trial("train", ["not", "a", "dict"]),
    ],
)
def test_bad_requests_raise_store_error(store: TrialStore, call) -> None:
    tid = store.create_trial("train", {})
    _epoch(store, tid, 1)
    before = store.get_trial(tid)
    with pytest.raises(StoreError):
        call(store, tid)
    assert store.get_trial(tid) == before


def test_closed_store_refuses_calls(tmp_path: Path) -> None:
    s = TrialStore(str(tmp_path / "t.db"))
    s.close()
    with pytest.raises(StoreError, match="closed"):
        s.count_trials()


def test_wal_mode_is_on(sqlite_store: TrialStore, tmp_path: Path) -> None:
    store = sqlite_store
    store.create_trial("train", {})
    raw = sqlite3.connect(tmp_path / "store" / "trials.db")
    try:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        raw.close()
    with store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() > 0


def test_a_reader_thread_alongside_the_writer(store: TrialStore) -> None:
    tid = store.create_trial("train", {})
    errors: list[BaseException] = []
    done = threading.Event()

    def read() -> None:
        try:
            while not done.is_set():
                store.list_trials()
                epochs = store.epochs(tid)
                assert [e.epoch for e in epochs] == list(range(1, len(epochs) + 1))
        except BaseException as exc:  # reported in the main thread
            errors.append(exc)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for epoch in range(1, 101):
            _epoch(store, tid, epoch)
    finally:
        done.set()
        reader.join()
    assert errors == []
    assert len(store.epochs(tid)) == 100


def test_resolve_store_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "a" / "b" / "trials.db"
    assert resolve_store_url(str(target)) == f"sqlite:///{target}"
    assert target.parent.is_dir()
    monkeypatch.chdir(tmp_path)
    assert resolve_store_url("rel/x.db") == f"sqlite:///{tmp_path / 'rel' / 'x.db'}"
    assert resolve_store_url("postgresql+psycopg://u:p@db/tunelab") == "postgresql+psycopg://u:p@db/tunelab"
    monkeypatch.setenv("TUNELAB_STORE", str(tmp_path / "env.db"))
    assert resolve_store_url() == f"sqlite:///{tmp_path / 'env.db'}"
    assert resolve_store_url(str(target)) == f"sqlite:///{target}"  # the argument wins
    monkeypatch.setenv("TUNELAB_STORE", "sqlite:///elsewhere.db")
    assert resolve_store_url() == "sqlite:///elsewhere.db"
    monkeypatch.delenv("TUNELAB_STORE")
    monkeypatch.setenv("TUNELAB_DATA_DIR", str(tmp_path / "data"))
    assert resolve_store_url() == f"sqlite:///{tmp_path / 'data' / 'trials.db'}"


def test_default_store_follows_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUNELAB_STORE", str(tmp_path / "env" / "t.db"))
    with TrialStore() as s:
        s.create_trial("train", {})
    assert (tmp_path / "env" / "t.db").is_file()


@pytest.mark.slow
@pytest.mark.parametrize("make", ["directory", "garbage", "dialect"])
def test_unopenable_store_names_the_location(tmp_path: Path, make: str) -> None:
    if make == "directory":
        where = tmp_path / "is_a_dir.db"
        where.mkdir()
        url = str(where)
    elif make == "garbage":
        where = tmp_path / "garbage.db"
        where.write_bytes(b"this is not a database, just some text" * 100)
        url = str(where)
    else:
        url = "nosuchdb://host/trials"
    with pytest.raises(StoreError) as info:
        TrialStore(url)
    assert (str(where) if make != "dialect" else "nosuchdb://host/trials") in str(info.value)


@pytest.fixture(scope="module")
def shared_store(tmp_path_factory: pytest.TempPathFactory):
    with TrialStore(str(tmp_path_factory.mktemp("hyp") / "trials.db")) as s:
        yield s


_metric = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True))


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(*[_metric] * len(METRICS)), max_size=8))
def test_metric_sequences_round_trip(shared_store: TrialStore, rows: list[tuple]) -> None:
    tid = shared_store.create_trial("train", {})
    for epoch, values in enumerate(rows, start=1):
        shared_store.add_epoch(tid, epoch, **dict(zip(METRICS, values)))
    got = shared_store.epochs(tid)
    assert [e.epoch for e in got] == list(range(1, len(rows) + 1))
    for record, values in zip(got, rows):
        expected = tuple(None if v is None or math.isnan(v) else v for v in values)
        assert tuple(getattr(record, name) for name in METRICS) == expected
    assert shared_store.get_trial(tid).epochs_run == len(rows)


@pytest.mark.slow
def test_processes_opening_a_fresh_store_together(any_store_url: str) -> None:
    db = any_store_url
    repo = Path(__file__).resolve().parents[1]
    code = "import sys\nfrom trainers.store import TrialStore\nTrialStore(sys.argv[1]).create_trial('train', {})\n"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(repo), os.environ.get("PYTHONPATH")]))}
    children = [
        subprocess.Popen([sys.executable, "-c", code, db], cwd=repo, env=env, stderr=subprocess.PIPE) for _ in range(4)
    ]
    errors = [child.communicate(timeout=120)[1] for child in children]
    assert [child.returncode for child in children] == [0] * 4, errors
    with TrialStore(db) as store:
        assert store.count_trials() == 4
