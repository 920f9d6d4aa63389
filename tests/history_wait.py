"""Waiting for a tab's store reads (History's table, the earlier-jobs lists, Ensembles' candidates): they run
on the tab's reader thread and arrive later."""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

TIMEOUT_S = 30.0


def settled(tab: Any, timeout_s: float = TIMEOUT_S) -> None:
    """Process events until no read of the tab (anything with a `reader`) is outstanding (answers may ask for
    more: robust ranks, diagnoses), waiting on the reader's `idle` signal in between."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        QApplication.processEvents()  # zero-interval timers that start the follow-up reads
        reader = tab.reader
        if reader is None or not reader.busy:
            QApplication.processEvents()
            if reader is None or not reader.busy:
                return
            continue
        loop = QEventLoop()
        reader.idle.connect(loop.quit)
        QTimer.singleShot(int((deadline - time.monotonic()) * 1000) + 1, loop.quit)
        loop.exec()
        reader.idle.disconnect(loop.quit)
    raise AssertionError(f"the tab's store reads did not arrive within {timeout_s:.0f} s")


def all_settled(window: Any) -> None:
    """Every tab of the window that reads the store has its answers."""
    for name in ("history", "lr_finder", "ensembles", "search", "predict"):
        tab = getattr(window, name, None)
        if tab is not None:
            settled(tab)
