"""The frozen app (packaging/build_linux.sh's dist/tunelab, or $TUNELAB_FROZEN): it trains, and knows its version."""

from __future__ import annotations

import os
import subprocess
import tomllib
from pathlib import Path

import pytest

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
    assert (internal / "resources" / "data" / "digits.csv.gz").is_file()
    assert not list(internal.glob("PySide6/Qt/lib/libQt6WebEngine*"))
    assert not (internal / "triton").exists()
