"""Vectorised trials: runs that differ only in continuous hyperparameters trained together as one stack, each member
recorded as its own train trial exactly as its own run_training would be (pinned epoch by epoch), pruned on its own
(it leaves the stack), and a search with `vectorise` asking and stacking its trials."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import pytest
import torch
from torch.nn import functional as F

from trainers.api import TrialStore, run_search, run_training
from trainers.cli.main import build_parser
from trainers.cli.search import search_from_args
from trainers.data import load_dataset
from trainers.ensembles.stacked_models import StackedModels
from trainers.ensembles.stacked_optim import StackedOptimizer
from trainers.evaluation.stored import stored_evaluation
from trainers.models import build_model
from trainers.search.pruning import PruningCallback
from trainers.search.stacked_trials import StackMember, run_stacked, stack_key
from trainers.search.vectorised import group_indices
from trainers.spec.config import RunConfig
from trainers.spec.events import EpochEnded, FitStarted, ListSink, NullSink
from trainers.spec.search_events import SearchTrialEnded, SearchTrialReported
from trainers.spec.search_settings import SearchSettings
from trainers.spec.search_space import SearchSpace
from trainers.training.loop import Callback, Learner
from trainers.training.optim import build_optimizer

# Tiny trials: a fifth of digits, three epochs, one thread, no checkpoints, on the CPU.
BASE = RunConfig().replace(
    **{
        "data.train_fraction": 0.2,
        "train.epochs": 3,
        "train.threads": 1,
        "train.checkpoints": False,
        "train.device": "cpu",
    }
)
EPOCH_FIELDS = ("train_loss", "train_acc", "val_loss", "val_acc", "lr")
# Three members per optimizer, each with its own lr, weight decay, momentum or betas, label smoothing, dropout and
# schedule (members' dropout rates differ: their masks come from each one's own stream, as alone)
MEMBERS = {
    "adam": [
        {"optim.lr": 1e-3, "model.dropout": 0.0},
        {"optim.lr": 3e-3, "optim.weight_decay": 0.0, "optim.beta1": 0.8, "optim.beta2": 0.99,
         "train.label_smoothing": 0.1, "model.dropout": 0.2},
        {"optim.lr": 5e-4, "optim.weight_decay": 1e-3, "optim.eps": 1e-6, "train.label_smoothing": 0.05,
         "model.dropout": 0.4},
    ],
    "sgd": [
        {"optim.name": "sgd", "optim.lr": 0.05, "schedule.name": "cosine"},
        {"optim.name": "sgd", "optim.lr": 0.1, "optim.momentum": 0.5, "optim.weight_decay": 0.0,
         "schedule.name": "step", "schedule.step_size": 1},
        {"optim.name": "sgd", "optim.lr": 0.02, "optim.momentum": 0.0, "train.label_smoothing": 0.1,
         "schedule.warmup_epochs": 1},
    ],
    "adamw": [
        {"optim.name": "adamw", "schedule.name": "one_cycle", "model.batch_norm": True},
        {"optim.name": "adamw", "optim.lr": 3e-3, "optim.weight_decay": 0.05, "model.batch_norm": True},
        {"optim.name": "adamw", "optim.lr": 2e-4, "optim.beta2": 0.95, "model.batch_norm": True,
         "schedule.name": "exponential"},
    ],
    "rmsprop": [
        {"optim.name": "rmsprop", "optim.lr": 1e-3, "optim.momentum": 0.0},
        {"optim.name": "rmsprop", "optim.lr": 5e-4, "optim.alpha": 0.9, "optim.momentum": 0.5},
    ],
    "adagrad": [
        {"optim.name": "adagrad", "optim.lr": 1e-2},
        {"optim.name": "adagrad", "optim.lr": 3e-2, "optim.lr_decay": 0.01, "optim.weight_decay": 1e-3},
    ],
}  # fmt: skip


@pytest.fixture(scope="module")
def digits() -> Any:
    return load_dataset(BASE.data)


def assert_same_run(store: TrialStore, alone: int, stacked: int) -> None:
    """Every recorded epoch's numbers (1e-5 relative) and the trial's outcome as its own run recorded them."""
    a, b = store.get_trial(alone), store.get_trial(stacked)
    ea, eb = store.epochs(alone), store.epochs(stacked)
    assert [e.epoch for e in ea] == [e.epoch for e in eb]
    for x, y in zip(ea, eb):
        for name in EPOCH_FIELDS:
            assert getattr(y, name) == pytest.approx(getattr(x, name), rel=1e-5), (name, x.epoch)
    assert (b.status, b.epochs_run, b.best_epoch, b.diagnosis) == (a.status, a.epochs_run, a.best_epoch, a.diagnosis)
    assert (b.lr, b.dropout, b.weight_decay, b.config) == (a.lr, a.dropout, a.weight_decay, a.config)
    for name in ("best_val_acc", "best_val_loss", "test_acc", "test_loss", "final_train_loss"):
        assert getattr(b, name) == pytest.approx(getattr(a, name), rel=1e-5), name
    ev_a, ev_b = stored_evaluation(a, "test"), stored_evaluation(b, "test")  # History's per-class view, stored
    assert ev_a is not None and ev_b is not None and ev_b.trial_id == stacked
    assert ev_b.samples == ev_a.samples and ev_b.accuracy == pytest.approx(ev_a.accuracy, rel=1e-5)
    assert (ev_b.confusion == ev_a.confusion).all()


@pytest.mark.slow
@pytest.mark.parametrize("optimizer", list(MEMBERS))
def test_each_member_of_a_stack_is_its_own_run_epoch_by_epoch(optimizer: str, digits: Any, tmp_path: Path) -> None:
    cfgs = [BASE.replace(**changes) for changes in MEMBERS[optimizer]]
    with TrialStore(str(tmp_path / "t.db")) as store:
        alone = [run_training(cfg, store=store, bundle=digits) for cfg in cfgs]
        sinks = [ListSink() for _ in cfgs]
        together = run_stacked([StackMember(c, s) for c, s in zip(cfgs, sinks)], digits, store=store)
        for a, b, sink in zip(alone, together, sinks):
            assert_same_run(store, a.trial_id, b.trial_id)
            assert store.get_trial(b.trial_id).kind == "train"
            others = {r.trial_id for r in together} - {b.trial_id}
            assert set(store.get_trial(b.trial_id).extra["stacked_with"]) == others
            assert [e.trial_id for e in sink.of(FitStarted)] == [b.trial_id]  # each member's events, its own sink
            assert [e.epoch for e in sink.of(EpochEnded)] == [1, 2, 3]
        finals = {store.epochs(r.trial_id)[-1].val_loss for r in together}
        assert len(finals) == len(cfgs)  # the members did differ


@pytest.fixture
def one_thread() -> Any:
    """As a trial with train.threads = 1 runs (with more, BLAS splits a product and a batched product differently)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "adamw", "rmsprop", "adagrad", "amsgrad"])
