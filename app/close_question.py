"""The question the window asks when it is closed while a job runs, kept true while it is open.

The box is window-modal and non-blocking: the job goes on meanwhile and may end, or another may start, before
the user answers. Its text follows the job on show, and the answer is read when it comes, against what runs
then: Yes with a job still running stops it and closes once it has ended; Yes after it ended closes at once;
No changes nothing. Nothing is remembered after an answer, so the next close during a run asks again.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QMessageBox, QWidget

from app.job_runner import EngineJob

ENDED_TEXT = "The run has ended. Close TuneLab?"


class CloseQuestion(QObject):
    """Asks "Stop and close?" over `window`; `on_yes` runs when the user answers Yes."""

    def __init__(self, window: QWidget, on_yes: Callable[[], None]) -> None:
        super().__init__(window)
        self._window = window
        self._on_yes = on_yes
        self.box: QMessageBox | None = None

    @property
    def open(self) -> bool:
        return self.box is not None

    def ask(self, job: EngineJob | None) -> None:
        """Show the question (once: a second close while it is open only raises it)."""
        if self.box is not None:
            self.box.raise_()
            return
        box = QMessageBox(QMessageBox.Icon.Question, "Stop and close?", "", parent=self._window)
        box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
        box.setDefaultButton(QMessageBox.StandardButton.No)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(self._answered)
        self.box = box
        self.follow(job)
        box.open()

    def follow(self, job: EngineJob | None) -> None:
        """The job on show changed (it ended, or another started): the open question says so."""
        if self.box is not None:
            self.box.setText(job.close_question() if job is not None else ENDED_TEXT)

    def _answered(self, _result: int) -> None:
        box, self.box = self.box, None
        if box is not None and box.clickedButton() is box.button(QMessageBox.StandardButton.Yes):
            self._on_yes()
