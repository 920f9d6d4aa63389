"""The pure maths of ensembles: voting, fitted weights, disagreement, greedy selection, stacking (and its check
against the soft vote), SAMME, gradient boosting."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from trainers.ensembles.boosting_math import (
    STOP_CHANCE,
    STOP_PERFECT,
    cross_entropy,
    gb_residual,
    line_search,
    samme_combine,
    samme_step,
    softmax,
)
from trainers.ensembles.combine import (
    accuracy_and_loss,
    disagreement,
    fit_weights,
    hard_vote,
    predictions,
    soft_vote,
)
from trainers.ensembles.ensemble_file import EnsembleRecipe
from trainers.ensembles.fitted import Outputs, fitted_combination
from trainers.ensembles.greedy import greedy_selection, out_of_fold_greedy
from trainers.ensembles.member_models import Member
from trainers.ensembles.stacking import (
    L2_GRID,
    StackingMeta,
    choose_l2,
    out_of_fold_proba,
    stack,
    stack_features,
    stratified_folds,
    vote_prior,
)
from trainers.spec.config import ModelConfig
from trainers.spec.ensemble_settings import EnsembleSettings


def _noisy_members(rng: np.random.Generator, y: np.ndarray, strengths: list[float], classes: int) -> np.ndarray:
    """(M, n, C) probabilities carrying the label with strength s plus unit Gaussian noise on the logits."""
    one_hot = np.eye(classes)[y]
    return np.stack([softmax(s * one_hot + rng.normal(size=one_hot.shape)) for s in strengths])


# ---- combine ----------------------------------------------------------------------------------------


def test_accuracy_and_loss_by_hand() -> None:
    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.6, 0.3], [0.2, 0.5, 0.3]])
    acc, loss = accuracy_and_loss(probs, np.array([0, 1, 2]))
    assert acc == pytest.approx(2 / 3)
    assert loss == pytest.approx(-(math.log(0.7) + math.log(0.6) + math.log(0.3)) / 3)


def test_accuracy_and_loss_clips_zero_probability_and_rejects_empty() -> None:
    _, loss = accuracy_and_loss(np.array([[1.0, 0.0]]), np.array([1]))
    assert loss == pytest.approx(-math.log(1e-12))
    with pytest.raises(ValueError, match="empty"):
        accuracy_and_loss(np.zeros((0, 3)), np.zeros(0, dtype=int))


def test_soft_vote_is_the_weighted_average() -> None:
    a = np.array([[0.6, 0.4], [0.2, 0.8]])
    b = np.array([[0.2, 0.8], [0.4, 0.6]])
    probs = np.stack([a, b])
    np.testing.assert_allclose(soft_vote(probs), [[0.4, 0.6], [0.3, 0.7]])
    # Weights 1 and 3 are normalised to 0.25 and 0.75.
    np.testing.assert_allclose(soft_vote(probs, np.array([1.0, 3.0])), [[0.3, 0.7], [0.35, 0.65]])
    np.testing.assert_allclose(soft_vote(probs, np.array([1.0, 3.0])), soft_vote(probs, np.array([0.25, 0.75])))


def _one_sample(*rows: list[float]) -> np.ndarray:
    return np.array([[row] for row in rows], dtype=float)


def test_hard_vote_majority_wins_and_weights_can_overturn_it() -> None:
    probs = _one_sample([0.6, 0.3, 0.1], [0.5, 0.4, 0.1], [0.1, 0.8, 0.1])  # votes 0, 0, 1
    np.testing.assert_allclose(hard_vote(probs), [[0.99 * 2 / 3 + 0.01 / 3, 0.99 / 3 + 0.01 / 3, 0.01 / 3]], atol=1e-8)
    weighted = hard_vote(probs, np.array([1.0, 1.0, 3.0]))
    np.testing.assert_allclose(weighted, [[0.99 * 0.4 + 0.01 / 3, 0.99 * 0.6 + 0.01 / 3, 0.01 / 3]], atol=1e-8)
    assert predictions(weighted)[0] == 1


def test_hard_vote_tie_is_broken_by_the_soft_average() -> None:
    toward_one = _one_sample([0.5, 0.4, 0.1], [0.1, 0.9, 0.0])  # votes 0 and 1; mean prob favours 1
    toward_zero = _one_sample([0.9, 0.05, 0.05], [0.1, 0.6, 0.3])  # votes 0 and 1; mean prob favours 0
    assert predictions(hard_vote(toward_one))[0] == 1
    assert predictions(hard_vote(toward_zero))[0] == 0
    np.testing.assert_allclose(hard_vote(toward_one).sum(axis=1), 1.0)


def test_hard_vote_rows_sum_to_one_and_loss_is_finite_when_all_are_wrong() -> None:
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(4), size=(3, 10))
    np.testing.assert_allclose(hard_vote(probs).sum(axis=1), 1.0)
    wrong = _one_sample([0.9, 0.05, 0.05], [0.8, 0.1, 0.1])  # both vote 0, the label is 2
    _, loss = accuracy_and_loss(hard_vote(wrong), np.array([2]))
    assert loss == pytest.approx(-math.log(0.01 / 3), rel=1e-6)


def test_fit_weights_prefers_the_better_member_and_beats_uniform() -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, size=200)
    good = np.full((200, 3), 0.1)
    good[np.arange(200), y] = 0.8
    bad = rng.dirichlet(np.ones(3), size=200)
    probs = np.stack([bad, good])
    w = fit_weights(probs, y)
    assert w[1] > w[0] + 0.5
    assert np.all(w >= 0) and w.sum() == pytest.approx(1.0)
    assert accuracy_and_loss(soft_vote(probs, w), y)[1] < accuracy_and_loss(soft_vote(probs), y)[1]


@pytest.mark.parametrize("seed", [2, 3, 4])
def test_fit_weights_is_never_worse_than_uniform(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, size=80)
    probs = _noisy_members(rng, y, [0.0, 0.5, 1.0, 1.0, 2.0], 4)
    w = fit_weights(probs, y)
    assert np.all(w >= 0) and w.sum() == pytest.approx(1.0)
    assert accuracy_and_loss(soft_vote(probs, w), y)[1] <= accuracy_and_loss(soft_vote(probs), y)[1] + 1e-12
    np.testing.assert_array_equal(w, fit_weights(probs, y))  # deterministic


def test_fit_weights_keeps_identical_members_equal() -> None:
    one = np.random.default_rng(5).dirichlet(np.ones(3), size=20)
    np.testing.assert_allclose(fit_weights(np.stack([one, one]), np.zeros(20, dtype=int)), [0.5, 0.5])


def test_disagreement_by_hand() -> None:
    preds = np.array([[0, 1, 2, 0], [0, 1, 1, 0], [1, 1, 2, 2]])
    # Pairs differ on 1, 2 and 3 of the 4 samples.
    assert disagreement(preds) == pytest.approx((0.25 + 0.5 + 0.75) / 3)
    assert disagreement(np.array([[0, 1, 2], [0, 1, 2]])) == 0.0
    assert disagreement(np.array([[0, 1, 2]])) is None


def test_predictions_are_int64_argmax() -> None:
    out = predictions(np.array([[0.1, 0.9], [0.7, 0.3]]))
    assert out.dtype == np.int64 and out.tolist() == [1, 0]


# ---- greedy selection -------------------------------------------------------------------------------


def _true_class_probs(*rows: list[float]) -> np.ndarray:
    """(M, n, 2) from each model's probability of the true class 0 on each sample."""
    p = np.asarray(rows, dtype=float)
    return np.stack([p, 1 - p], axis=2)


