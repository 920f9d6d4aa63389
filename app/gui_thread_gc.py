"""Python's cyclic garbage collector, run on the GUI thread only.

Automatic collection runs in whichever thread happens to allocate when a threshold is crossed. In a worker
thread (training allocates a great deal) it would destroy unreachable Qt objects there, such as a closed
window's widgets held in a reference cycle; a Qt object destroyed off the GUI thread while the GUI thread
destroys another waits for a Qt lock while holding the GIL the other needs, and the program hangs.
So automatic collection is switched off and a GUI-thread timer collects with the same thresholds instead
(the approach of pyqtgraph's GarbageCollector)."""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QApplication

INTERVAL_MS = 500


class GuiThreadCollector(QObject):
    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)
        self.thresholds = gc.get_threshold()
        gc.disable()
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.collect_due)
        self.timer.start(INTERVAL_MS)

    def collect_due(self) -> None:
        """Collect the generations whose counts passed their thresholds, as automatic collection would."""
        counts = gc.get_count()
        for generation in (2, 1, 0):
            if counts[generation] > self.thresholds[generation]:
                gc.collect(generation)
                return


def collect_on_gui_thread() -> GuiThreadCollector | None:
    """Install the collector once per application (from the GUI thread); later calls return the same one."""
    app = QApplication.instance()
    if app is None:
        return None
    collector = app.findChild(GuiThreadCollector)
    return collector if collector is not None else GuiThreadCollector(app)
