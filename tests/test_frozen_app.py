"""The frozen app (packaging/build_linux.sh's dist/tunelab, or $TUNELAB_FROZEN): it trains, and knows its version."""

from __future__ import annotations

import json
import os
import subprocess
import tomllib
from pathlib import Path

import pytest

from trainers.store import TrialStore

ROOT = Path(__file__).resolve().parents[1]
FROZEN = Path(os.environ.get("TUNELAB_FROZEN") or ROOT / "dist" / "tunelab" / "tunelab")
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]

pytestmark = pytest.mark.skipif(
    not os.access(FROZEN, os.X_OK), reason="no frozen bundle: run packaging/build_linux.sh first"
)


def run_frozen(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "TUNELAB_DATA_DIR": str(tmp_path)}
    env.pop("TUNELAB_STORE", None)
    return subprocess.run([str(FROZEN), *args], capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)


@pytest.mark.slow
def test_frozen_self_test_trains_on_the_bundled_digits(tmp_path: Path) -> None:
    done = run_frozen("--self-test", tmp_path=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().splitlines()[-1].startswith("tunelab self-test passed: 2 epochs on digits")


@pytest.mark.slow
def test_frozen_version_is_pyproject_version(tmp_path: Path) -> None:
    done = run_frozen("--version", tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"tunelab {VERSION}"


def test_bundle_ships_torch_dynamo_sources_and_the_data() -> None:
    internal = FROZEN.resolve().parent / "_internal"
    assert (internal / "torch" / "_dynamo" / "eval_frame.py").is_file()  # dynamo reads its own sources
    assert (internal / "onnxscript" / "values.py").is_file()  # so does onnxscript's @script, on import
    assert (internal / "resources" / "data" / "digits.csv.gz").is_file()
    assert not list(internal.glob("PySide6/Qt/lib/libQt6WebEngine*"))
    assert not (internal / "triton").exists()


@pytest.mark.slow
def test_frozen_search_runs_its_trials_in_worker_processes_of_the_same_executable(tmp_path: Path) -> None:
    """`--workers 2` starts the frozen executable itself as `tunelab worker` twice (no Python to run -m with)."""
    db = tmp_path / "t.db"
    done = run_frozen(
        "search", "--dataset", "digits", "--train-fraction", "0.2", "--epochs", "2", "--model.hidden_units", "32",
        "--train.checkpoints", "false", "--search.lr", "log:1e-4:1e-1", "--trials", "4", "--workers", "2",
        "--sampler", "random", "--pruner", "median", "--lr-finder-seed", "false", "--json", "--store", str(db),
        tmp_path=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["counts"]["complete"] + out["counts"]["pruned"] == 4 and out["counts"]["failed"] == 0
    with TrialStore(str(db)) as store:
        trials = store.list_trials(kind="train")
    assert len(trials) == 4 and {t.extra["worker"] for t in trials} <= {0, 1}
    assert all(t.host and t.status in ("completed", "pruned") for t in trials)


@pytest.mark.slow
def test_frozen_export_checks_onnx_against_torch_and_logs_to_tensorboard(tmp_path: Path) -> None:
    """The exporter (torch.onnx's dynamo path, onnxscript), ONNX Runtime and tensorboardX work inside the bundle."""
    db = str(tmp_path / "t.db")
    trained = run_frozen(
        "train", "--dataset", "digits", "--train-fraction", "0.2", "--epochs", "1", "--model.hidden_units", "32",
        "--store", db, "--quiet", tmp_path=tmp_path,
    )  # fmt: skip
    assert trained.returncode == 0, trained.stdout + trained.stderr
    trial_id = str(json.loads(trained.stdout.strip().splitlines()[-1])["trial_id"])
    exported = run_frozen("export", trial_id, "-o", str(tmp_path / "model"), "--store", db, tmp_path=tmp_path)
    assert exported.returncode == 0, exported.stdout + exported.stderr
    signature = json.loads((tmp_path / "model" / "signature.json").read_text())
    assert signature["check"]["passed"] is True
    logged = run_frozen(
        "tensorboard-export", trial_id, "--logdir", str(tmp_path / "tb"), "--store", db, tmp_path=tmp_path
    )
    assert logged.returncode == 0, logged.stdout + logged.stderr
    assert list((tmp_path / "tb").rglob("events.out.tfevents.*"))  # tensorboardX (protobuf) inside the bundle
