"""Searches on a real PostgreSQL server (tests/pg_server.py): the study in its own schema beside the store, no
password kept or printed anywhere, `tunelab worker` processes on simulated hosts connecting with PGPASSWORD, and a
worker killed mid-trial whose trial is retried while every finished epoch stays in the store."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.trial import TrialState
from pg_server import PASSWORD, PgCluster
from test_cli import last_json, tunelab
from test_search_engine import LR_SPACE, WORKER_CFG, settings

from trainers.api import TrialStore, load_search_result, run_search, search_trial_events
from trainers.search.importance import param_importance
from trainers.search.storage import SCHEMA, open_storage, study_storage_url
from trainers.search.study import create_search
from trainers.spec.events import ListSink
from trainers.spec.search_space import SearchSpace
from trainers.spec.url_display import safe_url

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--dataset", "digits", "--train-fraction", "0.2", "--epochs", "2", "--train.checkpoints", "false"]
TINY += ["--train.threads", "1", "--model.hidden_units", "64"]


def _tables(cluster: PgCluster, url: str) -> set[tuple[str, str]]:
    rows = cluster.execute(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_schema IN ('public', 'tunelab_optuna')",
        database=url.rsplit("/", 1)[1].split("?")[0],
    )
    return {(str(schema), str(name)) for schema, name in rows}


def _optuna_texts(cluster: PgCluster, url: str) -> str:
    """Everything Optuna keeps as text about studies and trials, in one string."""
    database = url.rsplit("/", 1)[1].split("?")[0]
    texts = []
    for table in (
        "study_user_attributes",
        "study_system_attributes",
        "trial_user_attributes",
        "trial_system_attributes",
    ):
        texts += [str(v) for (v,) in cluster.execute(f"SELECT value_json FROM {SCHEMA}.{table}", database=database)]
    return "\n".join(texts)


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_a_search_keeps_its_study_in_its_own_schema_and_its_password_nowhere(
    pg_cluster: PgCluster, pg_url: str
) -> None:
    sink = ListSink()
    with TrialStore(pg_url) as store:
        result = run_search(
            WORKER_CFG.replace(**{"train.epochs": 2}),
            SearchSpace.from_dict(LR_SPACE, WORKER_CFG),
            settings(trials=3, workers=2),  # worker processes: they get the password through PGPASSWORD
            store=store,
            sink=sink,
        )
        trials = store.list_trials(order_by="id", descending=False)
        ended = search_trial_events(store, result.search_id)  # the masked storage URL, its password from the store's
        kept = load_search_result(store, result.search_id)
        importance = param_importance(store, result.search_id)
    assert result.status == "completed" and result.counts["complete"] == 3, result
    assert (
        len(ended) == 3
        and kept.best_trial_id == result.best_trial_id
        and set(importance) <= set(["optim.lr", "model.dropout"])
    )
    tables = _tables(pg_cluster, pg_url)
    assert {("public", "trials"), (SCHEMA, "trials"), (SCHEMA, "studies")} <= tables  # two `trials`, apart
    assert result.storage == safe_url(study_storage_url(pg_url)) and ":***@" in result.storage
    shown = [repr(e) for e in sink.events] + [t.config_json + t.extra_json for t in trials]
    assert all(PASSWORD not in text for text in shown)
    assert PASSWORD not in _optuna_texts(pg_cluster, pg_url)
    assert {t.extra.get("worker") for t in trials if t.kind == "train"} <= {0, 1}


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_the_cli_prints_the_masked_storage_and_its_workers_connect(pg_cluster: PgCluster, pg_url: str) -> None:
    run = tunelab(
        "search", *TINY, "--search.lr", "log:1e-4:1e-1", "--trials", "3", "--workers", "2", "--sampler", "random",
        "--pruner", "none", "--lr-finder-seed", "false", "--json", "--store", pg_url,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert PASSWORD not in run.stdout + run.stderr
    out = last_json(run.stdout)
    assert out["counts"]["complete"] == 3
    assert out["storage"] == safe_url(study_storage_url(pg_url)) and "tunelab_optuna" in out["storage"]
    hist = json.loads(tunelab("history", "--json", "--kind", "train", "--store", pg_url).stdout)
    assert len(hist) == 3 and PASSWORD not in json.dumps(hist)


# ---- must show: three hosts, one killed mid-trial -----------------------------------------------------------------

HOSTS = ("host-a", "host-b", "host-c")
VICTIM = "host-b"
STORE_GRACE_S = 4  # the store's heartbeat grace (TUNELAB_HEARTBEAT_GRACE_S) for the workers and this process
BUDGET = 4
# Trials of a few seconds (an epoch or two a second on one thread), so a kill after the first epoch is mid-trial.
HOST_CFG = WORKER_CFG.replace(**{"train.epochs": 4, "data.train_fraction": 0.5})


def _start_worker(storage: str, study: str, index: int, host: str) -> subprocess.Popen:
    """`tunelab worker` as a user starts it on a GPU host: a URL without the password, which comes from PGPASSWORD."""
    env = {**os.environ, "PGPASSWORD": PASSWORD, "TUNELAB_HOST": host}
    env["TUNELAB_HEARTBEAT_GRACE_S"] = str(STORE_GRACE_S)
    cmd = [sys.executable, "-m", "trainers.cli.main", "worker", "--storage", storage, "--study", study]
    cmd += ["--worker-index", str(index), "--grace", "2", "--threads", "1", "--quiet"]
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_mid_trial(url: str, host: str, worker: subprocess.Popen, timeout: float = 600) -> None:
    """Until a trial of `host` is running with at least one finished epoch (starting three interpreters that load
    torch takes a while on a busy machine)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert worker.poll() is None, worker.communicate()[1]
        with TrialStore(url, read_only=True) as store:
            running = store.list_trials(kind="train", status="running")
        if any(t.host == host and t.epochs_run >= 1 for t in running):
            return
        time.sleep(0.1)
    raise AssertionError(f"no trial of {host} got past its first epoch in {timeout} s")


