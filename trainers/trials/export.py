"""Trials written out for other tools: CSV (one row per trial, config flattened) or JSON (with epochs)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any, Sequence

from trainers.spec.errors import StoreError
from trainers.spec.json_data import finite_json
from trainers.store import TrialStore

SUMMARY = (
    "id",
    "kind",
    "status",
    "name",
    "dataset",
    "model",
    "optimizer",
    "lr",
    "batch_size",
    "dropout",
    "weight_decay",
    "seed",
    "epochs_planned",
    "epochs_run",
    "best_epoch",
    "best_val_acc",
    "best_val_loss",
    "test_acc",
    "test_loss",
    "duration_s",
    "diagnosis",
    "message",
    "notes",
)


def trial_dict(store: TrialStore, trial_id: int, with_epochs: bool = True) -> dict[str, Any]:
    t = store.get_trial(trial_id)
    row: dict[str, Any] = {name: getattr(t, name) for name in SUMMARY}
    row["created_at"] = t.created_at.isoformat() if t.created_at else None
    row["config"] = t.config
    if with_epochs:
        row["epochs"] = [
            {k: getattr(e, k) for k in ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds")}
            for e in store.epochs(trial_id)
        ]
    return row


def export_trials(store: TrialStore, trial_ids: Sequence[int], path: str | Path) -> Path:
    """Write the trials to `path`: JSON when it ends in .json, else CSV. Returns the path written."""
    p = Path(path).expanduser()
    if not trial_ids:
        raise StoreError("nothing to export: select at least one trial")
    try:
        if p.suffix.lower() == ".json":
            rows = [trial_dict(store, i) for i in trial_ids]
            p.write_text(json.dumps(finite_json(rows), indent=1), encoding="utf-8")
        else:
            _write_csv(store, trial_ids, p)
    except OSError as exc:
        raise StoreError(f"cannot write {p}: {exc.strerror or exc}") from exc
    return p


def _write_csv(store: TrialStore, trial_ids: Sequence[int], p: Path) -> None:
    rows = []
    for i in trial_ids:
        row = trial_dict(store, i, with_epochs=False)
        config = row.pop("config")
        for section, fields in config.items():
            for name, value in fields.items() if isinstance(fields, dict) else ():
                row[f"{section}.{name}"] = value
        rows.append(row)
    columns = list(dict.fromkeys(key for row in rows for key in row))
    with p.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
