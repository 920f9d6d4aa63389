"""An ensemble as one file: every member's architecture and weights, and how their outputs are combined.

Written like a checkpoint (atomically, read back with torch.load(weights_only=True)), so a file someone sent
you can hold tensors and plain values only. `load_ensemble(path).predict_proba(x)` gives the class
probabilities of the ensemble for inputs prepared as the members' dataset prepares them (its data config is
stored with it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from trainers.data.bundle import Split
from trainers.ensembles.combine import hard_vote, soft_vote
from trainers.ensembles.member_models import Member, member_module, outputs, softmax
from trainers.ensembles.stacking import StackingMeta, stack_features
from trainers.spec.config import ModelConfig
from trainers.spec.errors import StoreError
from trainers.training.checkpoints import load_checkpoint, save_checkpoint

FORMAT = "tunelab-ensemble"
VERSION = 1
SUFFIX = ".tlens"
# How member outputs become the ensemble's probabilities.
COMBINERS = ("soft", "hard", "stacking", "logit-sum")


@dataclass
class EnsembleRecipe:
    method: str
    combiner: str  # one of COMBINERS
    members: list[Member]
    weights: list[float] | None  # per member: vote or average weights, AdaBoost's alphas, boosting steps
    input_shape: tuple[int, ...]
    num_classes: int
    class_names: list[str]
    data: dict[str, Any]  # the data config the members were trained and scored on
    meta: dict[str, Any] | None = None  # the stacking meta-learner's state
    info: dict[str, Any] = field(default_factory=dict)  # the trial id and scores, for whoever loads the file
    # how raw input becomes the members' input (trainers.data.preprocessing JSON); None in files written before
    preprocessing: dict[str, Any] | None = None


class EnsembleModel:
    """A loaded ensemble: members as modules, combined as the recipe says."""

    def __init__(self, recipe: EnsembleRecipe, device: torch.device | str = "cpu") -> None:
        self.recipe = recipe
        self.device = torch.device(device)
        self.modules = [member_module(m, recipe.input_shape, recipe.num_classes, self.device) for m in recipe.members]
        self._meta = StackingMeta.from_state(recipe.meta) if recipe.combiner == "stacking" and recipe.meta else None

    def member_outputs(self, x: torch.Tensor | Split) -> np.ndarray:
        """(members, samples, classes) raw outputs."""
        split = x if isinstance(x, Split) else Split(x, torch.zeros(len(x), dtype=torch.long))
        return np.stack([outputs(m, split, self.device) for m in self.modules])

    def predict_proba(self, x: torch.Tensor | Split) -> np.ndarray:
        return combine_outputs(self.recipe, self.member_outputs(x), self._meta)

    def predict(self, x: torch.Tensor | Split) -> np.ndarray:
        return self.predict_proba(x).argmax(axis=1)


def combine_outputs(recipe: EnsembleRecipe, outs: np.ndarray, meta: StackingMeta | None = None) -> np.ndarray:
    """The ensemble's class probabilities from its members' raw outputs (members, samples, classes)."""
    weights = np.asarray(recipe.weights, dtype=np.float64) if recipe.weights is not None else None
    if recipe.combiner == "logit-sum":  # gradient boosting: the members' steps add up to the logits
        assert weights is not None
        return softmax(np.tensordot(weights, outs, axes=1))
    probs = softmax(outs)
    if recipe.combiner == "soft":
        return soft_vote(probs, weights)
    if recipe.combiner == "hard":
        return hard_vote(probs, weights)
    if recipe.combiner == "stacking":
        meta = meta or StackingMeta.from_state(recipe.meta or {})
        return meta.predict_proba(stack_features(probs))
    raise ValueError(f"unknown combiner {recipe.combiner!r}")


def save_ensemble(recipe: EnsembleRecipe, path: Path | str) -> Path:
    states = {str(i): m.state for i, m in enumerate(recipe.members)}
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "method": recipe.method,
        "combiner": recipe.combiner,
        "weights": [float(w) for w in recipe.weights] if recipe.weights is not None else None,
        "input_shape": [int(v) for v in recipe.input_shape],
        "num_classes": int(recipe.num_classes),
        "class_names": [str(c) for c in recipe.class_names],
        "data": recipe.data,
        "stacking": recipe.meta,
        "info": recipe.info,
        "preprocessing": recipe.preprocessing,
        "members": [{"label": m.label, "trial_id": m.trial_id, "model": vars(m.model).copy()} for m in recipe.members],
    }
    return save_checkpoint(Path(path), states, meta)


def read_recipe(path: Path | str) -> EnsembleRecipe:
    """The recipe stored in an ensemble file; a file of another kind is a StoreError saying so."""
    states, meta = load_checkpoint(path, what="TuneLab ensemble file")
    if meta.get("format") != FORMAT:
        raise StoreError(f"{path} is not a TuneLab ensemble file (a model checkpoint, perhaps?)")
    if int(meta.get("version", 0)) > VERSION:
        raise StoreError(f"{path} was written by a newer TuneLab (ensemble format {meta.get('version')})")
    try:
        members = [
            Member(m["label"], m["trial_id"], ModelConfig(**m["model"]), states[str(i)])
            for i, m in enumerate(meta["members"])
        ]
        return EnsembleRecipe(
            meta["method"],
            meta["combiner"],
            members,
            meta["weights"],
            tuple(meta["input_shape"]),
            int(meta["num_classes"]),
            list(meta["class_names"]),
            dict(meta["data"]),
            meta.get("stacking"),
            dict(meta.get("info") or {}),
            meta.get("preprocessing"),
        )
    except (KeyError, TypeError) as exc:
        raise StoreError(f"{path} is a damaged TuneLab ensemble file ({exc})") from None


def load_ensemble(path: Path | str, device: torch.device | str = "cpu") -> EnsembleModel:
    return EnsembleModel(read_recipe(path), device)
