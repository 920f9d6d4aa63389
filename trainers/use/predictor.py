"""A trained model ready to predict on raw input: a stored training trial, a stored ensemble, or an ensemble file,
each with the preprocessing its inputs need. Loading reads the weights only, never the training data (an ensemble
file written before preprocessing was kept has its data read once, for the statistics)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from trainers.data.bundle import DatasetBundle, Split
from trainers.ensembles.ensemble_file import EnsembleModel, read_recipe
from trainers.ensembles.stored_ensembles import ensemble_file
from trainers.spec.config import DataConfig
from trainers.spec.errors import ConfigError, StoreError
from trainers.store import TrialStore
from trainers.use.preprocessing import Preprocessing, preprocessing_for_config, preprocessing_for_trial
from trainers.use.trial_model import load_trial_model, probabilities


@dataclass(frozen=True)
class Predictor:
    name: str  # "trial 12", "ensemble 14", or the ensemble file's name
    prep: Preprocessing
    proba: Callable[[np.ndarray], np.ndarray]  # (N, *input_shape) float32 → (N, classes) probabilities


def trial_predictor(store: TrialStore, trial_id: int, device: str = "cpu") -> Predictor:
    """A stored trial's model: a training run's kept weights, or a stored ensemble's file."""
    trial = store.get_trial(trial_id)
    if trial.kind == "ensemble":
        return ensemble_predictor(ensemble_file(store, trial), device, name=f"ensemble {trial_id}")
    if trial.kind != "train":
        raise StoreError(f"trial {trial_id} is a {trial.kind} trial: predict with a training run or an ensemble")
    prep = preprocessing_for_trial(store, trial_id)
    loaded = load_trial_model(store, trial_id, device, bundle=_shape_only(prep))

    def proba(x: np.ndarray) -> np.ndarray:
        return probabilities(loaded, torch.from_numpy(x))

    return Predictor(f"trial {trial_id}", prep, proba)


def ensemble_predictor(path: Path | str, device: str = "cpu", name: str = "") -> Predictor:
    """An ensemble file (.tlens); one written before files kept their preprocessing gets it from its data config."""
    recipe = read_recipe(path)
    if recipe.preprocessing is not None:
        prep = Preprocessing.from_json(recipe.preprocessing)
    else:
        try:
            data = DataConfig(**recipe.data)
        except (TypeError, ConfigError) as exc:
            raise StoreError(f"{path}: its data config cannot be read ({exc})") from None
        prep = preprocessing_for_config(data)
    model = EnsembleModel(recipe, device)

    def proba(x: np.ndarray) -> np.ndarray:
        return model.predict_proba(torch.from_numpy(x))

    return Predictor(name or Path(path).name, prep, proba)


def _shape_only(prep: Preprocessing) -> DatasetBundle:
    """A bundle without samples that tells the model builder the input shape and the classes."""
    empty = Split(torch.zeros(0, *prep.input_shape), torch.zeros(0, dtype=torch.long))
    names = list(prep.class_names)
    return DatasetBundle(prep.source, prep.input_shape, len(names), names, empty, empty, None, preprocessing=prep)
