"""The one loop that runs a search's trials, in the searching process (one worker) or in `tunelab worker`: reap
trials whose worker died, look at the budget, ask, train, tell, until the budget is spent or a stop is asked. With
the setting `vectorise` K >= 2 it asks up to K trials at a time and trains those that can share one vectorised
model together (trainers/search/vectorised.py)."""

from __future__ import annotations

import time

from trainers.search.budget import ask_lock, next_step
from trainers.search.liveness import reap_stale
from trainers.search.objective import TrialRunner, run_one
from trainers.search.vectorised import ask_count, run_batch

WAIT_S = 1.0  # how often a waiting worker looks at the budget again


def run_trials(runner: TrialRunner) -> int:
    """Run trials until the budget is spent or a stop is asked (a stopped trial ends the loop); returns how many
    trials this worker ran. Each finished trial is sent to the runner's sink as a SearchTrialEnded."""
    study = runner.search.study
    ran = 0
    idle_since = time.monotonic()  # --idle-exit: how long this worker has found nothing to start
    while not _stopping(runner) and (runner.max_trials is None or ran < runner.max_trials):
        reap_stale(study, runner.grace_s)
        with ask_lock(runner.search):
            step = next_step(runner.search)
            count = ask_count(runner) if runner.max_trials is None else min(ask_count(runner), runner.max_trials - ran)
            trials = [study.ask() for _ in range(count)] if step == "start" else []
        if step == "done":
            break
        if not trials:
            if runner.idle_exit_s is not None and time.monotonic() - idle_since >= runner.idle_exit_s:
                break
            _wait(runner, WAIT_S)
            continue
        stopped = False
        for ended in run_batch(runner, trials) if len(trials) > 1 else [run_one(runner, trials[0])]:
            runner.sink.emit(ended)
            ran += 1
            stopped = stopped or ended.state == "stopped"
        if stopped:
            break
        idle_since = time.monotonic()
    return ran


def _stopping(runner: TrialRunner) -> bool:
    return runner.control.stop_requested or runner.epoch_stop.is_set()


def _wait(runner: TrialRunner, seconds: float) -> None:
    end = time.monotonic() + seconds
    while not _stopping(runner) and time.monotonic() < end:
        runner.epoch_stop.wait(min(0.1, max(0.0, end - time.monotonic())))
