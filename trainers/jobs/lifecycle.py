"""The one lifecycle every engine job follows: a trial in the store from the start, the run under its own thread
count and seed, every failure mapped to a trial status with one line a user can act on, the trial finished and the
result sent to the sink, and a store the job opened itself closed again.

    with owned_store(store) as store:
        job = start_job(store, "train", cfg, sink=sink, control=control)
        with job.running():
            ...                      # anything raised here becomes the trial's status and message
        result = ...
        job.finish(result, test_acc=...)

Config errors raise before `start_job` returns, so a bad config never leaves a trial behind."""

from __future__ import annotations

import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator

import torch

from trainers.data import DatasetBundle, load_dataset
from trainers.jobs.device import device_label, resolve_device
from trainers.jobs.environment import run_environment
from trainers.jobs.setup import torch_threads, trial_summary
from trainers.spec.config import RunConfig
from trainers.spec.errors import TuneLabError
from trainers.spec.events import NullSink, RunControl, Sink, StopRequested
from trainers.store import TrialStore
from trainers.store.queued import adopt_trial


@contextmanager
def owned_store(store: TrialStore | None) -> Iterator[TrialStore]:
    """The caller's store, or the default one opened for this job and closed after it."""
    if store is not None:
        yield store
        return
    own = TrialStore()
    try:
        yield own
    finally:
        own.close()


@dataclass
class TrialJob:
    """One job's trial and how it is going; the body of `running()` reads and adds to it."""

    store: TrialStore
    trial_id: int
    cfg: RunConfig
    device: torch.device
    sink: Sink
    control: RunControl
    oom_hint: str
    status: str = "completed"
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)

    @property
    def message(self) -> str:
        return "; ".join(n for n in self.notes if n)

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.started

    def fail(self, message: str) -> None:
        self.status = "failed"
        self.notes.insert(0, message)

    def load_data(self, bundle: DatasetBundle | None = None) -> DatasetBundle:
        """The caller's data, else the config's, on the job's device; how raw input becomes its tensors is stored
        with the trial at once, so the trial's model can be used on raw data (`trainers.use.preprocessing`)."""
        data = (bundle or load_dataset(self.cfg.data)).to(self.device)
        if data.preprocessing is not None:
            self.store.update_trial(self.trial_id, extra={"preprocessing": data.preprocessing.to_json()})
        return data

    @contextmanager
    def running(self, stop_note: str = "stopped by request") -> Iterator[None]:
        """Run the body with the config's threads and seed; whatever it raises ends as a status, never a raise."""
        try:
            with torch_threads(self.cfg.train.threads):
                torch.manual_seed(self.cfg.train.seed)
                yield
        except StopRequested:
            self.status = "stopped"
            self.notes.insert(0, stop_note)
        except TuneLabError as exc:
            self.fail(str(exc))
        except torch.OutOfMemoryError:
            self.fail(f"out of memory on {self.device}: {self.oom_hint}")
        except Exception as exc:
            self.fail(f"{type(exc).__name__}: {exc}")
            self.extra["traceback"] = traceback.format_exc()

    def finish(self, result: Any, extra: dict[str, Any] | None = None, **columns: Any) -> Any:
        """Write the final status, message and columns, send the result to the sink and return it."""
        merged = {**(extra or {}), **self.extra}
        try:
            self.store.finish_trial(
                self.trial_id, self.status, message=self.message, **columns, **({"extra": merged} if merged else {})
            )
        finally:
            if self.sink.emit in self.store.outbox.listeners:
                self.store.outbox.listeners.remove(self.sink.emit)
        self.sink.emit(result)
        return result


def start_job(
    store: TrialStore,
    kind: str,
    cfg: RunConfig,
    *,
    sink: Sink | None = None,
    control: RunControl | None = None,
    summary: dict[str, Any] | None = None,
    oom_hint: str = "",
    adopt: int | None = None,
    **trial: Any,
) -> TrialJob:
    """Resolve the device (a config error raises here, before any trial exists) and create the job's trial; with
    `adopt`, the trial is that queued one this process has claimed (trainers/store/queued.py), not a new one."""
    device = resolve_device(cfg.train.device)
    columns = trial_summary(cfg) if summary is None else summary
    trial["extra"] = {"environment": run_environment(device), **(trial.get("extra") or {})}  # for reports
    if adopt is None:
        trial_id = store.create_trial(kind, cfg.to_dict(), **columns, **trial, device=device_label(device))
    else:
        adopt_trial(store, adopt, device_label(device), trial["extra"])
        trial_id = adopt
    hint = oom_hint or f"lower train.batch_size (now {cfg.train.batch_size}) or choose a smaller model"
    job = TrialJob(store, trial_id, cfg, device, sink or NullSink(), control or RunControl(), hint)
    store.outbox.listeners.append(job.sink.emit)  # "store unreachable, retrying" reaches the run's sink
    return job
