"""The training loop: equal to a hand-written loop, early stopping, divergence, stop, pause, determinism."""

from __future__ import annotations

import math
import threading
from pathlib import Path
from typing import Callable

import pytest
import torch
from torch import nn

from trainers.api import run_training
from trainers.data import DatasetBundle
from trainers.data.common import bundle_from_tensors
from trainers.models import build_model
from trainers.spec.config import RunConfig
from trainers.spec.events import BatchEnded, EpochEnded, Event, FitEnded, FitStarted, ListSink, RunControl
from trainers.store import TrialStore
from trainers.training.checkpoints import load_checkpoint
from trainers.training.loop import Callback, Learner
from trainers.training.optim import build_optimizer


def blobs(n: int = 600, features: int = 10, classes: int = 3, noise: float = 1.0, seed: int = 0) -> DatasetBundle:
    g = torch.Generator().manual_seed(seed)
    centers = torch.randn(classes, features, generator=g) * 3
    y = torch.arange(n) % classes
    x = centers[y] + noise * torch.randn(n, features, generator=g)
    return bundle_from_tensors("blobs", x, y, seed=seed)


def cfg_for(**changes: object) -> RunConfig:
    base: dict[str, object] = {
        "train.device": "cpu",
        "train.epochs": 3,
        "train.batch_size": 32,
        "model.hidden_units": 32,
        "train.threads": 1,
    }
    base.update(changes)
    return RunConfig().replace(**base)


@pytest.fixture
def store(tmp_path: Path) -> TrialStore:
    with TrialStore(str(tmp_path / "t.db")) as s:
        yield s


def test_engine_equals_a_hand_written_loop(store: TrialStore) -> None:
    """Same seed, data and optimizer: the engine's last weights match a plain PyTorch loop's."""
    data = blobs()
    cfg = cfg_for(**{"model.dropout": 0.2, "optim.weight_decay": 0.01})
    result = run_training(cfg, store=store, bundle=data)
    assert result.status == "completed"
    engine_state, meta = load_checkpoint(Path(store.get_trial(result.trial_id).checkpoint_last))
    assert meta["epoch"] == 3

    torch.manual_seed(cfg.train.seed)
    model = build_model(cfg.model, data.input_shape, data.num_classes)
    opt = build_optimizer(cfg.optim, model)
    gen = torch.Generator().manual_seed(cfg.train.seed)
    x, y = data.train.x, data.train.y
    for _ in range(cfg.train.epochs):
        model.train()
        perm = torch.randperm(len(y), generator=gen)
        for i in range(0, len(y), cfg.train.batch_size):
            idx = perm[i : i + cfg.train.batch_size]
            loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    for name, tensor in model.state_dict().items():
        torch.testing.assert_close(engine_state[name], tensor, rtol=1e-5, atol=1e-6, msg=name)


def test_events_and_store_agree(store: TrialStore) -> None:
    sink = ListSink()
    result = run_training(cfg_for(), sink=sink, store=store, bundle=blobs())
    started = sink.of(FitStarted)[0]
    batches, epochs = sink.of(BatchEnded), sink.of(EpochEnded)
    assert len(batches) == 3 * started.steps_per_epoch
    assert [b.step for b in batches] == list(range(1, len(batches) + 1))
    assert all(b.grad_norm > 0 and math.isfinite(b.loss) for b in batches)
    assert [e.epoch for e in epochs] == [1, 2, 3]
    assert isinstance(sink.events[-1], FitEnded) and sink.events[-1].status == "completed"
    stored = store.epochs(result.trial_id)
    assert [round(e.val_acc, 6) for e in stored] == [round(e.val_acc, 6) for e in epochs]
    trial = store.get_trial(result.trial_id)
    assert trial.status == "completed" and trial.epochs_run == 3
    kept = epochs[result.best_epoch - 1]  # the numbers of the epoch whose weights were kept
    assert (trial.best_val_acc, trial.best_val_loss) == (kept.val_acc, kept.val_loss)
    assert trial.extra["peak_val_acc"] == max(e.val_acc for e in epochs) == result.peak_val_acc
    assert trial.test_acc is not None and result.test_acc == trial.test_acc
    state, meta = load_checkpoint(Path(trial.checkpoint_best))
    assert meta["epoch"] == result.best_epoch and state


