"""Re-run the selected trials with N seeds they have not used, in the engine worker like training, with Stop and
progress. Several seeds per config give the History table its robust rank (mean ± std), so luck does not win."""

from __future__ import annotations

from typing import Sequence

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QSpinBox, QWidget

from app.jobs import rerun_job
from app.worker import JobOutcome
from app.worker_host import WorkerHost
from trainers.spec.events import EpochEnded, FitEnded, FitStarted

DEFAULT_SEEDS = 3
MAX_SEEDS = 50


class RerunPanel(WorkerHost, QWidget):
    rerun_clicked = Signal()
    run_started = Signal()
    run_finished = Signal(object)      # JobOutcome; its result is the runs' FitEnded list
    events_received = Signal(object)   # each list of engine events

    def __init__(self, store_url: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
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
        self.stop_button = QPushButton("Stop re-runs")
        self.stop_button.setToolTip("Stop before the next batch (Esc); finished re-runs are kept")
        for b in (self.button, self.stop_button):
            b.setAutoDefault(False)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.reason = QLabel()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for w in (self.button, self.seeds, self.stop_button):
            layout.addWidget(w)
        layout.addWidget(self.progress, 1)
        layout.addWidget(self.reason, 1)
        self.button.clicked.connect(self.rerun_clicked)
        self.stop_button.clicked.connect(self.stop)
        self._sync()

    # ---- state -------------------------------------------------------------------------------
    def set_blocked(self, reason: str) -> None:
        """Another job runs (training, a range test): re-runs wait, saying `reason`; "" allows them again."""
        self._blocked = reason
        self._sync()

    def set_can_run(self, can: bool) -> None:
        """Whether the selection holds training trials to re-run."""
        self._can_run = can
        self._sync()

    def _sync(self) -> None:
        self.button.setEnabled(not self.running and not self._blocked and self._can_run)
        self.seeds.setEnabled(not self.running)
        self.stop_button.setEnabled(self.running)
        self.reason.setText(self._blocked if not self.running else "")

    # ---- actions -----------------------------------------------------------------------------
    def start(self, trial_ids: Sequence[int]) -> bool:
        if self.running or self._blocked or not trial_ids:
            return False
        self.trial_ids, self.seeds_used = list(trial_ids), self.seeds.value()
        self._runs_started = self._runs_ended = 0
        self._new_worker(rerun_job(self.trial_ids, self.seeds_used, self.store_url))
        self.progress.setRange(0, len(self.trial_ids) * self.seeds_used)
        self.progress.setValue(0)
        self.progress.setFormat("loading…")
        self.progress.setVisible(True)
        self._sync()
        self._start_worker()
        return True

    def stop(self) -> None:
        if self._stop_worker():
            self.progress.setFormat("stopping…")

    # ---- worker signals ----------------------------------------------------------------------
    def _on_events(self, events: list) -> None:
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

    def _on_outcome(self, outcome: JobOutcome) -> None:
        self._finish_worker()
        self.progress.setVisible(False)
        self._sync()
        self.run_finished.emit(outcome)
