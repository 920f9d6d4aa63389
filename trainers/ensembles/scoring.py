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


def gains(members: list[MemberScore], ensemble: MemberScore) -> dict[str, dict[str, float | None]]:
    """The ensemble's accuracy minus the best and the mean member's, for validation and test."""
    out: dict[str, dict[str, float | None]] = {}
    for metric in ("val_acc", "test_acc"):
        values = [getattr(m, metric) for m in members if getattr(m, metric) is not None]
        mine = getattr(ensemble, metric)
        if mine is None or not values:
            out[metric] = {"best": None, "mean": None}
        else:
            out[metric] = {"best": mine - max(values), "mean": mine - float(np.mean(values))}
    return out


def diversity(member_probs: list[SplitProbs]) -> tuple[float | None, str]:
    """Mean pairwise disagreement of the members' predicted classes, on the test split when there is one."""
    if len(member_probs) < 2:
        return None, ""
    split = "test" if all(p.test is not None and len(p.test) for p in member_probs) else "val"
    preds = np.stack([predictions(p.test if split == "test" else p.val) for p in member_probs])  # type: ignore[arg-type]
    return disagreement(preds), split
