"""Bundled, read-only files (data, icons, styles). Located by `resource_path`, never by cwd."""

from __future__ import annotations

from pathlib import Path

_ROOT = Path(__file__).resolve().parent


def resource_path(*parts: str) -> Path:
    """Absolute path of a bundled file, e.g. resource_path("data", "digits.csv.gz")."""
    return _ROOT.joinpath(*parts)
