"""Picking the torch device a config asks for, with a config error when it is not there."""

from __future__ import annotations

import torch

from trainers.spec.errors import ConfigError

_pinned: torch.device | None = None  # `tunelab worker --device`: every job of this process runs there


def available_devices() -> list[str]:
    found = ["cpu"]
    if torch.cuda.is_available():
        found.append("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        found.append("mps")
    return found


def resolve_device(name: str) -> torch.device:
    """auto → cuda, then mps, then cpu; an explicit device must exist on this machine. A device pinned for the
    process (pin_device) wins over the config's."""
    if _pinned is not None:
        return _pinned
    found = available_devices()
    if name == "auto":
        for preferred in ("cuda", "mps"):
            if preferred in found:
                return torch.device(preferred)
        return torch.device("cpu")
    if name not in found:
        raise ConfigError("train.device", name, "a device present on this machine: " + ", ".join(["auto", *found]))
    return torch.device(name)


def pin_device(name: str, field: str = "--device") -> torch.device:
    """Run every job of this process on `name` ("cpu", "mps", "cuda" or "cuda:N"), whatever the configs say: one
    worker per GPU, without CUDA_VISIBLE_DEVICES. A device this machine lacks is a ConfigError naming `field`."""
    global _pinned
    found = available_devices()
    kind, _, index = name.partition(":")
    count = torch.cuda.device_count() if "cuda" in found else 0
    allowed = ["cpu", *[f"cuda:{i}" for i in range(count)], *(["mps"] if "mps" in found else [])]
    if kind not in found or (index and (kind != "cuda" or not index.isdigit() or int(index) >= count)):
        raise ConfigError(field, name, "a device present on this machine: " + ", ".join(allowed))
    device = torch.device(kind, int(index)) if index else torch.device(kind)
    if device.type == "cuda":
        torch.cuda.set_device(device.index or 0)
        device = torch.device("cuda", device.index or 0)
    _pinned = device
    return device


def unpin_device() -> None:
    global _pinned
    _pinned = None


def device_label(device: torch.device) -> str:
    """The device a trial runs on as stored and shown: "cpu", "mps", or "cuda:N" with the GPU's index."""
    if device.type == "cuda":
        return f"cuda:{device.index if device.index is not None else torch.cuda.current_device()}"
    return device.type


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