def test_early_stopping_ends_the_run_and_restores_best(store: TrialStore) -> None:
    # labels are noise, so validation loss stops improving almost at once while training memorises
    g = torch.Generator().manual_seed(1)
    noise = bundle_from_tensors("noise", torch.randn(300, 20, generator=g), torch.randint(0, 3, (300,), generator=g))
    cfg = cfg_for(
        **{
            "train.epochs": 60,
            "early_stop.enabled": True,
            "early_stop.patience": 2,
            "model.hidden_units": 256,
            "model.dropout": 0.0,
            "optim.lr": 0.01,
        }
    )
    sink = ListSink()
    result = run_training(cfg, sink=sink, store=store, bundle=noise)
    assert result.status == "completed"
    assert result.epochs_run < 60
    assert result.epochs_run == result.best_epoch + 2  # patience 2: two epochs without improvement
    assert "early stop" in result.message
    val_losses = [e.val_loss for e in sink.of(EpochEnded)]
    assert min(val_losses) == pytest.approx(val_losses[result.best_epoch - 1])


def test_divergence_ends_as_diverged_with_the_step(store: TrialStore) -> None:
    cfg = cfg_for(**{"optim.name": "sgd", "optim.lr": 90.0, "optim.momentum": 0.9, "model.dropout": 0.0})
    result = run_training(cfg, store=store, bundle=blobs(noise=5.0))
    assert result.status == "diverged"
    assert result.diverged_step is not None and result.diverged_step >= 1
    trial = store.get_trial(result.trial_id)
    assert trial.status == "diverged" and trial.diverged_step == result.diverged_step
    assert "step" in trial.message


class _StopAt:
    """A sink that asks for a stop at a given global step and counts what arrives afterwards."""

    def __init__(self, control: RunControl, step: int) -> None:
        self.control, self.step, self.after = control, step, 0
        self.events: list[Event] = []

    def emit(self, event: Event) -> None:
        self.events.append(event)
        if isinstance(event, BatchEnded):
            if self.control.stop_requested:
                self.after += 1
            elif event.step == self.step:
                self.control.stop()


def test_stop_is_honoured_within_one_batch(store: TrialStore) -> None:
    control = RunControl()
    sink = _StopAt(control, step=5)
    result = run_training(cfg_for(**{"train.epochs": 50}), sink=sink, control=control, store=store, bundle=blobs())
    assert result.status == "stopped"
    assert sink.after == 0
    assert store.get_trial(result.trial_id).status == "stopped"


def test_pause_blocks_between_batches_and_resume_continues(store: TrialStore) -> None:
    control = RunControl()
    paused_at = threading.Event()
    seen_while_paused: list[int] = []

    class PauseOnce:
        def emit(self, event: Event) -> None:
            if isinstance(event, BatchEnded):
                if control.paused:
                    seen_while_paused.append(event.step)
                if event.step == 3 and not paused_at.is_set():
                    control.pause()
                    paused_at.set()

    def resume_later() -> None:
        paused_at.wait(30)
        assert control.paused
        control.resume()

    helper = threading.Thread(target=resume_later)
    helper.start()
    result = run_training(
        cfg_for(**{"train.epochs": 2}), sink=PauseOnce(), control=control, store=store, bundle=blobs()
    )
    helper.join()
    assert result.status == "completed" and result.epochs_run == 2
    assert seen_while_paused == []


