"""Where TuneLab keeps its files: one per-user data folder, overridable by an environment variable."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs


def data_dir() -> Path:
    """$TUNELAB_DATA_DIR when set (tests, portable installs), else the platform's per-user data folder."""
    env = os.environ.get("TUNELAB_DATA_DIR", "").strip()
    return Path(env).expanduser() if env else Path(platformdirs.user_data_dir("tunelab"))


def default_store_path() -> Path:
    return data_dir() / "trials.db"
