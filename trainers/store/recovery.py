"""Finding trials left "running" by a process that no longer exists.

A trial records the pid, host and start time of the process running it, and its process stamps a heartbeat into
the store every few seconds (trainers/store/heartbeat.py). When a store opens, a running trial is marked
"interrupted", keeping its epochs, when its heartbeat is older than the grace period, whichever host ran it (pids
mean nothing across hosts), or when it is of this host and its process is gone (trials of older versions have no
heartbeat, so only this rule applies to them). A pid the OS has since given to another program is told apart by
its start time (Linux).
"""

from __future__ import annotations

import os
import socket
import sys
from datetime import datetime, timedelta
from typing import Callable, cast

from sqlalchemy import select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from trainers.store.schema import RUNNING, Trial

INTERRUPTED_MESSAGE = "the process running it ended unexpectedly"
STALE_MESSAGE = "its process stopped beating (no heartbeat for over {grace:g} s): its host or process is gone"
HOST_ENV = "TUNELAB_HOST"  # the host name trials record (default: the machine's name)

# (pid, recorded start time or None) -> is that very process still running?
AliveCheck = Callable[[int, "int | None"], bool]


def host_name() -> str:
    """The name trials of this process record; TUNELAB_HOST overrides the machine's name (several workers of one
    container, or hosts simulated in tests)."""
    return os.environ.get(HOST_ENV, "").strip() or socket.gethostname()


def process_start_time(pid: int) -> int | None:
    """Start time of `pid` in clock ticks after boot (field 22 of /proc/<pid>/stat); None where
    unknown (not Linux, or no such process)."""
    if not sys.platform.startswith("linux"):
        return None
    fields = _proc_stat_fields(pid)
    return int(fields[19]) if fields is not None else None


def _proc_stat_fields(pid: int) -> list[str] | None:
    """Fields 3.. of /proc/<pid>/stat; the command name (field 2) may hold spaces and parentheses."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            text = f.read()
    except OSError:
        return None
    return text.rpartition(")")[2].split()


def process_alive(pid: int, start: int | None) -> bool:
    """Whether the process that recorded (pid, start) still runs."""
    if pid <= 0:
        return False
    if sys.platform == "win32":
        return _windows_pid_alive(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists but belongs to another user
    if not sys.platform.startswith("linux"):
        return True
    fields = _proc_stat_fields(pid)
    if fields is None:
        return True  # /proc unreadable: cannot tell, so leave the trial alone
    if fields[0] in ("Z", "X"):
        return False  # a zombie has finished running; only its exit status is left
    return start is None or int(fields[19]) == start


def _windows_pid_alive(pid: int) -> bool:
    # os.kill(pid, 0) on Windows terminates the process, so ask the kernel instead.
    import ctypes

    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return ctypes.get_last_error() == 5  # type: ignore[attr-defined]  # access denied: it exists
    try:
        code = ctypes.c_ulong()
        if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
            return True
        return code.value == 259  # STILL_ACTIVE
    finally:
        kernel32.CloseHandle(handle)


def recover_interrupted(session: Session, *, host: str, now: datetime, alive: AliveCheck = process_alive) -> list[int]:
    """Mark this host's running trials whose process is gone as interrupted; return their ids.

    Trials of other hosts are left alone: their processes cannot be seen from here.
    """
    rows = session.execute(
        select(Trial.id, Trial.pid, Trial.process_start).where(Trial.status == RUNNING, Trial.host == host)
    ).all()
    marked: list[int] = []
    for trial_id, pid, start in rows:
        if pid is None or alive(pid, start):
            continue
        # Re-check the status in the UPDATE: another process opening the store may have won the race.
        result = session.execute(
            update(Trial)
            .where(Trial.id == trial_id, Trial.status == RUNNING)
            .values(status="interrupted", message=INTERRUPTED_MESSAGE, ended_at=now)
        )
        if cast(CursorResult, result).rowcount:  # an UPDATE returns a CursorResult
            marked.append(trial_id)
    return marked


def mark_stale(session: Session, *, now: datetime, grace_s: float) -> list[int]:
    """Mark running trials whose heartbeat is older than `grace_s` seconds as interrupted, whichever host ran them;
    return their ids. Trials without a heartbeat (written by an older version) are left to the pid rule."""
    cutoff = now - timedelta(seconds=grace_s)
    stale = (Trial.status == RUNNING, Trial.heartbeat_at.is_not(None), Trial.heartbeat_at < cutoff)
    ids = list(session.scalars(select(Trial.id).where(*stale)))
    message = STALE_MESSAGE.format(grace=grace_s)
    marked: list[int] = []
    for trial_id in ids:
        # The same conditions again in the UPDATE: a trial that beat meanwhile, or another process's mark, wins.
        result = session.execute(
            update(Trial)
            .where(Trial.id == trial_id, *stale)
            .values(status="interrupted", message=message, ended_at=now)
        )
        if cast(CursorResult, result).rowcount:
            marked.append(trial_id)
    return marked
