"""Parallel trials as `tunelab worker` child processes on this machine: started together, watched through the
study (each finished trial reported as it lands), told to stop with SIGTERM (each finishes its current epoch),
killed after a grace period, and the trials they leave running closed as stopped (or failed) afterwards. A pause
of the search pauses every worker before its next batch (trainers/search/pause_signals.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Callable

from optuna.trial import TrialState
from sqlalchemy.engine import make_url

from trainers.search.liveness import storage_of
from trainers.search.pause_signals import CAN_PAUSE, PAUSABLE_ENV, pause_signal
from trainers.search.results import FINISHED, ended_event
from trainers.search.storage import is_journal
from trainers.search.study import LoadedSearch
from trainers.spec.events import RunControl, Sink
from trainers.spec.search_events import SearchTrialReported
from trainers.store import TrialStore

POLL_S = 0.5
KILL_AFTER_S = 60.0  # a worker told to stop gets this long to finish its epoch
STOPPED_MESSAGE = "stopped by request: its worker was ended before the epoch finished"


def worker_command(storage_url: str, study: str, index: int, threads: int) -> list[str]:
    """The command line of one worker; an installed (frozen) TuneLab runs its own executable."""
    head = [sys.executable] if getattr(sys, "frozen", False) else [sys.executable, "-m", "trainers.cli.main"]
    args = ["worker", "--storage", storage_url, "--study", study, "--worker-index", str(index)]
    return head + args + ["--threads", str(threads), "--quiet"]


def worker_storage(storage_url: str) -> tuple[str, dict[str, str]]:
    """The storage URL for a worker's command line and the environment to start it with: a password moves from the
    URL (which `ps` shows to every user) into PGPASSWORD (which only the same user can read)."""
    env = dict(os.environ)
    if is_journal(storage_url):
        return storage_url, env
    url = make_url(storage_url)
    if url.password is None:
        return storage_url, env
    env["PGPASSWORD"] = str(url.password)
    return url.set(password=None).render_as_string(hide_password=False), env


@dataclass
class Reporter:
    """Sends to the sink, once each, what the workers' trials reported and how they ended since the last look."""

    search: LoadedSearch
    sink: Sink
    seen: set[int] = field(default_factory=set)  # trials that ended
    reported: set[tuple[int, int]] = field(default_factory=set)  # (trial, epoch)

    def __call__(self) -> None:
        for t in self.search.study.get_trials(deepcopy=False):
            if t.number in self.seen:
                continue
            for epoch in sorted(t.intermediate_values):
                if (t.number, epoch) not in self.reported:
                    self.reported.add((t.number, epoch))
                    value = float(t.intermediate_values[epoch])
                    self.sink.emit(SearchTrialReported(t.number, t.user_attrs.get("trial_id"), epoch, value))
            if t.state in FINISHED:
                self.seen.add(t.number)
                self.sink.emit(ended_event(t))


def run_workers(
    search: LoadedSearch, count: int, threads: int, *, sink: Sink, control: RunControl, store: TrialStore
) -> list[str]:
    """Run `count` workers to the end of the budget (or a stop); returns notes on workers that failed."""
    report = Reporter(search, sink)
    # Their own session: a Ctrl+C in the terminal reaches this process only, which tells each worker once.
    storage_url, env = worker_storage(search.storage_url)
    env[PAUSABLE_ENV] = "1"  # they pause and resume with the search (trainers/search/pause_signals.py)
    procs = [
        subprocess.Popen(
            worker_command(storage_url, search.name, i, threads),
            stdout=subprocess.DEVNULL,
            start_new_session=True,
            env=env,
        )
        for i in range(count)
    ]
    _watch(procs, control, report)
    report()
    notes = [f"worker {i} exited with code {p.returncode}" for i, p in enumerate(procs) if p.returncode not in (0, 130)]
    _close_orphans(search, store, stopped=control.stop_requested, sink_report=report)
    return notes


def _watch(procs: list[subprocess.Popen], control: RunControl, report: Callable[[], None]) -> None:
    told_at: float | None = None
    paused = False  # what the workers were last told
    while any(p.poll() is None for p in procs):
        report()
        if control.paused != paused and told_at is None and CAN_PAUSE:
            paused = control.paused
            _signal(procs, pause_signal(paused))
        if control.stop_requested and told_at is None:
            told_at = time.monotonic()
            if paused:
                _signal(procs, pause_signal(False))  # a worker stopped while starting must run to see the stop
            _signal(procs, signal.SIGTERM)
        if told_at is not None and time.monotonic() - told_at > KILL_AFTER_S:
            _signal(procs, signal.SIGKILL if hasattr(signal, "SIGKILL") else signal.SIGTERM)
        time.sleep(POLL_S)


def _signal(procs: list[subprocess.Popen], sig: int) -> None:
    for p in procs:
        if p.poll() is None:
            try:
                os.kill(p.pid, sig)
            except ProcessLookupError:
                pass


def _close_orphans(search: LoadedSearch, store: TrialStore, *, stopped: bool, sink_report: Reporter) -> None:
    """Trials still running once every worker has exited were left by a killed worker: told FAIL (status stopped
    after a stop request), and their training trials in the store closed the same way."""
    storage = storage_of(search.study)
    status = "stopped" if stopped else "failed"
    for t in search.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        storage.set_trial_user_attr(t._trial_id, "status", status)
        storage.set_trial_user_attr(t._trial_id, "message", STOPPED_MESSAGE if stopped else "its worker died")
        storage.set_trial_state_values(t._trial_id, TrialState.FAIL)
        trial_id = t.user_attrs.get("trial_id")
        if trial_id is not None and store.get_trial(int(trial_id)).running:
            store.finish_trial(int(trial_id), status, message=STOPPED_MESSAGE if stopped else "its worker died")
    sink_report()