def test_same_seed_same_metrics(store: TrialStore) -> None:
    cfg = cfg_for(**{"model.dropout": 0.3, "data.augment_flip": True})
    a = run_training(cfg, store=store, bundle=blobs())
    b = run_training(cfg, store=store, bundle=blobs())
    c = run_training(cfg.replace(**{"train.seed": 7}), store=store, bundle=blobs())
    ea, eb, ec = (store.epochs(r.trial_id) for r in (a, b, c))
    assert [(e.train_loss, e.val_loss) for e in ea] == [(e.train_loss, e.val_loss) for e in eb]
    assert [e.train_loss for e in ea] != [e.train_loss for e in ec]


def test_gradient_clipping_bounds_each_update(store: TrialStore) -> None:
    class StepSize(Callback):
        def __init__(self) -> None:
            self.sizes: list[float] = []

        def before_batch(self, learner: Learner) -> None:
            self.before = [p.detach().clone() for p in learner.model.parameters()]

        def after_batch(self, learner: Learner) -> None:
            diffs = [(p.detach() - b).flatten() for p, b in zip(learner.model.parameters(), self.before)]
            self.sizes.append(float(torch.cat(diffs).norm()))

    probe = StepSize()
    cfg = cfg_for(
        **{
            "optim.name": "sgd",
            "optim.lr": 1.0,
            "optim.momentum": 0.0,
            "optim.weight_decay": 0.0,
            "train.grad_clip": 0.01,
            "train.epochs": 1,
            "model.dropout": 0.0,
        }
    )
    sink = ListSink()
    run_training(cfg, sink=sink, store=store, bundle=blobs(), extra_callbacks=[probe])
    assert max(probe.sizes) <= 0.01 + 1e-6
    assert max(b.grad_norm for b in sink.of(BatchEnded)) > 0.01  # the reported norm is before clipping


def test_l1_and_label_smoothing_change_training_but_not_the_reported_loss_definition(store: TrialStore) -> None:
    plain = run_training(cfg_for(), store=store, bundle=blobs())
    regular = run_training(cfg_for(**{"train.l1": 1e-3, "train.label_smoothing": 0.2}), store=store, bundle=blobs())
    p, r = store.epochs(plain.trial_id)[0], store.epochs(regular.trial_id)[0]
    assert p.train_loss != r.train_loss
    # training loss is recorded as plain cross-entropy, so it stays on the validation loss's scale
    assert r.train_loss < 1.5


def test_a_failing_model_is_recorded_as_failed_not_raised(store: TrialStore) -> None:
    result = run_training(cfg_for(**{"model.family": "cnn"}), store=store, bundle=blobs())
    assert result.status == "failed"
    assert "cnn" in result.message.lower() or "image" in result.message.lower()
    assert store.get_trial(result.trial_id).status == "failed"


@pytest.mark.slow
def test_paused_time_is_left_out_of_epoch_timings(store: TrialStore) -> None:
    control = RunControl()
    resumed = threading.Event()

    class PauseAtTwo(ListSink):
        def emit(self, event: Event) -> None:
            super().emit(event)
            if isinstance(event, BatchEnded) and event.step == 2:
                control.pause()
                threading.Timer(1.0, lambda: (control.resume(), resumed.set())).start()

    sink = PauseAtTwo()
    run_training(cfg_for(**{"train.epochs": 2}), sink=sink, control=control, store=store, bundle=blobs())
    assert resumed.is_set() and control.paused_seconds >= 0.9
    first, second = sink.of(EpochEnded)
    assert first.seconds < second.seconds + 0.5  # the second-long pause is not in epoch 1's time


def test_pause_after_stop_does_not_hang(store: TrialStore) -> None:
    control = RunControl()

    class StopThenPause:
        def emit(self, event: Event) -> None:
            if isinstance(event, BatchEnded) and event.step == 3:
                control.stop()
                control.pause()

    result = run_training(
        cfg_for(**{"train.epochs": 50}), sink=StopThenPause(), control=control, store=store, bundle=blobs()
    )
    assert result.status == "stopped"
    assert result.epochs_run == store.get_trial(result.trial_id).epochs_run == 0  # no epoch finished