def test_greedy_selection_picks_with_replacement_and_stops_when_nothing_improves() -> None:
    # p(true class) per sample: A [.8, .9, .35] (right on 2 of 3, log loss .4595), B [.4, .6, .95] (2 of 3, .4928),
    # C [.45, .45, .45] (none). Start with A (as accurate as B, lower loss); A+B is right on all three (loss .4098);
    # A+B+A keeps that and lowers the loss to .4088 (A again); A+B+A+A (.4141) and A+B+A+B (.4098) do not: stop.
    probs = _true_class_probs([0.8, 0.9, 0.35], [0.4, 0.6, 0.95], [0.45, 0.45, 0.45])
    y = np.zeros(3, dtype=int)
    counts = greedy_selection(probs, y, rounds=25)
    assert counts.tolist() == [2, 1, 0] and counts.dtype == np.int64
    assert greedy_selection(probs, y, rounds=1).tolist() == [1, 1, 0]  # the round cap
    assert greedy_selection(probs, y, rounds=0).tolist() == [1, 0, 0]  # the best single model alone
    loss = accuracy_and_loss(soft_vote(probs, counts.astype(float)), y)[1]
    assert loss == pytest.approx(-(math.log(2.0 / 3) + math.log(2.4 / 3) + math.log(1.65 / 3)) / 3)


