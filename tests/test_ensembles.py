"""Ensembles on the real engine and the bundled digits: the issue's claims, file round trips, refusals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from trainers.api import (
    EnsembleSettings,
    TrialStore,
    ensemble_candidates,
    ensemble_trials,
    export_ensemble,
    load_ensemble,
    load_ensemble_result,
    run_ensemble,
    run_training,
)
from trainers.data import load_dataset
from trainers.ensembles.combine import accuracy_and_loss
from trainers.ensembles.ensemble_file import read_recipe
from trainers.ensembles.member_models import labels
from trainers.ensembles.stacking import out_of_fold_proba, stack_features
from trainers.spec.config import RunConfig
from trainers.spec.ensemble_events import EnsembleStarted, MemberProgress
from trainers.spec.errors import ConfigError, StoreError
from trainers.spec.events import ListSink, RunControl

FAST = RunConfig().replace(**{"train.epochs": 3})


@pytest.fixture(scope="module")
def digits() -> object:
    return load_dataset(RunConfig().data)


@pytest.fixture(scope="module")
def ranked_store(tmp_path_factory: pytest.TempPathFactory) -> TrialStore:
    """Three default digits runs (seeds 0-2), ranked by validation accuracy."""
    store = TrialStore(str(tmp_path_factory.mktemp("ens") / "trials.db"))
    for seed in range(3):
        run_training(RunConfig().replace(**{"train.seed": seed}), store=store)
    yield store
    store.close()


@pytest.mark.slow
def test_bagging_five_default_mlps_is_at_least_as_accurate_as_the_mean_member(tmp_path: Path) -> None:
    with TrialStore(str(tmp_path / "t.db")) as store:
        sink = ListSink()
        result = run_ensemble(EnsembleSettings(method="bagging", members=5), RunConfig(), store=store, sink=sink)
        assert result.status == "completed", result.message
        tests = [m.test_acc for m in result.members]
        assert len(tests) == 5 and result.ensemble is not None
        assert result.ensemble.test_acc >= np.mean(tests)
        assert result.gains["test_acc"]["mean"] == pytest.approx(result.ensemble.test_acc - np.mean(tests))
        started = sink.of(EnsembleStarted)[0]
        assert started.vectorised and started.epochs == 20
        progress = sink.of(MemberProgress)
        assert {(p.member, p.epoch) for p in progress} == {(k, e) for k in range(5) for e in range(1, 21)}
        trial = store.get_trial(result.trial_id)
        assert trial.kind == "ensemble" and trial.test_acc == result.ensemble.test_acc
        assert trial.extra["ensemble"]["method"] == "bagging" and len(trial.extra["ensemble"]["members"]) == 5


@pytest.mark.slow
def test_soft_voting_the_top_three_is_within_half_a_point_of_the_best_member(ranked_store: TrialStore) -> None:
    result = run_ensemble(EnsembleSettings(method="soft-vote", top=3), store=ranked_store)
    assert result.status == "completed", result.message
    best = max(m.test_acc for m in result.members)
    assert result.ensemble.test_acc >= best - 0.005
    # the members are the three runs, best validation accuracy first, scored as the runs scored themselves
    runs = {t.id: t for t in ranked_store.list_trials(kind="train")}
    assert {m.trial_id for m in result.members} == set(runs)
    accs = [runs[m.trial_id].best_val_acc for m in result.members]
    assert accs == sorted(accs, reverse=True)
    for member in result.members:
        assert member.test_acc == pytest.approx(runs[member.trial_id].test_acc)


@pytest.mark.slow
def test_members_trained_together_match_members_trained_one_after_another(digits: object) -> None:
    from trainers.ensembles.member_fit import fit_members
    from trainers.ensembles.member_plan import MemberPlan

    # dropout is on (members draw their masks from their own streams, as alone); max pooling is left out: where
    # a window holds equal values, batched and plain pooling may send the gradient to different (equally valid)
    # positions, which Adam then amplifies
    for model in (
        {"model.family": "mlp", "model.batch_norm": True, "model.dropout": 0.2},
        {"model.family": "cnn", "model.cnn_channels": 8, "model.pooling": "avg", "model.dropout": 0.3},
    ):
        cfg = RunConfig().replace(**{"train.epochs": 2, "optim.weight_decay": 1e-3, "train.grad_clip": 1.0, **model})
        n = len(digits.train)
        gen = torch.Generator().manual_seed(0)
        plans = [MemberPlan(k, torch.randint(0, n, (n,), generator=gen)) for k in range(3)]
        device = torch.device("cpu")
        together = fit_members(cfg, digits, plans, device, sink=ListSink(), control=RunControl(), vectorise=True)
        apart = fit_members(cfg, digits, plans, device, sink=ListSink(), control=RunControl(), vectorise=False)
        for a, b in zip(together, apart):
            assert (a.status, a.epochs_run, a.best_epoch) == (b.status, b.epochs_run, b.best_epoch)
            assert a.state.keys() == b.state.keys()
            for name in a.state:
                torch.testing.assert_close(a.state[name], b.state[name], rtol=1e-3, atol=1e-4, msg=name)
        assert not torch.equal(together[0].state["head.weight"], together[1].state["head.weight"])  # 3 members


@pytest.mark.slow
def test_stacking_scores_validation_out_of_fold_and_fits_on_validation_only(tmp_path: Path, digits: object) -> None:
    """One-epoch members are under-confident: a meta-learner recalibrates them and beats their vote out of fold,
    so stacking is kept (see the test below for when it is not)."""
    with TrialStore(str(tmp_path / "t.db")) as store:
        for seed in range(3):
            run_training(RunConfig().replace(**{"train.epochs": 1, "train.seed": seed}), store=store)
        result = run_ensemble(EnsembleSettings(method="stacking", top=3, folds=5), store=store)
    assert result.status == "completed" and result.method == "stacking", result.message
    assert "beats soft voting's" in result.message and "stacking is the result" in result.message
    recipe = read_recipe(result.file)
    assert recipe.meta["fitted_on"] == len(digits.val)  # the meta-learner saw validation, nothing else
    model = load_ensemble(result.file)
    member_probs = np.stack([torch.softmax(torch.as_tensor(o), 1).numpy() for o in model.member_outputs(digits.val)])
    y_val = labels(digits.val)
    oof = out_of_fold_proba(stack_features(member_probs), y_val, digits.num_classes, folds=5, l2=None)
    in_sample = model.predict_proba(digits.val)
    # (the fits stop at a gradient tolerance, so outputs equal to float rounding give losses equal to ~1e-5)
    assert result.ensemble.val_acc == pytest.approx(accuracy_and_loss(oof, y_val)[0])
    assert result.ensemble.val_loss == pytest.approx(accuracy_and_loss(oof, y_val)[1], rel=1e-3)
    assert result.ensemble.val_loss != pytest.approx(accuracy_and_loss(in_sample, y_val)[1], rel=1e-2)
    test_acc, test_loss = accuracy_and_loss(model.predict_proba(digits.test), labels(digits.test))
    assert (result.ensemble.test_acc, result.ensemble.test_loss) == pytest.approx((test_acc, test_loss))


@pytest.mark.parametrize("method", ["weighted", "hard-vote"])
def test_an_exported_ensemble_loads_back_and_predicts_identically(
    method: str, ranked_store: TrialStore, digits: object, tmp_path: Path
) -> None:
    result = run_ensemble(EnsembleSettings(method=method, top=3), store=ranked_store)
    path = export_ensemble(ranked_store, result.trial_id, tmp_path / "mine")
    assert path.suffix == ".tlens" and path.is_file()
    original, copy = load_ensemble(result.file), load_ensemble(path)
    p1, p2 = original.predict_proba(digits.test), copy.predict_proba(digits.test)
    assert np.array_equal(p1, p2)
    assert accuracy_and_loss(p2, labels(digits.test)) == pytest.approx(
        (result.ensemble.test_acc, result.ensemble.test_loss)
    )
    weights = [m.weight for m in result.members]
    if method == "weighted":
        assert sum(weights) == pytest.approx(1.0) and all(w >= 0 for w in weights)
        # its validation score is out-of-fold: weights fitted on the other folds predict each fold
        from trainers.ensembles.fitted import out_of_fold_weighted

        probs = np.stack([torch.softmax(torch.as_tensor(o), 1).numpy() for o in copy.member_outputs(digits.val)])
        oof = out_of_fold_weighted(probs, labels(digits.val), 5)
        assert (result.ensemble.val_acc, result.ensemble.val_loss) == pytest.approx(
            accuracy_and_loss(oof, labels(digits.val))
        )
    stored = load_ensemble_result(ranked_store, result.trial_id)
    assert stored.ensemble == result.ensemble and stored.members == result.members
    assert (result.trial_id,) == tuple(i for i, _ in ensemble_trials(ranked_store) if i == result.trial_id)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["adaboost", "gradient-boost", "snapshot"])
def test_boosting_and_snapshots_train_members_and_round_trip(method: str, tmp_path: Path, digits: object) -> None:
    with TrialStore(str(tmp_path / "t.db")) as store:
        result = run_ensemble(EnsembleSettings(method=method, members=3), FAST, store=store, bundle=digits)
        assert result.status == "completed", result.message
        assert 2 <= len(result.members) <= 3 and result.ensemble.test_acc > 0.5
        probs = load_ensemble(result.file).predict_proba(digits.test)
        assert accuracy_and_loss(probs, labels(digits.test))[0] == pytest.approx(result.ensemble.test_acc)
        if method != "snapshot":
            assert all(m.weight is not None and m.weight > 0 for m in result.members)


def test_a_stop_request_ends_training_as_stopped(tmp_path: Path, digits: object) -> None:
    control = RunControl()

    class StopAfterFirstEpoch(ListSink):
        def emit(self, event: object) -> None:
            super().emit(event)
            if isinstance(event, MemberProgress):
                control.stop()

    with TrialStore(str(tmp_path / "t.db")) as store:
        result = run_ensemble(
            EnsembleSettings(method="bagging", members=3),
            FAST,
            store=store,
            bundle=digits,
            sink=StopAfterFirstEpoch(),
            control=control,
        )
        assert result.status == "stopped"
        assert store.get_trial(result.trial_id).status == "stopped"


@pytest.mark.slow
def test_unusable_members_are_refused_before_any_trial_exists(tmp_path: Path) -> None:
    with TrialStore(str(tmp_path / "t.db")) as store:
        a = run_training(FAST, store=store).trial_id
        b = run_training(FAST.replace(**{"data.val_split": 0.2}), store=store).trial_id
        c = run_training(FAST.replace(**{"train.checkpoints": False}), store=store).trial_id
        with pytest.raises(ConfigError, match="different data"):
            run_ensemble(EnsembleSettings(method="soft-vote", trials=f"{a}, {b}"), store=store)
        with pytest.raises(ConfigError, match="no saved weights"):
            run_ensemble(EnsembleSettings(method="soft-vote", trials=f"{a}, {c}"), store=store)
        with pytest.raises(StoreError, match="no trial 999"):
            run_ensemble(EnsembleSettings(method="soft-vote", trials=f"{a}, 999"), store=store)
        with pytest.raises(ConfigError, match="at least two"):
            run_ensemble(EnsembleSettings(method="soft-vote", top=3), store=store)  # a is the only usable one
        with pytest.raises(ConfigError, match="train.epochs"):
            run_ensemble(EnsembleSettings(method="snapshot", members=5), FAST, store=store)
        with pytest.raises(ConfigError, match="ensemble.trials"):
            EnsembleSettings().replace(trials="3, x")
        assert store.count_trials(kind="ensemble") == 0


def test_the_diagnosis_quotes_the_measured_gain_of_an_ensemble() -> None:
    from trainers.diagnosis.interventions import ensemble
    from trainers.spec.ensemble_settings import MEASURED_GAIN

    why = ensemble(RunConfig(), None).why  # type: ignore[arg-type]
    assert "point or two" not in why and MEASURED_GAIN.split("on ", 1)[1] in why


def test_candidates_follow_the_rank_and_the_best_members_data(ranked_store: TrialStore) -> None:
    assert len(ensemble_candidates(ranked_store, EnsembleSettings())) == 3  # greedy selection: the whole pool
    assert len(ensemble_candidates(ranked_store, EnsembleSettings(pool=2))) == 2
    rows = ensemble_candidates(ranked_store, EnsembleSettings(method="soft-vote", top=2))
    runs = ranked_store.list_trials(kind="train", order_by="best_val_acc")
    accs = {t.id: t.best_val_acc for t in runs}
    assert len(rows) == 2 and min(accs[i] for i, _ in rows) >= runs[1].best_val_acc
    assert all(label.startswith(f"#{i}") for i, label in rows)


@pytest.mark.slow
def test_members_of_different_architectures_combine_when_they_share_the_data(tmp_path: Path) -> None:
    with TrialStore(str(tmp_path / "t.db")) as store:
        mlp = run_training(FAST, store=store).trial_id
        cnn = run_training(
            FAST.replace(**{"model.family": "cnn", "model.cnn_channels": 8, "data.augment_flip": True}), store=store
        ).trial_id
        result = run_ensemble(EnsembleSettings(method="weighted", trials=f"{cnn}, {mlp}"), store=store)
        assert result.status == "completed", result.message
        assert [m.trial_id for m in result.members] == [cnn, mlp]
        assert store.get_trial(result.trial_id).model == "cnn+mlp"
        recipe = read_recipe(result.file)
        assert [m.model.family for m in recipe.members] == ["cnn", "mlp"]


@pytest.mark.slow
def test_a_member_trained_on_unit_sample_weights_matches_the_ordinary_loop(digits: object) -> None:
    """The path boosting members take (sample weights, one member) against the engine's loop, with L1 and label
    smoothing on: with every weight 1 it must be the same training."""
    from trainers.ensembles.member_plan import MemberPlan
    from trainers.ensembles.sequential_fit import fit_one_by_one
    from trainers.ensembles.stacked_fit import fit_stacked

    cfg = RunConfig().replace(
        **{
            "train.epochs": 2,
            "model.dropout": 0.0,
            "train.l1": 1e-4,
            "train.label_smoothing": 0.1,
            "train.grad_clip": 1.0,
        }
    )
    cpu, n = torch.device("cpu"), len(digits.train)
    weighted = fit_stacked(
        cfg, digits, [MemberPlan(3, weights=torch.ones(n))], cpu, sink=ListSink(), control=RunControl()
    )[0]
    plain = fit_one_by_one(cfg, digits, [MemberPlan(3)], cpu, sink=ListSink(), control=RunControl())[0]
    assert weighted.best_epoch == plain.best_epoch
    for name in plain.state:
        torch.testing.assert_close(weighted.state[name], plain.state[name], rtol=1e-4, atol=1e-5, msg=name)


def test_sample_weights_reach_the_loss(digits: object) -> None:
    from trainers.ensembles.member_models import Member, member_module, outputs
    from trainers.ensembles.member_plan import MemberPlan
    from trainers.ensembles.stacked_fit import fit_stacked

    cfg = RunConfig().replace(**{"train.epochs": 3})
    y = digits.train.y
    weights = (y != 0).float()
    weights = weights / weights.mean()  # class 0 weighs nothing
    fitted = fit_stacked(
        cfg, digits, [MemberPlan(0, weights=weights)], torch.device("cpu"), sink=ListSink(), control=RunControl()
    )[0]
    model = member_module(Member("m", None, cfg.model, fitted.state), digits.input_shape, 10, torch.device("cpu"))
    pred, y_val = outputs(model, digits.val, torch.device("cpu")).argmax(1), labels(digits.val)
    assert (pred[y_val == 0] == 0).mean() < 0.2  # never rewarded for class 0
    assert (pred[y_val != 0] == y_val[y_val != 0]).mean() > 0.8


def test_boosting_stops_at_a_diverged_member_instead_of_keeping_it(tmp_path: Path, digits: object) -> None:
    wild = FAST.replace(**{"optim.name": "sgd", "optim.lr": 50.0})
    with TrialStore(str(tmp_path / "t.db")) as store:
        for method in ("gradient-boost", "adaboost"):
            result = run_ensemble(EnsembleSettings(method=method, members=3), wild, store=store, bundle=digits)
            assert result.status == "failed" and "diverged" in result.message, result
            assert result.ensemble is None and result.file is None


@pytest.mark.slow
def test_members_trained_together_stop_early_each_on_its_own_as_alone(digits: object) -> None:
    """Per-member early stopping on the loop's own EarlyStopping: each member ends when its own metric stalls, with
    the weights it had then (restore_best off), exactly as the same member trained alone."""
    from trainers.ensembles.member_fit import fit_members
    from trainers.ensembles.member_plan import MemberPlan

    cfg = RunConfig().replace(
        **{
            "train.epochs": 8,
            "early_stop.enabled": True,
            "early_stop.monitor": "val_acc",
            "early_stop.patience": 1,
            "early_stop.restore_best": False,
            "model.dropout": 0.0,
        }
    )
    n = len(digits.train)
    gen = torch.Generator().manual_seed(1)
    plans = [MemberPlan(k, torch.randint(0, n, (n,), generator=gen)) for k in range(3)]
    cpu = torch.device("cpu")
    sink = ListSink()
    together = fit_members(cfg, digits, plans, cpu, sink=sink, control=RunControl(), vectorise=True)
    apart = fit_members(cfg, digits, plans, cpu, sink=ListSink(), control=RunControl(), vectorise=False)
    assert any(m.epochs_run < 8 for m in together)  # someone stopped early
    for k, (a, b) in enumerate(zip(together, apart)):
        assert (a.status, a.epochs_run, a.best_epoch, a.message) == (b.status, b.epochs_run, b.best_epoch, b.message)
        assert max(p.epoch for p in sink.of(MemberProgress) if p.member == k) == a.epochs_run
        for name in a.state:
            torch.testing.assert_close(a.state[name], b.state[name], rtol=1e-3, atol=1e-4, msg=name)


def _pool_probs(store: TrialStore, ids: list[int], split: object) -> np.ndarray:
    """(trials, samples, classes): each stored trial's class probabilities on a split, from its kept weights."""
    from trainers.ensembles.member_models import member_module, outputs, softmax
    from trainers.ensembles.stored_members import load_members, named_candidates

    members, _ = load_members(named_candidates(store, tuple(ids)))
    cpu = torch.device("cpu")
    return np.stack([softmax(outputs(member_module(m, (64,), 10, cpu), split, cpu)) for m in members])