def test_a_stacked_step_is_bit_for_bit_each_members_own_step(optimizer: str, one_thread: Any) -> None:
    """Forward (with batch norm and each member's own dropout masks), gradients and the per-member optimizer's update
    are exactly (torch.equal) those of each member's own model and torch optimizer, step after step."""
    amsgrad = optimizer == "amsgrad"
    name = "adamw" if amsgrad else optimizer
    cfgs = [
        BASE.replace(**{"optim.name": name, "model.batch_norm": True, "optim.lr": lr, "optim.weight_decay": wd,
                        "model.dropout": p, "optim.momentum": m, "optim.beta1": m, "optim.amsgrad": amsgrad})
        for lr, wd, p, m in ((1e-3, 1e-4, 0.0, 0.9), (3e-3, 0.05, 0.3, 0.5), (2e-2, 0.0, 0.1, 0.0))
    ]  # fmt: skip
    alone, built, streams = [], [], []
    for cfg in cfgs:
        torch.manual_seed(7)
        alone.append(build_model(cfg.model, (1, 8, 8), 10))
        torch.manual_seed(7)
        built.append(build_model(dataclasses.replace(cfg.model, dropout=0.3), (1, 8, 8), 10))
        streams.append(torch.get_rng_state())
    stacked = StackedModels(built)
    stacked.follow_streams(streams)
    stacked.set_dropout_rates([c.model.dropout for c in cfgs])
    stacked.train(True)
    optims = [build_optimizer(c.optim, m) for c, m in zip(cfgs, alone)]
    together = StackedOptimizer(stacked.params, stacked.decay, cfgs)
    gen = torch.Generator().manual_seed(1)
    for _ in range(4):
        x, y = torch.randn(3, 32, 1, 8, 8, generator=gen), torch.randint(0, 10, (3, 32), generator=gen)
        out = stacked(x)
        F.cross_entropy(out.flatten(0, 1), y.flatten(), reduction="none").view(3, -1).mean(1).sum().backward()
        together.schedule(0, 1)
        together.step()
        together.zero_grad()
        for k, (model, opt) in enumerate(zip(alone, optims)):
            torch.set_rng_state(streams[k])
            own = model(x[k])
            streams[k] = torch.get_rng_state()
            assert torch.equal(own, out[k].detach())
            F.cross_entropy(own, y[k]).backward()
            opt.step()
            opt.zero_grad()
            for name, value in model.state_dict().items():
                assert torch.equal(value, stacked.member_tensors(k)[name]), (k, name)