def test_greedy_selection_of_copies_keeps_the_first_alone() -> None:
    one = np.random.default_rng(12).dirichlet(np.ones(3), size=15)
    y = np.random.default_rng(13).integers(0, 3, size=15)
    assert greedy_selection(np.stack([one, one, one]), y).tolist() == [1, 0, 0]  # a copy changes nothing


def test_greedy_selection_ranks_by_accuracy_then_log_loss() -> None:
    # The first has the lower log loss but is right on one sample of two; the second is right on both.
    probs = _true_class_probs([0.99, 0.45], [0.6, 0.6])
    assert greedy_selection(probs, np.zeros(2, dtype=int), rounds=0).tolist() == [0, 1]
    # Equally accurate: the lower log loss starts.
    probs = _true_class_probs([0.9, 0.6], [0.6, 0.6])
    assert greedy_selection(probs, np.zeros(2, dtype=int), rounds=0).tolist() == [1, 0]


@pytest.mark.parametrize("seed", [14, 15, 16])
def test_greedy_selection_is_never_worse_than_the_best_single_model_on_validation(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, size=60)
    probs = _noisy_members(rng, y, [0.5, 1.0, 1.0, 1.5, 2.0, 2.0], 4)
    counts = greedy_selection(probs, y)
    singles = [accuracy_and_loss(p, y) for p in probs]
    best = max(range(len(singles)), key=lambda m: (singles[m][0], -singles[m][1]))
    assert counts[best] >= 1  # it starts from the best single model: accuracy, then log loss
    acc, loss = accuracy_and_loss(soft_vote(probs, counts.astype(float)), y)
    assert (acc, -loss) >= (singles[best][0], -singles[best][1])
    assert 1 <= counts.sum() <= 26
    np.testing.assert_array_equal(counts, greedy_selection(probs, y))  # deterministic


def test_greedy_out_of_fold_rows_ignore_their_own_labels() -> None:
    rng = np.random.default_rng(17)
    y = rng.integers(0, 3, size=40)
    probs = _noisy_members(rng, y, [0.5, 1.0, 2.0], 3)
    splits = stratified_folds(y, 4)
    fold = splits[0]
    flipped = y.copy()
    flipped[fold] = (y[fold] + 1) % 3  # every label of fold 0 wrong
    before = out_of_fold_greedy(probs, y, 4, splits=splits)
    after = out_of_fold_greedy(probs, flipped, 4, splits=splits)
    np.testing.assert_array_equal(after[fold], before[fold])  # chosen without fold 0
    assert greedy_selection(probs, y).tolist() != greedy_selection(probs, flipped).tolist()  # they would count


def test_greedy_selection_refuses_shapes_it_cannot_score() -> None:
    with pytest.raises(ValueError, match="shaped"):
        greedy_selection(np.zeros((0, 3, 2)), np.zeros(3, dtype=int))
    with pytest.raises(ValueError, match="labels"):
        greedy_selection(np.full((2, 3, 2), 0.5), np.zeros(4, dtype=int))


# ---- SAMME ------------------------------------------------------------------------------------------

WRONG_1_4 = np.array([0, 1, 0, 0, 1])


def test_samme_first_round_by_hand() -> None:
    step = samme_step(np.full(5, 0.2), WRONG_1_4, n_classes=3)
    assert step.error == pytest.approx(0.4)
    assert step.alpha == pytest.approx(math.log(3))  # log(0.6 / 0.4) + log(2)
    np.testing.assert_allclose(step.weights, [1 / 9, 1 / 3, 1 / 9, 1 / 9, 1 / 3])
    assert step.stop == ""


def test_samme_second_round_by_hand() -> None:
    first = samme_step(np.full(5, 0.2), WRONG_1_4, n_classes=3)
    second = samme_step(first.weights, np.array([1, 1, 0, 0, 0]), n_classes=3)
    assert second.error == pytest.approx(1 / 9 + 1 / 3)
    assert second.alpha == pytest.approx(math.log(2.5))  # log((5/9) / (4/9)) + log(2)
    # Wrong samples ×2.5: [2.5, 7.5, 1, 1, 3] / 9, renormalised by 15 / 9.
    np.testing.assert_allclose(second.weights, [1 / 6, 1 / 2, 1 / 15, 1 / 15, 1 / 5])


