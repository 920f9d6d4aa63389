"""The small surface the GUI and the CLI use: run a training trial or a range test, read the store."""

from __future__ import annotations

import time
import traceback

import torch

from trainers.callbacks import (BestTracker, ControlCallback, DivergenceGuard, EarlyStopping, EventCallback,
                                ScheduleCallback)
from trainers.config import RunConfig, validate
from trainers.data import DatasetBundle, load_dataset
from trainers.diagnosis import Diagnosis, diagnose, diagnose_trial, fill_diagnoses
from trainers.device import describe_devices, resolve_device
from trainers.ensembles.ensemble_file import EnsembleModel, load_ensemble
from trainers.ensembles.ensemble_run import run_ensemble
from trainers.ensembles.events import EnsembleResult
from trainers.ensembles.settings import EnsembleSettings
from trainers.ensembles.stored_ensembles import (ensemble_candidates, ensemble_trials, export_ensemble,
                                                 load_ensemble_result)
from trainers.errors import TuneLabError
from trainers.events import FitEnded, NullSink, RangeTestResult, RunControl, Sink
from trainers.loop import Callback, CancelFit, EvalResult, Learner
from trainers.models import ModelInfo, build_model, count_parameters, describe_model
from trainers.optim import build_optimizer
from trainers.recording import StoreRecorder, finite_or_none
from trainers.range_test_settings import RangeTestSettings
from trainers.range_test_trial import load_range_test, range_test_trials, run_range_test
from trainers.run_setup import settings_from, torch_threads, trial_summary
from trainers.reruns import rerun_with_seeds
from trainers.store import RANK_METRICS, RankedTrial, TrialQuery, TrialStore
from trainers.trial_export import export_trials

# What the GUI uses besides run_training: the store and its ranked queries, the model description for the
# forms, the range test, the diagnosis, re-runs with other seeds, ensembles, export and the device line for About.
__all__ = ["RANK_METRICS", "Diagnosis", "EnsembleModel", "EnsembleResult", "EnsembleSettings", "ModelInfo",
           "RangeTestResult", "RangeTestSettings", "RankedTrial", "RunResult", "TrialQuery", "TrialStore",
           "describe_devices", "describe_model", "diagnose", "diagnose_trial", "ensemble_candidates",
           "ensemble_trials", "export_ensemble", "export_trials", "fill_diagnoses", "load_ensemble",
           "load_ensemble_result", "load_range_test", "range_test_trials", "rerun_with_seeds", "run_ensemble",
           "run_range_test", "run_training", "trial_summary"]

# A run's result is its final event: the same fields reach a sink, the CLI's JSON line and the caller.
RunResult = FitEnded


def run_training(cfg: RunConfig, *, sink: Sink | None = None, control: RunControl | None = None,
                 store: TrialStore | None = None, bundle: DatasetBundle | None = None,
                 extra_callbacks: list[Callback] | None = None) -> RunResult:
    """Train one trial end to end. Config errors raise; anything that fails after the trial exists
    is recorded in the store as "failed" and returned, never raised."""
    validate(cfg)
    device = resolve_device(cfg.train.device)
    sink = sink or NullSink()
    own_store = store is None
    store = store or TrialStore()
    trial_id = store.create_trial("train", cfg.to_dict(), **trial_summary(cfg))
    t0 = time.perf_counter()
    tracker = BestTracker(cfg.early_stop.monitor, cfg.early_stop.mode, cfg.early_stop.min_delta)
    guard = DivergenceGuard()
    recorder = StoreRecorder(store, trial_id, tracker, cfg.train.checkpoints)
    status, notes, test = "failed", [], None
    extra: dict = {}
    if cfg.train.amp and device.type != "cuda":
        notes.append(f"mixed precision is CUDA-only: trained in float32 on {device}")
    try:
        with torch_threads(cfg.train.threads):
            torch.manual_seed(cfg.train.seed)
            data = (bundle or load_dataset(cfg.data)).to(device)
            model = build_model(cfg.model, data.input_shape, data.num_classes).to(device)
            callbacks: list[Callback] = [
                ControlCallback(control or RunControl()), ScheduleCallback(cfg), guard, tracker, recorder,
                EventCallback(sink, trial_id, tracker, count_parameters(model), str(device)),
                *(extra_callbacks or []),
            ]
            if cfg.early_stop.enabled:
                callbacks.append(EarlyStopping(tracker, cfg.early_stop.patience))
            learner = Learner(model, build_optimizer(cfg.optim, model), data, settings_from(cfg), device, callbacks)
            learner.fit()
            status = learner.status
            notes.insert(0, learner.message)
            test = score_test(learner, tracker, restore_best=not cfg.early_stop.enabled or cfg.early_stop.restore_best)
    except TuneLabError as exc:
        notes.insert(0, str(exc))
    except torch.OutOfMemoryError:
        notes.insert(0, f"out of memory on {device}: lower train.batch_size (now {cfg.train.batch_size}) "
                        f"or choose a smaller model")
    except Exception as exc:  # noqa: BLE001 - a failed run must never take the caller down
        notes.insert(0, f"{type(exc).__name__}: {exc}")
        extra["traceback"] = traceback.format_exc()
    message = "; ".join(n for n in notes if n)
    result = RunResult(trial_id, status, recorder.epochs_recorded, tracker.best_epoch, recorder.best_val_acc,
                       recorder.best_val_loss, test.acc if test else None,
                       finite_or_none(test.loss) if test else None, time.perf_counter() - t0, message, guard.step)
    label = diagnose(store.epochs(trial_id), cfg, status, guard.step).label if status != "failed" else None
    store.finish_trial(trial_id, status, message=message, test_acc=result.test_acc, test_loss=result.test_loss,
                       diverged_step=guard.step, diagnosis=label, **({"extra": extra} if extra else {}))
    sink.emit(result)
    if own_store:
        store.close()
    return result


def score_test(learner: Learner, tracker: BestTracker, restore_best: bool) -> EvalResult | None:
    """Score the test split once, after training; it never takes part in any choice.

    The best epoch's weights are scored unless early stopping was told not to restore them; a diverged
    run's last weights are never scored."""
    if learner.data.test is None:
        return None
    use_best = tracker.best_state is not None and (restore_best or learner.status == "diverged")
    if learner.status == "diverged" and not use_best:
        return None
    if use_best:
        learner.model.load_state_dict(tracker.best_state)
    try:
        return learner.evaluate(learner.data.test)
    except CancelFit:  # stopped during the test pass
        return None
