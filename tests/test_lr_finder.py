"""The range test on the real loop: exact restore, the sweep, the divergence stop, storage and failures."""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from trainers.api import TrialStore, load_lr_finder, lr_finder_trials, run_lr_finder
from trainers.data import load_dataset
from trainers.lr_finder.sweep import LrSweepCallback, lr_sweep, sweep_lr
from trainers.models import build_model
from trainers.spec.config import RunConfig
from trainers.spec.errors import ConfigError
from trainers.spec.events import ListSink, LrFinderResult, LrFinderStarted, LrFinderStep, RunControl
from trainers.spec.lr_finder_settings import LrFinderSettings
from trainers.training.loop import CancelFit, Learner, settings_from
from trainers.training.optim import build_optimizer

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def digits():
    return load_dataset(RunConfig().data)


def trained_a_little(cfg: RunConfig, data, epochs: int = 1) -> tuple[nn.Module, torch.optim.Optimizer]:
    torch.manual_seed(0)
    model = build_model(cfg.model, data.input_shape, data.num_classes)
    opt = build_optimizer(cfg.optim, model)
    Learner(model, opt, data, settings_from(cfg.replace(**{"train.epochs": epochs})), CPU).fit()
    return model, opt


def assert_same_tensors(a, b, where: str = "") -> None:
    """Bitwise equality of nested state dicts (tensors compared with torch.equal, the rest with ==)."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b), where
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            assert_same_tensors(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same_tensors(x, y, f"{where}[{i}]")
    else:
        assert a == b, where


def clone_state(obj) -> dict:
    import copy

    return copy.deepcopy(obj.state_dict())


@pytest.mark.slow
@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_model_optimizer_and_scheduler_are_bitwise_equal_after_a_test(digits, optimizer: str) -> None:
    cfg = RunConfig().replace(**{"optim.name": optimizer, "model.batch_norm": True})
    model, opt = trained_a_little(cfg, digits)
    scheduler = torch.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)
    with warnings.catch_warnings():  # stepped only to give it state; the order warning does not apply
        warnings.simplefilter("ignore")
        scheduler.step()
    for p in model.parameters():  # gradients left over from the last step must come back too
        p.grad = torch.randn_like(p)
    model.eval()
    before = (
        clone_state(model),
        clone_state(opt),
        clone_state(scheduler),
        [p.grad.clone() for p in model.parameters()],
        torch.get_rng_state(),
    )
    assert opt.state, "the optimizer must have state for the test to mean anything"

    curve = lr_sweep(model, opt, digits, settings_from(cfg), LrFinderSettings(iterations=40), CPU, scheduler=scheduler)

    assert len(curve.lrs) > 10
    assert_same_tensors(model.state_dict(), before[0], "model")
    assert_same_tensors(opt.state_dict(), before[1], "optimizer")
    assert_same_tensors(scheduler.state_dict(), before[2], "scheduler")
    assert_same_tensors([p.grad for p in model.parameters()], before[3], "grads")
    assert torch.equal(torch.get_rng_state(), before[4])
    assert not model.training and not any(m.training for m in model.modules())
    # the optimizer still steers the model's own parameters (not copies) after the restore
    assert {id(p) for g in opt.param_groups for p in g["params"]} == {id(p) for p in model.parameters()}


def test_a_second_test_on_the_restored_model_records_the_same_losses(digits) -> None:
    cfg = RunConfig()
    model, opt = trained_a_little(cfg, digits)
    settings = LrFinderSettings(iterations=30, end_lr=1e-2)
    first = lr_sweep(model, opt, digits, settings_from(cfg), settings, CPU)
    second = lr_sweep(model, opt, digits, settings_from(cfg), settings, CPU)
    assert first.losses == second.losses


@pytest.mark.parametrize("mode", ["exp", "linear"])
def test_the_sweep_runs_from_start_to_end_over_the_iterations(mode: str) -> None:
    s = LrFinderSettings(start_lr=1e-6, end_lr=1.0, iterations=50, mode=mode)
    lrs = [sweep_lr(s, i) for i in range(50)]
    assert lrs[0] == pytest.approx(1e-6) and lrs[-1] == pytest.approx(1.0)
    assert all(b > a for a, b in zip(lrs, lrs[1:]))
    steps = [b / a for a, b in zip(lrs, lrs[1:])] if mode == "exp" else [b - a for a, b in zip(lrs, lrs[1:])]
    assert max(steps) == pytest.approx(min(steps), rel=1e-6)  # constant ratio (exp) or difference (linear)


@pytest.mark.slow
def test_a_sweep_longer_than_an_epoch_records_every_iteration_without_validation_passes(digits, monkeypatch) -> None:
    cfg = RunConfig()
    evaluated = []
    original = Learner.evaluate
    monkeypatch.setattr(Learner, "evaluate", lambda self, split: evaluated.append(split) or original(self, split))
    model, opt = trained_a_little(cfg, digits)
    evaluated.clear()
    settings = LrFinderSettings(iterations=70, end_lr=1e-2)  # digits at batch 64: ~20 batches per epoch
    sink = ListSink()
    curve = lr_sweep(model, opt, digits, settings_from(cfg), settings, CPU, sink=sink)
    assert len(curve.lrs) == 70 and curve.stop_reason == ""
    assert [e.iteration for e in sink.of(LrFinderStep)] == list(range(1, 71))
    assert curve.lrs[-1] == pytest.approx(1e-2) and curve.val_losses is None
    assert evaluated and all(split is None for split in evaluated)  # no validation or test pass ran


def test_the_validation_loss_is_measured_at_every_iteration_when_asked(digits) -> None:
    cfg = RunConfig()
    model, opt = trained_a_little(cfg, digits)
    settings = LrFinderSettings(iterations=20, end_lr=1e-2, val_loss=True, val_samples=100)
    curve = lr_sweep(model, opt, digits, settings_from(cfg), settings, CPU)
    assert curve.val_losses is not None and len(curve.val_losses) == len(curve.lrs) == 20
    assert all(math.isfinite(v) for v in curve.val_losses)
    assert len(set(curve.val_losses)) > 5  # the model changes, so the fixed sample's loss does too


def fake_learner(lr: float, loss: float, step: int) -> SimpleNamespace:
    group = {"lr": lr}
    return SimpleNamespace(lr=lr, loss_value=loss, step=step, optimizer=SimpleNamespace(param_groups=[group]))


def test_the_divergence_stop_triggers_once_the_smoothed_loss_exceeds_k_times_its_best() -> None:
    settings = LrFinderSettings(iterations=100, smoothing=0.0, diverge_factor=4.0)  # no smoothing: exact
    cb = LrSweepCallback(settings, ListSink())
    losses = [2.0, 1.5, 1.0, 0.5, 0.8, 1.5, 1.9, 2.1, 5.0]
    stopped_at = None
    for i, loss in enumerate(losses, start=1):
        try:
            cb.after_batch(fake_learner(1e-3 * i, loss, i))
        except CancelFit:
            stopped_at = i
            break
    assert stopped_at == 8  # 2.1 > 4 × 0.5; 1.9 was not
    assert "exceeded 4 × its best" in cb.stop_reason and len(cb.losses) == 8


def test_a_non_finite_loss_ends_the_sweep_at_once() -> None:
    cb = LrSweepCallback(LrFinderSettings(), ListSink())
    cb.after_batch(fake_learner(1e-3, 1.0, 1))
    with pytest.raises(CancelFit):
        cb.after_batch(fake_learner(1e-2, math.nan, 2))
    assert "nan" in cb.stop_reason and len(cb.losses) == 2


@pytest.mark.slow
def test_sgd_at_huge_learning_rates_blows_up_and_the_sweep_stops_early(digits) -> None:
    cfg = RunConfig().replace(**{"optim.name": "sgd"})
    model, opt = trained_a_little(cfg, digits)
    curve = lr_sweep(model, opt, digits, settings_from(cfg), LrFinderSettings(end_lr=1000.0, iterations=100), CPU)
    assert len(curve.lrs) < 100
    assert "exceeded 4 × its best" in curve.stop_reason or "loss became" in curve.stop_reason


@pytest.mark.slow
def test_run_lr_finder_stores_an_lr_test_trial_that_loads_back(tmp_path: Path) -> None:
    with TrialStore(str(tmp_path / "t.db")) as store:
        sink = ListSink()
        result = run_lr_finder(RunConfig(), LrFinderSettings(repeats=2), sink=sink, store=store)
        assert result.status == "completed" and len(result.curves) == 2
        assert [e.repeat for e in sink.of(LrFinderStarted)] == [1, 2]
        assert sink.events[-1] is result and isinstance(result, LrFinderResult)
        assert result.curves[0].seed == 0 and result.curves[1].seed == 1
        assert result.curves[0].losses != result.curves[1].losses
        trial = store.get_trial(result.trial_id)
        assert trial.kind == "lr_test" and trial.status == "completed" and trial.dataset == "digits"
        assert trial.extra["range_test"]["repeats"] == 2
        loaded = load_lr_finder(store, result.trial_id)
        assert loaded.suggestions == result.suggestions and loaded.agreed == result.agreed
        assert loaded.spreads == result.spreads
        assert [c.lrs for c in loaded.curves] == [c.lrs for c in result.curves]
        assert [c.smoothed for c in loaded.curves] == [c.smoothed for c in result.curves]
        listed = lr_finder_trials(store)
        assert listed[0][0] == result.trial_id and "digits / mlp / adam" in listed[0][1]


@pytest.mark.slow
def test_suggestions_from_repeats_carry_their_spread() -> None:
    with TrialStore("sqlite://") as store:
        result = run_lr_finder(RunConfig(), LrFinderSettings(repeats=3), store=store)
    for name, value in result.suggestions.items():
        if value is not None:
            lo, hi = result.spreads[name]
            assert lo <= value <= hi


def test_a_stop_request_keeps_the_partial_curve(tmp_path: Path) -> None:
    control = RunControl()

    class StopAfter20:
        def emit(self, event) -> None:
            if isinstance(event, LrFinderStep) and event.iteration == 20:
                control.stop()

    with TrialStore(str(tmp_path / "t.db")) as store:
        result = run_lr_finder(RunConfig(), LrFinderSettings(), sink=StopAfter20(), control=control, store=store)
        assert result.status == "stopped" and len(result.curves[0].lrs) == 20
        assert "stopped by request" in result.curves[0].stop_reason
        assert store.get_trial(result.trial_id).status == "stopped"


def test_a_data_error_is_a_failed_trial_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,label\n1,2,x\n3,oops,y\n" + "".join(f"{i},{i},x\n" for i in range(40)))
    cfg = RunConfig().replace(**{"data.source": "csv", "data.path": str(bad)})
    with TrialStore(str(tmp_path / "t.db")) as store:
        result = run_lr_finder(cfg, LrFinderSettings(), store=store)
        assert result.status == "failed" and "bad.csv" in result.message and "\n" not in result.message
        assert store.get_trial(result.trial_id).status == "failed"
        assert all(v is None for v in result.suggestions.values())


def test_bad_settings_are_config_errors_naming_the_field() -> None:
    with pytest.raises(ConfigError, match="range_test.end_lr"):
        LrFinderSettings().replace(start_lr=1.0, end_lr=0.1)
    with pytest.raises(ConfigError, match="range_test.mode"):
        LrFinderSettings().replace(mode="cubic")
    with pytest.raises(ConfigError, match="range_test.iterations"):
        LrFinderSettings().replace(iterations="many")
    assert LrFinderSettings().replace(iterations="50", val_loss="yes").iterations == 50
