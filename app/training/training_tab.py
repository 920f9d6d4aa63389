"""The Training tab: the config form on the left; run controls and live plots on the right.

It composes widgets and reacts to its own job's events and outcome; the window's JobRunner runs the training.
"""

from __future__ import annotations

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

from app.forms import ConfigForm
from app.job_runner import JobRunner
from app.jobs import training_job
from app.plots import TrainingPlots
from app.queue_for_workers import WORKER_HINT, WorkerQueue, queue_config
from app.training.live_diagnosis import LiveDiagnosis
from app.training.panes import inputs_beside_view, scrolling
from app.training.run_panel import STATUS_KIND, TRAIN_TIP, RunPanel
from app.training.run_progress import RunProgress
from app.worker import JobOutcome
from trainers.spec.events import FitStarted

EVALUATED = ("completed", "stopped")  # runs whose kept weights History's Evaluation view can show


class TrainingTab(QWidget):
    run_started = Signal()
    run_finished = Signal(object)  # JobOutcome
    events_received = Signal(object)  # each list of engine events, after the plots took it
    status_changed = Signal(str)  # elapsed · ETA · samples/s for the status bar
    evaluation_requested = Signal(int)  # trial id: show the finished run's evaluation (History does)
    queued = Signal(int)  # trial id of a run queued for workers (History shows it as queued)

    def __init__(self, runner: JobRunner, store_url: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.store_url = store_url
        self.last_outcome: JobOutcome | None = None
        self.progress = RunProgress()
        self._showing_invalid = False
        self._blocked = ""  # why training may not start now (another job runs), or ""
        self.form = ConfigForm()
        self.panel = RunPanel()
        self.plots = TrainingPlots()
        self.diagnosis = LiveDiagnosis()

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(4, 0, 0, 0)
        right_layout.addWidget(self.panel)
        right_layout.addWidget(self.diagnosis)
        right_layout.addWidget(scrolling(self.plots), 1)  # on a short screen the plots scroll, never squash
        inputs_beside_view(self, self.form, right, min_width=360)

        self._clock = QTimer(self)  # elapsed time ticks even when no event arrives (pause, long epochs)
        self._clock.setInterval(500)
        self._clock.timeout.connect(self._emit_status)
        self.panel.train_clicked.connect(self.start)
        self.panel.pause_clicked.connect(self.toggle_pause)
        self.panel.stop_clicked.connect(self.stop)
        self.panel.evaluation_clicked.connect(self.evaluation_requested)
        self.worker_queue = WorkerQueue(self)  # Run on workers (app/queue_for_workers.py)
        self.panel.queue_clicked.connect(self.queue_for_workers)
        self.form.validity_changed.connect(self._on_validity)
        # Every edit, not only a flip of validity: the line must quote the value as it is now, not a keystroke ago.
        self.form.changed.connect(lambda: self._on_validity(self.form.config() is not None))
        self._on_validity(self.form.config() is not None)

    # ---- state -------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.runner.runs_for(self)

    @property
    def paused(self) -> bool:
        return self.running and self.runner.paused

    # ---- actions -----------------------------------------------------------------------------
    def start(self) -> bool:
        """Start a run with the form's config; False when one is running or the form is invalid."""
        cfg = self.form.config()
        if not self.runner.idle or cfg is None or self._blocked:
            return False
        if not self.runner.start(training_job(cfg, self.store_url), self):
            return False
        self.progress = RunProgress.begin()
        self.plots.reset()
        self.panel.offer_evaluation(None)
        self.plots.start_live()
        self.diagnosis.start(cfg)
        self.form.set_locked(True)
        self.panel.set_running(True, can_train=False)
        self.panel.set_progress(cfg.train.epochs, 0, 1, 0)
        if self.form.engine_ready:
            self.panel.show_message("Loading data and building the model…")
        else:  # the first run after the window opened waits for torch to finish importing
            self.panel.show_message("Starting: the training engine is still loading, which takes a few seconds…")
        self.status_changed.emit("Starting…")
        self._clock.start()
        self.run_started.emit()
        return True

    def queue_for_workers(self) -> bool:
        """Run on workers: queue the form's config in the store; False when the form is invalid."""
        cfg = self.form.config()
        if cfg is None:
            return False
        self.worker_queue.submit(queue_config(cfg, self.store_url), self._on_queued, self._on_queue_failed)
        return True

    def _on_queued(self, trial_id: int) -> None:
        self.panel.show_message(f"Trial {trial_id} queued for workers: {WORKER_HINT}.")
        self.queued.emit(trial_id)

    def _on_queue_failed(self, line: str) -> None:
        self.panel.show_message(f"The run could not be queued: {line}", "error")

    def stop(self) -> None:
        if self.running and self.runner.stop():
            self.progress.resume()
            self.panel.show_message("Stopping before the next batch…", "warn")

    def toggle_pause(self) -> None:
        if not self.running:
            return
        if self.runner.paused:
            self.runner.resume()
            self.progress.resume()
            self.panel.show_message("Training…")
        else:
            self.runner.pause()
            self.progress.pause()
            self.panel.show_message("Paused after the current batch. Resume to go on.", "warn")
        self.panel.set_paused(self.runner.paused)

    # ---- its job, from the runner ------------------------------------------------------------
    def on_job_events(self, events: list) -> None:
        self.plots.handle_events(events)
        self.diagnosis.handle_events(events)
        self.progress.update(events)
        p = self.progress
        self.panel.set_progress(p.epochs, p.epoch, p.steps_per_epoch, p.batch)
        for e in events:
            if isinstance(e, FitStarted):
                self.form.show_param_count(e.param_count)
                if not self.paused:
                    self.panel.show_message(
                        f"Training trial {e.trial_id} on {e.device}: {e.n_train:,} training, "
                        f"{e.n_val:,} validation samples, {e.param_count:,} parameters"
                    )
        self.events_received.emit(events)

    def on_job_outcome(self, outcome: JobOutcome) -> None:
        self._clock.stop()
        status = getattr(outcome.result, "status", None) or "ended"
        self.status_changed.emit(self.progress.ended_text(status))  # no ETA for a run that is over
        self.plots.stop_live()
        self.form.set_locked(False)
        self.last_outcome = outcome
        text, kind = describe_outcome(outcome)
        self.panel.show_message(text, kind)
        self.panel.offer_evaluation(outcome.result.trial_id if status in EVALUATED else None)
        self._showing_invalid = False
        self._on_validity(self.form.config() is not None)
        self.run_finished.emit(outcome)

    def set_blocked(self, reason: str) -> None:
        """Keep Train disabled, saying `reason` (another job is running); "" allows training again."""
        self._blocked = reason
        self._on_validity(self.form.config() is not None)

    def _on_validity(self, valid: bool) -> None:
        self.panel.queue_button.setEnabled(valid)  # queuing needs a valid form, not an idle runner
        if self.running:
            return
        self.panel.set_running(False, can_train=valid and not self._blocked)
        reason = self._blocked or ("" if valid else f"Cannot train yet: {self.form.first_problem()}")
        self.panel.train_button.setToolTip(reason or TRAIN_TIP)  # a disabled button says why
        if self._blocked:
            self.panel.show_message(self._blocked, "warn")
            self._showing_invalid = True
        elif not valid:
            self.panel.show_message(reason, "error")
            self._showing_invalid = True
        elif self._showing_invalid:  # put back what was there before the form went invalid
            self._showing_invalid = False
            self.panel.show_message(*(describe_outcome(self.last_outcome) if self.last_outcome else ("",)))

    def _emit_status(self) -> None:
        self.status_changed.emit(self.progress.status_text())


def describe_outcome(outcome: JobOutcome) -> tuple[str, str]:
    """The line shown when a job ends, and its style."""
    r = outcome.result
    if r is None:
        return f"The run could not start: {outcome.error}", "error"
    parts = [f"Trial {r.trial_id} {r.status} after {r.epochs_run} epoch{'s' if r.epochs_run != 1 else ''}"]
    if r.best_val_acc is not None:
        parts.append(f"best validation accuracy {r.best_val_acc:.4f}")
    if r.test_acc is not None:
        parts.append(f"test accuracy {r.test_acc:.4f}")
    parts.append(f"{r.seconds:.1f} s")
    text = ", ".join(parts)
    if r.message:
        text += f". {r.message}"
    return text, STATUS_KIND.get(r.status, "info")
