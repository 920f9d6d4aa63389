"""Artifacts every host can reach: files kept in the store's database in chunks, the policy that decides where a
store's files go, and a checkpoint written on one host loading on another where the first host's files are absent.

A "host" here is what a host changes: its data folder, its cache folder, its working folder and the path at which it
mounts shared folders. Each runs on SQLite and on a real PostgreSQL server (tests/pg_fixtures.py)."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest
import torch
from pg_server import PASSWORD
from sqlalchemy import func, inspect, select, text

from trainers.api import export_ensemble, run_ensemble, run_training
from trainers.cli.main import main
from trainers.ensembles.ensemble_file import read_recipe
from trainers.ensembles.stored_members import checkpoint_of
from trainers.spec.config import RunConfig
from trainers.spec.ensemble_settings import EnsembleSettings
from trainers.spec.errors import StoreError
from trainers.store import TrialStore
from trainers.store.artifact_fetch import local_file, store_cache
from trainers.store.artifact_table import CHUNK_BYTES, Artifact
from trainers.training.checkpoints import load_checkpoint
from trainers.use.export_ensemble import export_ensemble_trial
from trainers.use.trial_model import load_trial_model

QUICK = RunConfig().replace(**{"train.epochs": 1, "train.threads": 1, "train.device": "cpu"})


def _rows(store: TrialStore, trial_id: int | None = None) -> int:
    where = [] if trial_id is None else [Artifact.trial_id == trial_id]
    with store.engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(Artifact).where(*where)) or 0)


def _move_to_host(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str) -> Path:
    """From here on the test is another machine: its own data, cache and working folders."""
    host = tmp_path / name
    host.mkdir()
    monkeypatch.setenv("TUNELAB_DATA_DIR", str(host / "data"))
    monkeypatch.setenv("TUNELAB_CACHE_DIR", str(host / "cache"))
    monkeypatch.chdir(host)
    return host


def _same_weights(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_chunks_round_trip_files_larger_than_a_chunk_and_replace_them_whole(any_store_url: str, tmp_path: Path) -> None:
    data = os.urandom(2 * CHUNK_BYTES + 123)
    src = tmp_path / "big.bin"
    src.write_bytes(data)
    with TrialStore(any_store_url) as store:
        trial = store.create_trial("train", {})
        info = store.artifacts.put_file(trial, "big.bin", src)
        assert (info.size, info.chunks) == (len(data), 3) and _rows(store, trial) == 3
        out = store.artifacts.get_file(trial, "big.bin", tmp_path / "back" / "big.bin")
        assert out.read_bytes() == data
        src.write_bytes(b"small now")  # the same name again: the old chunks go, none is left behind
        store.artifacts.put_file(trial, "big.bin", src)
        assert _rows(store, trial) == 1
        assert store.artifacts.get_file(trial, "big.bin", out).read_bytes() == b"small now"
        empty = tmp_path / "empty.bin"
        empty.write_bytes(b"")
        store.artifacts.put_file(trial, "empty.bin", empty)
        assert store.artifacts.get_file(trial, "empty.bin", tmp_path / "e").read_bytes() == b""
        assert store.artifacts.names(trial) == ["big.bin", "empty.bin"]
        with pytest.raises(StoreError, match="trial 999"):
            store.artifacts.put_file(999, "x", src)
        with pytest.raises(StoreError, match="no stored file best.pt"):
            store.artifacts.get_file(trial, "best.pt", tmp_path / "x")


def test_deleting_a_trial_deletes_its_artifacts(any_store_url: str, tmp_path: Path) -> None:
    src = tmp_path / "f.bin"
    src.write_bytes(os.urandom(1000))
    with TrialStore(any_store_url) as store:
        gone, kept = store.create_trial("train", {}), store.create_trial("train", {})
        for trial in (gone, kept):
            store.artifacts.put_file(trial, "best.pt", src)
            store.artifacts.put_file(trial, "last.pt", src)
        folder = store.checkpoint_dir(gone)
        (folder / "best.pt").write_bytes(b"x")
        store.delete_trial(gone)
        assert _rows(store, gone) == 0 and _rows(store, kept) == 2 and not folder.exists()


def _drop_artifacts_table(url: str) -> None:
    """Make the store look like one written before artifacts existed."""
    with TrialStore(url) as store, store.engine.begin() as conn:
        conn.execute(text("DROP TABLE artifacts"))


def test_an_older_store_gains_the_table_and_reads_as_empty_until_then(any_store_url: str, tmp_path: Path) -> None:
    with TrialStore(any_store_url) as store:
        trial = store.create_trial("train", {})
    _drop_artifacts_table(any_store_url)
    with TrialStore(any_store_url, read_only=True) as reader:  # an older store opens for reading as it is
        assert not reader.artifacts.exists(trial, "best.pt") and reader.artifacts.names(trial) == []
        assert local_file(reader, trial, "/elsewhere/best.pt") is None
        assert not inspect(reader.engine).has_table("artifacts")
    src = tmp_path / "f.bin"
    src.write_bytes(b"weights")
    with TrialStore(any_store_url) as store:  # a writable open brings it up to date
        assert inspect(store.engine).has_table("artifacts")
        store.artifacts.put_file(trial, "best.pt", src)
        assert store.artifacts.exists(trial, "best.pt")


def test_a_read_only_store_refuses_to_store_files(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    with TrialStore(str(db)) as store:
        trial = store.create_trial("train", {})
    with TrialStore(str(db), read_only=True) as reader, pytest.raises(StoreError, match="read-only"):
        reader.artifacts.put_file(trial, "best.pt", db)


@pytest.mark.slow
def test_a_checkpoint_saved_on_one_host_loads_on_another(
    any_store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default policy: on PostgreSQL a finished trial's files go into the database; host B, which has none of
    host A's folders, loads the same weights by the store's URL alone."""
    _move_to_host(monkeypatch, tmp_path, "host-a")
    with TrialStore(any_store_url) as store:
        trial_id = run_training(QUICK, store=store).trial_id
        trial = store.get_trial(trial_id)
        saved, _ = load_checkpoint(trial.checkpoint_best)  # type: ignore[arg-type]
        in_database = store.artifact_policy.in_database
    assert in_database == any_store_url.startswith("postgresql")  # SQLite keeps its folder (measured: faster)
    if not in_database:
        return  # SQLite across hosts: test_an_sqlite_store_moved_to_another_mount_finds_its_folder
    shutil.rmtree(tmp_path / "host-a")  # nothing of host A is left
    _move_to_host(monkeypatch, tmp_path, "host-b")
    with TrialStore(any_store_url) as store:
        loaded = load_trial_model(store, trial_id)
        assert loaded.checkpoint.is_relative_to(tmp_path / "host-b" / "cache")
        assert _same_weights(loaded.model.state_dict(), saved)
        assert store.artifacts.names(trial_id) == ["best.pt", "last.pt"]
        again = checkpoint_of(store.get_trial(trial_id), store)  # the cached copy, checked, not fetched again
        assert again == loaded.checkpoint and again.stat().st_mtime_ns == loaded.checkpoint.stat().st_mtime_ns


