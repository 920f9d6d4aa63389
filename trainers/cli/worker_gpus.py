"""`tunelab worker ... --gpus all`: one worker child process per CUDA device, each with `--device cuda:i` and its own
`--worker-index`, so a GPU host needs one command and no CUDA_VISIBLE_DEVICES."""

from __future__ import annotations

import signal
import subprocess
import sys
from typing import Sequence

NO_CUDA = "tunelab worker --gpus all: this host has no CUDA device (torch sees none); use --device cpu instead"


def _without(argv: Sequence[str], flag: str) -> list[str]:
    """`argv` less `flag VALUE` and `flag=VALUE`."""
    out: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == flag:
            skip = True
        elif not arg.startswith(flag + "="):
            out.append(arg)
    return out


def device_commands(argv: Sequence[str], devices: int, base: int = 0, python: str = sys.executable) -> list[list[str]]:
    """The command line of each device's worker: `argv` (the arguments after `tunelab`) without --gpus, --device and
    --worker-index, plus `--device cuda:i --worker-index base+i` (`base`: the parsed --worker-index)."""
    rest = _without(_without(_without(argv, "--gpus"), "--device"), "--worker-index")
    head = [python, "-m", "trainers.cli.main"]
    return [[*head, *rest, "--device", f"cuda:{i}", "--worker-index", str(base + i)] for i in range(devices)]


def cuda_devices() -> int:
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def run_per_device(argv: Sequence[str], base: int = 0) -> int:
    """Start one worker per CUDA device (indices from `base`) and wait for all; SIGTERM is passed on to each. The
    worst exit status."""
    count = cuda_devices()
    if count == 0:
        print(NO_CUDA, file=sys.stderr)
        return 2
    children = [subprocess.Popen(cmd) for cmd in device_commands(argv, count, base)]

    def forward(signum: int, frame: object) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    signal.signal(signal.SIGINT, lambda signum, frame: None)  # Ctrl+C reaches the children from the terminal
    signal.signal(signal.SIGTERM, forward)
    return max(child.wait() for child in children)
