"""Closing the window while a job runs: the question, and every order in which the job and the answer come."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Callable

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox
from window_helpers import shown_window

from app.job_runner import EngineJob
from app.main_window import MainWindow


class Owner:
    """Stands in for a tab: takes the job's events and outcome."""

    def __init__(self) -> None:
        self.outcomes: list = []

    def on_job_events(self, events: list) -> None:
        pass

    def on_job_outcome(self, outcome) -> None:
        self.outcomes.append(outcome)


def gated_job(gate: threading.Event) -> EngineJob:
    """A job that runs until `gate` opens or it is asked to stop; it ends as 'stopped' or 'done'."""

    def work(_sink, control) -> str:
        while not gate.is_set():
            if control.stop_requested:
                return "stopped"
            time.sleep(0.005)
        return "done"

    return EngineJob(work, "Training", "Training")


@pytest.fixture
def window(qtbot) -> Iterator[MainWindow]:
    with shown_window(qtbot) as w:
        yield w


def start(window: MainWindow, gate: threading.Event) -> Owner:
    owner = Owner()
    assert window.runner.start(gated_job(gate), owner)
    return owner


def open_question() -> QMessageBox | None:
    boxes = [w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()]
    return boxes[0] if boxes else None


def close_and_answer(qtbot, window: MainWindow, before: Callable[[QMessageBox], None], button) -> None:
    """Close the window; once the question shows, run `before` (events happen meanwhile), then press `button`.

    Driven from a timer, so it works whether the question blocks close() or not."""
    done: list[bool] = []

    def answer() -> None:
        box = open_question()
        if box is None:
            QTimer.singleShot(10, answer)
            return
        before(box)
        box.button(button).click()
        done.append(True)

    QTimer.singleShot(0, answer)
    window.close()
    qtbot.waitUntil(lambda: bool(done), timeout=10_000)


def test_job_ends_while_asking_then_yes_closes(qtbot, window: MainWindow) -> None:
    gate = threading.Event()
    start(window, gate)
    texts: list[str] = []

    def job_ends(box: QMessageBox) -> None:
        texts.append(box.text())
        gate.set()
        qtbot.waitUntil(lambda: window.runner.idle, timeout=10_000)
        texts.append(box.text())

    close_and_answer(qtbot, window, job_ends, QMessageBox.StandardButton.Yes)
    assert "in progress" in texts[0]
    assert "in progress" not in texts[1] and "ended" in texts[1]  # the question follows the job
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=5000)


def test_job_ends_while_asking_then_no_keeps_the_window_and_the_next_close_asks(qtbot, window: MainWindow) -> None:
    gate = threading.Event()
    start(window, gate)

    def job_ends(_box: QMessageBox) -> None:
        gate.set()
        qtbot.waitUntil(lambda: window.runner.idle, timeout=10_000)

    close_and_answer(qtbot, window, job_ends, QMessageBox.StandardButton.No)
    qtbot.wait(50)
    assert window.isVisible()
    second = threading.Event()
    owner = start(window, second)
    asked: list[str] = []
    close_and_answer(qtbot, window, lambda box: asked.append(box.text()), QMessageBox.StandardButton.No)
    assert asked and "in progress" in asked[0]  # a close during a new run asks again
    assert window.isVisible() and not window.runner.idle and not owner.outcomes  # and No leaves it running
    second.set()
    qtbot.waitUntil(lambda: window.runner.idle, timeout=10_000)
    assert owner.outcomes[0].result == "done"  # the second run was never stopped behind the user's back


def test_yes_after_the_job_ended_then_a_new_run_still_asks(qtbot, window: MainWindow) -> None:
    """The old trap: Yes after the job ended left a 'close after the run' flag that made the next close skip
    the question and stop the next run."""
    gate = threading.Event()
    start(window, gate)

    def job_ends(_box: QMessageBox) -> None:
        gate.set()
        qtbot.waitUntil(lambda: window.runner.idle, timeout=10_000)

    close_and_answer(qtbot, window, job_ends, QMessageBox.StandardButton.Yes)
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=5000)
    window.show()  # opened again (as a test can): a new run must be asked about again
    second = threading.Event()
    owner = start(window, second)
    asked: list[str] = []
    close_and_answer(qtbot, window, lambda box: asked.append(box.text()), QMessageBox.StandardButton.No)
    assert asked and window.isVisible() and not window.runner.idle
    second.set()
    qtbot.waitUntil(lambda: window.runner.idle, timeout=10_000)
    assert owner.outcomes[0].result == "done"


def test_yes_while_running_stops_then_closes(qtbot, window: MainWindow) -> None:
    gate = threading.Event()
    owner = start(window, gate)
    close_and_answer(qtbot, window, lambda _box: None, QMessageBox.StandardButton.Yes)
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=10_000)
    assert window.runner.idle and owner.outcomes[0].result == "stopped"


def test_no_while_running_keeps_running_and_a_second_close_asks_once(qtbot, window: MainWindow) -> None:
    gate = threading.Event()
    owner = start(window, gate)
    close_and_answer(qtbot, window, lambda _box: None, QMessageBox.StandardButton.No)
    assert window.isVisible() and not window.runner.idle
    close_and_answer(qtbot, window, lambda _box: None, QMessageBox.StandardButton.Yes)
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=10_000)
    assert owner.outcomes[0].result == "stopped"


def test_closing_twice_while_asking_shows_one_question(qtbot, window: MainWindow) -> None:
    gate = threading.Event()
    start(window, gate)
    counts: list[int] = []

    def close_again(_box: QMessageBox) -> None:
        window.close()
        qtbot.wait(20)
        counts.append(sum(isinstance(w, QMessageBox) and w.isVisible() for w in QApplication.topLevelWidgets()))

    close_and_answer(qtbot, window, close_again, QMessageBox.StandardButton.No)
    assert counts == [1] and window.isVisible()
    gate.set()
