"""Loads a trial's evaluation in a worker thread (its own store connection), so a slow database or a first
computation never holds up the window. Only the newest request's answer is delivered; older ones are dropped."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from app.worker import EngineWorker, JobOutcome, retire


class EvaluationLoader(QObject):
    loaded = Signal(int, object)  # trial id, trainers.api.EvaluationShown
    failed = Signal(int, str)  # trial id, one line for the user

    def __init__(self, store_url: str | None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.store_url = store_url
        self._workers: list[EngineWorker] = []
        self._latest = 0  # the request whose answer is wanted

    def load(self, trial_id: int, split: str | None) -> None:
        url = self.store_url
        self._latest += 1
        request = self._latest

        def job(_sink: object, _control: object) -> object:
            from trainers.api import open_evaluation_at

            return open_evaluation_at(url, trial_id, split)

        worker = EngineWorker(job, self)
        worker.outcome.connect(lambda outcome, w=worker: self._done(w, request, trial_id, outcome))
        self._workers.append(worker)
        worker.start()

    @property
    def busy(self) -> bool:
        return bool(self._workers)

    def _done(self, worker: EngineWorker, request: int, trial_id: int, outcome: JobOutcome) -> None:
        if worker in self._workers:
            self._workers.remove(worker)
        retire(worker)
        if request != self._latest:
            return  # another trial or split was chosen meanwhile
        if outcome.error:
            self.failed.emit(trial_id, outcome.error)
        else:
            self.loaded.emit(trial_id, outcome.result)

    def wait(self) -> None:
        """Let every running load finish (the window is closing); their answers are no longer delivered."""
        self._latest += 1
        for worker in list(self._workers):
            worker.wait()