@pytest.mark.slow
def test_greedy_selection_chooses_among_every_stored_trial_and_stands_beside_the_best(
    ranked_store: TrialStore, digits: object, tmp_path: Path
) -> None:
    from trainers.ensembles.greedy import greedy_selection, out_of_fold_greedy

    result = run_ensemble(EnsembleSettings(), store=ranked_store)  # the default method
    assert result.status == "completed" and result.method == "greedy-selection", result.message
    runs = {t.id: t for t in ranked_store.list_trials(kind="train")}
    ids = sorted(runs, key=lambda i: -runs[i].best_val_acc)  # the pool in rank order
    assert result.pool == 3
    probs, y_val = _pool_probs(ranked_store, ids, digits.val), labels(digits.val)
    counts = greedy_selection(probs, y_val)
    assert [(m.trial_id, m.weight) for m in result.members] == [(i, float(c)) for i, c in zip(ids, counts) if c]
    oof = accuracy_and_loss(out_of_fold_greedy(probs, y_val, 5), y_val)
    assert (result.ensemble.val_acc, result.ensemble.val_loss) == pytest.approx(oof)  # scored out of fold
    first = max(runs.values(), key=lambda t: (t.best_val_acc, -t.best_val_loss))
    assert result.best_single.trial_id == first.id and result.best_single.test_acc == pytest.approx(first.test_acc)
    assert result.gains["test_acc"]["first"] == pytest.approx(result.ensemble.test_acc - first.test_acc)
    model = load_ensemble(result.file)
    assert accuracy_and_loss(model.predict_proba(digits.test), labels(digits.test))[0] == pytest.approx(
        result.ensemble.test_acc
    )
    trial = ranked_store.get_trial(result.trial_id)
    assert trial.name == f"Greedy selection of {len(result.members)} from 3"
    assert load_ensemble_result(ranked_store, result.trial_id) == result
    with pytest.raises(ConfigError, match="ensemble.pool"):
        with TrialStore(str(tmp_path / "empty.db")) as empty:
            run_ensemble(EnsembleSettings(), store=empty)


