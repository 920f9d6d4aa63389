"""`tunelab diagnose` as a user runs it, on the issue's own overfitting example."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
from test_cli import last_json, tunelab

from trainers.store import TrialStore


@pytest.mark.slow
def test_issue_example_is_diagnosed_as_overfitting_with_its_onset(tmp_path: Path) -> None:
    db = str(tmp_path / "t.db")
    train = tunelab(
        "train",
        "--dataset",
        "digits",
        "--model",
        "mlp",
        "--epochs",
        "60",
        "--train-fraction",
        "0.1",
        "--dropout",
        "0",
        "--weight-decay",
        "0",
        "--quiet",
        "--store",
        db,
    )
    assert train.returncode == 0, train.stderr
    trial = last_json(train.stdout)
    trial_id = str(trial["trial_id"])

    as_json = tunelab("diagnose", trial_id, "--json", "--store", db)
    assert as_json.returncode == 0, as_json.stderr
    d = json.loads(as_json.stdout)
    assert d["trial_id"] == trial["trial_id"] and d["label"] == "overfitting"
    assert abs(d["onset_epoch"] - trial["best_epoch"]) <= 2
    assert [e["name"] for e in d["evidence"]][0] == "onset_epoch"
    assert d["interventions"][0]["changes"] == {"data.train_fraction": 0.2}

    text = tunelab("diagnose", trial_id, "--store", db)
    assert text.returncode == 0, text.stderr
    out = text.stdout
    assert out.startswith(f"trial {trial_id}: overfitting")
    assert f"overfitting began at epoch {d['onset_epoch']}" in out
    assert "evidence:" in out and "interventions, best first:" in out
    assert "1. Train on more data" in out and "--set data.train_fraction=0.2" in out
    assert "--set model.dropout=0.3" in out


@pytest.mark.slow
def test_printed_flags_are_accepted_by_tunelab_train(tmp_path: Path) -> None:
    """'Apply' from the command line: the command an intervention prints starts a valid run."""
    db = str(tmp_path / "t.db")
    first = tunelab("train", "--epochs", "4", "--lr", "1e-6", "--quiet", "--store", db)
    assert first.returncode == 0, first.stderr
    trial_id = str(last_json(first.stdout)["trial_id"])
    out = tunelab("diagnose", trial_id, "--store", db).stdout
    assert "learning rate too low or underfitting" in out
    line = re.search(r"^\s+(tunelab train .+)$", out, re.MULTILINE).group(1)
    assert line == f"tunelab train --from-trial {trial_id} --set optim.lr=1e-05 --store {shlex.quote(db)}"
    second = tunelab(*shlex.split(line)[1:], "--quiet")  # as printed: the first run's config, the change on top
    assert second.returncode == 0, second.stderr
    with TrialStore(db) as store:
        config = store.get_trial(last_json(second.stdout)["trial_id"]).config
    assert config["optim"]["lr"] == 1e-5 and config["train"]["epochs"] == 4


@pytest.mark.slow
def test_unknown_trial_and_range_test_trials_exit_2_without_a_traceback(tmp_path: Path) -> None:
    db = str(tmp_path / "t.db")
    with TrialStore(db) as store:
        lr_test = store.create_trial("lr_test", {})
    missing = tunelab("diagnose", "42", "--store", db)
    assert missing.returncode == 2 and "there is no trial 42 in the store" in missing.stderr
    assert "Traceback" not in missing.stderr and missing.stdout == ""
    not_train = tunelab("diagnose", str(lr_test), "--store", db)
    assert not_train.returncode == 2 and "not a training run" in not_train.stderr
    assert "Traceback" not in not_train.stderr
    bad_id = tunelab("diagnose", "seven", "--store", db)
    assert bad_id.returncode == 2 and "TRIAL_ID" in bad_id.stderr
