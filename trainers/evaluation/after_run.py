"""The evaluation a training run stores as it finishes, so History opens it at once: the test split, on exactly the
weights the run scored it with (its model as it is after the test pass), and never able to fail the run (a problem
here only means the view computes it from the saved weights when opened)."""

from __future__ import annotations

from typing import Any

from torch import nn

from trainers.data.bundle import DatasetBundle
from trainers.evaluation.compute import evaluation_from_probs, model_probabilities, split_labels, with_inputs
from trainers.evaluation.stored import evaluation_extra
from trainers.spec.config import DataConfig


def evaluation_after_run(
    trial_id: int, model: nn.Module, data: DatasetBundle, data_cfg: DataConfig
) -> dict[str, Any] | None:
    """`model` evaluated on the run's test split, as the trial's extra keeps it ({"evaluation": {"test": ...}}), for
    the run to store with its end in one write; None without a test split or when the evaluation fails. A trial
    ending has no other split's evaluation stored yet: those are computed later, on demand."""
    if data.test is None:
        return None
    try:
        probs = model_probabilities(model, data.test)
        ev = evaluation_from_probs(probs, split_labels(data.test), tuple(data.class_names), trial_id=trial_id)
        return evaluation_extra(with_inputs(ev, data_cfg, data))
    except Exception:  # an evaluation is a convenience: the run's own result must stand regardless
        return None
