"""Export a trial's model from History: the engine writes and checks the folder in the window's one job (off the
GUI thread); this only starts it and says how it went."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal

from app.job_runner import EngineJob, JobRunner
from app.worker import JobOutcome
from trainers.spec.events import RunControl, Sink


def model_export_job(trial_id: int, parent_folder: str, store_url: str | None = None) -> EngineJob:
    """Write trial `trial_id`'s export folder inside `parent_folder` (named trial-N, or trial-N-2 … when taken)."""

    def job(sink: Sink, control: RunControl) -> Any:
        from trainers.api import TrialStore, export_model, free_export_folder

        with TrialStore(store_url, read_only=True) as store:
            return export_model(store, trial_id, free_export_folder(parent_folder, f"trial-{trial_id}"))

    return EngineJob(job, f"The export of trial {trial_id}", "History")


class ModelExporter(QObject):
    """Runs exports through the window's JobRunner and reports each as one line."""

    message = Signal(str, str)  # text, kind (info, ok, warn, error)
    exported = Signal(object)  # trainers.api.ExportResult

    def __init__(self, runner: JobRunner, store_url: str | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.store_url = store_url

    def start(self, trial_id: int, parent_folder: str) -> bool:
        if not self.runner.idle:
            self.message.emit(self.runner.busy_text(), "warn")
            return False
        if not self.runner.start(model_export_job(trial_id, parent_folder, self.store_url), self):
            return False
        self.message.emit(f"Exporting trial {trial_id} into {parent_folder} and checking it with ONNX Runtime…", "info")
        return True

    # ---- its job, from the runner ------------------------------------------------------------
    def on_job_events(self, events: list) -> None:
        pass  # an export reports nothing until it has ended

    def on_job_outcome(self, outcome: JobOutcome) -> None:
        if outcome.result is None:
            self.message.emit(f"Could not export: {outcome.error}", "error")
            return
        self.message.emit(outcome.result.summary(), "ok")
        self.exported.emit(outcome.result)