class PruneAt:
    """An Optuna trial's report/should_prune, pruning at a given epoch."""

    def __init__(self, epoch: int | None) -> None:
        self.epoch, self.reported = epoch, []

    def report(self, value: float, step: int) -> None:
        self.reported.append((step, value))

    def should_prune(self) -> bool:
        return self.epoch is not None and self.reported[-1][0] >= self.epoch


class StackSize(Callback):
    order = 30

    def __init__(self) -> None:
        self.sizes: list[int] = []

    def before_epoch(self, learner: Learner) -> None:
        self.sizes.append(learner.model.k)


@pytest.mark.slow
def test_a_pruned_member_leaves_the_stack_and_the_rest_train_on_unchanged(digits: Any, tmp_path: Path) -> None:
    cfgs = [BASE.replace(**{"train.epochs": 4, **changes}) for changes in MEMBERS["adam"]]
    trials = [PruneAt(None), PruneAt(2), PruneAt(None)]
    size = StackSize()
    with TrialStore(str(tmp_path / "t.db")) as store:
        alone = [run_training(cfg, store=store, bundle=digits) for cfg in cfgs]
        members = [StackMember(c, NullSink(), [PruningCallback(t, "val_acc")]) for c, t in zip(cfgs, trials)]
        together = run_stacked(members, digits, store=store, stack_callbacks=[size])
        assert size.sizes == [3, 3, 2, 2]  # it left the stack after its second epoch
        pruned = store.get_trial(together[1].trial_id)
        assert (pruned.status, pruned.epochs_run, together[1].status) == ("pruned", 2, "pruned")
        assert "pruned at epoch 2" in pruned.message and pruned.test_acc is not None
        assert [e.epoch for e in store.epochs(pruned.id)] == [1, 2]
        for e, kept in zip(store.epochs(pruned.id), store.epochs(alone[1].trial_id)):
            assert e.val_loss == pytest.approx(kept.val_loss, rel=1e-5)  # its epochs as far as it went
        assert [step for step, _ in trials[1].reported] == [1, 2]
        for k in (0, 2):
            assert_same_run(store, alone[k].trial_id, together[k].trial_id)
            assert [step for step, _ in trials[k].reported] == [1, 2, 3, 4]


