"""Re-run the selected trials with N seeds they have not used, through the window's JobRunner like training, with
Stop and progress. Several seeds per config give the History table its robust rank (mean ± std), so luck does not
win."""

from __future__ import annotations

from typing import Sequence

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QProgressBar, QPushButton, QSpinBox, QWidget

from app.job_runner import JobRunner
from app.jobs import rerun_job
from app.queue_for_workers import WorkerQueue, queue_seed_reruns
from app.worker import JobOutcome
from trainers.spec.events import EpochEnded, FitEnded, FitStarted

DEFAULT_SEEDS = 3
MAX_SEEDS = 50


class RerunPanel(QWidget):
    rerun_clicked = Signal()
    run_started = Signal()
    run_finished = Signal(object)  # JobOutcome; its result is the runs' FitEnded list
    events_received = Signal(object)  # each list of engine events
    queued = Signal(object)  # the trial ids queued for workers ("on workers"), or an error line (str)

    def __init__(self, runner: JobRunner, store_url: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.store_url = store_url
        self.trial_ids: list[int] = []
        self.seeds_used = 0
        self._blocked = ""
        self._can_run = False
        self._runs_started = self._runs_ended = 0
        self._run_label = ""
        self.seeds = QSpinBox()
        self.seeds.setRange(1, MAX_SEEDS)
        self.seeds.setValue(DEFAULT_SEEDS)
        self.seeds.setSuffix(" seeds")
        self.seeds.setToolTip("How many new seeds each selected trial's config is trained with")
        self.button = QPushButton("Re-r&un with")
        self.button.setToolTip("Train the selected trials' configs again with seeds they have not used")
        self.on_workers = QCheckBox("on workers")
        self.on_workers.setToolTip("Queue the re-runs in the store for `tunelab worker --queue` instead of training")
        self.worker_queue = WorkerQueue(self)
        self.stop_button = QPushButton("Stop re-runs")
        self.stop_button.setToolTip("Stop before the next batch (Esc); finished re-runs are kept")
        for b in (self.button, self.stop_button):
            b.setAutoDefault(False)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.reason = QLabel()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for w in (self.button, self.seeds, self.on_workers, self.stop_button):
            layout.addWidget(w)
        layout.addWidget(self.progress, 1)
        layout.addWidget(self.reason, 1)
        self.button.clicked.connect(self.rerun_clicked)
        self.on_workers.toggled.connect(self._sync)
        self.stop_button.clicked.connect(self.stop)
        self._sync()

    # ---- state -------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.runner.runs_for(self)

    def set_blocked(self, reason: str) -> None:
        """Another job runs (training, a range test): re-runs wait, saying `reason`; "" allows them again."""
        self._blocked = reason
        self._sync()

    def set_can_run(self, can: bool) -> None:
        """Whether the selection holds training trials to re-run."""
        self._can_run = can
        self._sync()

    def _sync(self) -> None:
        queue = self.on_workers.isChecked()
        self.button.setEnabled(not self.running and (queue or not self._blocked) and self._can_run)
        self.seeds.setEnabled(not self.running)
        self.stop_button.setEnabled(self.running)
        self.reason.setText(self._blocked if not self.running else "")

    # ---- actions -----------------------------------------------------------------------------
    def start(self, trial_ids: Sequence[int]) -> bool:
        if self.on_workers.isChecked() and trial_ids:  # queued, not trained: no job, nothing blocks it
            self.trial_ids, self.seeds_used = list(trial_ids), self.seeds.value()
            call = queue_seed_reruns(self.trial_ids, self.seeds_used, self.store_url)
            self.worker_queue.submit(call, self.queued.emit, self.queued.emit)
            return True
        if not self.runner.idle or self._blocked or not trial_ids:
            return False
        ids, seeds = list(trial_ids), self.seeds.value()
        if not self.runner.start(rerun_job(ids, seeds, self.store_url), self):
            return False
        self.trial_ids, self.seeds_used = ids, seeds
        self._runs_started = self._runs_ended = 0
        self.progress.setRange(0, len(self.trial_ids) * self.seeds_used)
        self.progress.setValue(0)
        self.progress.setFormat("loading…")
        self.progress.setVisible(True)
        self._sync()
        self.run_started.emit()
        return True

    def stop(self) -> None:
        if self.running and self.runner.stop():
            self.progress.setFormat("stopping…")

    # ---- its job, from the runner ------------------------------------------------------------
    def on_job_events(self, events: list) -> None:
        for e in events:
            if isinstance(e, FitStarted):
                self._runs_started += 1
                self._run_label = f"run {self._runs_started} of {self.progress.maximum()}: trial {e.trial_id}"
                self.progress.setFormat(f"{self._run_label}, starting")
            elif isinstance(e, EpochEnded):
                self.progress.setFormat(f"{self._run_label}, epoch {e.epoch}")
            elif isinstance(e, FitEnded):
                self._runs_ended += 1
                self.progress.setValue(min(self.progress.maximum(), self._runs_ended))
        self.events_received.emit(events)

    def on_job_outcome(self, outcome: JobOutcome) -> None:
        self.progress.setVisible(False)
        self._sync()
        self.run_finished.emit(outcome)
