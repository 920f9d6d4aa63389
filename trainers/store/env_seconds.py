"""A duration in seconds read from an environment variable: the store's heartbeat grace and its away limit."""

from __future__ import annotations

import os

from trainers.spec.errors import StoreError


def env_seconds(name: str, default: float) -> float:
    """`name`'s value when set, else `default`; anything but a number above 0 is one StoreError naming the variable."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise StoreError(f"{name} = {text!r} is invalid: seconds above 0, such as {default:g}")
    return value
