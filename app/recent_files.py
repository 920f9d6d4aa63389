"""The recently opened or saved config files, kept in an INI file in TuneLab's data folder."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings

from trainers.spec.paths import data_dir

MAX_RECENT = 8
_KEY = "recent_configs"


def settings() -> QSettings:
    # An explicit file (not the platform registry) so tests and portable installs stay self-contained.
    return QSettings(str(data_dir() / "settings.ini"), QSettings.IniFormat)


def recent_configs() -> list[str]:
    value = settings().value(_KEY, [])
    paths = [value] if isinstance(value, str) else list(value or [])
    return [p for p in paths if Path(p).is_file()]


def remember_config(path: str | Path) -> list[str]:
    """Put path first in the list (once) and return the new list."""
    p = str(Path(path).expanduser().resolve())
    paths = [p] + [q for q in recent_configs() if q != p]
    s = settings()
    s.setValue(_KEY, paths[:MAX_RECENT])
    s.sync()
    return paths[:MAX_RECENT]
