"""The command line at its edges: read commands on a missing or read-only store, a folder given as the store,
and bad flags refused before torch is imported."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from test_cli import ROOT, tunelab

from trainers.store import TrialStore


@pytest.mark.slow
@pytest.mark.parametrize(
    "command",
    [
        ["history"],
        ["history", "--robust"],
        ["history", "--json"],
        ["diagnose", "1"],
        ["ensemble", "--method", "soft-vote", "--top", "2"],
    ],
)
def test_read_commands_on_a_missing_store_create_nothing(tmp_path: Path, command: list[str]) -> None:
    where = tmp_path / "no" / "such" / "dir" / "s.db"
    run = tunelab(*command, "--store", str(where))
    assert run.returncode == 2, run.stderr
    assert run.stderr.strip().splitlines() == [f"tunelab: error: no store at {where}"]
    assert run.stdout == ""
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_history_lists_a_store_without_changing_it(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    with TrialStore(str(db)) as store:
        trial_id = store.create_trial("train", {}, name="left running")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    con = sqlite3.connect(db)
    con.execute("UPDATE trials SET pid = ? WHERE id = ?", (int(dead.stdout), trial_id))
    con.commit()
    con.close()
    before = db.read_bytes()
    run = tunelab("history", "--store", str(db))
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[1].split()[2] == "running"  # rank, id, status
    assert db.read_bytes() == before  # not marked interrupted by a read


@pytest.mark.slow
@pytest.mark.parametrize("command", [["history"], ["train", "--epochs", "1"]])
def test_a_folder_given_as_the_store_says_so(tmp_path: Path, command: list[str]) -> None:
    run = tunelab(*command, "--store", str(tmp_path))
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [
        f"tunelab: error: {tmp_path} is a directory: give the store as a file inside it, such as "
        f"{tmp_path / 'trials.db'}"
    ]


_MAIN_THEN_MODULES = """
import sys
from app.__main__ import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
print(code, "torch" in sys.modules)
"""


@pytest.mark.slow
@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--lr", "abc"], "optim.lr = 'abc' is invalid"),
        (["--epochs", "-1"], "train.epochs = -1 is invalid"),
        (["--no-such-flag"], "unrecognized arguments: --no-such-flag"),
    ],
)
def test_bad_flags_are_refused_before_torch_is_imported(tmp_path: Path, args: list[str], fragment: str) -> None:
    run = subprocess.run(
        [sys.executable, "-c", _MAIN_THEN_MODULES, "train", *args, "--store", str(tmp_path / "t.db")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ.copy(),
    )
    assert run.stdout.split() == ["2", "False"], run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], run.stderr
    assert list(tmp_path.iterdir()) == []
