"""The window's one job runner: one job at a time, the busy message in the running job's own words, each job's
events and outcome delivered to the tab that started it and no other, and a job's error shown in one place."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any, Callable

import pytest
from window_helpers import RUN_TIMEOUT_MS, shown_window

import app.lr_finder.lr_finder_tab as lr_finder_tab
import app.training.training_tab as training_tab
from app.job_runner import EngineJob, JobRunner, failure_line
from app.main_window import MainWindow
from app.worker import EngineWorker, JobOutcome
from trainers.spec.errors import DataError
from trainers.spec.events import BatchEnded, FitEnded, LrFinderStarted, LrFinderStep, RunControl, Sink
from trainers.spec.search_events import SearchResult

Work = Callable[[Sink, RunControl], Any]


class Owner:
    """A stand-in for a tab: records what the runner hands it."""

    def __init__(self) -> None:
        self.events: list = []
        self.outcomes: list[JobOutcome] = []

    def on_job_events(self, events: list) -> None:
        self.events.extend(events)

    def on_job_outcome(self, outcome: JobOutcome) -> None:
        self.outcomes.append(outcome)


def until_stopped(events: tuple = ()) -> Work:
    """Work that emits `events`, then waits for Stop and returns "stopped"."""

    def work(sink: Sink, control: RunControl) -> str:
        for e in events:
            sink.emit(e)
        while not control.stop_requested:
            time.sleep(0.005)
        return "stopped"

    return work


def emits_then_fails(events: tuple, error: str) -> Work:
    def work(sink: Sink, control: RunControl) -> None:
        for e in events:
            sink.emit(e)
        raise DataError(error)

    return work


@pytest.fixture
def window(qtbot) -> Iterator[MainWindow]:
    with shown_window(qtbot) as w:
        yield w


def test_one_job_at_a_time_and_the_refusal_is_the_running_jobs_label(qtbot) -> None:
    runner, first, second = JobRunner(), Owner(), Owner()
    assert runner.idle and runner.busy_text() == ""
    assert runner.start(EngineJob(until_stopped(), "A careful check", "Somewhere"), first)
    assert runner.runs_for(first) and not runner.runs_for(second)
    assert not runner.start(EngineJob(until_stopped(), "Another check", "Elsewhere"), second)
    assert runner.busy_text() == "A careful check is running (Somewhere tab): this can start once it has ended."
    with qtbot.waitSignal(runner.finished, timeout=5000) as done:
        assert runner.stop()
    assert done.args[0].label == "A careful check" and done.args[1] == JobOutcome("stopped")
    assert runner.idle and not runner.runs_for(first) and runner.busy_text() == ""
    assert first.outcomes == [JobOutcome("stopped")] and second.outcomes == [] and not runner.stop()


def test_plural_labels_read_as_plural() -> None:
    job = EngineJob(until_stopped(), "Re-runs with other seeds", "History", plural=True)
    assert job.busy_text() == "Re-runs with other seeds are running (History tab): this can start once they have ended."
    assert job.close_question().startswith("Re-runs with other seeds are in progress (History tab). Stop them")


def test_every_other_tab_waits_saying_the_running_jobs_label(qtbot, window: MainWindow) -> None:
    busy = "A careful check is running (Nowhere tab): this can start once it has ended."
    assert window.runner.start(EngineJob(until_stopped(), "A careful check", "Nowhere"), Owner())
    assert window.training.panel.message.text() == busy and not window.training.panel.train_button.isEnabled()
    assert window.lr_finder.message.text() == busy and not window.lr_finder.run_button.isEnabled()
    assert window.ensembles.message.text() == busy and not window.ensembles.run_button.isEnabled()
    assert window.history.rerun.reason.text() == busy
    assert not window.training.start() and not window.lr_finder.start() and not window.ensembles.start()
    assert not window.history.rerun.start([1])
    with qtbot.waitSignal(window.runner.finished, timeout=5000):
        window.stop_jobs()  # Esc stops whatever runs
    assert window.training.panel.train_button.isEnabled() and window.training.panel.message.text() != busy
    assert window.lr_finder.run_button.isEnabled() and window.lr_finder.message.text() != busy
    assert window.history.rerun.reason.text() == ""


def test_a_tabs_job_delivers_its_events_to_that_tab_only(qtbot, window: MainWindow, monkeypatch) -> None:
    batches = tuple(BatchEnded(1, i, i, 1.0 / i, 0.1, 1.0, 8) for i in range(1, 6))
    steps = (
        LrFinderStarted(None, 1, 1, 3, 1e-4, 1e-2, "exp"),
        *(LrFinderStep(1, i, 10.0 ** (-4 + i), 2.0, 2.0) for i in range(1, 4)),
    )
    monkeypatch.setattr(
        training_tab,
        "training_job",
        lambda *_a: EngineJob(emits_then_fails(batches, "no data"), "Training", "Training"),
    )
    monkeypatch.setattr(
        lr_finder_tab,
        "lr_finder_job",
        lambda *_a: EngineJob(emits_then_fails(steps, "no data"), "An LR finder test", "LR finder"),
    )
    tabs = {
        "training": window.training,
        "lr_finder": window.lr_finder,
        "history": window.history,
        "ensembles": window.ensembles,
    }
    seen: dict[str, list] = {name: [] for name in tabs}
    for name, tab in tabs.items():
        tab.events_received.connect(lambda events, name=name: seen[name].extend(events))
    labels: list[str] = []
    window.runner.events.connect(lambda job, _events: labels.append(job.label))

    with qtbot.waitSignal(window.training.run_finished, timeout=RUN_TIMEOUT_MS):
        assert window.training.start()
    assert seen == {"training": list(batches), "lr_finder": [], "history": [], "ensembles": []}
    with qtbot.waitSignal(window.lr_finder.run_finished, timeout=RUN_TIMEOUT_MS):
        assert window.lr_finder.start()
    assert seen == {"training": list(batches), "lr_finder": list(steps), "history": [], "ensembles": []}
    assert labels and set(labels) == {"Training", "An LR finder test"}
    assert labels == sorted(labels, key=lambda label: label != "Training")  # each job's batches, in turn


@pytest.mark.slow
def test_a_jobs_error_reaches_the_status_bar_and_its_tabs_line(qtbot, window: MainWindow, monkeypatch) -> None:
    monkeypatch.setattr(
        lr_finder_tab,
        "lr_finder_job",
        lambda *_a: EngineJob(
            emits_then_fails((), "train.csv, row 7: 'x' is not a number"), "An LR finder test", "LR finder"
        ),
    )
    with qtbot.waitSignal(window.runner.failed, timeout=RUN_TIMEOUT_MS) as failed:
        assert window.lr_finder.start()
    line = "An LR finder test could not run: train.csv, row 7: 'x' is not a number"
    assert failed.args[1] == line and window.statusBar().currentMessage() == line
    assert "row 7" in window.lr_finder.message.text() and window.lr_finder.message.property("kind") == "error"
    assert window.runner.start(EngineJob(until_stopped(), "A careful check", "Nowhere"), Owner())
    assert window.statusBar().currentMessage() == ""  # the last job's error is not this one's
    with qtbot.waitSignal(window.runner.finished, timeout=5000):
        window.stop_jobs()


def test_a_failed_trial_is_one_line_naming_the_job() -> None:
    job = EngineJob(until_stopped(), "Re-runs with other seeds", "History", plural=True)

    def ended(trial_id: int, status: str, message: str = "") -> FitEnded:
        return FitEnded(trial_id, status, 1, None, None, None, None, None, 1.0, message)

    assert failure_line(job, JobOutcome([ended(4, "completed"), ended(5, "stopped")])) == ""
    assert failure_line(job, JobOutcome([ended(4, "completed"), ended(5, "failed", "bad.csv: row 3")])) == (
        "Re-runs with other seeds: trial 5 failed (1 of 2 failed): bad.csv: row 3"
    )
    assert (
        failure_line(job, JobOutcome(None, "DataError: nope")) == "Re-runs with other seeds could not run: "
        "DataError: nope"
    )
    search = SearchResult(12, "failed", "search-12", "journal", None, None, None, {}, {}, 1.0, message="no data")
    assert failure_line(EngineJob(until_stopped(), "A search", "Search"), JobOutcome(search)) == (
        "A search: trial 12 failed: no data"  # the search's own trial, which History shows
    )


def test_a_lost_outcome_signal_still_ends_the_job_once(qtbot) -> None:
    # The outcome reaches the runner by a queued signal; should it never arrive, the thread's own end delivers it,
    # once, so the window never waits for ever on a job that has returned.
    runner, owner = JobRunner(), Owner()
    assert runner.start(EngineJob(until_stopped(), "Training", "Training"), owner)
    worker = runner._worker
    assert worker is not None
    worker.outcome.disconnect(runner._on_outcome)  # as if the queued signal were lost
    runner.stop()
    qtbot.waitUntil(lambda: runner.idle, timeout=RUN_TIMEOUT_MS)
    assert [o.result for o in owner.outcomes] == ["stopped"]
    runner._on_outcome(worker.final)  # the late signal, had it come: ignored
    assert len(owner.outcomes) == 1


def test_a_job_that_exits_instead_of_returning_still_ends_with_one_line(qtbot) -> None:
    # SystemExit is no Exception: a job that raises it used to end its thread with no outcome, and the runner (and a
    # window closing after it) waited for ever.
    def exits(sink: Sink, control: RunControl) -> None:
        raise SystemExit(3)

    runner, owner = JobRunner(), Owner()
    with qtbot.waitSignal(runner.failed, timeout=RUN_TIMEOUT_MS) as failed:
        assert runner.start(EngineJob(exits, "Training", "Training"), owner)
    qtbot.waitUntil(lambda: runner.idle, timeout=RUN_TIMEOUT_MS)
    assert [(o.result, o.error) for o in owner.outcomes] == [(None, "SystemExit: 3")]
    assert failed.args[1] == "Training could not run: SystemExit: 3"


def test_a_thread_that_ends_without_running_its_job_ends_the_job(qtbot, monkeypatch) -> None:
    # Whatever ends the thread, its own `finished` ends the job: the runner is idle again and the owner is told.
    monkeypatch.setattr(EngineWorker, "run", lambda self: None)
    runner, owner = JobRunner(), Owner()
    assert runner.start(EngineJob(until_stopped(), "Training", "Training"), owner)
    qtbot.waitUntil(lambda: runner.idle, timeout=RUN_TIMEOUT_MS)
    assert [(o.result, o.error) for o in owner.outcomes] == [(None, "the job's thread ended without a result")]


def test_another_threads_end_does_not_end_the_running_job(qtbot) -> None:
    # An earlier job's `finished` can come after the next job has started: only the running job's thread ends it.
    runner, owner = JobRunner(), Owner()
    assert runner.start(EngineJob(until_stopped(), "A check", "Somewhere"), owner)
    earlier = EngineWorker(until_stopped(), runner)
    earlier.finished.connect(runner._on_thread_finished)
    earlier.finished.emit()
    qtbot.wait(50)
    assert not runner.idle and owner.outcomes == []
    with qtbot.waitSignal(runner.finished, timeout=RUN_TIMEOUT_MS):
        runner.stop()
    assert [o.result for o in owner.outcomes] == ["stopped"]
