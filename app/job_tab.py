"""JobTab: what the tabs running one engine job beside the Training tab share (the LR finder, Ensembles).

A settings form, Run and Stop, the progress bar, the config line, the message line and the drop-down of earlier
jobs in the store. Why Run is disabled now (another job runs, an invalid form) takes the message line until it
clears, then the last real message comes back. The tab brings its own view and says how its job starts, what
its events and outcome show, and how a stored job is listed and loaded.
"""

from __future__ import annotations

from typing import Any, Iterator

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from app.config_model import ConfigModel
from app.earlier_box import EarlierBox
from app.forms.field_form import FieldForm
from app.job_runner import EngineJob, JobRunner
from app.store_reader import StoreReader
from app.training.run_panel import show_message
from app.worker import JobOutcome, one_line
from trainers.spec.config import RunConfig


def push_button(text: str, tooltip: str) -> QPushButton:
    """A button that Enter in a form never presses by accident."""
    button = QPushButton(text)
    button.setToolTip(tooltip)
    button.setAutoDefault(False)
    return button


class JobTab(QWidget):
    run_started = Signal()
    run_finished = Signal(object)  # JobOutcome
    events_received = Signal(object)  # each list of engine events, after the tab's view took it

    CANNOT = "Cannot run"  # how a reason from an invalid form starts

    def __init__(
        self,
        runner: JobRunner,
        config_model: ConfigModel,
        store_url: str | None,
        form: FieldForm[Any],
        earlier: EarlierBox,
        run_button: QPushButton,
        stop_tip: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.runner = runner
        self.config_model = config_model  # the Training tab's run config, for the window
        self.store_url = store_url
        self.last_outcome: JobOutcome | None = None
        self._blocked = ""  # why a job may not start now (another job runs), or ""
        self._engine_ready = False  # trainers.api may be imported on this thread
        self._message = ("", "info")  # the last real message, put back when a blocking reason clears
        self._showing_reason = False
        self._reader: StoreReader | None = None

        self.form = form
        self.config_label = QLabel()
        self.config_label.setWordWrap(True)
        self.run_button = run_button
        self.stop_button = push_button("&Stop", stop_tip)
        self.progress = QProgressBar()
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.earlier = earlier

        self.run_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.stop)
        self.earlier.chosen.connect(self._on_earlier_chosen)
        self.form.changed.connect(self._on_settings_changed)
        self.config_model.changed.connect(self._refresh_state)

    def _inputs_column(
        self,
        title: str,
        before_config: tuple[QWidget, ...] = (),
        after_earlier: tuple[QWidget, ...] = (),
        after_stop: tuple[QWidget, ...] = (),
    ) -> QWidget:
        """The left column: the form in a box titled `title`, the config line, Run / Stop, progress, the message
        and the earlier jobs, with the tab's own widgets where it puts them."""
        settings_box = QGroupBox(title)
        QVBoxLayout(settings_box).addWidget(self.form)
        buttons = QHBoxLayout()
        for button in (self.run_button, self.stop_button, *after_stop):
            buttons.addWidget(button)
        buttons.addStretch(1)
        left = QWidget()
        column = QVBoxLayout(left)
        column.setContentsMargins(4, 4, 4, 4)
        column.addWidget(settings_box)
        for widget in (*before_config, self.config_label):
            column.addWidget(widget)
        column.addLayout(buttons)
        for widget in (self.progress, self.message, self.earlier, *after_earlier):
            column.addWidget(widget)
        column.addStretch(1)
        return left

    def _show_first_state(self) -> None:
        """Called once the tab's own widgets exist: Run and the lines follow the forms from now on."""
        self._set_running(False)
        self._on_settings_changed()

    # ---- what the tab says -------------------------------------------------------------------
    def start(self) -> bool:
        raise NotImplementedError

    def show_earlier(self, trial_id: int) -> bool:
        """Read a stored job now and show it (a pick in the drop-down reads it off the GUI thread instead)."""
        try:
            stored = self._read_earlier(trial_id)
        except Exception as exc:
            self._earlier_unreadable(trial_id, one_line(exc))
            return False
        return self._show_earlier(trial_id, stored)

    def _read_earlier(self, trial_id: int) -> Any:
        """The stored job `trial_id` as the tab shows it (runs on the reader thread)."""
        raise NotImplementedError

    def _show_earlier(self, trial_id: int, stored: Any) -> bool:
        raise NotImplementedError

    def _earlier_unreadable(self, trial_id: int, text: str) -> None:
        raise NotImplementedError

    def _stored_rows(self) -> list[tuple[int, str]]:
        """(trial id, text) of the store's earlier jobs of this tab's kind, newest first."""
        raise NotImplementedError

    def _input_problems(self) -> Iterator[str]:
        """What is wrong with the inputs, most important first ("" for each check that passes)."""
        raise NotImplementedError

    def _config_line(self, cfg: RunConfig | None) -> str:
        raise NotImplementedError

    def _take_outcome(self, outcome: JobOutcome) -> None:
        """The view takes the ended job's result, before Run comes back."""
        raise NotImplementedError

    def _outcome_line(self, outcome: JobOutcome) -> tuple[str, str]:
        raise NotImplementedError

    def _enable_more(self, running: bool) -> None:
        """The tab's other buttons follow whether a job runs."""

    def _read_store(self, select: int | None = None) -> None:
        """The store may have changed (the engine is ready, a job ended): list what the tab shows from it."""
        self.refresh_earlier(select)

    def _on_settings_changed(self) -> None:
        self._refresh_state()

    # ---- state -------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.runner.runs_for(self)

    def run_blocker(self) -> tuple[str, str]:
        """Why Run is disabled now, and the message's style; ("", "") when a job may start."""
        if self._blocked:
            return self._blocked, "warn"
        problem = next((p for p in self._input_problems() if p), "")
        return (f"{self.CANNOT}: {problem}", "error") if problem else ("", "")

    def _settings_problem(self) -> str:
        return self.form.first_error() if self.form.settings() is None else ""

    def _config_problem(self) -> str:
        model = self.config_model
        return f"the Training tab's config is invalid: {model.first_error()}" if model.config() is None else ""

    def set_blocked(self, reason: str) -> None:
        """Keep Run disabled, saying `reason`; "" allows it again."""
        self._blocked = reason
        self._refresh_state()

    def set_engine_ready(self) -> None:
        """The engine is imported: the store can be read."""
        self._engine_ready = True
        self._read_store()

    # ---- actions -----------------------------------------------------------------------------
    def _may_start(self) -> bool:
        return self.runner.idle and not self.run_blocker()[0]

    def _launch(self, job: EngineJob, line: str) -> bool:
        """Ask the runner to start `job`, then lock the form, saying `line` until the job reports."""
        if not self.runner.start(job, self):
            self._show(self.runner.busy_text(), "warn")
            return False
        self.form.set_locked(True)
        self._set_running(True)
        self._show(line)
        self.run_started.emit()
        return True

    def stop(self) -> None:
        if self.running and self.runner.stop():
            self._show("Stopping before the next batch…", "warn")

    # ---- its job, from the runner ------------------------------------------------------------
    def on_job_events(self, events: list) -> None:
        raise NotImplementedError

    def on_job_outcome(self, outcome: JobOutcome) -> None:
        self.form.set_locked(False)
        self.last_outcome = outcome
        self._take_outcome(outcome)
        self._set_running(False)
        self._show(*self._outcome_line(outcome))
        self._engine_ready = True  # the job imported the engine
        self._read_store(select=getattr(outcome.result, "trial_id", None))
        self._showing_reason = False
        self._refresh_state()
        self.run_finished.emit(outcome)

    # ---- earlier jobs ------------------------------------------------------------------------
    @property
    def reader(self) -> StoreReader:
        """The thread the tab's store reads run on, so a slow database never freezes the window."""
        if self._reader is None:
            self._reader = StoreReader(self)
        return self._reader

    def refresh_earlier(self, select: int | None = None) -> None:
        """List the store's earlier jobs (read off the GUI thread); `select` marks the one on show."""
        if self._engine_ready:
            self.reader.submit(
                "earlier", self._stored_rows, lambda rows: self._earlier_listed(rows, select), self._earlier_failed
            )

    def _earlier_listed(self, rows: list[tuple[int, str]], select: int | None) -> None:
        self.earlier.set_rows(rows)
        self.earlier.mark(select)
        self._set_running(self.running)

    def _earlier_failed(self, text: str) -> None:
        self.earlier.set_rows([])
        self._show(f"Could not list earlier {self.earlier.whats}: {text}", "error")
        self._set_running(self.running)

    def _on_earlier_chosen(self, trial_id: int) -> None:
        if not self.running:
            self.reader.submit(
                "shown",
                lambda: self._read_earlier(trial_id),
                lambda stored: self._show_earlier(trial_id, stored),
                lambda text: self._earlier_unreadable(trial_id, text),
            )

    # ---- helpers -----------------------------------------------------------------------------
    def _set_running(self, running: bool, reason: str | None = None) -> None:
        """`reason`: run_blocker()'s, when the caller has it already."""
        if reason is None:
            reason = self.run_blocker()[0]
        self.run_button.setEnabled(not running and not reason)
        self.stop_button.setEnabled(running)
        self.earlier.set_usable(not running)
        self._enable_more(running)

    def _refresh_state(self) -> None:
        """Run's state and the config line follow the forms and the block; a reason replaces the message."""
        if self.running:
            return  # the running job keeps its snapshot; its line stays
        self.config_label.setText(self._config_line(self.config_model.config()))
        reason, kind = self.run_blocker()
        self._set_running(False, reason)
        if reason:
            show_message(self.message, reason, kind)
            self._showing_reason = True
        elif self._showing_reason:
            self._showing_reason = False
            show_message(self.message, *self._message)

    def show_message(self, line: str, kind: str = "info") -> None:
        """Say `line` in the tab's message line (e.g. where a config came from)."""
        self._show(line, kind)

    def _show(self, line: str, kind: str = "info") -> None:
        self._message = (line, kind)
        self._showing_reason = False
        show_message(self.message, line, kind)
