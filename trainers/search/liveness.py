"""Whether a running Optuna trial's worker is still alive, for any storage.

Optuna's own heartbeat (RDBStorage, PostgreSQL) only runs inside study.optimize, and the journal storage has none:
so a running trial beats here, in a thread, for both. On an RDB storage the beat is Optuna's (record_heartbeat) and
stale trials are failed by Optuna's fail_stale_trials with its retry callback; on a journal the beat is a system
attribute holding the time, and a trial silent for longer than the grace period is failed here and its parameters
queued again once (as Optuna's RetryHeartbeatStaleTrialCallback does). Its TuneLab trial stops beating the store's
own heartbeat too (trainers/store/heartbeat.py) and is marked "interrupted", keeping its epochs, by any process of
any host that opens the store or beats for its own trials once the store's grace period has passed."""

from __future__ import annotations

import threading
import time
import warnings
from contextlib import contextmanager
from typing import Any, Iterator

import optuna
from optuna.exceptions import UpdateFinishedTrialError
from optuna.storages._heartbeat import is_heartbeat_enabled
from optuna.trial import TrialState

from trainers.search.storage import HEARTBEAT_S

BEAT_ATTR = "heartbeat"  # system attribute of a running trial on a journal: time.time() of its last beat
INTERRUPTED = "interrupted"  # the trial's "status" user attribute once failed for want of a heartbeat
MAX_RETRY = 1


def beat_interval(grace_s: float) -> float:
    """A beat often enough that a live trial never looks dead to a worker waiting `grace_s` seconds."""
    return min(HEARTBEAT_S, grace_s / 4)


def storage_of(study: optuna.Study) -> Any:
    return study._storage  # Optuna keeps it private; the heartbeat and reaping need the storage itself


@contextmanager
def heartbeat(study: optuna.Study, trial_id: int, interval: float = HEARTBEAT_S) -> Iterator[None]:
    """Beat for `trial_id` every `interval` seconds while the body runs."""
    storage = storage_of(study)
    done = threading.Event()
    rdb = is_heartbeat_enabled(storage)

    def beat() -> None:
        # Optuna's stale check only sees trials that beat once; a journal trial is judged by its start until its first
        if not rdb and done.wait(interval):
            return
        while True:
            try:
                if rdb:
                    storage.record_heartbeat(trial_id)
                else:
                    storage.set_trial_system_attr(trial_id, BEAT_ATTR, time.time())
            except Exception:  # a missed beat is not fatal: the next one, or the grace period, decides
                pass
            if done.wait(interval):
                return

    thread = threading.Thread(target=beat, name=f"search-heartbeat-{trial_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def reap_stale(study: optuna.Study, grace_s: float) -> list[int]:
    """Fail the running trials whose worker stopped beating more than `grace_s` seconds ago and queue their
    parameters again; returns their numbers (those this call failed, on a journal)."""
    storage = storage_of(study)
    if is_heartbeat_enabled(storage):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna.storages.fail_stale_trials(study)
        return []
    now = time.time()
    reaped = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        started = t.datetime_start.timestamp() if t.datetime_start else now
        if now - float(t.system_attrs.get(BEAT_ATTR, started)) <= grace_s:
            continue
        try:
            storage.set_trial_user_attr(t._trial_id, "status", INTERRUPTED)
            storage.set_trial_user_attr(t._trial_id, "message", f"its worker stopped beating for over {grace_s:g} s")
            failed = storage.set_trial_state_values(t._trial_id, TrialState.FAIL)
        except UpdateFinishedTrialError:  # its worker finished it after all, or another worker reaped it
            continue
        if failed:
            reaped.append(t.number)
            retry(study, storage.get_trial(t._trial_id))
    return reaped


def retry(study: optuna.Study, t: optuna.trial.FrozenTrial) -> None:
    """Queue the parameters of `t` again, as Optuna's RetryHeartbeatStaleTrialCallback does (the same system
    attributes: failed_trial, retry_history), but without copying its user attributes (its "interrupted" status)."""
    history = [*t.system_attrs.get("retry_history", []), t.number]
    if len(history) > MAX_RETRY:
        return
    system = {"failed_trial": t.system_attrs.get("failed_trial", t.number), "retry_history": history}
    study.add_trial(
        optuna.trial.create_trial(
            state=TrialState.WAITING, params=t.params, distributions=t.distributions, system_attrs=system
        )
    )