def test_samme_learning_rate_scales_alpha() -> None:
    half = samme_step(np.full(5, 0.2), WRONG_1_4, n_classes=3, learning_rate=0.5)
    assert half.alpha == pytest.approx(0.5 * math.log(3))
    grown = np.array([1, math.sqrt(3), 1, 1, math.sqrt(3)])
    np.testing.assert_allclose(half.weights, grown / grown.sum())


def test_samme_perfect_member_stops_with_weight_one() -> None:
    w = np.array([0.1, 0.2, 0.3, 0.4])
    step = samme_step(w, np.zeros(4), n_classes=3, learning_rate=0.3)
    assert (step.error, step.alpha, step.stop) == (0.0, 1.0, STOP_PERFECT)
    np.testing.assert_allclose(step.weights, w)


@pytest.mark.parametrize(("wrong", "classes"), [([1, 1, 1, 1, 0], 3), ([1, 1, 0, 0], 2), ([1, 1, 0], 3)])
def test_samme_member_no_better_than_chance_is_discarded(wrong: list[int], classes: int) -> None:
    w = np.full(len(wrong), 1 / len(wrong))
    step = samme_step(w, np.array(wrong), n_classes=classes)
    assert step.stop == STOP_CHANCE and step.alpha == 0.0
    np.testing.assert_allclose(step.weights, w)


def test_samme_binary_is_classic_adaboost() -> None:
    step = samme_step(np.full(4, 0.25), np.array([1, 0, 0, 0]), n_classes=2)
    assert step.alpha == pytest.approx(math.log(3))  # log(0.75 / 0.25) + log(1)


def test_samme_combine_larger_alpha_wins() -> None:
    out = samme_combine(np.array([[0, 2], [1, 2]]), np.array([2.0, 1.0]), n_classes=3)
    assert predictions(out).tolist() == [0, 2]
    np.testing.assert_allclose(out.sum(axis=1), 1.0)
    # One strong member outvotes two weak ones agreeing with each other.
    overturn = samme_combine(np.array([[0], [1], [1]]), np.array([3.0, 1.0, 1.0]), n_classes=2)
    np.testing.assert_allclose(overturn, [[0.99 * 0.6 + 0.005, 0.99 * 0.4 + 0.005]], atol=1e-8)


# ---- gradient boosting ------------------------------------------------------------------------------


def test_gb_residual_of_zero_logits() -> None:
    np.testing.assert_allclose(
        gb_residual(np.zeros((2, 4)), np.array([1, 3])), [[-0.25, 0.75, -0.25, -0.25], [-0.25, -0.25, -0.25, 0.75]]
    )


def test_softmax_is_stable() -> None:
    np.testing.assert_allclose(softmax(np.array([[1000.0, 0.0], [0.0, 0.0]])), [[1.0, 0.0], [0.5, 0.5]])


def test_line_search_finds_the_hand_minimiser() -> None:
    # Two samples of class 0 and one of class 1 pushed toward class 0: p0 = σ(2ρ) is best at 2/3.
    logits, step, y = np.zeros((3, 2)), np.tile([1.0, -1.0], (3, 1)), np.array([0, 0, 1])
    rho = line_search(logits, step, y)
    assert rho == pytest.approx(math.log(2) / 2, abs=1e-5)
    ce = cross_entropy(logits + rho * step, y)
    assert ce <= cross_entropy(logits + (rho + 0.01) * step, y)
    assert ce <= cross_entropy(logits + (rho - 0.01) * step, y)
    assert ce < cross_entropy(logits, y)


def test_line_search_respects_its_bounds() -> None:
    logits, step, y = np.zeros((2, 2)), np.tile([1.0, -1.0], (2, 1)), np.array([0, 0])
    assert line_search(logits, step, y, max_rho=3.0) == 3.0  # the loss still falls at max_rho
    assert line_search(logits, -step, y) == 0.0  # the step climbs
    assert line_search(logits, np.zeros((2, 2)), y) == 0.0


# ---- stacking ---------------------------------------------------------------------------------------


def test_stack_features_are_member_log_probabilities() -> None:
    probs = np.array([[[0.5, 0.5]], [[1.0, 0.0]]])
    np.testing.assert_allclose(stack_features(probs), [[math.log(0.5), math.log(0.5), 0.0, math.log(1e-12)]])


