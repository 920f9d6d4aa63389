"""What the tests of the job tabs share: a main window on a store with the engine imported, typing into a
settings form, running a tab's job to its end, and collecting one kind of its events."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Iterator

import shiboken6
from history_wait import all_settled, settled
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from app.jobs import warm_up_engine
from app.main_window import MainWindow
from trainers.spec.config import RunConfig

RUN_TIMEOUT_MS = 120_000
# What every other tab says while a job runs: the running job's own label and tab, in one sentence.
TRAINING_BUSY = "Training is running (Training tab): this can start once it has ended."
LR_FINDER_BUSY = "An LR finder test is running (LR finder tab): this can start once it has ended."
RERUN_BUSY = "Re-runs with other seeds are running (History tab): this can start once they have ended."
ENSEMBLE_BUSY = "An ensemble build is running (Ensembles tab): this can start once it has ended."


@contextmanager
def shown_window(qtbot, store_url: str | None = None) -> Iterator[MainWindow]:
    """A shown main window (on the default store unless `store_url`); its jobs are stopped and waited for on
    leaving, so no thread outlives a failed test and no running job makes closing ask."""

    def stop_and_wait(window: MainWindow) -> None:
        window.stop_jobs()
        qtbot.waitUntil(lambda: window.runner.idle, timeout=RUN_TIMEOUT_MS)

    w = MainWindow(store_url=store_url)
    # pytest-qt closes and deletes (deleteLater) the widgets it tracks in its teardown hook, before this fixture's
    # own teardown runs: the job must have ended by then, or the window (and the runner waiting for the job's
    # outcome) is deleted while the wait below goes on.
    qtbot.addWidget(w, before_close_func=stop_and_wait)
    w.show()
    qtbot.waitExposed(w)
    try:
        yield w
    finally:
        if shiboken6.isValid(w):  # not yet closed by pytest-qt (a `with` inside a test)
            stop_and_wait(w)


@contextmanager
def window_on(qtbot, store_url: str, tab: str, config: RunConfig | None = None) -> Iterator[MainWindow]:
    """A shown main window on `store_url` with the engine imported, `config` in the Training tab and the tab
    named `tab` ("lr_finder", "history", …) in front; its jobs are stopped and waited for on leaving."""
    with shown_window(qtbot, store_url) as w:
        warm_up_engine()  # what the background import does before engine_ready()
        w.engine_ready()
        if config is not None:
            w.training.form.set_config(config)
        w.tabs.setCurrentWidget(getattr(w, tab))
        all_settled(w)  # the tabs' first reads (History's rows, earlier jobs) run off the GUI thread
        yield w


def type_into(qtbot, tab: Any, name: str, value: str) -> None:
    """Type `value` over what the tab's settings field `name` holds, as a person would."""
    widget = tab.form.editor(name).focus_widget()
    widget.selectAll()
    qtbot.keyClicks(widget, value)


def run_to_end(qtbot, tab: Any, start: Callable[[], Any] | None = None) -> Any:
    """The JobOutcome of the job `start` begins (by default a click on the tab's Run button)."""
    with qtbot.waitSignal(tab.run_finished, timeout=RUN_TIMEOUT_MS) as blocker:
        (start or (lambda: qtbot.mouseClick(tab.run_button, Qt.LeftButton)))()
    if hasattr(tab, "reader"):
        settled(tab)  # what the tab lists from the store once the job ended
    return blocker.args[0]


def collect(tab: Any, event_type: type) -> list:
    """A list that fills with the tab's events of `event_type` as they are delivered."""
    seen: list = []
    tab.events_received.connect(lambda events: seen.extend(e for e in events if isinstance(e, event_type)))
    return seen


def close_while_running(qtbot, window: MainWindow, tab: Any, monkeypatch: Any) -> Any:
    """Close the window while `tab`'s job runs: it asks first, and "No" keeps the window open and the job
    running; "Yes" stops the job and the window closes. Returns the stopped job's JobOutcome."""
    close_and_answer(window, yes=False)
    assert window.isVisible() and tab.running
    with qtbot.waitSignal(tab.run_finished, timeout=RUN_TIMEOUT_MS) as blocker:
        close_and_answer(window, yes=True)
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=5000)
    return blocker.args[0]


def close_and_answer(window: MainWindow, yes: bool) -> None:
    """Close the window while a job runs and answer its (window-modal, non-blocking) question."""
    window.close()
    box = window.close_question.box
    assert box is not None, "closing during a job must ask"
    box.button(QMessageBox.StandardButton.Yes if yes else QMessageBox.StandardButton.No).click()
