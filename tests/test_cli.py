"""`tunelab train` and `tunelab history` as a user runs them, in child processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from trainers.store import TrialStore

ROOT = Path(__file__).resolve().parents[1]


def tunelab(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=os.environ.copy(),
    )


def last_json(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_digits_mlp_20_epochs_reaches_95_percent_and_shows_in_history(tmp_path: Path) -> None:
    db = str(tmp_path / "t.db")
    run = tunelab("train", "--dataset", "digits", "--model", "mlp", "--epochs", "20", "--store", db)
    assert run.returncode == 0, run.stderr
    result = last_json(run.stdout)
    assert set(result) >= {"trial_id", "status", "epochs_run", "best_val_acc", "best_val_loss", "test_acc", "seconds"}
    assert result["status"] == "completed" and result["epochs_run"] == 20
    assert result["best_val_acc"] >= 0.95
    assert "epoch 20/20" in run.stderr  # progress went to stderr, the JSON line alone to stdout
    hist = tunelab("history", "--json", "--store", db)
    rows = json.loads(hist.stdout)
    assert rows[0]["id"] == result["trial_id"] and rows[0]["rank"] == 1
    assert rows[0]["best_val_acc"] == pytest.approx(result["best_val_acc"])


@pytest.mark.slow
def test_config_file_then_flags_override(tmp_path: Path) -> None:
    cfg = tmp_path / "run.toml"
    cfg.write_text('[train]\nepochs = 1\nbatch_size = 256\n[optim]\nname = "sgd"\nlr = 0.05\n')
    run = tunelab("train", "--config", str(cfg), "--lr", "0.2", "--quiet", "--store", str(tmp_path / "t.db"))
    assert run.returncode == 0, run.stderr
    with TrialStore(str(tmp_path / "t.db")) as store:
        trial = store.get_trial(last_json(run.stdout)["trial_id"])
    assert trial.config["optim"] == {**trial.config["optim"], "name": "sgd", "lr": 0.2}
    assert trial.config["train"]["batch_size"] == 256 and trial.epochs_run == 1


@pytest.mark.slow
@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--lr", "-1"], "optim.lr = -1.0 is invalid: a number in (0, 100]"),
        (["--batch-size", "0"], "train.batch_size = 0 is invalid"),
        (["--dropout", "1"], "model.dropout = 1.0 is invalid: a number in [0, 1)"),
        (["--optimizer", "adamax"], "optim.name = 'adamax' is invalid: one of sgd, adam"),
        (["--set", "optim.learning_rate=1"], "optim.learning_rate"),
        (["--dataset", "csv", "--data-path", "/nonexistent/x.csv"], "data.path = '/nonexistent/x.csv' is invalid"),
        (["--epochs", "many"], "train.epochs = 'many' is invalid: an integer"),
    ],
)
def test_bad_flags_exit_2_with_one_clear_message(tmp_path: Path, args: list[str], fragment: str) -> None:
    run = tunelab("train", *args, "--store", str(tmp_path / "t.db"))
    assert run.returncode == 2
    assert fragment in run.stderr
    assert "Traceback" not in run.stderr


@pytest.mark.slow
def test_a_failed_run_exits_nonzero_and_is_stored(tmp_path: Path) -> None:
    bad = tmp_path / "one_class.csv"
    bad.write_text("a,b,label\n" + "".join(f"{i},{i * 2},x\n" for i in range(20)))
    db = str(tmp_path / "t.db")
    run = tunelab("train", "--dataset", "csv", "--data-path", str(bad), "--quiet", "--store", db)
    assert run.returncode == 1
    assert "one_class.csv" in run.stderr and "Traceback" not in run.stderr
    assert last_json(run.stdout)["status"] == "failed"
    with TrialStore(db) as store:
        assert store.list_trials()[0].status == "failed"


@pytest.mark.slow
def test_sigkill_mid_run_leaves_store_readable_and_trial_interrupted(tmp_path: Path) -> None:
    db = str(tmp_path / "t.db")
    first = tunelab("train", "--epochs", "1", "--quiet", "--store", db)
    assert first.returncode == 0, first.stderr
    earlier = last_json(first.stdout)["trial_id"]
    child = subprocess.Popen(
        [sys.executable, "-m", "app", "train", "--epochs", "500", "--batch-size", "16", "--quiet", "--store", db],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        killed_id = None
        while time.monotonic() < deadline:  # wait for a condition, not a fixed time
            with TrialStore(db) as store:
                running = store.list_trials(status="running")
                if running and store.get_trial(running[0].id).epochs_run >= 2:
                    killed_id = running[0].id
                    break
            time.sleep(0.2)
        assert killed_id is not None, "the child never finished two epochs"
        child.send_signal(signal.SIGKILL)
        child.wait(30)
    finally:
        if child.poll() is None:
            child.kill()
    with TrialStore(db) as store:
        killed = store.get_trial(killed_id)
        assert killed.status == "interrupted"
        kept = store.epochs(killed_id)
        assert len(kept) >= 2 and [e.epoch for e in kept] == list(range(1, len(kept) + 1))
        assert store.get_trial(earlier).status == "completed"
        assert len(store.epochs(earlier)) == 1


@pytest.mark.slow
def test_version_and_help_need_no_display_and_no_training() -> None:
    version = tunelab("--version")
    assert version.returncode == 0 and version.stdout.startswith("tunelab ")
    helped = tunelab("train", "--help")
    assert helped.returncode == 0 and "--optim.momentum" in helped.stdout and "--lr" in helped.stdout
