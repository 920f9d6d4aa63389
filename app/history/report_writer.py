"""Write a trial's HTML report from History: the engine builds and writes the file in the window's one job (off
the GUI thread, since it reads the store and, for an image model, the mistakes' pictures); this only starts it and
says how it went."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal

from app.job_runner import EngineJob, JobRunner
from app.worker import JobOutcome
from trainers.spec.events import RunControl, Sink


def report_job(trial_id: int, path: str, store_url: str | None = None) -> EngineJob:
    """Write the report of trial `trial_id` (a training run, an ensemble or a search) to `path`."""

    def job(sink: Sink, control: RunControl) -> Any:
        from trainers.api import TrialStore, write_report

        with TrialStore(store_url, read_only=True) as store:
            return write_report(store, trial_id, path)

    return EngineJob(job, f"The report of trial {trial_id}", "History")


class ReportWriter(QObject):
    """Runs report jobs through the window's JobRunner and reports each as one line."""

    message = Signal(str, str)  # text, kind (info, ok, warn, error)
    written = Signal(str)  # the report's path

    def __init__(self, runner: JobRunner, store_url: str | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.store_url = store_url

    def start(self, trial_id: int, path: str) -> bool:
        if not self.runner.idle:
            self.message.emit(self.runner.busy_text(), "warn")
            return False
        if not self.runner.start(report_job(trial_id, path, self.store_url), self):
            return False
        self.message.emit(f"Writing the report of trial {trial_id} to {path}…", "info")
        return True

    # ---- its job, from the runner ------------------------------------------------------------
    def on_job_events(self, events: list) -> None:
        pass  # a report says nothing until it is written

    def on_job_outcome(self, outcome: JobOutcome) -> None:
        if outcome.result is None:
            self.message.emit(f"Could not write the report: {outcome.error}", "error")
            return
        self.message.emit(f"Report written to {outcome.result}", "ok")
        self.written.emit(str(outcome.result))
