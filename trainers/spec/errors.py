"""One exception family per domain, each carrying a message a user can act on."""

from __future__ import annotations

from typing import Any


class TuneLabError(Exception):
    """Base of every error TuneLab reports to a user (GUI message, CLI exit code 2)."""


class ConfigError(TuneLabError):
    """A config value is invalid: names the field, the value and what is allowed."""

    def __init__(self, field: str, value: Any, allowed: str) -> None:
        self.field = field
        self.value = value
        self.allowed = allowed
        super().__init__(f"{field} = {value!r} is invalid: {allowed}")


class DataError(TuneLabError):
    """A dataset cannot be read: names the file, and the row or path where it went wrong."""


class ModelError(TuneLabError):
    """A model cannot be built for this data, or its weights are missing."""


class StoreError(TuneLabError):
    """The trial store cannot be opened or written."""


class StoreMissing(StoreError):
    """A store that must already exist is not there (nothing was created)."""


class ExportError(TuneLabError):
    """A model cannot be exported, or its export does not compute what the model computes: names the file or check."""
