"""Where a store lives and how it is opened: plain paths taken literally, read-only opening that never creates
or changes anything, and one clear line for a missing store or a folder given as one."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from trainers.spec.errors import StoreError
from trainers.store import TrialStore, resolve_store_url
from trainers.store.recovery import host_name

REPO = Path(__file__).resolve().parents[1]


def _names(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


@pytest.mark.parametrize("name", ["runs?v1.db", "runs%25x.db", "runs#1.db", "a b.db"])
def test_a_plain_path_is_one_file_named_exactly_so(tmp_path: Path, name: str) -> None:
    with TrialStore(str(tmp_path / name)) as store:
        store.create_trial("train", {})
        folder = store.checkpoint_dir(1)
    assert [p.name for p in tmp_path.iterdir() if p.is_file()] == [name]
    assert folder == tmp_path / f"{Path(name).stem}-checkpoints" / "1"


def test_two_paths_that_differ_after_a_question_mark_are_two_stores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with TrialStore("runs?v1.db") as one:
        one.create_trial("train", {}, name="first")
    with TrialStore("runs?v2.db") as two:
        assert two.list_trials() == []
    assert {"runs?v1.db", "runs?v2.db"} <= _names(tmp_path) and "runs" not in _names(tmp_path)


def test_the_environment_path_is_literal_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUNELAB_STORE", str(tmp_path / "env?x%41.db"))
    with TrialStore() as store:
        store.create_trial("train", {})
    assert (tmp_path / "env?x%41.db").is_file()


def test_an_explicit_url_is_still_parsed_as_one(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/x%3Fy.db"
    assert resolve_store_url(url) == url
    with TrialStore(url) as store:
        store.create_trial("train", {})
    assert (tmp_path / "x?y.db").is_file()


def test_reading_a_missing_store_creates_nothing(tmp_path: Path) -> None:
    where = tmp_path / "no" / "such" / "dir" / "s.db"
    with pytest.raises(StoreError) as info:
        TrialStore(str(where), read_only=True)
    assert str(info.value) == f"no store at {where}"
    assert not (tmp_path / "no").exists()


def test_open_existing_refuses_a_missing_store(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no store at"):
        TrialStore.open_existing(str(tmp_path / "s.db"))
    assert _names(tmp_path) == set()


@pytest.mark.parametrize("read_only", [False, True])
def test_a_folder_given_as_the_store_says_it_is_a_folder(tmp_path: Path, read_only: bool) -> None:
    with pytest.raises(StoreError, match=f"{tmp_path} is a directory"):
        TrialStore(str(tmp_path), read_only=read_only)


def _leftover_running_trial(db: Path) -> int:
    """A store holding a trial whose process has gone, as a kill -9 leaves it."""
    with TrialStore(str(db)) as store:
        trial_id = store.create_trial("train", {"optim": {"lr": 0.1}}, name="left running")
        store.add_epoch(
            trial_id,
            1,
            train_loss=1.0,
            train_acc=0.5,
            val_loss=1.1,
            val_acc=0.4,
            lr=0.01,
            seconds=0.1,
            samples_per_sec=10.0,
        )
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    con = sqlite3.connect(db)
    con.execute(
        "UPDATE trials SET pid = ?, host = ?, process_start = NULL WHERE id = ?",
        (int(child.stdout), host_name(), trial_id),
    )
    con.commit()
    con.close()
    return trial_id


def _status(db: Path, trial_id: int) -> str:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return con.execute("SELECT status FROM trials WHERE id = ?", (trial_id,)).fetchone()[0]
    finally:
        con.close()


@pytest.mark.slow
def test_a_read_only_open_lists_without_recovering_or_writing(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    trial_id = _leftover_running_trial(db)
    before = db.read_bytes()
    with TrialStore(str(db), read_only=True) as store:
        assert [t.status for t in store.list_trials()] == ["running"]
        assert store.recovered_ids == ()
        with pytest.raises(StoreError, match="read-only"):
            store.update_trial(trial_id, notes="x")
        with pytest.raises(StoreError, match="read-only"):
            store.create_trial("train", {})
    assert db.read_bytes() == before and _status(db, trial_id) == "running"
    with TrialStore(str(db)) as writable:  # a writable open still recovers it
        assert writable.recovered_ids == (trial_id,)
    assert _status(db, trial_id) == "interrupted"


# Lists a store as a user without write access: as root (who may write anywhere) the child drops to `nobody`
# after its imports, since the interpreter's own files may not be readable by that user.
_LIST_AS_READER = """
import os, sys
import sqlite3, sqlalchemy.dialects.sqlite.pysqlite
from trainers.store import TrialStore
if os.geteuid() == 0:
    os.setgid(65534)
    os.setuid(65534)
with TrialStore(sys.argv[1], read_only=True) as store:
    print(store.get_trial(int(sys.argv[2])).status, len(store.epochs(int(sys.argv[2]))))
"""


@pytest.mark.slow
def test_a_store_in_a_read_only_folder_can_be_listed(tmp_path: Path) -> None:
    folder = Path(tempfile.mkdtemp(prefix="tunelab-ro-"))  # outside tmp_path, whose parents only root may enter
    db = folder / "s.db"
    try:
        trial_id = _leftover_running_trial(db)
        assert _names(folder) == {"s.db"}  # closed cleanly: no WAL files beside it
        os.chmod(db, 0o444)
        os.chmod(folder, 0o555)
        child = subprocess.run(
            [sys.executable, "-c", _LIST_AS_READER, str(db), str(trial_id)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert child.returncode == 0, child.stderr
        assert child.stdout.split() == ["running", "1"]
        assert _names(folder) == {"s.db"} and _status(db, trial_id) == "running"
    finally:
        os.chmod(folder, 0o755)
        shutil.rmtree(folder)


def test_a_database_without_trials_is_not_a_store(tmp_path: Path) -> None:
    db = tmp_path / "other.db"
    sqlite3.connect(db).close()
    with pytest.raises(StoreError, match="not a TuneLab trial store"):
        TrialStore(str(db), read_only=True)