def test_thread_setting_is_restored_after_a_run(store: TrialStore) -> None:
    before = torch.get_num_threads()
    run_training(cfg_for(**{"train.threads": 1, "train.epochs": 1}), store=store, bundle=blobs())
    assert torch.get_num_threads() == before


def test_restore_best_false_scores_the_last_weights(store: TrialStore) -> None:
    base = {
        "train.epochs": 12,
        "early_stop.enabled": True,
        "early_stop.patience": 100,
        "model.dropout": 0.0,
        "optim.lr": 0.05,
    }
    best = run_training(cfg_for(**base), store=store, bundle=blobs(noise=4.0))
    last = run_training(cfg_for(**base, **{"early_stop.restore_best": False}), store=store, bundle=blobs(noise=4.0))
    assert best.best_epoch == last.best_epoch < 12  # so the best and the last weights differ
    assert best.test_loss != last.test_loss


def test_amp_on_cpu_is_reported_not_silently_dropped(store: TrialStore) -> None:
    result = run_training(
        cfg_for(**{"train.device": "auto", "train.amp": True, "train.epochs": 1}), store=store, bundle=blobs()
    )
    if torch.cuda.is_available():
        assert "mixed precision" not in result.message
    else:
        assert result.status == "completed" and "mixed precision is CUDA-only" in result.message


def test_reduce_on_plateau_lowers_the_rate_when_validation_stalls(store: TrialStore) -> None:
    g = torch.Generator().manual_seed(2)
    noise = bundle_from_tensors("noise", torch.randn(300, 20, generator=g), torch.randint(0, 3, (300,), generator=g))
    cfg = cfg_for(
        **{
            "train.epochs": 12,
            "schedule.name": "plateau",
            "schedule.plateau_patience": 0,
            "schedule.plateau_factor": 0.5,
            "model.hidden_units": 256,
            "model.dropout": 0.0,
            "optim.lr": 0.01,
        }
    )
    sink = ListSink()
    run_training(cfg, sink=sink, store=store, bundle=noise)
    lrs = [e.lr for e in sink.of(EpochEnded)]
    assert lrs[0] == pytest.approx(0.01)
    assert lrs[-1] < 0.01 and all(b <= a for a, b in zip(lrs, lrs[1:]))
    assert {round(lr / 0.01, 6) for lr in lrs} <= {round(0.5**k, 6) for k in range(13)}  # whole halvings only


def test_evaluation_leaves_frozen_batch_norms_in_eval_mode() -> None:
    import torch
    from torch import nn

    from trainers.data import DatasetBundle, Split
    from trainers.training.loop import Learner, TrainSettings, train_mode

    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2))
    for p in model[1].parameters():
        p.requires_grad = False  # a frozen backbone's norm layer
    x, y = torch.randn(32, 4), torch.randint(0, 2, (32,))
    data = DatasetBundle("t", (4,), 2, ["a", "b"], Split(x, y), Split(x, y), None)
    learner = Learner(
        model,
        torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1),
        data,
        TrainSettings(batch_size=8, epochs=1),
        torch.device("cpu"),
    )
    train_mode(model)
    assert model.training and not model[1].training
    before = model[1].running_mean.clone()
    learner.evaluate(data.val)
    assert model.training and not model[1].training  # a mid-epoch evaluation must not unfreeze its statistics
    model(x)
    assert torch.equal(model[1].running_mean, before)


BATCH_STAGES = (
    "before_batch",
    "before_pred",
    "after_pred",
    "after_loss",
    "before_backward",
    "after_backward",
    "before_step",
    "after_step",
    "after_batch",
)


