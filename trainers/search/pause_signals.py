"""How the searching process pauses and resumes its `tunelab worker` children.

SIGTSTP pauses a worker's training before its next batch (its heartbeat goes on, so no other worker takes its trial
for dead); SIGCONT resumes it. A worker still starting, before it has set its handlers, is simply stopped by SIGTSTP
and continued by SIGCONT, which is their default action: no signal can end a worker that is not ready for it. Only
workers started by a search take SIGTSTP this way (PAUSABLE_ENV): a worker run in a terminal keeps Ctrl+Z as usual."""

from __future__ import annotations

import os
import signal
from typing import Any

PAUSABLE_ENV = "TUNELAB_WORKER_PAUSABLE"
CAN_PAUSE = hasattr(signal, "SIGTSTP") and hasattr(signal, "SIGCONT")  # not on Windows


def pause_on_signals(control: Any) -> None:
    """In a worker started by a search: SIGTSTP pauses `control` (a RunControl), SIGCONT resumes it."""
    if CAN_PAUSE and os.environ.get(PAUSABLE_ENV) == "1":
        signal.signal(signal.SIGTSTP, lambda signum, frame: control.pause())
        signal.signal(signal.SIGCONT, lambda signum, frame: control.resume())


def pause_signal(paused: bool) -> int:
    """The signal that tells a worker to pause (True) or to go on (False)."""
    return int(signal.SIGTSTP if paused else signal.SIGCONT)
