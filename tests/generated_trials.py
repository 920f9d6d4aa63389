"""Stores full of made-up but realistic trials, inserted in bulk (thousands a second), for the History tab's
lazy-loading test and tests/bench/bench_history.py.

Each trial carries a full config (RunConfig().to_dict() with its lr, model, optimizer, batch size, dropout,
weight decay and seed varied) and the summary columns the store derives from it; about a third of the configs
ran with several seeds, so the robust ranking has groups to rank. A few trials get epoch rows.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert

from trainers.spec.config import RunConfig
from trainers.store import TrialStore
from trainers.store.config_key import config_key
from trainers.store.schema import EpochMetric, Trial

MODELS = ("mlp", "cnn")
OPTIMIZERS = ("adam", "sgd", "adamw")
DATASETS = ("digits", "mnist", "fashion_mnist")
LABELS = ("good_fit", "overfitting", "underfitting", "lr_too_high", "too_noisy", "diverged")
STATUS_WEIGHTS = (("completed", 80), ("stopped", 8), ("diverged", 6), ("failed", 3), ("interrupted", 3))


def _config(rng: random.Random) -> dict[str, Any]:
    cfg = RunConfig().to_dict()
    cfg["data"]["source"] = rng.choice(DATASETS)
    cfg["model"]["family"] = rng.choice(MODELS)
    cfg["model"]["dropout"] = rng.choice((0.0, 0.1, 0.2, 0.3, 0.5))
    cfg["optim"]["name"] = rng.choice(OPTIMIZERS)
    cfg["optim"]["lr"] = float(f"{10 ** rng.uniform(-4.5, -0.5):.3g}")
    cfg["optim"]["weight_decay"] = rng.choice((0.0, 1e-4, 5e-4, 1e-3))
    cfg["train"]["batch_size"] = rng.choice((32, 64, 128, 256))
    cfg["train"]["epochs"] = rng.choice((5, 10, 20))
    return cfg


def trial_rows(n: int, seed: int = 0) -> list[dict[str, Any]]:
    """n rows for the trials table (no ids: the database numbers them)."""
    rng = random.Random(seed)
    statuses = [s for s, w in STATUS_WEIGHTS for _ in range(w)]
    start = datetime(2024, 1, 1, tzinfo=UTC)
    rows: list[dict[str, Any]] = []
    while len(rows) < n:
        cfg = _config(rng)
        key = config_key(cfg)
        quality = rng.uniform(0.55, 0.99)  # what this config reaches; seeds scatter around it
        for seed in range(rng.choice((1, 1, 3, 5)) if len(rows) < n else 0):
            if len(rows) == n:
                break
            cfg["train"]["seed"] = seed
            status = rng.choice(statuses)
            epochs = cfg["train"]["epochs"] if status == "completed" else rng.randint(0, cfg["train"]["epochs"])
            finished = status in ("completed", "stopped") and epochs > 0
            val_acc = min(0.999, max(0.05, quality + rng.gauss(0, 0.01))) if finished else None
            created = start + timedelta(minutes=len(rows))
            duration = rng.uniform(5, 600)
            rows.append(
                dict(
                    kind="train",
                    status=status,
                    name="",
                    created_at=created,
                    started_at=created,
                    ended_at=created + timedelta(seconds=duration),
                    duration_s=duration,
                    config_json=json.dumps(cfg),
                    dataset=cfg["data"]["source"],
                    model=cfg["model"]["family"],
                    optimizer=cfg["optim"]["name"],
                    lr=cfg["optim"]["lr"],
                    batch_size=cfg["train"]["batch_size"],
                    dropout=cfg["model"]["dropout"],
                    weight_decay=cfg["optim"]["weight_decay"],
                    seed=seed,
                    epochs_planned=cfg["train"]["epochs"],
                    epochs_run=epochs,
                    best_epoch=epochs or None,
                    best_val_acc=val_acc,
                    best_val_loss=None if val_acc is None else (1 - val_acc) * 2.3,
                    final_train_loss=None,
                    test_acc=None if val_acc is None else val_acc - 0.005,
                    test_loss=None,
                    message="",
                    diverged_step=None,
                    notes=rng.choice(("", "", "", "wider net", "baseline")),
                    checkpoint_best=None,
                    checkpoint_last=None,
                    pid=None,
                    host="bench",
                    process_start=None,
                    extra_json="{}",
                    config_key=key,
                    diagnosis=rng.choice(LABELS) if status != "failed" else None,
                )
            )
    return rows


def fill_store(store: TrialStore, n: int, seed: int = 0, with_epochs: int = 20) -> None:
    """Insert n generated trials in one transaction; the first `with_epochs` get five epoch rows each."""
    rows = trial_rows(n, seed)
    with store.engine.begin() as conn:
        conn.execute(insert(Trial), rows)
        epochs = []
        for trial_id in range(1, min(n, with_epochs) + 1):
            for epoch in range(1, 6):
                loss = 2.3 / (epoch + 1)
                epochs.append(
                    dict(
                        trial_id=trial_id,
                        epoch=epoch,
                        train_loss=loss,
                        train_acc=1 - loss / 2.5,
                        val_loss=loss * 1.1,
                        val_acc=1 - loss / 2.4,
                        lr=1e-3,
                        seconds=1.0,
                        samples_per_sec=1000.0,
                    )
                )
        if epochs:
            conn.execute(insert(EpochMetric), epochs)
