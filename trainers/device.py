"""Picking the torch device a config asks for, with a config error when it is not there."""

from __future__ import annotations

import torch

from trainers.errors import ConfigError


def available_devices() -> list[str]:
    found = ["cpu"]
    if torch.cuda.is_available():
        found.append("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        found.append("mps")
    return found


def resolve_device(name: str) -> torch.device:
    """auto → cuda, then mps, then cpu; an explicit device must exist on this machine."""
    found = available_devices()
    if name == "auto":
        for preferred in ("cuda", "mps"):
            if preferred in found:
                return torch.device(preferred)
        return torch.device("cpu")
    if name not in found:
        raise ConfigError("train.device", name, "a device present on this machine: " + ", ".join(["auto", *found]))
    return torch.device(name)
