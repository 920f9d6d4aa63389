"""The engine and the CLI load no Qt: checked in a fresh interpreter and by import-linter."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QT_MODULES = ("PySide6", "pyqtgraph", "qasync", "shiboken6")


def _modules_after(code: str) -> set[str]:
    probe = f"{code}\nimport sys\nprint('\\n'.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    return {line.split(".")[0] for line in out.stdout.splitlines()}


def test_importing_the_engine_loads_no_qt() -> None:
    loaded = _modules_after("import trainers, trainers.api, trainers.cli.main, trainers.store, trainers.models")
    assert "torch" in loaded  # the probe really imported the engine
    assert not loaded & set(QT_MODULES)


def test_running_a_cli_command_loads_no_qt() -> None:
    loaded = _modules_after("import app.__main__ as m\ntry:\n    m.main(['history'])\nexcept SystemExit:\n    pass")
    assert "trainers" in loaded
    assert not loaded & set(QT_MODULES)


def test_import_linter_contract_holds() -> None:
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert exe, "import-linter is part of the test extras"
    result = subprocess.run([exe], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "The engine never imports Qt KEPT" in result.stdout
