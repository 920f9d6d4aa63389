"""`tunelab lr-find` as a user runs it, and the claim that its valley suggestion trains well on digits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_cli import last_json, tunelab


@pytest.mark.slow
def test_lr_find_json_has_suggestions_agreement_and_the_curve(tmp_path: Path) -> None:
    db = str(tmp_path / "t.db")
    run = tunelab(
        "lr-find",
        "--dataset",
        "digits",
        "--start-lr",
        "1e-6",
        "--end-lr",
        "10",
        "--iterations",
        "60",
        "--mode",
        "exp",
        "--json",
        "--store",
        db,
    )
    assert run.returncode == 0, run.stderr
    out = last_json(run.stdout)
    assert set(out["suggestions"]) == {"steepest", "valley", "min_div_10"}
    assert out["agreed"] is None or (len(out["agreed"]) == 2 and out["agreed"][0] <= out["agreed"][1])
    assert len(out["lrs"]) == len(out["losses"]) <= 60
    assert out["lrs"][0] == 1e-6 and out["lrs"] == sorted(out["lrs"])
    assert out["status"] == "completed"
    hist = tunelab("history", "--json", "--kind", "lr_test", "--store", db)
    rows = json.loads(hist.stdout)
    assert [r["id"] for r in rows] == [out["trial_id"]] and rows[0]["kind"] == "lr_test"


@pytest.mark.slow
def test_lr_find_prints_a_readable_table_without_json(tmp_path: Path) -> None:
    run = tunelab(
        "lr-find",
        "--dataset",
        "digits",
        "--mode",
        "linear",
        "--start-lr",
        "1e-4",
        "--end-lr",
        "0.03",
        "--store",
        str(tmp_path / "t.db"),
    )
    assert run.returncode == 0, run.stderr
    assert "valley" in run.stdout and "min ÷ 10" in run.stdout
    assert "LR finder 1/1" in run.stderr


def test_bad_range_test_flags_exit_2_naming_the_field(tmp_path: Path) -> None:
    run = tunelab("lr-find", "--mode", "cubic", "--store", str(tmp_path / "t.db"))
    assert run.returncode == 2 and "range_test.mode" in run.stderr and "exp, linear" in run.stderr
    run = tunelab("lr-find", "--start-lr", "1", "--end-lr", "0.1", "--store", str(tmp_path / "t.db"))
    assert run.returncode == 2 and "range_test.end_lr" in run.stderr
    assert not (tmp_path / "t.db").exists() or "Traceback" not in run.stderr


@pytest.mark.slow
def test_the_valley_on_digits_with_adam_trains_as_well_as_the_default_rate(tmp_path: Path) -> None:
    db = str(tmp_path / "t.db")
    found = last_json(
        tunelab(
            "lr-find", "--dataset", "digits", "--model", "mlp", "--optimizer", "adam", "--json", "--store", db
        ).stdout
    )
    valley = found["suggestions"]["valley"]
    assert valley is not None and 1e-4 <= valley <= 3e-2
    default = last_json(tunelab("train", "--dataset", "digits", "--epochs", "20", "--store", db).stdout)
    at_valley = last_json(
        tunelab("train", "--dataset", "digits", "--epochs", "20", "--lr", repr(valley), "--store", db).stdout
    )
    assert at_valley["status"] == "completed"
    assert at_valley["best_val_acc"] >= default["best_val_acc"] - 0.01


VERIFY = ("--dataset", "digits", "--epochs", "4", "--set", "data.train_fraction=0.2", "--threads", "1")


@pytest.mark.slow
def test_lr_find_verify_prints_the_evidence_and_the_chosen_rate(tmp_path: Path) -> None:
    db = str(tmp_path / "t.db")
    run = tunelab("lr-find", *VERIFY, "--iterations", "30", "--verify", "--store", db)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert "  checked by short runs (schedule over 4 epochs):" in lines
    evidence = [line.split() for line in lines if line.startswith("    ") and line.split()[0][0].isdigit()]
    assert len([row for row in evidence if row[1] == "1"]) == 4  # every candidate at the first rung
    chosen = [row for row in evidence if row[-1] == "chosen"]
    assert len(chosen) == 1
    use = next(line for line in lines if line.startswith("  use "))
    assert use.split()[-1] == chosen[0][0]  # the rate to use is the one the short runs chose
    assert "checking 4 rates by short runs" in run.stderr and "check 6/6" in run.stderr

    out = last_json(tunelab("lr-find", *VERIFY, "--iterations", "30", "--verify", "--json", "--store", db).stdout)
    v = out["verified"]
    assert out["recommended"] == v["rate"] and v["rate"] in v["candidates"] and len(v["candidates"]) == 4
    assert {"rate", "epochs", "val_loss", "val_acc", "outcome"} <= set(v["rows"][0])
    off = last_json(
        tunelab("lr-find", *VERIFY, "--iterations", "30", "--verify", "false", "--json", "--store", db).stdout
    )
    assert off["verified"] is None and off["recommended"] is not None


def test_a_bad_candidate_count_exits_2_naming_the_field(tmp_path: Path) -> None:
    run = tunelab("lr-find", "--verify", "--verify-candidates", "12", "--store", str(tmp_path / "t.db"))
    assert run.returncode == 2 and "range_test.verify_candidates" in run.stderr and "[2, 8]" in run.stderr
