"""What a run ran on: versions and the device, kept with every trial so a report can say where a number came from."""

from __future__ import annotations

import platform
import socket
from typing import Any

import torch

from trainers.spec.version import VERSION


def device_name(device: torch.device) -> str:
    """The accelerator's own name (a CUDA card), else the processor as the platform reports it."""
    if device.type == "cuda" and torch.cuda.is_available():
        return torch.cuda.get_device_name(device.index or 0)
    if device.type == "mps":
        return "Apple GPU (MPS)"
    return _cpu_model() or platform.processor() or platform.machine() or "CPU"


def _cpu_model() -> str:
    """The processor's marketing name on Linux ("AMD EPYC 9654 96-Core Processor"); "" elsewhere."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.partition(":")[2].strip()
    except OSError:
        pass
    return ""


def run_environment(device: torch.device | str) -> dict[str, Any]:
    """Plain JSON: TuneLab, PyTorch, CUDA and Python versions, the operating system, the device and the host."""
    dev = torch.device(device)
    return {
        "tunelab": VERSION,
        "torch": torch.__version__,
        "cuda": torch.version.cuda or None,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "device": str(dev),
        "device_name": device_name(dev),
        "threads": torch.get_num_threads(),
        "host": socket.gethostname(),
    }
