"""Evaluate a stored trial (a training run or an ensemble) on its validation or test split, and keep the result
with the trial (extra["evaluation"][split]) so it opens again without the model."""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from trainers.data import DatasetBundle, load_dataset
from trainers.ensembles.ensemble_file import load_ensemble
from trainers.ensembles.stored_ensembles import ensemble_file
from trainers.evaluation.compute import evaluation_from_probs, split_labels, with_inputs
from trainers.evaluation.evaluation import SPLITS, Evaluation
from trainers.evaluation.stored import save_evaluation, stored_evaluation
from trainers.spec.errors import ConfigError, StoreError
from trainers.store import TrialStore
from trainers.store.records import TrialRecord
from trainers.use.trial_model import load_trial_model, probabilities, split_of, trial_config

KINDS = ("train", "ensemble")
__all__ = ["KINDS", "evaluate_trial", "evaluation_from_probs", "stored_evaluation"]


def _model_probs(
    store: TrialStore, trial: TrialRecord, split: str, data: DatasetBundle, device: str | torch.device
) -> tuple[np.ndarray, str]:
    """(probabilities, file evaluated) of a training trial's or an ensemble's model on the split."""
    part = split_of(data, split)
    if trial.kind == "ensemble":
        source = ensemble_file(store, trial)  # fetched when only the database has it
        return load_ensemble(source, device).predict_proba(part), str(source)
    loaded = load_trial_model(store, trial.id, device, bundle=data)
    return probabilities(loaded, part), str(loaded.checkpoint)


def evaluate_trial(
    store: TrialStore,
    trial_id: int,
    split: str = "test",
    *,
    bundle: DatasetBundle | None = None,
    device: str | torch.device = "cpu",
    save: bool = True,
) -> Evaluation:
    """Compute the trial's evaluation on `split` ("test" or "val") and, with `save`, store it with the trial
    (a read-only store keeps nothing and says nothing). `bundle`: the trial's data when the caller has it."""
    if split not in SPLITS:
        raise ConfigError("split", split, "test or val")
    trial = store.get_trial(trial_id)
    if trial.kind not in KINDS:
        raise StoreError(f"trial {trial_id} is a {trial.kind} trial: only training runs and ensembles have a model")
    data_cfg = trial_config(trial).data
    data = bundle or load_dataset(data_cfg)
    probs, source = _model_probs(store, trial, split, data, device)
    y = split_labels(split_of(data, split))
    ev = evaluation_from_probs(probs, y, tuple(data.class_names), trial_id=trial_id, kind=trial.kind, split=split)
    ev = dataclasses.replace(with_inputs(ev, data_cfg, data), source=source)
    if save:
        save_evaluation(store, ev)
    return ev
