"""From members to a scored ensemble: their outputs on the validation and test splits, the combination fitted
where the method fits one (on validation only), and the results table."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from trainers.data.bundle import DatasetBundle
from trainers.ensembles.combine import fit_weights, soft_vote
from trainers.ensembles.ensemble_file import EnsembleRecipe, combine_outputs
from trainers.ensembles.member_models import labels, member_module, outputs, softmax
from trainers.ensembles.scoring import SplitProbs, diversity, gains, score
from trainers.ensembles.stacking import stack, stratified_folds
from trainers.spec.ensemble_events import MemberScore
from trainers.spec.events import RunControl


@dataclass
class Scored:
    recipe: EnsembleRecipe
    members: list[MemberScore]
    ensemble: MemberScore
    gains: dict[str, dict[str, float | None]]
    diversity: float | None
    diversity_split: str


def scored_ensemble(
    recipe: EnsembleRecipe, data: DatasetBundle, device: torch.device, folds: int, control: RunControl | None = None
) -> Scored:
    """Fits what the method fits (weights, the stacking meta-learner) on validation, then scores everyone.

    The validation scores of what is fitted on validation are out-of-fold (each sample predicted by weights or a
    meta-learner fitted without its fold), so they are not flattered by the fit; the test score and the file use
    the fit on all of validation. The test split is never fitted on."""
    modules = [member_module(m, recipe.input_shape, recipe.num_classes, device) for m in recipe.members]
    y_val, y_test = labels(data.val), labels(data.test)
    assert y_val is not None
    out_val = np.stack([outputs(m, data.val, device, control) for m in modules])
    out_test = np.stack([outputs(m, data.test, device, control) for m in modules]) if data.test is not None else None
    probs_val = softmax(out_val)  # each member's class probabilities, computed once
    probs_test = softmax(out_test) if out_test is not None else None
    if recipe.method == "weighted":
        recipe.weights = fit_weights(probs_val, y_val).tolist()
        whole = SplitProbs(
            out_of_fold_weighted(probs_val, y_val, folds),
            combine_outputs(recipe, out_test) if out_test is not None else None,
        )
    elif recipe.combiner == "stacking":
        st = stack(probs_val, y_val, probs_test, recipe.num_classes, folds=folds)
        recipe.meta = st.meta.to_state()
        whole = SplitProbs(st.val_proba, st.test_proba)
    else:
        whole = SplitProbs(
            combine_outputs(recipe, out_val), combine_outputs(recipe, out_test) if out_test is not None else None
        )
    own = [SplitProbs(v, probs_test[k] if probs_test is not None else None) for k, v in enumerate(probs_val)]
    each = _stage_probs(recipe, out_val, out_test) if recipe.combiner == "logit-sum" else own
    weights: list[float | None] = list(recipe.weights) if recipe.weights else [None] * len(modules)
    rows = [score(m.label, m.trial_id, w, p, y_val, y_test) for m, w, p in zip(recipe.members, weights, each)]
    ensemble = score("ensemble", None, None, whole, y_val, y_test)
    spread, split = diversity(own)
    return Scored(recipe, rows, ensemble, gains(rows, ensemble), spread, split)


def out_of_fold_weighted(probs: np.ndarray, y: np.ndarray, folds: int) -> np.ndarray:
    """The weighted average of each validation sample with weights fitted on the other folds."""
    out = np.empty(probs.shape[1:])
    for fold in stratified_folds(y, folds):
        rest = np.setdiff1d(np.arange(len(y)), fold)
        out[fold] = soft_vote(probs[:, fold], fit_weights(probs[:, rest], y[rest]))
    return out


def _stage_probs(recipe: EnsembleRecipe, out_val: np.ndarray, out_test: np.ndarray | None) -> list[SplitProbs]:
    """Gradient boosting's members are stages: the ensemble up to and including each member."""
    w = np.asarray(recipe.weights, dtype=np.float64)[:, None, None]
    val = np.cumsum(w * out_val, axis=0)
    test = np.cumsum(w * out_test, axis=0) if out_test is not None else None
    return [SplitProbs(softmax(val[k]), softmax(test[k]) if test is not None else None) for k in range(len(val))]