def test_a_damaged_cached_copy_is_fetched_again(pg_url: str, tmp_path: Path) -> None:
    src = tmp_path / "best.pt"
    src.write_bytes(os.urandom(5000))
    with TrialStore(pg_url) as store:
        trial = store.create_trial("train", {})
        store.artifacts.put_file(trial, "best.pt", src)
        first = local_file(store, trial, "/host-a/only/best.pt")
        assert first is not None and first.parent.parent == store_cache(store)
        first.write_bytes(b"cut short")
        second = local_file(store, trial, "/host-a/only/best.pt")
    assert second == first and second.read_bytes() == src.read_bytes()


def test_an_sqlite_store_moved_to_another_mount_finds_its_folder(tmp_path: Path) -> None:
    """An SQLite store reaches another host through a shared folder, which may sit at another path there: the
    trial's recorded paths are gone, its folder beside the database is not."""
    with TrialStore(str(tmp_path / "mount-a" / "t.db")) as store:
        trial_id = run_training(QUICK, store=store).trial_id
        recorded = store.get_trial(trial_id).checkpoint_best
    shutil.move(tmp_path / "mount-a", tmp_path / "mount-b")
    assert recorded is not None and not Path(recorded).exists()
    with TrialStore(str(tmp_path / "mount-b" / "t.db")) as store:
        found = checkpoint_of(store.get_trial(trial_id), store)
        assert found == tmp_path / "mount-b" / "t-checkpoints" / str(trial_id) / "best.pt"
        assert _rows(store) == 0  # nothing was copied into the database
        assert checkpoint_of(store.get_trial(trial_id)) is None  # without the store, only recorded paths count


