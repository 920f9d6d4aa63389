"""Shared test setup: Qt offscreen, and a store that never touches the user's real data directory."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _isolated_store(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own default store and data directory, so nothing leaks between tests."""
    home = tmp_path_factory.mktemp("tunelab-home")
    monkeypatch.setenv("TUNELAB_STORE", str(home / "trials.db"))
    monkeypatch.setenv("TUNELAB_DATA_DIR", str(home))
