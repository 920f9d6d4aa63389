"""The small surface the GUI and the CLI use: run a training trial, read the store."""

from __future__ import annotations

import time
import traceback

import torch

from trainers.callbacks import (BestTracker, ControlCallback, DivergenceGuard, EarlyStopping, EventCallback,
                                ScheduleCallback)
from trainers.config import RunConfig, validate
from trainers.data import DatasetBundle, load_dataset
from trainers.device import resolve_device
from trainers.errors import TuneLabError
from trainers.events import FitEnded, NullSink, RunControl, Sink
from trainers.loop import Callback, Learner, TrainSettings
from trainers.models import build_model, count_parameters
from trainers.optim import build_optimizer
from trainers.recording import StoreRecorder, finite_or_none
from trainers.store import TrialStore

# A run's result is its final event: the same fields reach a sink, the CLI's JSON line and the caller.
RunResult = FitEnded


def trial_summary(cfg: RunConfig) -> dict:
    """The columns the store ranks and filters by, taken from the config."""
    return {"dataset": cfg.data.source, "model": cfg.model.family, "optimizer": cfg.optim.name, "lr": cfg.optim.lr,
            "batch_size": cfg.train.batch_size, "dropout": cfg.model.dropout,
            "weight_decay": cfg.optim.weight_decay, "seed": cfg.train.seed, "epochs_planned": cfg.train.epochs}


def settings_from(cfg: RunConfig) -> TrainSettings:
    t, d = cfg.train, cfg.data
    return TrainSettings(batch_size=t.batch_size, epochs=t.epochs, grad_clip=t.grad_clip, l1=t.l1,
                         label_smoothing=t.label_smoothing, augment_flip=d.augment_flip,
                         augment_crop_padding=d.augment_crop_padding, amp=t.amp, num_workers=d.num_workers,
                         seed=t.seed)


def run_training(cfg: RunConfig, *, sink: Sink | None = None, control: RunControl | None = None,
                 store: TrialStore | None = None, bundle: DatasetBundle | None = None,
                 extra_callbacks: list[Callback] | None = None) -> RunResult:
    """Train one trial end to end. Config errors raise; anything that fails after the trial exists
    is recorded in the store as "failed" and returned, never raised."""
    validate(cfg)
    device = resolve_device(cfg.train.device)
    sink = sink or NullSink()
    control = control or RunControl()
    own_store = store is None
    store = store or TrialStore()
    trial_id = store.create_trial("train", cfg.to_dict(), **trial_summary(cfg))
    t0 = time.perf_counter()
    learner: Learner | None = None
    tracker = BestTracker(cfg.early_stop.monitor, cfg.early_stop.mode, cfg.early_stop.min_delta)
    guard = DivergenceGuard()
    status, message, test = "failed", "", None
    extra: dict = {}
    try:
        if cfg.train.threads > 0:
            torch.set_num_threads(cfg.train.threads)
        torch.manual_seed(cfg.train.seed)
        data = (bundle or load_dataset(cfg.data)).to(device)
        model = build_model(cfg.model, data.input_shape, data.num_classes).to(device)
        schedule = ScheduleCallback(cfg)
        callbacks: list[Callback] = [
            ControlCallback(control), schedule, guard, tracker,
            StoreRecorder(store, trial_id, tracker, cfg.train.checkpoints),
            EventCallback(sink, trial_id, tracker, schedule, count_parameters(model), str(device)),
            *(extra_callbacks or []),
        ]
        if cfg.early_stop.enabled:
            callbacks.append(EarlyStopping(tracker, cfg.early_stop.patience, cfg.early_stop.restore_best))
        learner = Learner(model, build_optimizer(cfg.optim, model), data, settings_from(cfg), device, callbacks)
        learner.fit()
        status, message = learner.status, learner.message
        if tracker.best_state is not None and data.test is not None:
            # the test split is scored once, with the best weights, never used for any choice
            model.load_state_dict(tracker.best_state)
            test = learner.evaluate(data.test)
    except TuneLabError as exc:
        message = str(exc)
    except torch.OutOfMemoryError:
        message = (f"out of memory on {device}: lower train.batch_size (now {cfg.train.batch_size}) "
                   f"or choose a smaller model")
    except Exception as exc:  # noqa: BLE001 - a failed run must never take the caller down
        message = f"{type(exc).__name__}: {exc}"
        extra["traceback"] = traceback.format_exc()
    seconds = time.perf_counter() - t0
    epochs_run = learner.epoch if learner is not None else 0
    stored = store.get_trial(trial_id)
    result = RunResult(trial_id, status, epochs_run, tracker.best_epoch, stored.best_val_acc, stored.best_val_loss,
                       test.acc if test else None, finite_or_none(test.loss) if test else None, seconds, message,
                       guard.step)
    store.finish_trial(trial_id, status, message=message, test_acc=result.test_acc, test_loss=result.test_loss,
                       diverged_step=guard.step, **({"extra": extra} if extra else {}))
    sink.emit(result)
    if own_store:
        store.close()
    return result