def test_trials_group_by_everything_but_their_continuous_values() -> None:
    continuous = {
        "optim.lr": 0.02, "optim.weight_decay": 0.0, "optim.momentum": 0.5, "optim.beta1": 0.7, "optim.beta2": 0.9,
        "model.dropout": 0.3, "train.label_smoothing": 0.1, "schedule.name": "cosine", "schedule.warmup_epochs": 2,
    }  # fmt: skip
    assert stack_key(BASE.replace(**continuous)) == stack_key(BASE)
    for other in ({"train.batch_size": 32}, {"model.hidden_units": 64}, {"optim.name": "sgd"}, {"train.epochs": 4}):
        assert stack_key(BASE.replace(**other)) != stack_key(BASE), other
    assert stack_key(BASE.replace(**{"schedule.name": "plateau"})) is None  # its rate follows its own val loss
    assert stack_key(BASE.replace(**{"model.family": "resnet18"})) is None  # no stacked form
    cfgs = [
        BASE,
        BASE.replace(**{"optim.lr": 0.01}),
        BASE.replace(**{"train.batch_size": 32}),
        None,  # could not be sampled
        BASE.replace(**{"model.dropout": 0.4, "optim.weight_decay": 0.0}),
        BASE.replace(**{"schedule.name": "plateau"}),
        BASE.replace(**{"train.batch_size": 32, "optim.lr": 0.1}),
    ]
    assert group_indices(cfgs) == [[0, 1, 4], [2, 6], [3], [5]]


def test_vectorise_is_a_search_setting_and_a_flag() -> None:
    assert SearchSettings().vectorise == 0
    args = build_parser().parse_args(["search", "--search.lr", "log:1e-4:1e-2", "--vectorise", "4"])
    assert search_from_args(args)[2].vectorise == 4
    with pytest.raises(Exception, match="search_run.vectorise"):
        SearchSettings().replace(vectorise=-1)


@pytest.mark.slow
def test_a_vectorised_search_stacks_its_asked_trials_and_links_each_to_the_study(tmp_path: Path) -> None:
    space = SearchSpace.from_dict({"lr": "log:1e-4:1e-1", "dropout": "float:0:0.5"}, BASE)
    settings = SearchSettings().replace(
        sampler="tpe", pruner="none", trials=4, vectorise=4, lr_finder_seed=False, epochs=2
    )
    sink = ListSink()
    with TrialStore(str(tmp_path / "t.db")) as store:
        result = run_search(BASE, space, settings, store=store, sink=sink)
        trials = store.list_trials(kind="train", order_by="id", descending=False)
    assert result.status == "completed" and result.counts["complete"] == 4
    assert len(trials) == 4 and all(t.status == "completed" and t.epochs_run == 2 for t in trials)
    ids = {t.id for t in trials}
    for t in trials:
        assert t.extra["search_id"] == result.search_id and t.extra["study"] == result.study
        assert set(t.extra["stacked_with"]) == ids - {t.id}  # the four trained as one stack
    ended = sink.of(SearchTrialEnded)
    assert sorted(e.number for e in ended) == [0, 1, 2, 3] and {e.trial_id for e in ended} == ids
    assert {e.trial_id: e.params["optim.lr"] for e in ended} == {t.id: t.lr for t in trials}
    reported = sink.of(SearchTrialReported)
    assert sorted((r.trial_id, r.epoch) for r in reported) == sorted((i, e) for i in ids for e in (1, 2))
    best = max(trials, key=lambda t: t.best_val_acc or -math.inf)
    assert result.best_trial_id == best.id


@pytest.mark.slow
def test_a_batch_asks_no_more_than_the_budget_and_a_lone_trial_runs_on_its_own(tmp_path: Path) -> None:
    space = SearchSpace.from_dict({"lr": "log:1e-4:1e-1", "batch_size": "choice:32,64"}, BASE)
    settings = SearchSettings().replace(
        sampler="random", pruner="none", trials=3, vectorise=8, lr_finder_seed=False, epochs=1, seed=3
    )
    with TrialStore(str(tmp_path / "t.db")) as store:
        result = run_search(BASE, space, settings, store=store)
        trials = store.list_trials(kind="train", order_by="id", descending=False)
    assert result.counts["complete"] == 3 and len(trials) == 3  # three asked at once, never eight
    stacks = sorted(len(t.extra.get("stacked_with", [])) + 1 for t in trials)
    sizes = sorted(t.batch_size for t in trials)
    # each batch size's trials stacked together; a lone one ran on its own (no "stacked_with")
    assert stacks == sorted(sizes.count(b) for b in sizes)
