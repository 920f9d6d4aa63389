"""Store reads off the GUI thread: a network database answers in tens of milliseconds per statement, which
would freeze the window if the GUI thread waited for it.

A StoreReader owns one reader thread. `submit` queues a read (a callable that calls trainers.api or a
TrialSource) and a callback; the answer comes back to the callback on the GUI thread through a queued signal.
Each consumer (a name) keeps only its latest request: an older one still queued is skipped and an older
answer is dropped, so a refresh typed over another shows only the last. Errors arrive as one line.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass
from functools import partial
from typing import Any, Callable

from PySide6.QtCore import QObject, Signal

from app.worker import one_line

STOP_WAIT_S = 5.0  # a read in progress when the window closes is waited for this long


@dataclass(frozen=True)
class ReadRequest:
    consumer: str  # requests of one consumer replace each other; "" never does
    token: int
    read: Callable[[], Any]
    on_done: Callable[[Any], None]
    on_error: Callable[[str], None] | None


class StoreReader(QObject):
    """One background thread running store reads; results delivered on the GUI thread, latest per consumer."""

    _answered = Signal(object, object, str)  # request, result, error line ("" when the read returned)
    idle = Signal()  # nothing queued or running any more

    def __init__(self, parent: QObject | None = None, name: str = "tunelab-store-reader") -> None:
        super().__init__(parent)
        self._tokens: dict[str, int] = {}
        self._queue: queue.Queue[ReadRequest | None] = queue.Queue()
        self._outstanding = 0
        self._stopped = False
        self._answered.connect(self._deliver)  # emitted in the reader thread, run in this object's (GUI) thread
        self.destroyed.connect(partial(self._queue.put, None))  # its owner closed: the thread ends
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    @property
    def busy(self) -> bool:
        """Whether a read is queued, running or not yet delivered."""
        return self._outstanding > 0

    def submit(
        self,
        consumer: str,
        read: Callable[[], Any],
        on_done: Callable[[Any], None],
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        """Run `read()` on the reader thread; `on_done(result)` (or `on_error(line)`) follows on the GUI thread
        unless a newer request of the same consumer came first."""
        if self._stopped:
            return
        token = self._tokens.get(consumer, 0) + 1
        if consumer:
            self._tokens[consumer] = token
        self._outstanding += 1
        self._queue.put(ReadRequest(consumer, token, read, on_done, on_error))

    def cancel(self, consumer: str) -> None:
        """Drop the consumer's outstanding answer (e.g. its view closed)."""
        self._tokens[consumer] = self._tokens.get(consumer, 0) + 1

    def stop(self) -> None:
        """No more reads; the one running is waited for a few seconds (the thread is a daemon after that)."""
        if self._stopped:
            return
        self._stopped = True
        self._queue.put(None)
        self._thread.join(STOP_WAIT_S)

    def _current(self, request: ReadRequest) -> bool:
        return not request.consumer or self._tokens.get(request.consumer) == request.token

    def _run(self) -> None:  # the reader thread
        while (request := self._queue.get()) is not None:
            result: Any = None
            error = ""
            if self._current(request):  # a superseded request is not worth a round trip
                try:
                    result = request.read()
                except Exception as exc:
                    error = one_line(exc) or type(exc).__name__
            try:
                self._answered.emit(request, result, error)
            except RuntimeError:  # the window is gone
                return
            # The queued answer holds them now, so their last reference goes on the GUI thread, where the
            # callbacks' Qt objects may be destroyed (see app/gui_thread_gc.py).
            del request, result

    def _deliver(self, request: ReadRequest, result: Any, error: str) -> None:  # the GUI thread
        self._outstanding -= 1
        if not self._stopped and self._current(request):
            if error:
                if request.on_error is not None:
                    request.on_error(error)
            else:
                request.on_done(result)
        if self._outstanding == 0:
            self.idle.emit()
