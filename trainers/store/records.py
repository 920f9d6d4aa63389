"""What the store hands to callers: frozen plain-data copies of rows.

Never ORM objects: a record must stay valid after its session closed and cross threads (the GUI
worker) without lazy loads touching the database.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class TrialRecord:
    id: int
    kind: str
    status: str
    name: str
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    duration_s: float | None
    config_json: str
    dataset: str
    model: str
    optimizer: str
    lr: float | None
    batch_size: int | None
    dropout: float | None
    weight_decay: float | None
    seed: int | None
    epochs_planned: int | None
    epochs_run: int
    best_epoch: int | None
    best_val_acc: float | None
    best_val_loss: float | None
    final_train_loss: float | None
    test_acc: float | None
    test_loss: float | None
    message: str
    diverged_step: int | None
    notes: str
    checkpoint_best: str | None
    checkpoint_last: str | None
    pid: int | None
    host: str
    process_start: int | None
    extra_json: str
    config_key: str | None
    diagnosis: str | None
    dataset_label: str | None
    heartbeat_at: datetime | None
    device: str | None
    config: dict[str, Any] = field(default_factory=dict)  # config_json parsed
    extra: dict[str, Any] = field(default_factory=dict)  # extra_json parsed

    @property
    def running(self) -> bool:
        return self.status == "running"

    @property
    def queued(self) -> bool:
        """Waiting for `tunelab worker --queue` (trainers/store/queued.py): not run yet, nothing to diagnose."""
        return self.status == "queued"


@dataclass(frozen=True)
class EpochRecord:
    trial_id: int
    epoch: int
    train_loss: float | None
    train_acc: float | None
    val_loss: float | None
    val_acc: float | None
    lr: float | None
    seconds: float | None
    samples_per_sec: float | None


# Columns copied one to one from a row (the parsed dicts are added on top).
_TRIAL_COLUMNS = tuple(f.name for f in fields(TrialRecord) if f.name not in ("config", "extra"))
_EPOCH_COLUMNS = tuple(f.name for f in fields(EpochRecord))


def parse_json(text: str | None) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}  # the raw text stays readable in config_json / extra_json
    return value if isinstance(value, dict) else {}


def trial_record(row: Any) -> TrialRecord:
    """A detached copy of a `trials` row."""
    values = {name: getattr(row, name) for name in _TRIAL_COLUMNS}
    return TrialRecord(**values, config=parse_json(row.config_json), extra=parse_json(row.extra_json))


def epoch_record(row: Any) -> EpochRecord:
    """A detached copy of an `epoch_metrics` row."""
    return EpochRecord(**{name: getattr(row, name) for name in _EPOCH_COLUMNS})
