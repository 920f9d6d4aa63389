"""Single runs queued in the store and trained by workers (`tunelab train --queue`, `tunelab worker --queue`,
`--search ID`, `--gpus all`), on SQLite and on a real PostgreSQL server (tests/pg_fixtures.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from trainers.api import queue_reruns, queue_run, run_training
from trainers.cli.main import main
from trainers.cli.worker_gpus import NO_CUDA, device_commands
from trainers.search.storage import study_storage_url
from trainers.search.study import create_search
from trainers.spec.config import RunConfig
from trainers.spec.events import NullSink, RunControl
from trainers.spec.search_settings import SearchSettings
from trainers.spec.search_space import SearchSpace
from trainers.spec.url_display import safe_url
from trainers.store import TrialStore
from trainers.store.queued import claim_queued
from trainers.training.queued_runs import train_claimed

ROOT = Path(__file__).resolve().parents[1]
TINY = RunConfig().replace(
    **{"data.source": "digits", "data.train_fraction": 0.1, "train.epochs": 2, "train.threads": 1}
)
TINY_FLAGS = ["--dataset", "digits", "--train-fraction", "0.1", "--epochs", "2", "--threads", "1"]


def test_a_queued_run_waits_unclaimed_and_is_never_taken_for_dead(any_store_url: str) -> None:
    with TrialStore(any_store_url) as store:
        trial_id = queue_run(store, TINY)
        queued = store.get_trial(trial_id)
        assert (queued.status, queued.pid, queued.epochs_planned, queued.seed) == ("queued", None, 2, TINY.train.seed)
        assert [t.id for t in store.list_trials(status="queued")] == [trial_id]
    os.environ["TUNELAB_HEARTBEAT_GRACE_S"] = "0.01"
    try:
        with TrialStore(any_store_url) as store:  # recovery on open: a queued trial has no process to be dead
            assert store.get_trial(trial_id).status == "queued" and trial_id not in store.recovered_ids
    finally:
        del os.environ["TUNELAB_HEARTBEAT_GRACE_S"]


def test_each_queued_run_is_claimed_once_oldest_first(any_store_url: str) -> None:
    with TrialStore(any_store_url) as store, TrialStore(any_store_url) as other:
        ids = [queue_run(store, TINY.replace(**{"train.seed": s})) for s in range(3)]
        claimed = [claim_queued(store), claim_queued(other), claim_queued(store), claim_queued(other)]
        assert claimed == [*ids, None]
        taken = store.get_trial(ids[1])
        assert taken.status == "running" and taken.pid == os.getpid() and taken.started_at is not None
        for trial_id in ids:
            store.finish_trial(trial_id, "stopped")


def test_a_claimed_run_trains_as_the_queued_trial(any_store_url: str) -> None:
    with TrialStore(any_store_url) as store:
        trial_id = queue_run(store, TINY)
        assert claim_queued(store) == trial_id
        result = run_training(TINY, store=store, queued_trial=trial_id)
        trial = store.get_trial(trial_id)
        assert result.trial_id == trial_id and trial.status == "completed" and trial.epochs_run == 2
        assert [e.epoch for e in store.epochs(trial_id)] == [1, 2] and trial.device == "cpu"
        assert "environment" in trial.extra and len(store.list_trials(kind="train")) == 1


def test_a_claimed_run_deleted_before_it_starts_is_skipped(tmp_path: Path) -> None:
    with TrialStore(str(tmp_path / "t.db")) as store:
        trial_id = queue_run(store, TINY)
        assert claim_queued(store) == trial_id
        store.delete_trial(trial_id)  # taken off the queue in History at the moment a worker claimed it
        assert train_claimed(store, trial_id, NullSink(), RunControl()) is None
        assert store.list_trials() == []


def test_reruns_can_be_queued_with_unused_seeds(tmp_path: Path) -> None:
    with TrialStore(str(tmp_path / "t.db")) as store:
        done = store.create_trial("train", TINY.to_dict(), seed=TINY.train.seed)
        store.finish_trial(done, "completed")
        ids = queue_reruns(store, [done], 2)
        queued = [store.get_trial(i) for i in ids]
    assert [t.status for t in queued] == ["queued", "queued"]
    assert TINY.train.seed not in {t.seed for t in queued} and len({t.seed for t in queued}) == 2


def test_train_queue_prints_the_trial_and_the_worker_trains_it_as_that_id(
    any_store_url: str, capsys: pytest.CaptureFixture
) -> None:
    assert main(["train", *TINY_FLAGS, "--queue", "--store", any_store_url]) == 0
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed["status"] == "queued"
    assert main(["history", "--json", "--store", any_store_url]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert (row["id"], row["status"], row["diagnosis"]) == (printed["trial_id"], "queued", None)  # not run: no label
    assert main(["worker", "--store", any_store_url, "--queue", "--max-trials", "1", "--quiet"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["trials_run"] == 1 and summary["queue"] is True
    with TrialStore(any_store_url) as store:
        trial = store.get_trial(printed["trial_id"])
        assert (trial.status, trial.epochs_run, len(store.list_trials())) == ("completed", 2, 1)


def test_a_queue_worker_with_nothing_queued_leaves_after_idle_exit(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    TrialStore(str(tmp_path / "t.db")).close()
    assert main(["worker", "--store", str(tmp_path / "t.db"), "--queue", "--idle-exit", "0.2", "--quiet"]) == 0
    assert json.loads(capsys.readouterr().out.strip())["trials_run"] == 0


def test_a_worker_given_a_store_that_is_not_there_says_so_and_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    missing = tmp_path / "typo" / "trials.db"
    assert main(["worker", "--store", str(missing), "--queue", "--idle-exit", "0.2", "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert f"no store at {missing}" in err and "--store" in err and "Traceback" not in err
    assert not missing.parent.exists()


def test_worker_modes_are_exclusive(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["worker", "--store", str(tmp_path / "t.db")]) == 2
    assert "exactly one of" in capsys.readouterr().err
    assert main(["worker", "--queue", "--search", "3"]) == 2
    assert main(["worker", "--storage", "x.journal", "--study", "s", "--store", "t.db"]) == 2
    assert "--search ID" in capsys.readouterr().err


def test_gpus_all_without_cuda_says_so_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["worker", "--store", str(tmp_path / "t.db"), "--queue", "--gpus", "all"]) == 2
    assert capsys.readouterr().err.strip() == NO_CUDA


def test_gpus_all_starts_one_worker_per_device_with_its_device_and_index() -> None:
    argv = ["worker", "--store", "db", "--queue", "--gpus", "all", "--device", "cpu", "--worker-index=4"]
    commands = device_commands(argv, 2, base=4, python="py")
    head = ["py", "-m", "trainers.cli.main", "worker", "--store", "db", "--queue"]
    assert commands == [
        [*head, "--device", "cuda:0", "--worker-index", "4"],
        [*head, "--device", "cuda:1", "--worker-index", "5"],
    ]
    assert device_commands(["worker", "--gpus=all", "--queue"], 0) == []


def _worker(store_url: str, host: str, *flags: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "trainers.cli.main", "worker", "--store", store_url, *flags, "--quiet"]
    env = {**os.environ, "TUNELAB_HOST": host}
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_two_worker_processes_take_each_of_four_queued_runs_exactly_once(any_store_url: str) -> None:
    with TrialStore(any_store_url) as store:
        ids = [queue_run(store, TINY.replace(**{"train.seed": seed})) for seed in range(4)]
    workers = [
        _worker(any_store_url, f"host-{i}", "--queue", "--idle-exit", "3", "--worker-index", str(i)) for i in (0, 1)
    ]
    outputs = [w.communicate(timeout=300) for w in workers]
    assert [w.returncode for w in workers] == [0, 0], [err for _, err in outputs]
    ran = [json.loads(out.strip().splitlines()[-1])["trials_run"] for out, _ in outputs]
    assert sum(ran) == 4
    with TrialStore(any_store_url) as store:
        trials = store.list_trials(kind="train", order_by="id", descending=False)
        assert [t.id for t in trials] == ids  # trained as the queued trials, no copies
        assert all(t.status == "completed" and t.epochs_run == 2 for t in trials)
        assert all([e.epoch for e in store.epochs(t.id)] == [1, 2] for t in trials)
    assert sum(t.host == "host-0" for t in trials) == ran[0]


@pytest.mark.slow
def test_worker_search_id_runs_the_stored_searchs_trials(any_store_url: str, capsys: pytest.CaptureFixture) -> None:
    storage = study_storage_url(any_store_url)
    space = SearchSpace.from_dict({"lr": "log:1e-3:1e-1"}, TINY)
    settings = SearchSettings().replace(trials=2, lr_finder_seed=False, pruner="none")
    with TrialStore(any_store_url) as store:
        search_id = store.create_trial("search", TINY.to_dict())
        study = create_search(storage, search_id, TINY, space, settings, any_store_url)
        # kept as `tunelab search` keeps it: the storage without its password, which the worker takes from --store
        store.update_trial(search_id, extra={"search": {"study": study.name, "storage": safe_url(storage)}})
    assert main(["worker", "--store", any_store_url, "--search", str(search_id), "--quiet"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["study"] == study.name and summary["trials_run"] == 2
    with TrialStore(any_store_url) as store:
        trained = store.list_trials(kind="train")
    assert len(trained) == 2 and all(t.status == "completed" and t.extra["search_id"] == search_id for t in trained)
    assert all(t.epochs_run == 2 for t in trained)
