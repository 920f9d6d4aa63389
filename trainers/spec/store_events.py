"""What a run says when its store cannot be reached: its results wait locally and are written once the store is
back (trainers/store/outbox.py), so the window and the CLI can say "store unreachable, retrying"."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable


@dataclass(frozen=True)
class StoreUnreachable:
    """The store refused a write: the run goes on, and what it could not write waits in `spool` and is retried."""

    store: str  # the store as shown to people (never a password)
    reason: str  # the database's own words, one line
    pending: int  # writes waiting (finished epochs, the final status, ...)
    away_s: float  # seconds since the first write that failed
    limit_s: float  # the run stops once the store has been away this long
    spool: str  # the local file holding the waiting writes

    @property
    def line(self) -> str:
        return (
            f"store unreachable, retrying: {self.pending} write(s) waiting for {self.away_s:.0f} s "
            f"(the run stops after {self.limit_s:.0f} s; they are kept in {self.spool})"
        )


@dataclass(frozen=True)
class StoreReachable:
    """The store is back: every write that waited is stored."""

    store: str
    written: int  # writes that waited and are now in the store
    away_s: float

    @property
    def line(self) -> str:
        return f"store reachable again: {self.written} waiting write(s) stored after {self.away_s:.0f} s"


def store_notice(events: Iterable[object]) -> str | None:
    """The line of the latest store event among `events` (for a status line), or None when there is none."""
    line = None
    for event in events:
        if isinstance(event, (StoreUnreachable, StoreReachable)):
            line = event.line
    return line
