"""Trials as ranked rows for `tunelab history` (plain dicts: JSON-ready)."""

from __future__ import annotations

from typing import Any

from trainers.store import TrialStore

COLUMNS = ("rank", "id", "status", "kind", "dataset", "model", "optimizer", "lr", "batch_size", "epochs_run",
           "best_val_acc", "best_val_loss", "test_acc", "duration_s")


def history_rows(store: TrialStore, *, kind: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    """Ranked by best validation accuracy, trials without one last."""
    trials = store.list_trials(kind=kind, order_by="best_val_acc", descending=True, limit=limit)
    rows = []
    for rank, t in enumerate(trials, start=1):
        row = {c: getattr(t, c) for c in COLUMNS if c != "rank"}
        row["created_at"] = t.created_at.isoformat() if t.created_at else None
        row["rank"] = rank
        rows.append(row)
    return rows


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1e-2 or abs(value) >= 1e4 else f"{value:.4f}".rstrip("0").rstrip(".")
    return str(value)


def render_table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "no trials yet: run `tunelab train`"
    table = [list(COLUMNS)] + [[_cell(r[c]) for c in COLUMNS] for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(cell.rjust(w) for cell, w in zip(line, widths)) for line in table)
