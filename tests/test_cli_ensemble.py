"""`tunelab ensemble` as a user runs it: combine stored trials, train new members, JSON, export, refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_cli import tunelab

from trainers.store import TrialStore


@pytest.mark.slow
def test_combine_the_top_trials_then_train_bagging_with_json_and_export(tmp_path: Path) -> None:
    db = str(tmp_path / "t.db")
    for seed in ("0", "1"):
        assert tunelab("train", "--epochs", "3", "--seed", seed, "--quiet", "--store", db).returncode == 0
    run = tunelab("ensemble", "--method", "soft-vote", "--top", "2", "--store", db)
    assert run.returncode == 0, run.stderr
    assert "ensemble" in run.stdout and "over the best member" in run.stdout and "diversity" in run.stdout
    assert "loaded from the store" in run.stderr

    out_file = tmp_path / "bag"
    run = tunelab(
        "ensemble",
        "--method",
        "bagging",
        "--members",
        "3",
        "--epochs",
        "2",
        "--json",
        "--quiet",
        "--export",
        str(out_file),
        "--store",
        db,
    )
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["status"] == "completed" and out["method"] == "bagging" and len(out["members"]) == 3
    assert set(out["ensemble"]) >= {"val_acc", "val_loss", "test_acc", "test_loss"}
    assert set(out["gains"]) == {"val_acc", "test_acc"} and 0 <= out["diversity"] <= 1
    assert out["exported"] == str(out_file.with_suffix(".tlens")) and Path(out["exported"]).is_file()
    rows = json.loads(tunelab("history", "--json", "--kind", "ensemble", "--store", db).stdout)
    assert sorted(r["kind"] for r in rows) == ["ensemble", "ensemble"]
    assert all(r["rank"] is not None for r in rows)  # ranked with everything else


@pytest.mark.slow
def test_bad_ensemble_flags_exit_2_with_one_line(tmp_path: Path) -> None:
    db = str(tmp_path / "t.db")
    run = tunelab("ensemble", "--method", "soft-vote", "--epochs", "3", "--store", db)
    assert run.returncode == 2 and "a training method" in run.stderr and "Traceback" not in run.stderr
    run = tunelab("ensemble", "--method", "stacking", "--trials", "1,x", "--store", db)
    assert run.returncode == 2 and "ensemble.trials" in run.stderr
    TrialStore(db).close()  # an empty store (a missing one is "no store at ...": tests/test_cli_edges.py)
    run = tunelab("ensemble", "--method", "soft-vote", "--store", db)
    assert run.returncode == 2 and "ensemble.top" in run.stderr and "Traceback" not in run.stderr
    run = tunelab("ensemble", "--method", "snapshot", "--members", "4", "--epochs", "2", "--store", db)
    assert run.returncode == 2 and "train.epochs" in run.stderr
    run = tunelab("ensemble", "--method", "voting", "--store", db)
    assert run.returncode == 2 and "invalid choice" in run.stderr


@pytest.mark.slow
def test_greedy_selection_by_default_and_stacking_that_trails_is_reported_as_soft_voting(tmp_path: Path) -> None:
    db = str(tmp_path / "t.db")
    for seed in ("0", "1", "2"):  # 36 validation samples, one epoch: stacking cannot beat the vote out of fold
        run = tunelab("train", "--epochs", "1", "--val-split", "0.02", "--seed", seed, "--quiet", "--store", db)
        assert run.returncode == 0, run.stderr
    run = tunelab("ensemble", "--store", db)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[0].startswith("ensemble 4: Greedy selection completed")
    assert "best single trial #" in run.stdout and "gain over the best single trial" in run.stdout
    assert "greedy selection" in run.stdout  # what it picked, in the note

    run = tunelab("ensemble", "--method", "greedy-selection", "--pool", "2", "--rounds", "3", "--json", "--store", db)
    out = json.loads(run.stdout)
    assert run.returncode == 0 and out["method"] == "greedy-selection" and out["pool"] == 2
    assert all(m["weight"] == int(m["weight"]) >= 1 for m in out["members"])  # times picked
    assert sum(m["weight"] for m in out["members"]) <= 4 and out["best_single"]["trial_id"] in (1, 2, 3)

    run = tunelab("ensemble", "--method", "stacking", "--top", "3", "--store", db)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[0].startswith("ensemble 6: Soft voting completed")
    assert "trails soft voting's" in run.stdout and "soft voting is the result" in run.stdout
    with TrialStore(db) as store:
        trial = store.get_trial(6)
        assert trial.name == "Soft voting of 3" and trial.extra["ensemble"]["method"] == "soft-vote"
