"""What every widget that runs engine jobs shares: one EngineWorker at a time, created, started, stopped and
waited for the same way. The widget defines the run_started signal and the _on_events / _on_outcome slots."""

from __future__ import annotations

from typing import Any

from app.worker import EngineWorker, Job, retire


class WorkerHost:
    worker: EngineWorker | None = None

    @property
    def running(self) -> bool:
        return self.worker is not None

    def _new_worker(self, job: Job) -> EngineWorker:
        """The worker for `job`, wired to this widget's slots; not started yet, so the widget can get ready."""
        self.worker = EngineWorker(job, self)  # type: ignore[arg-type]  # the host is a QObject
        self.worker.events.connect(self._on_events)
        self.worker.outcome.connect(self._on_outcome)
        return self.worker

    def _start_worker(self) -> None:
        assert self.worker is not None
        self.worker.start()
        self.run_started.emit()

    def _stop_worker(self) -> bool:
        """Ask the running job to stop before its next batch; False when none runs."""
        if self.worker is None:
            return False
        self.worker.stop()
        return True

    def wait_for_worker(self, ms: int = 60_000) -> bool:
        """Block until the worker thread has ended (used when the app quits)."""
        return self.worker.wait(ms) if self.worker is not None else True

    def _finish_worker(self) -> None:
        """The job's outcome arrived: let its thread end and free it."""
        worker, self.worker = self.worker, None
        retire(worker)

    # provided by the widget
    run_started: Any

    def _on_events(self, events: list) -> None:
        raise NotImplementedError

    def _on_outcome(self, outcome: Any) -> None:
        raise NotImplementedError
