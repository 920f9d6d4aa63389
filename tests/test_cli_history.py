"""`tunelab history` ranking, sorting, filtering and robust ranking from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_cli import tunelab

from trainers.cli.main import RANK_BY
from trainers.store import RANK_METRICS


def train(db: str, *flags: str) -> None:
    run = tunelab("train", "--dataset", "digits", "--epochs", "4", "--threads", "1", "--quiet", "--store", db, *flags)
    assert run.returncode == 0, run.stderr


def history(db: str, *flags: str) -> list[dict]:
    run = tunelab("history", "--json", "--store", db, *flags)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


@pytest.mark.slow
def test_history_sorts_filters_and_ranks_robustly(tmp_path: Path) -> None:
    db = str(tmp_path / "t.db")
    for seed in ("0", "1"):
        train(db, "--seed", seed)
    train(db, "--lr", "0.01")
    train(db, "--model", "cnn", "--set", "model.cnn_channels=4")
    rows = history(db)
    assert [r["rank"] for r in rows] == sorted(r["rank"] for r in rows) and rows[0]["rank"] == 1
    assert all(r["diagnosis"] for r in rows)
    accs = [r["best_val_acc"] for r in rows]
    assert accs == sorted(accs, reverse=True)
    assert [r["model"] for r in history(db, "--filter", "model=cnn")] == ["cnn"]
    by_lr = history(db, "--sort", "lr", "--reverse")
    assert by_lr[0]["lr"] == 0.01
    assert [r["lr"] for r in history(db, "--sort=-lr")] == [r["lr"] for r in by_lr]
    robust = history(db, "--robust")
    assert robust[0]["robust_rank"] == 1 and robust[0]["robust_n"] == 2  # the config run with two seeds
    assert {r["robust_rank"] for r in robust[2:]} == {None}  # single seeds get no robust rank
    table = tunelab("history", "--robust", "--store", db).stdout
    assert "robust_mean" in table.splitlines()[0]


@pytest.mark.slow
def test_bad_history_flags_exit_2_with_one_line(tmp_path: Path) -> None:
    run = tunelab("history", "--filter", "colour=red", "--store", str(tmp_path / "t.db"))
    assert run.returncode == 2 and "--filter" in run.stderr and "Traceback" not in run.stderr
    run = tunelab("history", "--sort", "colour", "--store", str(tmp_path / "t.db"))
    assert run.returncode == 2 and "sort" in run.stderr and "Traceback" not in run.stderr


def test_the_cli_offers_exactly_the_stores_ranking_metrics() -> None:
    assert set(RANK_BY) == set(RANK_METRICS)
