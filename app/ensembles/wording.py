"""Wording of ensembles for the window: accuracies, losses, gains in points, diversity and how a job ended.

Plain functions of the engine's events and results, so the tables and the message line read the same.
"""

from __future__ import annotations

from typing import Any

from app.training.run_panel import STATUS_KIND
from trainers.spec.ensemble_settings import MEASURED_GAIN, METHOD_LABELS

DASH = "—"
EXPECTED_GAIN = f"What to expect: {MEASURED_GAIN}."


def method_label(method: str) -> str:
    return METHOD_LABELS.get(method, method)


def percent(acc: float | None) -> str:
    """An accuracy as a percentage with one decimal: 0.9712 → "97.1 %"."""
    return DASH if acc is None else f"{100 * acc:.1f} %"


def loss(value: float | None) -> str:
    return DASH if value is None else f"{value:.4f}"


def weight(value: float | None) -> str:
    return DASH if value is None else f"{value:.3f}"


def points(delta: float | None) -> str:
    """A gain in accuracy units as signed points: 0.012 → "+1.2 points" (1 point = 1 % accuracy)."""
    if delta is None:
        return DASH
    shown = round(100 * delta, 1) + 0.0  # + 0.0: no "-0.0" for a loss too small to show
    unit = "point" if abs(shown) == 1 else "points"
    return f"{shown:+.1f} {unit}"


def gains_lines(gains: dict[str, dict[str, float | None]]) -> list[str]:
    """One line per split: "Gain in validation accuracy: +1.2 points vs the best member, -0.4 points vs the mean
    member" (signed: an ensemble can do worse than its best member), then vs the best single trial when known."""
    lines = []
    for key, name in (("val_acc", "Gain in validation accuracy"), ("test_acc", "Gain in test accuracy")):
        gain = gains.get(key) or {}
        if gain.get("best") is None and gain.get("mean") is None:
            continue
        line = f"{name}: {points(gain.get('best'))} vs the best member, {points(gain.get('mean'))} vs the mean member"
        if gain.get("first") is not None:
            line += f", {points(gain.get('first'))} vs the best single trial"
        lines.append(line)
    return lines


def best_single_line(result: Any) -> str:
    """The best stored trial on its own beside the ensemble (result: EnsembleResult); "" when there is none."""
    b = result.best_single
    if b is None:
        return ""
    trial = f"trial {b.trial_id}" if b.trial_id is not None else b.label
    return (
        f"Best single trial: {trial}, ranked first of {result.pool}: validation {percent(b.val_acc)}, "
        f"test {percent(b.test_acc)}"
    )


def headline(result: Any) -> str:
    """ "Ensemble 12: Soft voting of 3 members (completed)"; greedy selection says how many it chose among."""
    who = f"Ensemble {result.trial_id}" if result.trial_id is not None else "Ensemble"
    among = f", chosen from {result.pool} trials" if result.method == "greedy-selection" and result.pool else ""
    return f"{who}: {method_label(result.method)} of {len(result.members)} members{among} ({result.status})"


def diversity_line(diversity: float | None, split: str) -> str:
    if diversity is None:
        return "Diversity: not measured"
    where = {"test": "the test split", "val": "the validation split"}.get(split, split or "held-out data")
    return (
        f"Diversity: {diversity:.3f} (mean pairwise disagreement on {where}: two members disagree on "
        f"{100 * diversity:.1f} % of its samples)"
    )


def describe_outcome(outcome: Any) -> tuple[str, str]:
    """The line shown when an ensemble job ends (outcome: app.worker.JobOutcome), and its style."""
    r = outcome.result
    if r is None:
        return f"The ensemble could not start: {outcome.error}", "error"
    name = f"Ensemble {r.trial_id}" if r.trial_id is not None else "The ensemble"
    label = method_label(r.method)
    if r.status == "failed":
        return f"{name} ({label}) failed" + (f": {r.message}" if r.message else "."), "error"
    if r.status == "stopped":
        text = f"{name} ({label}) stopped after {r.seconds:.1f} s."
    else:
        text = f"{name} ({label}) {r.status} in {r.seconds:.1f} s"
        ens = r.ensemble
        if ens is not None and ens.test_acc is not None:
            gain = r.gains.get("test_acc") or {}
            versus = (
                f" ({points(gain['first'])} vs the best single trial)"
                if gain.get("first") is not None
                else (f" ({points(gain['best'])} vs the best member)" if gain.get("best") is not None else "")
            )
            text += f": test accuracy {percent(ens.test_acc)}{versus}"
        text += "."
    if r.message:
        text += f" {r.message}"
    return text, STATUS_KIND.get(r.status, "info")


def started_line(method: str, members: int, epochs: int, vectorised: bool, trial_id: int | None) -> str:
    what = f"Ensemble {trial_id}" if trial_id is not None else "Ensemble"
    if epochs == 0:
        return f"{what}: {method_label(method)} of {members} stored trials, scoring them…"
    together = ", trained together as one vectorised model" if vectorised else ""
    return f"{what}: {method_label(method)}, {members} members × {epochs} epochs{together}"


def epochs_plan(epochs: int, method: str, members: int) -> str:
    """How the Training tab's epochs are used: each member trains them, or a snapshot run splits them in cycles."""
    if method == "snapshot":
        return f"{epochs} epochs in {members} cycles" if members else f"{epochs} epochs"
    return f"{epochs} epochs per member"
