"""From members to a scored ensemble: their outputs on the validation and test splits, the combination fitted
where the method fits one (on validation only), and the results table."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from trainers.data.bundle import DatasetBundle
from trainers.ensembles.ensemble_file import EnsembleRecipe
from trainers.ensembles.fitted import Outputs, fitted_combination
from trainers.ensembles.member_models import labels, member_module, outputs, softmax
from trainers.ensembles.scoring import SplitProbs, best_single, diversity, gains, score
from trainers.spec.ensemble_events import MemberScore
from trainers.spec.ensemble_settings import EnsembleSettings
from trainers.spec.events import RunControl


@dataclass
class Scored:
    recipe: EnsembleRecipe
    members: list[MemberScore]
    ensemble: MemberScore
    gains: dict[str, dict[str, float | None]]
    diversity: float | None
    diversity_split: str
    best_single: MemberScore | None = None  # the best stored trial it started from, by the ranking metric
    pool: int = 0  # stored trials it combined or chose among
    note: str = ""  # what the fit decided (what greedy selection picked; stacking kept or replaced by the vote)


def scored_ensemble(
    recipe: EnsembleRecipe,
    data: DatasetBundle,
    device: torch.device,
    settings: EnsembleSettings,
    control: RunControl | None = None,
) -> Scored:
    """Fits what the method fits (weights, a greedy selection, the stacking meta-learner) on validation, then
    scores everyone.

    The validation scores of what is fitted on validation are out-of-fold (each sample predicted by weights, a
    selection or a meta-learner fitted without its fold), so they are not flattered by the fit; the test score and
    the file use the fit on all of validation. The test split is never fitted on."""
    modules = [member_module(m, recipe.input_shape, recipe.num_classes, device) for m in recipe.members]
    y_val, y_test = labels(data.val), labels(data.test)
    assert y_val is not None
    out_val = np.stack([outputs(m, data.val, device, control) for m in modules])
    out_test = np.stack([outputs(m, data.test, device, control) for m in modules]) if data.test is not None else None
    outs = Outputs(out_val, out_test)
    pool = [score(m.label, m.trial_id, None, p, y_val, y_test) for m, p in zip(recipe.members, outs.each())]
    first = None if settings.trains else best_single(pool, settings.select_by)
    whole, outs, note = fitted_combination(recipe, outs, y_val, settings)
    each = _stage_probs(recipe, outs.out_val, outs.out_test) if recipe.combiner == "logit-sum" else outs.each()
    weights: list[float | None] = list(recipe.weights) if recipe.weights else [None] * len(recipe.members)
    rows = [score(m.label, m.trial_id, w, p, y_val, y_test) for m, w, p in zip(recipe.members, weights, each)]
    ensemble = score("ensemble", None, None, whole, y_val, y_test)
    spread, split = diversity(outs.each())
    return Scored(recipe, rows, ensemble, gains(rows, ensemble, first), spread, split, first, len(pool), note)


def _stage_probs(recipe: EnsembleRecipe, out_val: np.ndarray, out_test: np.ndarray | None) -> list[SplitProbs]:
    """Gradient boosting's members are stages: the ensemble up to and including each member."""
    w = np.asarray(recipe.weights, dtype=np.float64)[:, None, None]
    val = np.cumsum(w * out_val, axis=0)
    test = np.cumsum(w * out_test, axis=0) if out_test is not None else None
    return [SplitProbs(softmax(val[k]), softmax(test[k]) if test is not None else None) for k in range(len(val))]
