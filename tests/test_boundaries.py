"""The engine and the CLI load no Qt: checked in a fresh interpreter and by import-linter."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]
QT_MODULES = ("PySide6", "pyqtgraph", "qasync", "shiboken6")


def _modules_after(code: str) -> set[str]:
    probe = f"{code}\nimport sys\nprint('\\n'.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    return {line.split(".")[0] for line in out.stdout.splitlines()}


@pytest.mark.slow
def test_importing_the_engine_loads_no_qt() -> None:
    loaded = _modules_after("import trainers, trainers.api, trainers.cli.main, trainers.store, trainers.models")
    assert "torch" in loaded  # the probe really imported the engine
    assert not loaded & set(QT_MODULES)


@pytest.mark.slow
def test_running_a_cli_command_loads_no_qt() -> None:
    loaded = _modules_after("import app.__main__ as m\ntry:\n    m.main(['history'])\nexcept SystemExit:\n    pass")
    assert "trainers" in loaded
    assert not loaded & set(QT_MODULES)


CONTRACTS = (
    "The engine never imports Qt",
    "The window reaches the engine only through trainers.api and trainers.spec",
    "No import cycles between the packages of the engine or the window",
)


def _lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert exe, "import-linter is part of the test extras"
    # the packages under `cwd` come first on the path, so a copy is checked instead of the installed tree
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run([exe, "--no-cache"], cwd=cwd, capture_output=True, text=True, env=env)


@pytest.mark.slow
def test_import_linter_contracts_hold() -> None:
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    for name in CONTRACTS:
        assert f"{name} KEPT" in result.stdout


@pytest.mark.slow
@pytest.mark.parametrize(
    "planted",
    [
        "import trainers.lr_finder.sweep",
        "from trainers.ensembles import stacked_fit",
        "from trainers.training.loop import Learner",
    ],
)
def test_a_planted_engine_import_in_the_window_breaks_the_contract(tmp_path: Path, planted: str) -> None:
    """The surface is an allow-list: any engine module outside trainers.api and trainers.spec is refused,
    including modules no contract names."""
    for part in ("app", "trainers"):
        shutil.copytree(ROOT / part, tmp_path / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / "app" / "about_dialog.py"
    target.write_text(target.read_text() + f"\n{planted}  # planted by the test\n")
    result = _lint_imports(tmp_path)
    assert result.returncode != 0
    assert "The window reaches the engine only through trainers.api and trainers.spec BROKEN" in result.stdout
    assert "app.about_dialog -> trainers." in result.stdout


def test_no_module_imports_itself_through_a_cycle() -> None:
    """Module-level cycles, which the package-level contract does not see (imports inside functions count)."""
    graph = grimp.build_graph("trainers", "app")
    ours = {m for m in graph.modules if m.split(".")[0] in ("trainers", "app")}
    edges = {m: {x for x in graph.find_modules_directly_imported_by(m) if x in ours} for m in ours}
    cycles = [c for c in _strongly_connected(edges) if len(c) > 1]
    assert cycles == []


def _strongly_connected(edges: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    found.append(component)
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(edges[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return found


def test_tarjan_finds_a_planted_cycle() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert [sorted(c) for c in _strongly_connected(edges) if len(c) > 1] == [["a", "b", "c"]]
