"""Trials as ranked rows for `tunelab history` (plain dicts: JSON-ready)."""

from __future__ import annotations

import shlex
from typing import Any

from trainers.diagnosis.diagnose import fill_diagnoses
from trainers.spec.errors import ConfigError
from trainers.store import TrialQuery, TrialStore
from trainers.store.trial_query import FILTER_COLUMNS

COLUMNS = (
    "rank",
    "id",
    "status",
    "kind",
    "dataset",
    "model",
    "optimizer",
    "lr",
    "batch_size",
    "epochs_run",
    "best_val_acc",
    "best_val_loss",
    "test_acc",
    "duration_s",
    "diagnosis",
)
ROBUST_COLUMNS = ("robust_rank", "robust_mean", "robust_std", "robust_n")


def parse_filter(text: str) -> tuple[tuple[tuple[str, str], ...], str]:
    """`model=mlp status=completed wider` → ((("model", "mlp"), ("status", "completed")), "wider")."""
    try:
        words = shlex.split(text or "")
    except ValueError as exc:
        raise ConfigError("--filter", text, f"words and column=value pairs ({exc})") from None
    pairs: list[tuple[str, str]] = []
    free: list[str] = []
    for word in words:
        column, sep, value = word.partition("=")
        if not sep:
            free.append(word)
        elif column in FILTER_COLUMNS:
            pairs.extend((column, v) for v in value.split(",") if v)
        else:
            raise ConfigError("--filter", word, f"column=value with a column of {', '.join(FILTER_COLUMNS)}")
    return tuple(pairs), " ".join(free)


def build_query(
    sort: str = "rank", filter_text: str = "", metric: str = "val_acc", kind: str | None = None, robust: bool = False
) -> TrialQuery:
    """`sort` is rank, robust or a column name; a leading "-" reverses it."""
    descending = sort.startswith("-")
    key = sort.lstrip("-")
    key = "robust" if robust and key == "rank" else key
    filters, text = parse_filter(filter_text)
    if kind:
        filters += (("kind", kind),)
    return TrialQuery(metric=metric, sort=key, descending=descending, filters=filters, text=text)


def failure(trial: Any) -> str | None:
    """For a failed trial, why it failed, in place of a diagnosis (its curves say nothing about its settings)."""
    if trial.status != "failed":
        return None
    lines = (trial.message or "").strip().splitlines()
    return f"failed: {lines[0]}" if lines else "failed"


def history_rows(
    store: TrialStore, query: TrialQuery | None = None, *, limit: int | None = None, robust: bool = False
) -> list[dict[str, Any]]:
    """A page of ranked trials; finished training runs without a stored diagnosis get one first."""
    query = query or TrialQuery()
    # the robust statistics group every trial: computed only when asked for (or needed for the order)
    page = store.query_trials(query, 0, limit, None if robust or query.sort == "robust" else {})
    filled = fill_diagnoses(store, [r.trial.id for r in page if r.trial.diagnosis is None])
    rows = []
    for r in page:
        row = {c: getattr(r.trial, c) for c in COLUMNS if c != "rank"}
        row["dataset"] = r.trial.dataset_label or r.trial.dataset  # "csv: iris.csv": which file, not only "csv"
        row["diagnosis"] = failure(r.trial) or filled.get(r.trial.id, r.trial.diagnosis)
        row["rank"] = r.rank
        row["created_at"] = r.trial.created_at.isoformat() if r.trial.created_at else None
        row.update(host=r.trial.host, device=r.trial.device)  # which machine and device ran it (JSON only)
        row.update(robust_rank=r.robust_rank, robust_mean=r.robust_mean, robust_std=r.robust_std, robust_n=r.robust_n)
        rows.append(row)
    return rows


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1e-2 or abs(value) >= 1e4 else f"{value:.4f}".rstrip("0").rstrip(".")
    return str(value)


def render_table(rows: list[dict[str, Any]], robust: bool = False) -> str:
    if not rows:
        return "no trials match: run `tunelab train`, or loosen --filter"
    columns = COLUMNS + (ROBUST_COLUMNS if robust else ())
    table = [list(columns)] + [[_cell(r[c]) for c in columns] for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(columns))]
    return "\n".join("  ".join(cell.rjust(w) for cell, w in zip(line, widths)) for line in table)
