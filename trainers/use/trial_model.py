"""A stored trial's model rebuilt from its config and loaded with the weights it was scored with, and the data it
trained on: what evaluation, prediction, export and reports start from."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from trainers.data import DatasetBundle, load_dataset
from trainers.data.bundle import Split
from trainers.ensembles.stored_members import checkpoint_of
from trainers.evaluation.compute import model_probabilities
from trainers.models import build_model
from trainers.spec.config import RunConfig
from trainers.spec.errors import ConfigError, ModelError, StoreError
from trainers.store import TrialStore
from trainers.store.records import TrialRecord
from trainers.training.checkpoints import load_checkpoint


@dataclass(frozen=True)
class LoadedModel:
    """A trial's model in eval mode, with the config, class names and input shape it was built for."""

    trial_id: int
    model: nn.Module
    cfg: RunConfig
    class_names: tuple[str, ...]
    input_shape: tuple[int, ...]
    checkpoint: Path
    device: torch.device

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


def trial_config(trial: TrialRecord) -> RunConfig:
    """The run config stored with a trial; a config this version cannot read names the trial."""
    try:
        return RunConfig.from_dict(trial.config)
    except ConfigError as err:
        raise ConfigError(err.field, err.value, f"{err.allowed} (in the config of trial {trial.id})") from None


def trial_bundle(store: TrialStore, trial_id: int) -> DatasetBundle:
    """The trial's data, loaded as its run loaded it: same source, same splits (seeded), same standardisation."""
    return load_dataset(trial_config(store.get_trial(trial_id)).data)


def load_trial_model(
    store: TrialStore, trial_id: int, device: str | torch.device = "cpu", bundle: DatasetBundle | None = None
) -> LoadedModel:
    """The training trial's model with its best epoch's weights (else its last), in eval mode on `device`.
    `bundle`: the trial's data when the caller has it already (its shape and class names are read from it)."""
    trial = store.get_trial(trial_id)
    if trial.kind != "train":
        raise StoreError(f"trial {trial_id} is a {trial.kind} trial, not a training run with a model of its own")
    path = checkpoint_of(trial, store)  # fetched from the store's database when only that holds it
    if path is None:
        raise StoreError(
            f"trial {trial_id} has no saved weights (it is {trial.status}, ran with train.checkpoints off, "
            f"or its files were deleted)"
        )
    cfg = trial_config(trial)
    data = bundle or load_dataset(cfg.data)
    state, _meta = load_checkpoint(path)
    # The trial's own weights replace any pretrained ones, so a weights file is never read again.
    model_cfg = dataclasses.replace(cfg.model, pretrained=False, freeze_backbone=False, weights_path="")
    model = build_model(model_cfg, data.input_shape, data.num_classes)
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise ModelError(f"trial {trial_id}: its weights {path} do not fit its model config ({first})") from None
    dev = torch.device(device)
    return LoadedModel(trial_id, model.to(dev).eval(), cfg, tuple(data.class_names), tuple(data.input_shape), path, dev)


def probabilities(model: nn.Module | LoadedModel, data: Split | torch.Tensor, batch_size: int = 512) -> np.ndarray:
    """Softmax class probabilities (samples, classes), float64, in the data's order, without gradients."""
    net = model.model if isinstance(model, LoadedModel) else model
    split = data if isinstance(data, Split) else Split(data, torch.zeros(len(data), dtype=torch.long))
    return model_probabilities(net, split, batch_size)


def split_of(bundle: DatasetBundle, name: str) -> Split:
    """The bundle's "test", "val" or "train" split; a bundle without a test split says so."""
    if name not in ("test", "val", "train"):
        raise ConfigError("split", name, "one of test, val, train")
    split = getattr(bundle, name)
    if split is None:
        raise ConfigError("split", name, "a split the data has: this data has no test split (data.test_split is 0)")
    return split
