"""Garbage collection happens on the GUI thread only, so a worker thread never destroys Qt objects."""

from __future__ import annotations

import gc
import threading

import pytest
from PySide6.QtWidgets import QWidget

from app.gui_thread_gc import GuiThreadCollector, collect_on_gui_thread
from app.main_window import MainWindow


def test_the_window_switches_automatic_collection_to_a_gui_thread_timer(qtbot, tmp_path) -> None:
    window = MainWindow(store_url=str(tmp_path / "t.db"))
    qtbot.addWidget(window)
    collector = collect_on_gui_thread()
    assert isinstance(collector, GuiThreadCollector) and not gc.isenabled()
    assert collect_on_gui_thread() is collector  # one per application, however many windows
    assert collector.timer.isActive()


@pytest.mark.slow
def test_a_qt_object_in_a_cycle_is_destroyed_on_the_gui_thread(qtbot, tmp_path) -> None:
    window = MainWindow(store_url=str(tmp_path / "t.db"))
    qtbot.addWidget(window)
    collector = collect_on_gui_thread()
    destroyed_in: list[str] = []

    class Cyclic(QWidget):
        def __init__(self) -> None:
            super().__init__()
            self.me = self  # a reference cycle: only the cyclic collector can free it
            self.destroyed.connect(lambda: destroyed_in.append(threading.current_thread().name))

    Cyclic()

    def allocate() -> None:  # what a training thread does: allocate lots, which would trigger a collection
        junk = [[i] for i in range(200_000)]
        del junk

    worker = threading.Thread(target=allocate, name="worker")
    worker.start()
    worker.join()
    assert destroyed_in == []  # the worker's allocations collected nothing
    thresholds = collector.thresholds
    collector.thresholds = (0, 0, 0)  # every generation due at the next tick
    try:
        qtbot.waitUntil(lambda: bool(destroyed_in), timeout=5000)
    finally:
        collector.thresholds = thresholds
    assert destroyed_in == [threading.main_thread().name]
