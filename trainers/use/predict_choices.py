"""The stored models a user can predict with: training trials that kept weights, and ensembles with their file."""

from __future__ import annotations

from trainers.store import TrialStore
from trainers.store.records import TrialRecord

_USABLE = ("completed", "stopped", "diverged")  # a failed trial may have no weights worth using


def _label(t: TrialRecord) -> str:
    when = t.created_at.astimezone().strftime("%Y-%m-%d %H:%M") if t.created_at else ""
    what = t.name or (f"{t.model} on {t.dataset}" if t.kind == "train" else t.kind)
    score = f" · test acc {t.test_acc:.4f}" if t.test_acc is not None else ""
    score = score or (f" · val acc {t.best_val_acc:.4f}" if t.best_val_acc is not None else "")
    return f"#{t.id} · {when} · {what}{score}"


def predict_choices(store: TrialStore, limit: int = 200) -> list[tuple[int, str]]:
    """(trial id, one-line label) of the newest trials that can predict, newest first."""
    trials = store.list_trials(kind=("train", "ensemble"), status=_USABLE, order_by="id", descending=True, limit=limit)
    return [(t.id, _label(t)) for t in trials if t.checkpoint_best or t.checkpoint_last]
