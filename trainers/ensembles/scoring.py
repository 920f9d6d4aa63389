"""The results table: each member's and the ensemble's validation and test accuracy and loss, the ensemble's
gain over the best and the mean member, and how often members disagree."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trainers.ensembles.combine import accuracy_and_loss, disagreement, predictions
from trainers.spec.ensemble_events import MemberScore


@dataclass(frozen=True)
class SplitProbs:
    """Probabilities on the validation split, and on the test split when there is one."""

    val: np.ndarray
    test: np.ndarray | None


def score(
    label: str,
    trial_id: int | None,
    weight: float | None,
    probs: SplitProbs,
    y_val: np.ndarray,
    y_test: np.ndarray | None,
) -> MemberScore:
    val_acc, val_loss = accuracy_and_loss(probs.val, y_val)
    test_acc = test_loss = None
    if probs.test is not None and y_test is not None and len(y_test):
        test_acc, test_loss = accuracy_and_loss(probs.test, y_test)
    return MemberScore(label, trial_id, weight, val_acc, val_loss, test_acc, test_loss)


def gains(
    members: list[MemberScore], ensemble: MemberScore, first: MemberScore | None = None
) -> dict[str, dict[str, float | None]]:
    """The ensemble's accuracy minus the best and the mean member's, for validation and test; with `first` (the
    best stored trial by the ranking metric, a member or not) also minus its accuracy, as "first"."""
    out: dict[str, dict[str, float | None]] = {}
    for metric in ("val_acc", "test_acc"):
        values = [getattr(m, metric) for m in members if getattr(m, metric) is not None]
        mine = getattr(ensemble, metric)
        if mine is None or not values:
            out[metric] = {"best": None, "mean": None}
        else:
            out[metric] = {"best": mine - max(values), "mean": mine - float(np.mean(values))}
        if first is not None:
            theirs = getattr(first, metric)
            out[metric]["first"] = None if mine is None or theirs is None else mine - theirs
    return out


def best_single(pool: list[MemberScore], rank_by: str) -> MemberScore | None:
    """The trial a user would take alone: the best by the ranking metric (validation accuracy, ties to the lower
    validation loss; or the lowest validation loss, ties to the higher accuracy), the first of equals."""
    scored = [m for m in pool if m.val_acc is not None and m.val_loss is not None]
    if not scored:
        return None
    if rank_by == "val_loss":
        return min(scored, key=lambda m: (m.val_loss, -m.val_acc))  # type: ignore[operator]
    return min(scored, key=lambda m: (-m.val_acc, m.val_loss))  # type: ignore[operator]


def diversity(member_probs: list[SplitProbs]) -> tuple[float | None, str]:
    """Mean pairwise disagreement of the members' predicted classes, on the test split when there is one."""
    if len(member_probs) < 2:
        return None, ""
    split = "test" if all(p.test is not None and len(p.test) for p in member_probs) else "val"
    preds = np.stack([predictions(p.test if split == "test" else p.val) for p in member_probs])  # type: ignore[arg-type]
    return disagreement(preds), split
