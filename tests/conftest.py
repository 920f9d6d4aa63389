"""Shared test setup: Qt offscreen, a store that never touches the user's real data directory, and per-test
copies of a store a module builds once."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from pg_fixtures import any_store_url, pg_cluster, pg_url  # noqa: F401  (fixtures, see tests/pg_fixtures.py)


@pytest.fixture(autouse=True)
def _isolated_store(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own default store and data directory, so nothing leaks between tests."""
    home = tmp_path_factory.mktemp("tunelab-home")
    monkeypatch.setenv("TUNELAB_STORE", str(home / "trials.db"))
    monkeypatch.setenv("TUNELAB_DATA_DIR", str(home))
    monkeypatch.setenv("TUNELAB_CACHE_DIR", str(home / "cache"))  # files fetched from a store's database
    monkeypatch.delenv("TUNELAB_ARTIFACT_ROOT", raising=False)
    monkeypatch.delenv("TUNELAB_ARTIFACTS", raising=False)


@pytest.fixture
def store_url(built_store: Path, tmp_path: Path) -> str:
    """A copy of the module's `built_store` folder (built once per module), so each test changes only its own."""
    for item in built_store.iterdir():
        (shutil.copytree if item.is_dir() else shutil.copy2)(item, tmp_path / item.name)
    return f"sqlite:///{tmp_path / 'trials.db'}"
