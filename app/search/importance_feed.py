"""Parameter importance while a search runs, measured in the job's thread so the window never waits for it.

A Sink in front of the search's own: it passes every event on and, after a trial ends (at most every
MIN_INTERVAL_S, and once more when the search is over), asks the engine for the importance from the study's
storage and passes that on as one more event. No Qt here: it runs in the engine's threads."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from trainers.spec.search_events import SearchStarted, SearchTrialEnded

MIN_INTERVAL_S = 1.0  # PED-ANOVA takes ~15 ms at 20 trials and ~0.2 s at 1,000: never more than a share of a trial
# (storage URL, search id) → the engine's Importances (a dict with .reason and .method)
Measure = Callable[[str, int], Any]


@dataclass(frozen=True)
class SearchImportance:
    """The engine's importance of each searched field after a trial ended, or why there is none yet."""

    values: dict[str, float] = field(default_factory=dict)  # field → share, largest first
    method: str = ""
    reason: str = ""


def importance_event(measured: Any) -> SearchImportance:
    return SearchImportance(
        dict(measured), str(getattr(measured, "method", "")), str(getattr(measured, "reason", "") or "")
    )


class ImportanceFeed:
    def __init__(self, sink: Any, measure: Measure | None, interval: float = MIN_INTERVAL_S) -> None:
        """`sink`: the job's (a trainers Sink; typed loosely because it also carries SearchImportance)."""
        self._sink = sink
        self._measure = measure
        self._interval = interval
        self._lock = threading.Lock()
        self._where: tuple[str, int] | None = None
        self._due = False  # a trial ended since the last measurement
        self._last = -float("inf")

    def emit(self, event: Any) -> None:
        self._sink.emit(event)
        if isinstance(event, SearchStarted) and event.search_id is not None:
            self._where = (event.storage, event.search_id)
        elif isinstance(event, SearchTrialEnded):
            self._due = True
            if time.monotonic() - self._last >= self._interval:
                self._send()

    def finish(self) -> None:
        """The search is over: the last trials' importance, if not measured yet."""
        if self._due:
            self._send()

    def _send(self) -> None:
        if self._measure is None or self._where is None:
            return
        with self._lock:  # worker processes' trials are reported from another thread
            self._due, self._last = False, time.monotonic()
            try:
                event = importance_event(self._measure(*self._where))
            except Exception as exc:  # the search goes on without it
                event = SearchImportance(reason=f"importance could not be measured: {exc}")
        self._sink.emit(event)