def test_stratified_folds_partition_and_balance() -> None:
    y = np.array([0] * 10 + [1] * 10 + [2] * 3)
    folds = stratified_folds(y, 5, seed=1)
    assert len(folds) == 5 and all(len(f) > 0 for f in folds)
    np.testing.assert_array_equal(np.sort(np.concatenate(folds)), np.arange(len(y)))
    for f in folds:
        assert np.sum(y[f] == 0) == 2 and np.sum(y[f] == 1) == 2
    assert sum(np.any(y[f] == 2) for f in folds) == 3  # the small class spread over 3 folds
    assert [f.tolist() for f in folds] == [f.tolist() for f in stratified_folds(y, 5, seed=1)]
    assert len(stratified_folds(np.array([0, 1, 1]), 5)) == 3


@pytest.mark.slow
def test_stacking_beats_or_matches_the_best_member() -> None:
    rng = np.random.default_rng(7)
    y_val, y_test = rng.integers(0, 3, size=300), rng.integers(0, 3, size=600)
    strengths = [1.0, 1.5, 2.0]
    val, test = _noisy_members(rng, y_val, strengths, 3), _noisy_members(rng, y_test, strengths, 3)
    out = stack(val, y_val, test, n_classes=3)
    best = max(accuracy_and_loss(p, y_test)[0] for p in test)
    assert accuracy_and_loss(out.test_proba, y_test)[0] >= best - 0.02
    assert out.val_proba.shape == (300, 3) and out.meta.fitted_on == 300 and out.folds == 5


@pytest.mark.slow
def test_stacking_scores_validation_out_of_fold_not_in_sample() -> None:
    # Random labels: a meta-learner with many features can memorise them, but cannot predict them.
    rng = np.random.default_rng(8)
    y = rng.integers(0, 3, size=60)
    probs = rng.dirichlet(np.ones(3), size=(20, 60))
    out = stack(probs, y, None, n_classes=3, l2=1e-6)
    in_sample = accuracy_and_loss(out.meta.predict_proba(stack_features(probs)), y)[0]
    out_of_fold = accuracy_and_loss(out.val_proba, y)[0]
    assert in_sample >= 0.9
    assert out_of_fold < 0.6 and out_of_fold < in_sample - 0.3
    assert out.test_proba is None


@pytest.mark.slow
def test_out_of_fold_row_ignores_its_own_label() -> None:
    rng = np.random.default_rng(9)
    y = rng.integers(0, 3, size=40)
    x = stack_features(_noisy_members(rng, y, [1.0, 2.0], 3))
    splits = stratified_folds(y, 4)
    i = int(splits[0][0])
    flipped = y.copy()
    flipped[i] = (y[i] + 1) % 3
    before = out_of_fold_proba(x, y, 3, splits=splits)
    after = out_of_fold_proba(x, flipped, 3, splits=splits)
    np.testing.assert_array_equal(after[splits[0]], before[splits[0]])  # fold 0's learner never saw row i
    assert not np.allclose(after[splits[1]], before[splits[1]])  # the others did
    fit_before = StackingMeta().fit(x, y, 3).predict_proba(x[i : i + 1])
    fit_after = StackingMeta().fit(x, flipped, 3).predict_proba(x[i : i + 1])
    assert not np.allclose(fit_before, fit_after)


@pytest.mark.slow
def test_test_probabilities_never_change_the_meta_learner() -> None:
    rng = np.random.default_rng(10)
    y = rng.integers(0, 3, size=50)
    val = _noisy_members(rng, y, [1.0, 2.0], 3)
    a = stack(val, y, rng.dirichlet(np.ones(3), size=(2, 30)), n_classes=3)
    b = stack(val, y, rng.dirichlet(np.ones(3), size=(2, 70)), n_classes=3)
    assert a.meta.to_state() == b.meta.to_state()
    np.testing.assert_array_equal(a.val_proba, b.val_proba)
    assert b.test_proba is not None and b.test_proba.shape == (70, 3)


def test_meta_state_round_trip_is_exact_and_json_safe() -> None:
    rng = np.random.default_rng(11)
    y = rng.integers(0, 4, size=30)
    x = stack_features(_noisy_members(rng, y, [1.0, 1.5, 2.0], 4))
    meta = StackingMeta().fit(x, y, 4)
    state = json.loads(json.dumps(meta.to_state()))
    copy = StackingMeta.from_state(state)
    np.testing.assert_array_equal(copy.predict_proba(x), meta.predict_proba(x))
    assert copy.fitted_on == 30 and copy.l2 == meta.l2


