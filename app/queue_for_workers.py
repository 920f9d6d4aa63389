"""Run on workers: the window queues runs in the store (status "queued") for `tunelab worker --queue` on other hosts
to train, instead of training them here. Queuing is a write to the store, so it runs on a StoreReader's thread
(app/store_reader.py), made on first use: a network database never freezes the window."""

from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import QObject

from app.store_reader import StoreReader
from trainers.spec.config import RunConfig

WORKER_HINT = "`tunelab worker --store URL --queue` on any host trains it"


def queue_config(cfg: RunConfig, store_url: str | None) -> Callable[[], int]:
    """Queue `cfg` as one training run; the call returns its trial id."""

    def call() -> int:
        from trainers.api import TrialStore, queue_run

        with TrialStore(store_url) as store:
            return queue_run(store, cfg)

    return call


def queue_seed_reruns(trial_ids: list[int], seeds: int, store_url: str | None) -> Callable[[], list[int]]:
    """Queue the trials' re-runs with `seeds` unused seeds each; the call returns the queued trial ids."""

    def call() -> list[int]:
        from trainers.api import TrialStore, queue_reruns

        with TrialStore(store_url) as store:
            return queue_reruns(store, trial_ids, seeds)

    return call


class WorkerQueue(QObject):
    """Queues runs off the GUI thread; the answer (trial ids, or one error line) comes back on the GUI thread."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._reader: StoreReader | None = None

    @property
    def busy(self) -> bool:
        return self._reader is not None and self._reader.busy

    def submit(self, call: Callable[[], Any], on_done: Callable[[Any], None], on_error: Callable[[str], None]) -> None:
        if self._reader is None:
            self._reader = StoreReader(self, name="tunelab-queue-writer")
        self._reader.submit("", call, on_done, on_error)  # "": every request counts, none replaces another
