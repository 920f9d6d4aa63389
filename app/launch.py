"""Start the desktop program: the window first, then the engine imported in the background.

Importing torch takes seconds, so the window is built from modules that never import it and is shown
before the engine loads; parameter counts appear once the background import has finished.
"""

from __future__ import annotations

import asyncio
import sys
import threading

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from app.pyqtgraph_import import import_pyqtgraph
from resources import resource_path

import_pyqtgraph()  # before any window module imports it the ordinary way


def make_application() -> QApplication:
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "tunelab"])
    app.setApplicationName("TuneLab")
    app.setOrganizationName("TuneLab")
    icon = resource_path("icons", "tunelab.svg")
    if icon.is_file():
        app.setWindowIcon(QIcon(str(icon)))
    return app  # type: ignore[return-value]


def run_gui() -> int:
    from app import qt_libraries

    problem = qt_libraries.xcb_problem()  # Qt's own failure aborts the process without naming what is missing
    if problem:
        print(problem, file=sys.stderr)
        return 1
    app = make_application()
    import qasync  # after PySide6, so qasync binds to it

    from app.main_window import MainWindow

    window = MainWindow()
    window.show()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        closed: asyncio.Future[None] = loop.create_future()
        app.lastWindowClosed.connect(lambda: closed.done() or closed.set_result(None))
        await asyncio.sleep(0.05)  # let the first paint happen before the import competes for the CPU
        ready = loop.create_future()
        threading.Thread(target=_warm_up, args=(loop, ready), name="tunelab-engine-import", daemon=True).start()
        done, _ = await asyncio.wait([ready, closed], return_when=asyncio.FIRST_COMPLETED)
        if ready in done and not closed.done():
            error = ready.result()
            if error:
                window.statusBar().showMessage(f"The training engine could not load: {error}")
            else:
                window.engine_ready()
            await closed
        window.wait_for_workers()

    qasync.run(main())
    return 0


def _warm_up(loop: asyncio.AbstractEventLoop, ready: asyncio.Future) -> None:
    from app.jobs import warm_up_engine

    try:
        warm_up_engine()
        error = ""
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
    loop.call_soon_threadsafe(lambda: ready.done() or ready.set_result(error))
