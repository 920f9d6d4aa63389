"""Copying a finished trial's files into the store's database, where every host reaches them (when the store's
artifact policy says so: trainers/store/artifact_policy.py).

Done once per trial, as it finishes, rather than at every improved epoch: a resnet18-size checkpoint costs about two
seconds to store in the database (tests/bench/bench_artifacts.py), and only a finished trial's weights are used by
others (ensembles, evaluation, export). A trial whose host dies first keeps its files on that host only; it ends
as interrupted, and a search runs it again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from trainers.spec.errors import StoreError
from trainers.store.artifact_policy import ArtifactPolicy
from trainers.store.artifact_store import ArtifactStore
from trainers.store.recovery import host_name

FILE_FIELDS = ("checkpoint_best", "checkpoint_last")


class TrialStore(Protocol):
    """What publishing needs of trainers.store.trial_store.TrialStore (which imports this module)."""

    read_only: bool
    artifact_policy: ArtifactPolicy
    artifacts: ArtifactStore

    def file_columns(self, trial_id: int) -> tuple[str | None, ...]: ...


def trial_files(store: TrialStore, trial_id: int, fields: dict[str, Any]) -> list[Path]:
    """The trial's files as this finish writes them (`fields`) or as stored before, those present on this host."""
    given = [fields.get(name) for name in FILE_FIELDS]
    stored = (None,) * len(FILE_FIELDS) if all(given) else store.file_columns(trial_id)
    paths = [new or old for new, old in zip(given, stored)]
    unique = dict.fromkeys(Path(str(p)) for p in paths if p)
    return [path for path in unique if path.is_file()]


def publish_files(store: TrialStore, trial_id: int, fields: dict[str, Any]) -> str:
    """Store the trial's files in the database when its policy says so. Returns "" or one line saying the files
    stay on this host only, and why (the trial still finishes: its local files are kept)."""
    if store.read_only or not store.artifact_policy.in_database:
        return ""
    try:
        for path in trial_files(store, trial_id, fields):
            store.artifacts.put_file(trial_id, path.name, path)
    except StoreError as exc:
        return f"its files stay on {host_name()} only, as the database could not take them: {exc}"
    return ""
