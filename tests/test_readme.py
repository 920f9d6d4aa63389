"""The README's two commands stay true: CI runs the second one verbatim."""

from __future__ import annotations

import re
from pathlib import Path

from trainers.spec.config import RunConfig

ROOT = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    block = re.search(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert block, "the README starts with a bash block"
    return [line for line in block.group(1).splitlines() if line and not line.startswith("#")]


def test_readme_opens_with_an_install_and_launch_and_a_test_command() -> None:
    install_and_launch, test = readme_commands()
    assert "pip install -e ." in install_and_launch
    assert install_and_launch.endswith(".venv/bin/tunelab")  # no subcommand: the window
    assert RunConfig().data.source == "digits"  # ...which opens on the bundled set
    assert "pytest" in test and "[test]" in test


def test_readme_screenshot_exists() -> None:
    shots = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", (ROOT / "README.md").read_text())
    assert shots and all((ROOT / s).is_file() for s in shots)


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    assert readme_commands()[1] in (ROOT / ".ci" / "run").read_text()