class StageProbe(Callback):
    """Records each batch stage it sees, the first-layer weight before the batch, and whether the gradients exist
    when the step stage starts; raises `cancel` at the stage `at`."""

    def __init__(self, at: str | None = None, cancel: type[Exception] | None = None) -> None:
        self.at, self.cancel = at, cancel
        self.seen: list[str] = []
        for stage in BATCH_STAGES:
            setattr(self, stage, self._hook(stage))

    def _hook(self, stage: str) -> Callable[[Learner], None]:
        def hook(learner: Learner) -> None:
            self.seen.append(stage)
            weight = next(learner.model.parameters())
            if stage == "before_batch":
                self.before = weight.detach().clone()
            if stage == "before_step":
                self.had_grads = weight.grad is not None
            if stage == self.at:
                raise self.cancel()  # type: ignore[misc]

        return hook


def weights_kept(probe: StageProbe, learner: Learner) -> bool:
    return torch.equal(probe.before, next(learner.model.parameters()).detach())


def one_batch_learner(probe: Callback, step: object | None = None) -> Learner:
    """A learner over exactly one batch of one epoch, plain SGD (no momentum, no decay)."""
    from trainers.data import Split
    from trainers.training.loop import TrainSettings

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    x, y = torch.randn(16, 4), torch.randint(0, 3, (16,))
    data = DatasetBundle("t", (4,), 3, ["a", "b", "c"], Split(x, y), Split(x, y), None)
    kwargs = {"batch_step": step} if step is not None else {}
    return Learner(
        model,
        torch.optim.SGD(model.parameters(), lr=0.5),
        data,
        TrainSettings(batch_size=16, epochs=1),
        torch.device("cpu"),
        [probe],
        **kwargs,
    )


def test_a_batch_runs_its_stages_in_order_and_trains() -> None:
    probe = StageProbe()
    learner = one_batch_learner(probe)
    learner.fit()
    assert tuple(probe.seen) == BATCH_STAGES
    assert probe.had_grads and not weights_kept(probe, learner)


@pytest.mark.parametrize("at", ["before_batch", "before_pred", "after_pred", "after_loss"])
def test_cancel_batch_at_any_stage_skips_the_rest_of_the_batch(at: str) -> None:
    from trainers.training.loop import CancelBatch

    probe = StageProbe(at, CancelBatch)
    learner = one_batch_learner(probe)
    learner.fit()
    assert probe.seen == list(BATCH_STAGES[: BATCH_STAGES.index(at) + 1])  # nothing after it, after_batch neither
    assert weights_kept(probe, learner) and learner.epoch == 1  # the fit went on


def test_cancel_backward_leaves_no_gradients_so_the_step_changes_nothing() -> None:
    from trainers.training.loop import CancelBackward

    probe = StageProbe("before_backward", CancelBackward)
    learner = one_batch_learner(probe)
    learner.fit()
    assert probe.seen == [
        "before_batch",
        "before_pred",
        "after_pred",
        "after_loss",
        "before_backward",
        "before_step",
        "after_step",
        "after_batch",
    ]
    assert not probe.had_grads and weights_kept(probe, learner)
    assert learner.grad_norm == 0.0 and math.isfinite(learner.loss_value)


def test_cancel_step_keeps_the_weights_but_not_the_rest_of_the_batch() -> None:
    from trainers.training.loop import CancelStep

    probe = StageProbe("before_step", CancelStep)
    learner = one_batch_learner(probe)
    learner.fit()
    assert probe.seen == [
        "before_batch",
        "before_pred",
        "after_pred",
        "after_loss",
        "before_backward",
        "after_backward",
        "before_step",
        "after_batch",
    ]
    assert probe.had_grads and weights_kept(probe, learner)
    assert learner.train_loss == pytest.approx(learner.loss_value)  # the batch still counts in the epoch's loss


def test_the_loss_is_pluggable() -> None:
    from trainers.training.loop import BatchStep

    calls: list[int] = []

    def no_loss(out: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        calls.append(len(yb))
        return out.sum() * 0.0  # a zero loss: zero gradients, SGD leaves the weights alone

    probe = StageProbe()
    learner = one_batch_learner(probe, BatchStep(loss_fn=no_loss))
    learner.fit()
    assert calls == [16] and learner.loss_value == 0.0
    assert weights_kept(probe, learner)
