"""The window's event-loop lateness while a person uses it on a slow database: every SQL statement the process
sends waits `delay_ms` first (a SQLAlchemy before_cursor_execute hook on every engine), as a database across a
network does. A 2 ms QTimer records how late each tick fires while the script switches tabs, refreshes History,
selects trials and opens the LR finder's and Ensembles' lists; p50/p99 of the lateness are printed."""

from __future__ import annotations

import os
import statistics
import time
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def add_latency(delay_ms: float) -> None:
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    def slow(*_args: Any) -> None:
        time.sleep(delay_ms / 1000)

    event.listen(Engine, "before_cursor_execute", slow)


def _lateness_probe(app: Any, samples: list[float]) -> Any:
    from PySide6.QtCore import QTimer

    timer = QTimer()
    timer.setInterval(2)
    last = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        samples.append(max(0.0, (now - last[0]) * 1000 - 2))
        last[0] = now

    timer.timeout.connect(tick)
    timer.start()
    return timer


def _pump(app: Any, seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.001)


def _use_the_window(app: Any, window: Any) -> None:
    """What a person does in a minute: every tab, History refreshed and scrolled through, trials selected."""
    from PySide6.QtCore import Qt

    for tab in ("history", "lr_finder", "ensembles", "search", "training", "history"):
        widget = getattr(window, tab, None)
        if widget is not None:
            window.tabs.setCurrentWidget(widget)
            _pump(app, 0.5)
    history = window.history
    for action in ("refresh", "reload"):
        if hasattr(history, action):
            getattr(history, action)()
            _pump(app, 0.5)
    view = getattr(history, "table", None) or getattr(history, "view", None)
    if view is not None and view.model() is not None:
        for row in range(min(10, view.model().rowCount())):
            view.selectRow(row)
            _pump(app, 0.2)
        view.selectAll()  # several trials: the comparison
        _pump(app, 0.5)
        view.scrollToBottom()  # rows not read yet
        _pump(app, 0.5)
        view.sortByColumn(2, Qt.SortOrder.DescendingOrder)  # a new query
        _pump(app, 0.5)


def event_loop_lateness(store_url: str, delay_ms: float) -> tuple[float, float, int]:
    """(p50 ms, p99 ms, ticks) of the window's event loop while used on `store_url` with `delay_ms` per statement."""
    from PySide6.QtWidgets import QApplication

    from app.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    window = MainWindow(store_url=store_url)
    window.show()
    _pump(app, 1.0)
    if hasattr(window, "engine_ready"):
        import trainers.api  # noqa: F401  what the background import does before engine_ready()

        window.engine_ready()
    _pump(app, 1.0)
    add_latency(delay_ms)
    samples: list[float] = []
    timer = _lateness_probe(app, samples)
    _use_the_window(app, window)
    timer.stop()
    window.stop_jobs()
    window.close()
    ordered = sorted(samples)
    p99 = ordered[int(0.99 * (len(ordered) - 1))]
    return statistics.median(ordered), p99, len(ordered)