def test_a_strong_penalty_gives_back_the_members_vote_not_a_uniform_guess() -> None:
    np.testing.assert_allclose(vote_prior(6, 3), np.vstack([np.eye(3), np.eye(3)]) / 2)  # 2 members, 3 classes
    rng = np.random.default_rng(18)
    probs = rng.dirichlet(np.ones(3), size=(2, 30))
    y = rng.integers(0, 3, size=30)
    meta = StackingMeta(l2=1e6).fit(stack_features(probs), y, 3)
    geometric = np.exp(np.log(probs).mean(axis=0))
    np.testing.assert_allclose(
        meta.predict_proba(stack_features(probs)), geometric / geometric.sum(1, keepdims=True), atol=1e-3
    )


@pytest.mark.slow
def test_the_stacking_penalty_is_chosen_by_cross_validation() -> None:
    rng = np.random.default_rng(19)
    y = rng.integers(0, 3, size=90)
    x = stack_features(_noisy_members(rng, y, [0.5, 1.0, 2.0], 3))
    assert choose_l2(x, y, 3) in L2_GRID
    assert choose_l2(x[:5], y[:5], 3) == max(L2_GRID)  # too few rows to cross-validate: the most regular
    assert stack(_noisy_members(rng, y, [1.0, 2.0], 3), y, None, 3).meta.l2 in L2_GRID


def _recipe(members: int, classes: int, method: str, combiner: str) -> EnsembleRecipe:
    return EnsembleRecipe(
        method,
        combiner,
        [Member(f"#{k}", k, ModelConfig(), {}) for k in range(members)],
        None,
        (4,),
        classes,
        [str(c) for c in range(classes)],
        {},
    )


def _stacking_case(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Twenty validation samples of 4 classes, five noisy members, and a test split."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, size=20)
    strengths = [1.0, 1.0, 1.5, 1.5, 2.0]
    val = _noisy_members(rng, y, strengths, 4)
    y_test = rng.integers(0, 4, size=30)
    return val, y, _noisy_members(rng, y_test, strengths, 4), y_test


@pytest.mark.slow
def test_stacking_that_trails_the_soft_vote_out_of_fold_is_replaced_by_it() -> None:
    val, y, test, _ = _stacking_case(0)
    oof = stack(val, y, None, 4).val_proba
    assert accuracy_and_loss(oof, y)[0] == 0.95 and accuracy_and_loss(soft_vote(val), y)[0] == 1.0  # the case
    recipe = _recipe(5, 4, "stacking", "stacking")
    whole, kept, note = fitted_combination(
        recipe, Outputs(np.log(val), np.log(test)), y, EnsembleSettings(method="stacking")
    )
    assert (recipe.method, recipe.combiner, recipe.meta) == ("soft-vote", "soft", None)
    np.testing.assert_allclose(whole.val, soft_vote(val))
    np.testing.assert_allclose(whole.test, soft_vote(test))
    assert len(kept.out_val) == 5
    assert note == "stacking's out-of-fold accuracy 95.00 % trails soft voting's 100.00 %: soft voting is the result"


@pytest.mark.slow
def test_stacking_that_beats_the_soft_vote_out_of_fold_is_kept() -> None:
    val, y, test, _ = _stacking_case(2)
    recipe = _recipe(5, 4, "stacking", "stacking")
    whole, _, note = fitted_combination(
        recipe, Outputs(np.log(val), np.log(test)), y, EnsembleSettings(method="stacking")
    )
    assert recipe.method == "stacking" and recipe.combiner == "stacking" and recipe.meta is not None
    assert accuracy_and_loss(whole.val, y)[0] == 0.95
    assert note.startswith(
        "stacking's out-of-fold accuracy 95.00 % beats soft voting's 90.00 %: stacking is the result"
    )


def test_greedy_selection_keeps_only_the_trials_it_picked_weighted_by_picks() -> None:
    probs = _true_class_probs([0.8, 0.9, 0.35], [0.4, 0.6, 0.95], [0.45, 0.45, 0.45])
    recipe = _recipe(3, 2, "greedy-selection", "soft")
    whole, kept, note = fitted_combination(
        recipe, Outputs(np.log(probs), np.log(probs)), np.zeros(3, dtype=int), EnsembleSettings(folds=3)
    )
    assert [m.label for m in recipe.members] == ["#0", "#1"] and recipe.weights == [2.0, 1.0]
    assert kept.out_val.shape == (2, 3, 2)
    np.testing.assert_allclose(whole.test, soft_vote(probs[:2], np.array([2.0, 1.0])))
    assert note == "greedy selection picked 2 of 3 trials in 3 picks (weight = times picked)"