@pytest.mark.slow
def test_an_artifact_root_is_shared_under_any_mount_path(
    any_store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    for host in ("a", "b"):
        (tmp_path / f"mnt-{host}").symlink_to(shared)  # each host mounts the share at its own path
    monkeypatch.setenv("TUNELAB_ARTIFACT_ROOT", str(tmp_path / "mnt-a"))
    with TrialStore(any_store_url) as store:
        assert store.artifact_policy.problem == "" and not store.artifact_policy.in_database
        a = run_training(QUICK, store=store).trial_id
        b = run_training(QUICK.replace(**{"train.seed": 1}), store=store).trial_id
        assert _rows(store) == 0  # the shared folder holds them, not the database
        assert Path(store.get_trial(a).checkpoint_best or "").is_relative_to(tmp_path / "mnt-a")
    (tmp_path / "mnt-a").unlink()
    monkeypatch.setenv("TUNELAB_ARTIFACT_ROOT", str(tmp_path / "mnt-b"))
    monkeypatch.chdir(tmp_path)
    with TrialStore(any_store_url) as store:
        result = run_ensemble(EnsembleSettings(method="soft-vote", trials=f"{a}, {b}"), store=store)
        assert result.status == "completed", result.message
        ensemble_file = Path(store.get_trial(result.trial_id).checkpoint_best or "")
        assert ensemble_file.is_relative_to(tmp_path / "mnt-b") and ensemble_file.resolve().is_relative_to(shared)


@pytest.mark.slow
def test_ensembles_and_exports_reach_a_third_host_through_the_database(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _move_to_host(monkeypatch, tmp_path, "host-a")
    with TrialStore(pg_url) as store:
        a = run_training(QUICK, store=store).trial_id
        b = run_training(QUICK.replace(**{"train.seed": 1}), store=store).trial_id
    shutil.rmtree(tmp_path / "host-a")
    _move_to_host(monkeypatch, tmp_path, "host-b")
    with TrialStore(pg_url) as store:
        result = run_ensemble(EnsembleSettings(method="soft-vote", trials=f"{a}, {b}"), store=store)
        assert result.status == "completed", result.message
        assert store.artifacts.names(result.trial_id) == ["ensemble.tlens"]
    shutil.rmtree(tmp_path / "host-b")
    _move_to_host(monkeypatch, tmp_path, "host-c")
    with TrialStore(pg_url) as store:
        out = export_ensemble(store, result.trial_id, tmp_path / "host-c" / "mine")
        exported = export_ensemble_trial(store, result.trial_id, tmp_path / "host-c" / "onnx")
    assert out.suffix == ".tlens" and read_recipe(out)
    assert (Path(exported.folder) / "model.onnx").is_file() and exported.check.max_abs_diff <= 1e-5


def test_the_policy_follows_the_environment_and_names_an_unusable_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = str(tmp_path / "t.db")
    monkeypatch.setenv("TUNELAB_ARTIFACTS", "database")
    with TrialStore(db) as store:
        assert store.artifact_policy.in_database
    monkeypatch.setenv("TUNELAB_ARTIFACTS", "cloud")
    with pytest.raises(StoreError, match="TUNELAB_ARTIFACTS = 'cloud' is invalid"):
        TrialStore(db)
    monkeypatch.delenv("TUNELAB_ARTIFACTS")
    monkeypatch.setenv("TUNELAB_ARTIFACT_ROOT", str(tmp_path / "not-mounted"))
    with TrialStore(db) as store:
        policy = store.artifact_policy
    assert policy.in_database and policy.folder == tmp_path / "t-checkpoints"
    assert policy.problem == (
        f"artifact root {tmp_path / 'not-mounted'} (TUNELAB_ARTIFACT_ROOT) cannot be used from this host: "
        "no such folder; files go to the store's database"
    )
    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv("TUNELAB_ARTIFACT_ROOT", str(tmp_path / "a-file"))
    with TrialStore(db) as store:
        assert "it is a file, not a folder" in store.artifact_policy.problem


def test_a_trial_finishing_while_the_database_refuses_its_files_keeps_them_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TUNELAB_ARTIFACTS", "database")
    with TrialStore(str(tmp_path / "t.db")) as store:
        trial = store.create_trial("train", {})
        path = store.checkpoint_dir(trial) / "best.pt"
        path.write_bytes(b"weights")

        def refuse(*_args: object) -> None:
            raise StoreError("the trial store could not be written: disk I/O error")

        monkeypatch.setattr(store.artifacts, "put_file", refuse)
        store.finish_trial(trial, "completed", checkpoint_best=str(path))
        stored = store.get_trial(trial)
    assert stored.status == "completed" and path.is_file()
    assert "its files stay on" in stored.message and "disk I/O error" in stored.message


def test_sqlite_blobs_hold_the_chunks(tmp_path: Path) -> None:
    """What a user who opens the file with sqlite3 finds: one row per chunk, its bytes in a blob."""
    src = tmp_path / "f.bin"
    src.write_bytes(b"\x00\x01" * 10)
    with TrialStore(str(tmp_path / "t.db")) as store:
        trial = store.create_trial("train", {})
        store.artifacts.put_file(trial, "best.pt", src)
    with sqlite3.connect(tmp_path / "t.db") as conn:
        rows = conn.execute("SELECT name, chunk_index, size, typeof(data) FROM artifacts").fetchall()
    assert rows == [("best.pt", 0, 20, "blob")]


@pytest.mark.slow
def test_a_worker_that_cannot_reach_the_artifact_root_says_so_in_one_line_first(
    any_store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    tiny = ["--dataset", "digits", "--train-fraction", "0.2", "--epochs", "1", "--train.threads", "1"]
    search = ["search", *tiny, "--search.lr", "log:1e-3:1e-1", "--trials", "1", "--sampler", "random"]
    assert main([*search, "--pruner", "none", "--lr-finder-seed", "false", "--json", "--store", any_store_url]) == 0
    shown = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["storage"]
    storage = shown.replace(":***@", f":{PASSWORD}@")  # printed masked: the user types the password
    monkeypatch.setenv("TUNELAB_ARTIFACT_ROOT", str(tmp_path / "nfs" / "tunelab"))
    assert main(["worker", "--storage", storage, "--study", "search-1", "--worker-index", "2", "--quiet"]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0] == (
        f"worker 2: artifact root {tmp_path / 'nfs' / 'tunelab'} (TUNELAB_ARTIFACT_ROOT) cannot be used from this "
        "host: no such folder; files go to the store's database"
    )
    assert sum("artifact root" in line for line in err) == 1
