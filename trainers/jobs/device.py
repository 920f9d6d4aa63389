"""Picking the torch device a config asks for, with a config error when it is not there."""

from __future__ import annotations

import torch

from trainers.spec.errors import ConfigError


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


def describe_devices() -> str:
    """One line for people (Help → About): the accelerator this PyTorch build can use on this machine."""
    if torch.cuda.is_available():
        names = ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
        return f"CUDA {torch.version.cuda}: {names}"
    if "mps" in available_devices():
        return "Apple GPU (MPS)"
    build = (
        f"CUDA {torch.version.cuda} build of PyTorch, no usable GPU found"
        if torch.version.cuda
        else "CPU-only build of PyTorch"
    )
    return f"CPU ({build}; {torch.get_num_threads()} threads)"
