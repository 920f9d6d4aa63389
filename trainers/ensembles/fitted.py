"""How each combining method turns the members' outputs into the ensemble's probabilities, fitting on the
validation split where the method fits something: weights, a greedy selection, or a stacking meta-learner that
must beat the members' soft vote out of fold to be kept.

Whatever is fitted on validation is scored there out of fold; the test split only receives predictions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trainers.ensembles.combine import accuracy_and_loss, fit_weights, soft_vote
from trainers.ensembles.ensemble_file import EnsembleRecipe, combine_outputs
from trainers.ensembles.greedy import greedy_selection, out_of_fold_greedy
from trainers.ensembles.member_models import softmax
from trainers.ensembles.scoring import SplitProbs
from trainers.ensembles.stacking import stack, stratified_folds
from trainers.spec.ensemble_settings import EnsembleSettings


@dataclass(frozen=True)
class Outputs:
    """The members' raw outputs (members, samples, classes) on validation and test, and their probabilities."""

    out_val: np.ndarray
    out_test: np.ndarray | None

    @property
    def probs_val(self) -> np.ndarray:
        return softmax(self.out_val)

    @property
    def probs_test(self) -> np.ndarray | None:
        return softmax(self.out_test) if self.out_test is not None else None

    def each(self) -> list[SplitProbs]:
        """Each member's own probabilities on both splits."""
        val, test = self.probs_val, self.probs_test
        return [SplitProbs(v, test[k] if test is not None else None) for k, v in enumerate(val)]

    def only(self, keep: np.ndarray) -> Outputs:
        return Outputs(self.out_val[keep], self.out_test[keep] if self.out_test is not None else None)


def fitted_combination(
    recipe: EnsembleRecipe, outs: Outputs, y_val: np.ndarray, settings: EnsembleSettings
) -> tuple[SplitProbs, Outputs, str]:
    """The ensemble's probabilities (validation out of fold where fitted), the outputs of the members it keeps,
    and a note on what the fit decided. Fills the recipe's weights or meta-learner; greedy selection narrows its
    members to those picked, and stacking that trails the soft vote becomes the soft vote."""
    if recipe.method == "greedy-selection":
        return _greedy(recipe, outs, y_val, settings)
    if recipe.method == "weighted":
        recipe.weights = fit_weights(outs.probs_val, y_val).tolist()
        test = combine_outputs(recipe, outs.out_test) if outs.out_test is not None else None
        return SplitProbs(out_of_fold_weighted(outs.probs_val, y_val, settings.folds), test), outs, ""
    if recipe.combiner == "stacking":
        return _stacking_or_vote(recipe, outs, y_val, settings.folds)
    test = combine_outputs(recipe, outs.out_test) if outs.out_test is not None else None
    return SplitProbs(combine_outputs(recipe, outs.out_val), test), outs, ""


def out_of_fold_weighted(probs: np.ndarray, y: np.ndarray, folds: int) -> np.ndarray:
    """The weighted average of each validation sample with weights fitted on the other folds."""
    out = np.empty(probs.shape[1:])
    for fold in stratified_folds(y, folds):
        rest = np.setdiff1d(np.arange(len(y)), fold)
        out[fold] = soft_vote(probs[:, fold], fit_weights(probs[:, rest], y[rest]))
    return out


def _greedy(
    recipe: EnsembleRecipe, outs: Outputs, y_val: np.ndarray, settings: EnsembleSettings
) -> tuple[SplitProbs, Outputs, str]:
    """Pick members with replacement on all of validation; score validation with picks made without each fold."""
    counts = greedy_selection(outs.probs_val, y_val, settings.rounds)
    val = out_of_fold_greedy(outs.probs_val, y_val, settings.folds, settings.rounds)
    keep = np.flatnonzero(counts)
    pool = len(recipe.members)
    recipe.members = [recipe.members[k] for k in keep]
    recipe.weights = [float(counts[k]) for k in keep]
    kept = outs.only(keep)
    test = combine_outputs(recipe, kept.out_test) if kept.out_test is not None else None
    if len(keep) == 1:
        note = (
            f"greedy selection kept one trial of {pool}: adding any other lowered the validation accuracy or left it "
            f"with a higher log loss, so the single best trial is the result"
        )
    else:
        note = (
            f"greedy selection picked {len(keep)} of {pool} trials in {int(counts.sum())} picks (weight = times picked)"
        )
    return SplitProbs(val, test), kept, note


def _stacking_or_vote(
    recipe: EnsembleRecipe, outs: Outputs, y_val: np.ndarray, folds: int
) -> tuple[SplitProbs, Outputs, str]:
    """Stacking, kept only when its out-of-fold validation score beats the soft vote of the same members on the
    same samples (accuracy, then log loss); otherwise the soft vote is the result, and the note says why. The
    vote fits nothing, so its validation score needs no folds."""
    st = stack(outs.probs_val, y_val, outs.probs_test, recipe.num_classes, folds=folds)
    vote_val = soft_vote(outs.probs_val)
    s_acc, s_loss = accuracy_and_loss(st.val_proba, y_val)
    v_acc, v_loss = accuracy_and_loss(vote_val, y_val)
    if s_acc > v_acc:
        versus = f"beats soft voting's {_pct(v_acc)}"
    elif s_acc < v_acc:
        versus = f"trails soft voting's {_pct(v_acc)}"
    else:
        versus = f"ties soft voting's, with a log loss of {s_loss:.4f} against {v_loss:.4f}"
    if (s_acc, -s_loss) > (v_acc, -v_loss):
        recipe.meta = st.meta.to_state()
        note = (
            f"stacking's out-of-fold accuracy {_pct(s_acc)} {versus}: stacking is the result "
            f"(L2 {st.meta.l2:g}, chosen by cross-validation)"
        )
        return SplitProbs(st.val_proba, st.test_proba), outs, note
    recipe.method, recipe.combiner, recipe.meta, recipe.weights = "soft-vote", "soft", None, None
    note = f"stacking's out-of-fold accuracy {_pct(s_acc)} {versus}: soft voting is the result"
    test = combine_outputs(recipe, outs.out_test) if outs.out_test is not None else None
    return SplitProbs(vote_val, test), outs, note


def _pct(acc: float) -> str:
    return f"{100 * acc:.2f} %"
