"""The version, read from the installed distribution's metadata (pyproject.toml is the one source)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    VERSION = version("tunelab")
except PackageNotFoundError:  # running from a source tree that was never installed
    VERSION = "0.0.0+source"
