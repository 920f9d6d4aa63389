"""The History table's columns: header, the store's sort key, and how a ranked trial shows in the cell.

Plain Python (no Qt, no engine import), so the table model only maps rows to these functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

# Ranking metrics as the rank-by choice names them (the store's TrialQuery.metric values). The validation numbers
# are those of the kept epoch (the best by early_stop.monitor), whose weights were saved and scored on the test split.
METRIC_NAMES = {
    "val_acc": "validation accuracy of the kept epoch",
    "val_loss": "validation loss of the kept epoch",
    "test_acc": "test accuracy",
    "duration": "duration",
}
METRIC_COLUMNS = {
    "val_acc": "best_val_acc",
    "val_loss": "best_val_loss",
    "test_acc": "test_acc",
    "duration": "duration_s",
}


def _num(value: float | None, digits: int = 4) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def format_lr(value: float | None) -> str:
    return "" if value is None else f"{value:.3g}"


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, s = divmod(int(round(seconds)), 60)
    return f"{minutes} min {s:02d} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


def robust_text(r: Any) -> str:
    """ "rank 2 · 0.9712 ± 0.0031 (3 seeds)", or "" for a config run with fewer than two seeds."""
    if r.robust_mean is None or not r.robust_n:
        return ""
    return f"rank {r.robust_rank} · {r.robust_mean:.4f} ± {r.robust_std or 0.0:.4f} ({r.robust_n} seeds)"


# The stored trial kinds as a reader says them ("lr_test" is the LR finder's kind in the store and the CLI).
KIND_WORDS = {"train": "training", "lr_test": "LR finder"}
# The stored diagnosis labels as a reader says them.
DIAGNOSIS_WORDS = {"good_fit": "good fit", "lr_too_high": "LR too high", "too_noisy": "too noisy to tell"}


def diagnosis_text(r: Any) -> str:
    """The stored label in words; for a failed trial, why it failed (its curves were never diagnosed)."""
    t = r.trial
    if t.status == "failed":
        lines = (t.message or "").strip().splitlines()
        return f"failed: {lines[0]}" if lines else "failed"
    return DIAGNOSIS_WORDS.get(t.diagnosis or "", t.diagnosis or "")


@dataclass(frozen=True)
class Column:
    key: str  # a stable name for tests and code
    header: str
    sort: str  # TrialQuery.sort for a click on this header
    text: Callable[[Any], str]  # RankedTrial -> cell text
    numeric: bool = False  # right-aligned
    width: int = 80
    tip: str = ""


def _trial(name: str, fmt: Callable[[Any], str] = lambda v: "" if v is None else str(v)) -> Callable[[Any], str]:
    return lambda r: fmt(getattr(r.trial, name))


COLUMNS: tuple[Column, ...] = (
    Column(
        "rank",
        "Rank",
        "rank",
        lambda r: "" if r.rank is None else str(r.rank),
        True,
        50,
        "Position by the rank-by metric among the trials shown (empty: no value yet)",
    ),
    Column(
        "robust",
        "Robust",
        "robust",
        robust_text,
        True,
        235,
        "Mean ± standard deviation of the metric over every seed of this config, and the config's rank by "
        "its worst plausible score (mean ∓ std), so one lucky seed does not win",
    ),
    Column("id", "#", "id", _trial("id"), True, 50, "Trial number"),
    Column("status", "Status", "status", _trial("status"), False, 85),
    Column("kind", "Kind", "kind", _trial("kind", lambda v: KIND_WORDS.get(v, v)), False, 60),
    Column(
        "dataset",
        "Dataset",
        "dataset_label",
        lambda r: r.trial.dataset_label or r.trial.dataset,
        False,
        120,
        "The data source, and the file or folder it read",
    ),
    Column("model", "Model", "model", _trial("model"), False, 70),
    Column("optimizer", "Optimizer", "optimizer", _trial("optimizer"), False, 75),
    Column("lr", "LR", "lr", _trial("lr", format_lr), True, 65, "Learning rate"),
    Column("batch_size", "Batch", "batch_size", _trial("batch_size"), True, 55, "Batch size"),
    Column("epochs_run", "Epochs", "epochs_run", _trial("epochs_run"), True, 60, "Epochs run"),
    Column("dropout", "Dropout", "dropout", _trial("dropout", lambda v: "" if v is None else f"{v:g}"), True, 65),
    Column(
        "weight_decay",
        "Weight decay",
        "weight_decay",
        _trial("weight_decay", lambda v: "" if v is None else f"{v:g}"),
        True,
        95,
    ),
    Column(
        "best_val_acc",
        "Val acc (kept)",
        "best_val_acc",
        _trial("best_val_acc", _num),
        True,
        100,
        "Validation accuracy of the kept weights: the best epoch by early_stop.monitor (validation loss by "
        "default), whose weights are saved and scored on the test split. The peak of any epoch is in the details",
    ),
    Column(
        "best_val_loss",
        "Val loss (kept)",
        "best_val_loss",
        _trial("best_val_loss", _num),
        True,
        100,
        "Validation loss of the kept weights (the best epoch by early_stop.monitor)",
    ),
    Column(
        "test_acc",
        "Test acc",
        "test_acc",
        _trial("test_acc", _num),
        True,
        70,
        "Test accuracy (scored once, after training)",
    ),
    Column("duration", "Duration", "duration_s", _trial("duration_s", format_duration), True, 95),
    Column(
        "diagnosis",
        "Diagnosis",
        "diagnosis",
        diagnosis_text,
        False,
        95,
        "What the curves say (select the trial for the evidence and what to try); for a failed trial, why it failed",
    ),
    Column("host", "Host", "host", _trial("host"), False, 90, "The machine that ran the trial"),
    Column(
        "device",
        "Device",
        "device",
        _trial("device", lambda v: v or ""),
        False,
        65,
        "Where it trained: cpu, cuda:N (the GPU's index) or mps; empty for trials of earlier versions",
    ),
    Column("notes", "Notes", "notes", _trial("notes", lambda v: (v or "").replace("\n", " ")), False, 200),
)
COLUMN_INDEX = {c.key: i for i, c in enumerate(COLUMNS)}