def _check_store(url: str, study: optuna.Study) -> list[Any]:
    """Every trial accounted for, and every epoch a worker reported to Optuna present in the store."""
    with TrialStore(url) as store:  # opened after the grace: the killed host's trial is marked interrupted
        train = store.list_trials(kind="train", order_by="id", descending=False)
        epochs = {t.id: [e.epoch for e in store.epochs(t.id)] for t in train}
    for t in train:
        assert epochs[t.id] == list(range(1, t.epochs_run + 1)), (t.id, t.status, epochs[t.id])
    for ot in study.trials:
        reported = sorted(ot.intermediate_values)
        assert set(reported) <= set(epochs[int(ot.user_attrs["trial_id"])]), (ot.number, reported)
    return train


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_three_worker_hosts_finish_a_search_when_one_is_killed_mid_trial(
    pg_cluster: PgCluster, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TUNELAB_HEARTBEAT_GRACE_S", str(STORE_GRACE_S))
    with TrialStore(pg_url):
        pass
    storage = study_storage_url(pg_url)
    space = SearchSpace.from_dict(LR_SPACE, HOST_CFG)
    search = create_search(storage, None, HOST_CFG, space, settings(trials=BUDGET), pg_url)
    bare = storage.replace(f":{PASSWORD}@", "@")
    workers = {host: _start_worker(bare, search.name, i, host) for i, host in enumerate(HOSTS)}
    try:
        _wait_mid_trial(pg_url, VICTIM, workers[VICTIM])
        os.kill(workers[VICTIM].pid, signal.SIGKILL)
        workers[VICTIM].wait(30)
        outputs = {h: p.communicate(timeout=900) for h, p in workers.items() if h != VICTIM}
    finally:
        for p in workers.values():
            if p.poll() is None:
                p.kill()
    for host, (_, err) in outputs.items():
        assert workers[host].returncode == 0, (host, err)
        assert PASSWORD not in err
    study = optuna.load_study(study_name=search.name, storage=open_storage(storage))
    states = [t.state for t in study.trials]
    assert TrialState.RUNNING not in states and TrialState.WAITING not in states
    killed = [t for t in study.trials if t.state == TrialState.FAIL]
    assert len(killed) == 1  # the victim's trial, failed for want of a heartbeat ...
    assert any(t.system_attrs.get("failed_trial") == killed[0].number for t in study.trials)  # ... and run again
    assert sum(s in (TrialState.COMPLETE, TrialState.PRUNED) for s in states) == BUDGET
    train = _check_store(pg_url, study)
    statuses = sorted(t.status for t in train)
    assert statuses == ["completed"] * BUDGET + ["interrupted"], statuses
    interrupted = next(t for t in train if t.status == "interrupted")
    assert interrupted.host == VICTIM and interrupted.epochs_run >= 1  # its finished epochs kept
    assert {t.host for t in train} <= set(HOSTS)
