"""The LR finder tab: a learning-rate range test on what the Training tab trains.

Left: the test's settings, which training config it uses, Run / Stop, progress, and earlier tests. Right:
the loss-against-rate plot, drawn live, and the suggested rates with a button that puts the chosen one
into the Training tab. The test itself runs in EngineWorker, like training.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QComboBox, QGroupBox, QHBoxLayout, QLabel, QProgressBar, QPushButton,
                               QSplitter, QVBoxLayout, QWidget)

from app import range_test_text as text
from app.forms.range_test_form import RangeTestForm
from app.jobs import range_test_job, stored_range_test, stored_range_tests
from app.plots.range_test_plot import RangeTestPlot
from app.run_panel import show_message
from app.tabs.panes import inputs_beside_view
from app.tabs.range_test_suggestions import SuggestionsPanel
from app.tabs.training_tab import TrainingTab
from app.worker import JobOutcome, one_line
from app.worker_host import WorkerHost
from trainers.events import RangeTestResult, RangeTestStarted, RangeTestStep
from trainers.range_test_settings import RangeTestSettings

NO_TESTS = "(no earlier tests)"
NOT_LOADED = "(loading the engine…)"
PICK = "Choose an earlier test…"


class LrFinderTab(WorkerHost, QWidget):
    run_started = Signal()
    run_finished = Signal(object)      # JobOutcome
    events_received = Signal(object)   # each list of engine events, after the plot took it

    def __init__(self, training_tab: TrainingTab, store_url: str | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.training_tab = training_tab
        self.store_url = store_url
        self.last_outcome: JobOutcome | None = None
        self._blocked = ""             # why a test may not start now (training runs), or ""
        self._engine_ready = False     # trainers.api may be imported on this thread
        self._message = ("", "info")   # the last real message, put back when a blocking reason clears
        self._showing_reason = False
        self._done_before = 0          # progress: iterations of the repeats before the current one

        self.form = RangeTestForm()
        self.config_label = QLabel()
        self.config_label.setWordWrap(True)
        self.run_button = QPushButton("Ru&n test")  # Alt+R belongs to the Run menu
        self.run_button.setToolTip("Run the range test with these settings on the Training tab's config")
        self.stop_button = QPushButton("&Stop")
        self.stop_button.setToolTip("Stop before the next batch (Esc); the partial curve is kept")
        for button in (self.run_button, self.stop_button):
            button.setAutoDefault(False)
        self.progress = QProgressBar()
        self.progress.setFormat("iteration %v / %m")
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.earlier = QComboBox()
        self.earlier.setToolTip("Show a range test from the trial store")
        self.plot = RangeTestPlot()
        self.suggestions = SuggestionsPanel()
        self._lay_out()

        self.run_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.stop)
        self.earlier.activated.connect(self._on_earlier_chosen)
        self.suggestions.use_requested.connect(self.use_lr)
        self.form.settings_changed.connect(self._refresh_state)
        self.training_tab.form.config_changed.connect(self._refresh_state)  # also after validity_changed
        self._set_earlier([], NOT_LOADED)
        self._set_running(False)
        self._refresh_state()

    def _lay_out(self) -> None:
        settings_box = QGroupBox("Range test")
        QVBoxLayout(settings_box).addWidget(self.form)
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.stop_button)
        buttons.addStretch(1)
        earlier_label = QLabel("Earl&ier tests:")
        earlier_label.setBuddy(self.earlier)
        left = QWidget()
        column = QVBoxLayout(left)
        column.setContentsMargins(4, 4, 4, 4)
        for item in (settings_box, self.config_label, buttons, self.progress, self.message, earlier_label,
                     self.earlier):
            (column.addLayout if isinstance(item, QHBoxLayout) else column.addWidget)(item)
        column.addStretch(1)
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.plot)
        right.addWidget(self.suggestions)
        right.setStretchFactor(0, 1)
        inputs_beside_view(self, left, right, width=380)
        # Tab walks the settings, then Run, Stop and the earlier tests, then the plot's tools and the answer.
        chain = [*(e.focus_widget() for e in self.form.editors().values()), self.run_button, self.stop_button,
                 self.earlier, self.suggestions.chooser, self.suggestions.use_button]
        for first, second in zip(chain, chain[1:]):
            QWidget.setTabOrder(first, second)

    # ---- state -------------------------------------------------------------------------------
    def run_blocker(self) -> tuple[str, str]:
        """Why Run is disabled now, and the message's style; ("", "") when a test may start."""
        if self._blocked:
            return self._blocked, "warn"
        if self.training_tab.form.config() is None:
            return f"Cannot run the test: the Training tab's config is invalid: " \
                   f"{self.training_tab.form.first_error()}", "error"
        if self.form.settings() is None:
            return f"Cannot run the test: {self.form.first_error()}", "error"
        return "", ""

    def set_blocked(self, reason: str) -> None:
        """Keep Run (and Use this LR) disabled, saying `reason`; "" allows them again."""
        self._blocked = reason
        self.suggestions.set_can_use(not reason)
        self._refresh_state()

    def set_engine_ready(self) -> None:
        """The engine is imported: the store can be read for earlier tests."""
        self._engine_ready = True
        self.refresh_earlier()

    # ---- actions -----------------------------------------------------------------------------
    def start(self) -> bool:
        """Start a test; False when one is running or something blocks it (the reason is on show)."""
        cfg, settings = self.training_tab.form.config(), self.form.settings()
        if self.running or self.run_blocker()[0] or cfg is None or settings is None:
            return False
        self._new_worker(range_test_job(cfg, settings, self.store_url))
        self.config_label.setText(f"Testing with the Training tab's config: {text.config_summary(cfg)}")
        self.plot.reset()
        self.plot.start_live()
        self.suggestions.show_result(None)
        self.form.set_locked(True)
        self._set_running(True)
        self._done_before = 0
        self.progress.setMaximum(settings.iterations * settings.repeats)
        self.progress.setValue(0)
        self._show("Loading data and building the model…")
        self._start_worker()
        return True

    def stop(self) -> None:
        if self._stop_worker():
            self._show("Stopping before the next batch…", "warn")

    def use_lr(self, rate: float) -> None:
        """Put `rate` into the Training tab: optim.lr, and schedule.max_lr when the schedule is one-cycle."""
        form = self.training_tab.form
        keys = ["optim.lr"] + (["schedule.max_lr"] if form.editor("schedule.name").raw() == "one_cycle" else [])
        for key in keys:
            form.set_field(key, rate)
        bad = [form.errors()[k] for k in keys if k in form.errors()]
        if bad:
            self._show(f"{bad[0]} (set from the range test)", "error")
        else:
            self._show(f"{' and '.join(keys)} set to {text.format_lr(rate)} in the Training tab", "ok")

    # ---- worker signals ----------------------------------------------------------------------
    def _on_events(self, events: list) -> None:
        self.plot.handle_events(events)
        for e in events:
            if isinstance(e, RangeTestStep):
                self.progress.setValue(min(self.progress.maximum(), self._done_before + e.iteration))
            elif isinstance(e, RangeTestStarted):
                self._done_before = (e.repeat - 1) * e.iterations
                self.progress.setMaximum(e.iterations * e.repeats)
                seed = f", seed {e.repeat} of {e.repeats}" if e.repeats > 1 else ""
                self._show(f"Range test {e.trial_id}{seed}: learning rate {text.format_lr(e.start_lr)} → "
                           f"{text.format_lr(e.end_lr)} over {e.iterations} iterations ({e.mode})")
        self.events_received.emit(events)

    def _on_outcome(self, outcome: JobOutcome) -> None:
        self._finish_worker()
        self.plot.stop_live()
        self.form.set_locked(False)
        self._set_running(False)
        self.last_outcome = outcome
        result = outcome.result
        if isinstance(result, RangeTestResult):
            self._show_result(result)
            if result.status == "completed":  # seeds that blew up early ended before their last iteration
                self.progress.setValue(self.progress.maximum())
        self._show(*text.describe_outcome(outcome))
        self._engine_ready = True  # the job imported the engine
        self.refresh_earlier(select=getattr(result, "trial_id", None))
        self._showing_reason = False
        self._refresh_state()
        self.run_finished.emit(outcome)

    # ---- earlier tests -----------------------------------------------------------------------
    def refresh_earlier(self, select: int | None = None) -> None:
        """List the store's range tests; `select` marks the one on show (no reload)."""
        if not self._engine_ready:
            return
        try:
            rows = stored_range_tests(self.store_url)
        except Exception as exc:  # noqa: BLE001 - an unreadable store must not take the tab down
            self._set_earlier([], NO_TESTS)
            self._show(f"Could not list earlier tests: {one_line(exc)}", "error")
            return
        self._set_earlier(rows, NO_TESTS)
        if select is not None:
            index = self.earlier.findData(select)
            if index >= 0:
                self.earlier.setCurrentIndex(index)

    def earlier_tests(self) -> list[tuple[int, str]]:
        return [(self.earlier.itemData(i), self.earlier.itemText(i)) for i in range(self.earlier.count())
                if self.earlier.itemData(i) is not None]

    def show_earlier(self, trial_id: int) -> bool:
        """Load a stored test and show its curve, markers and suggestions."""
        try:
            result = stored_range_test(trial_id, self.store_url)
        except Exception as exc:  # noqa: BLE001 - shown as one line; the tab stays usable
            self._show(f"Could not load range test {trial_id}: {one_line(exc)}", "error")
            return False
        self._show_result(result)
        if result.settings:  # the form shows what this test ran with, so Run repeats it
            self.form.set_settings(RangeTestSettings.from_dict(result.settings))
        index = self.earlier.findData(trial_id)
        if index >= 0:
            self.earlier.setCurrentIndex(index)
        self._show(f"Showing range test {trial_id} ({result.status})" + (f": {result.message}" if result.message
                                                                         else ""))
        return True

    def _on_earlier_chosen(self, index: int) -> None:
        trial_id = self.earlier.itemData(index)
        if trial_id is not None and not self.running:
            self.show_earlier(int(trial_id))

    def _set_earlier(self, rows: list[tuple[int, str]], empty: str) -> None:
        self.earlier.blockSignals(True)
        self.earlier.clear()
        self.earlier.addItem(PICK if rows else empty, None)
        for trial_id, label in rows:
            self.earlier.addItem(label, trial_id)
        self.earlier.blockSignals(False)
        self._set_running(self.running)

    # ---- helpers -----------------------------------------------------------------------------
    def _show_result(self, result: RangeTestResult) -> None:
        self.plot.show_result(result)
        self.suggestions.show_result(result)

    def _set_running(self, running: bool, reason: str | None = None) -> None:
        """`reason`: run_blocker()'s, when the caller has it already."""
        if reason is None:
            reason = self.run_blocker()[0]
        self.run_button.setEnabled(not running and not reason)
        self.stop_button.setEnabled(running)
        self.earlier.setEnabled(not running and self.earlier.count() > 1)

    def _refresh_state(self) -> None:
        """Run's state and the config line follow the forms and the block; a reason replaces the message."""
        if self.running:
            return  # the running test keeps its snapshot; its line stays
        cfg = self.training_tab.form.config()
        self.config_label.setText(f"Uses the Training tab's config: {text.config_summary(cfg)}" if cfg else
                                  "The Training tab's config is invalid.")
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
