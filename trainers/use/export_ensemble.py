"""Export an ensemble (a stored ensemble trial or a .tlens file) like a single model: one network that runs every
member and combines their outputs as the ensemble does (soft or hard vote, stacking, boosting's logit sum), so
model.onnx gives the ensemble's class probabilities.

The combination runs in float64 inside the graph, as TuneLab combines in float64 numpy, and the check compares
ONNX Runtime's probabilities with TuneLab's own ensemble (EnsembleModel.predict_proba) on the test split."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from trainers.data import load_dataset
from trainers.ensembles.combine import PROB_FLOOR, TIE_BREAK
from trainers.ensembles.ensemble_file import EnsembleModel, EnsembleRecipe, read_recipe
from trainers.ensembles.stored_ensembles import ensemble_file
from trainers.spec.config import DataConfig
from trainers.spec.errors import ConfigError, ExportError, StoreError
from trainers.store import TrialStore
from trainers.use.export_check import ParityCheck, check_parity
from trainers.use.export_folder import staged_folder, usable_target
from trainers.use.export_formats import (
    ONNX_FILE,
    PT2_FILE,
    STATE_FILE,
    write_exported_program,
    write_onnx,
    write_state_dict,
)
from trainers.use.export_signature import build_signature, trial_origin, write_signature
from trainers.use.export_trial import FILES, ExportResult, example_batch, held_out, write_predict_script
from trainers.use.preprocessing import Preprocessing, preprocessing_for_config

PROBABILITIES = "probabilities"
HARD_SMOOTHING = 0.01  # hard_vote's default, as combine_outputs uses it


class EnsembleNet(nn.Module):
    """Every member, then the recipe's combination, in one module: input → class probabilities (float64)."""

    weights: torch.Tensor  # buffers: member weights, and the stacking meta-learner's weights and bias
    meta_w: torch.Tensor
    meta_b: torch.Tensor

    def __init__(self, ensemble: EnsembleModel) -> None:
        super().__init__()
        recipe = ensemble.recipe
        self.combiner = recipe.combiner
        self.members = nn.ModuleList(ensemble.modules)
        members = len(ensemble.modules)
        weights = np.asarray(recipe.weights if recipe.weights is not None else [1.0] * members, dtype=np.float64)
        if self.combiner != "logit-sum":
            weights = weights / weights.sum()  # votes and averages use normalised weights
        self.register_buffer("weights", torch.from_numpy(weights))
        meta = recipe.meta or {}
        self.register_buffer("meta_w", torch.tensor(meta.get("weights", [[0.0]]), dtype=torch.float64))
        self.register_buffer("meta_b", torch.tensor(meta.get("bias", [0.0]), dtype=torch.float64))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs = torch.stack([m(x) for m in self.members]).double()  # (members, samples, classes)
        if self.combiner == "logit-sum":
            return torch.softmax(torch.einsum("m,mnc->nc", self.weights, outs), dim=-1)
        probs = torch.softmax(outs, dim=-1)
        if self.combiner == "soft":
            return torch.einsum("m,mnc->nc", self.weights, probs)
        if self.combiner == "hard":
            classes = probs.shape[-1]
            picks = torch.argmax(probs, dim=-1, keepdim=True)
            votes = (torch.arange(classes, device=x.device) == picks).double()
            shares = torch.einsum("m,mnc->nc", self.weights, votes)
            shares = shares + TIE_BREAK * torch.einsum("m,mnc->nc", self.weights, probs)
            shares = shares / shares.sum(dim=1, keepdim=True)
            return (1.0 - HARD_SMOOTHING) * shares + HARD_SMOOTHING / classes
        # stacking: the meta-learner on the members' clipped log-probabilities, members side by side per sample
        feats = torch.log(torch.clamp(probs, min=PROB_FLOOR)).permute(1, 0, 2).reshape(x.shape[0], -1)
        return torch.softmax(feats @ self.meta_w + self.meta_b, dim=-1)


def export_ensemble_trial(store: TrialStore, trial_id: int, out_dir: Path | str) -> ExportResult:
    """A stored ensemble trial's file exported; its signature carries the trial's scores and config."""
    trial = store.get_trial(trial_id)
    try:
        source = ensemble_file(store, trial)  # fetched when only the store's database has it (another host's)
    except StoreError as exc:
        raise ExportError(f"{exc}: there is nothing to export") from None
    return export_ensemble_file(
        source, out_dir, origin=trial_origin(trial), trial_id=trial_id, source=f"ensemble {trial_id}"
    )


def export_ensemble_file(
    path: Path | str, out_dir: Path | str, origin: dict[str, Any] | None = None, trial_id: int = 0, source: str = ""
) -> ExportResult:
    """An ensemble file (.tlens) exported to `out_dir` and checked against TuneLab's own ensemble."""
    start = time.perf_counter()
    target = usable_target(out_dir)
    recipe = read_recipe(path)
    data = _data_config(recipe, path)
    bundle = load_dataset(data)
    prep = (
        Preprocessing.from_json(recipe.preprocessing)
        if recipe.preprocessing
        else preprocessing_for_config(data, bundle)
    )
    ensemble = EnsembleModel(recipe, "cpu")
    net = EnsembleNet(ensemble).eval()
    split_name, split = held_out(bundle)
    with staged_folder(target) as folder:
        check = _write_and_check(net, ensemble, split, split_name, folder)
        write_state_dict(net, folder / STATE_FILE)
        signature = build_signature(
            origin or _file_origin(recipe, path),
            prep.to_json(),
            tuple(recipe.input_shape),
            list(recipe.class_names),
            check,
            output=PROBABILITIES,
        )
        write_signature(signature, folder)
        write_predict_script(folder)
    source = source or f"ensemble file {Path(path).name}"
    return ExportResult(trial_id, str(target), FILES, check, time.perf_counter() - start, source)


def _write_and_check(
    net: EnsembleNet, ensemble: EnsembleModel, split: Any, split_name: str, folder: Path
) -> ParityCheck:
    example = example_batch(split)
    write_exported_program(net, example, folder / PT2_FILE)
    write_onnx(net, example, folder / ONNX_FILE, output_name=PROBABILITIES)

    def probabilities(x: torch.Tensor) -> np.ndarray:
        return ensemble.predict_proba(x)

    check = check_parity(probabilities, folder / ONNX_FILE, folder / PT2_FILE, split, split_name, PROBABILITIES)
    if not check.passed:
        raise ExportError(check.failure())
    return check


def _data_config(recipe: EnsembleRecipe, path: Path | str) -> DataConfig:
    try:
        return DataConfig(**recipe.data)
    except (TypeError, ConfigError) as exc:
        raise ExportError(f"{path}: its data config cannot be read ({exc})") from None


def _file_origin(recipe: EnsembleRecipe, path: Path | str) -> dict[str, Any]:
    """What an ensemble file says of itself: its method, members and scores."""
    return {
        "trial": {"id": recipe.info.get("trial_id"), "kind": "ensemble", "file": Path(path).name},
        "model": {
            "kind": "ensemble",
            "method": recipe.method,
            "combiner": recipe.combiner,
            "members": [{"label": m.label, "trial_id": m.trial_id, "family": m.model.family} for m in recipe.members],
        },
        "metrics": {k: v for k, v in recipe.info.items() if isinstance(v, (int, float, str)) and k != "trial_id"},
        "config": {"data": recipe.data, "members": [vars(m.model).copy() for m in recipe.members]},
    }
