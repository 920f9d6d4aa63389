"""The window's one engine job at a time: started, steered, stopped and waited for in one place.

A tab (or panel) asks the runner to start an EngineJob and names itself as the job's owner; only the owner
receives the job's events and outcome. The window listens to the runner's signals for everything that concerns
all tabs: which tabs wait (the running job's own words say why), the status bar, the history refreshes, and
closing once the job has ended. The job runs in an EngineWorker thread; the runner never computes anything.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

from PySide6.QtCore import QObject, Signal

from app.worker import EngineWorker, Job, JobOutcome, retire

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EngineJob:
    """What runs, and how the user reads about it while it runs."""

    work: Job
    label: str  # the subject of a sentence: "Training", "An LR finder test"
    tab: str  # the tab it belongs to, as the tab bar says it
    plural: bool = False  # "Re-runs … are running", "once they have ended"

    def busy_text(self) -> str:
        """Why another job cannot start while this one runs."""
        verb, pronoun = ("are", "they have") if self.plural else ("is", "it has")
        return f"{self.label} {verb} running ({self.tab} tab): this can start once {pronoun} ended."

    def close_question(self) -> str:
        """What the window asks when it is closed while this job runs."""
        verb, pronoun = ("are", "them") if self.plural else ("is", "it")
        return (
            f"{self.label} {verb} in progress ({self.tab} tab). Stop {pronoun} and close? What has finished "
            f"is kept, and the trial under way is kept as stopped."
        )


class JobOwner(Protocol):
    """The widget that asked for a job: it alone takes the job's events and, last, its outcome."""

    def on_job_events(self, events: list) -> None: ...

    def on_job_outcome(self, outcome: JobOutcome) -> None: ...


class JobRunner(QObject):
    """Runs one EngineJob at a time. Each signal comes after the job's owner has taken what it carries."""

    started = Signal(object)  # EngineJob
    events = Signal(object, object)  # EngineJob, list of engine events
    finished = Signal(object, object)  # EngineJob, JobOutcome
    failed = Signal(object, str)  # EngineJob, one line for the user: the job raised or its trial failed

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._job: EngineJob | None = None
        self._owner: JobOwner | None = None
        self._worker: EngineWorker | None = None

    # ---- state -------------------------------------------------------------------------------
    @property
    def job(self) -> EngineJob | None:
        return self._job

    @property
    def idle(self) -> bool:
        return self._job is None

    def runs_for(self, owner: object) -> bool:
        """Whether the running job is `owner`'s."""
        return self._job is not None and self._owner is owner

    def busy_text(self) -> str:
        """Why no other job may start now, in the running job's words; "" when none runs."""
        return self._job.busy_text() if self._job is not None else ""

    @property
    def paused(self) -> bool:
        return self._worker is not None and self._worker.paused

    # ---- actions -----------------------------------------------------------------------------
    def start(self, job: EngineJob, owner: JobOwner) -> bool:
        """Start `job` for `owner`; False (nothing started) while another job runs: busy_text() says why."""
        if self._job is not None:
            return False
        worker = EngineWorker(job.work, self)
        # Bound methods of this QObject: the worker's signals are queued onto the GUI thread.
        worker.events.connect(self._on_events)
        worker.outcome.connect(self._on_outcome)
        # The thread's own end, queued after the outcome: delivers the outcome if that signal was lost, so the
        # runner never waits for ever on a job that has returned.
        worker.finished.connect(self._on_thread_finished)
        self._job, self._owner, self._worker = job, owner, worker
        worker.start()
        self.started.emit(job)
        return True

    def stop(self) -> bool:
        """Ask the running job to stop before its next batch; False when none runs."""
        if self._worker is None:
            return False
        self._worker.stop()
        return True

    def pause(self) -> None:
        if self._worker is not None:
            self._worker.pause()

    def resume(self) -> None:
        if self._worker is not None:
            self._worker.resume()

    def wait(self, ms: int = 60_000) -> bool:
        """Block until the job's thread has ended (used when the app quits)."""
        return self._worker.wait(ms) if self._worker is not None else True

    # ---- from the worker thread (queued) -----------------------------------------------------
    def _on_events(self, events: list) -> None:
        # A worker's events all arrive before its outcome, so they belong to the job now running.
        job, owner = self._job, self._owner
        if job is None or owner is None:
            return
        owner.on_job_events(events)
        self.events.emit(job, events)

    def _on_thread_finished(self) -> None:
        worker = self._worker
        if worker is None:
            return
        # finished comes after run() has returned, so `final` is set whether or not the thread has fully wound down.
        # The running job's own thread ending without one (it never ran its job) still ends the job, so the window
        # never waits on it for ever; an earlier job's late `finished` is not this one's.
        if worker.final is None:
            if self.sender() is not worker:
                return
            worker.final = JobOutcome(None, "the job's thread ended without a result")
        self._on_outcome(worker.final)

    def _on_outcome(self, outcome: JobOutcome) -> None:
        job, owner, worker = self._job, self._owner, self._worker
        if worker is None or worker.final is not outcome:
            return  # already delivered (by the thread's end), or a job that is no longer the running one
        self._job = self._owner = self._worker = None
        retire(worker)
        if job is None or owner is None:
            return
        if outcome.details:
            log.error("%s raised:\n%s", job.label, outcome.details)
        owner.on_job_outcome(outcome)
        line = failure_line(job, outcome)
        if line:
            self.failed.emit(job, line)
        self.finished.emit(job, outcome)


def failure_line(job: EngineJob, outcome: JobOutcome) -> str:
    """One line for the user when the job raised or a trial it ran failed; "" otherwise."""
    if outcome.result is None:
        return f"{job.label} could not run: {outcome.error}"
    results: list[Any] = outcome.result if isinstance(outcome.result, list) else [outcome.result]
    failed = [r for r in results if getattr(r, "status", None) == "failed"]
    if not failed:
        return ""
    first = failed[0]
    trial = f"trial {first.trial_id}" if getattr(first, "trial_id", None) is not None else "a trial"
    more = f" ({len(failed)} of {len(results)} failed)" if len(results) > 1 else ""
    return f"{job.label}: {trial} failed{more}: {getattr(first, 'message', '') or 'no reason given'}"
