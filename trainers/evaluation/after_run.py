"""The evaluation a training run stores as it finishes, so History opens it at once: the test split, on exactly the
weights the run scored it with (its model as it is after the test pass), and never able to fail the run (a problem
here only means the view computes it from the saved weights when opened)."""

from __future__ import annotations

from torch import nn

from trainers.data.bundle import DatasetBundle
from trainers.evaluation.compute import evaluation_from_probs, model_probabilities, split_labels, with_inputs
from trainers.evaluation.stored import save_evaluation
from trainers.spec.config import DataConfig
from trainers.store import TrialStore


def evaluate_after_run(
    store: TrialStore, trial_id: int, model: nn.Module, data: DatasetBundle, data_cfg: DataConfig
) -> bool:
    """Evaluate `model` on the run's test split and store the result; True when stored."""
    if data.test is None:
        return False
    try:
        probs = model_probabilities(model, data.test)
        ev = evaluation_from_probs(probs, split_labels(data.test), tuple(data.class_names), trial_id=trial_id)
        save_evaluation(store, with_inputs(ev, data_cfg, data))
    except Exception:  # an evaluation is a convenience: the run's own result must stand regardless
        return False
    return True