@pytest.mark.slow
def test_stacking_that_trails_the_soft_vote_out_of_fold_is_never_the_result(tmp_path: Path) -> None:
    """36 validation samples and three one-epoch members: the meta-learner cannot beat the vote out of fold."""
    from trainers.ensembles.combine import soft_vote
    from trainers.ensembles.stacking import stack

    base = RunConfig().replace(**{"train.epochs": 1, "data.val_split": 0.02})
    with TrialStore(str(tmp_path / "t.db")) as store:
        ids = [run_training(base.replace(**{"train.seed": s}), store=store).trial_id for s in range(3)]
        data = load_dataset(base.data)
        y_val = labels(data.val)
        probs = _pool_probs(store, ids, data.val)
        stacked, vote = (
            accuracy_and_loss(stack(probs, y_val, None, 10).val_proba, y_val),
            accuracy_and_loss(soft_vote(probs), y_val),
        )
        assert len(y_val) == 36 and stacked[0] < vote[0]  # the case: stacking trails out of fold
        result = run_ensemble(EnsembleSettings(method="stacking", trials=", ".join(map(str, ids))), store=store)
        assert result.status == "completed" and result.method == "soft-vote"
        assert result.message == (
            f"stacking's out-of-fold accuracy {100 * stacked[0]:.2f} % trails soft voting's {100 * vote[0]:.2f} %: "
            f"soft voting is the result"
        )
        assert (result.ensemble.val_acc, result.ensemble.val_loss) == pytest.approx(vote)
        recipe = read_recipe(result.file)
        assert (recipe.method, recipe.combiner, recipe.meta) == ("soft-vote", "soft", None)
        trial = store.get_trial(result.trial_id)
        assert trial.name == "Soft voting of 3" and trial.extra["ensemble"]["method"] == "soft-vote"
        assert trial.extra["ensemble"]["settings"]["method"] == "stacking"  # what was asked, beside what was built
        assert load_ensemble_result(store, result.trial_id).method == "soft-vote"
