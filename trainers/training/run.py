"""A training run as a trial of kind "train": the model from the config, the loop with its callbacks, the test
split scored once on the weights that were kept, and the diagnosis stored with the trial."""

from __future__ import annotations

from typing import Any

from trainers.data import DatasetBundle
from trainers.diagnosis.diagnose import diagnosis_label
from trainers.evaluation.after_run import evaluation_after_run
from trainers.jobs.lifecycle import TrialJob, owned_store, start_job
from trainers.models import build_model, count_parameters
from trainers.spec.config import RunConfig
from trainers.spec.events import FitEnded, RunControl, Sink
from trainers.store import TrialStore
from trainers.training.callbacks import (
    BestTracker,
    ControlCallback,
    DivergenceGuard,
    EarlyStopping,
    EventCallback,
    ScheduleCallback,
)
from trainers.training.loop import Callback, CancelFit, EvalResult, Learner, settings_from
from trainers.training.optim import build_optimizer
from trainers.training.recording import StoreRecorder, finite_or_none

TRAIN_KIND = "train"


def run_training(
    cfg: RunConfig,
    *,
    sink: Sink | None = None,
    control: RunControl | None = None,
    store: TrialStore | None = None,
    bundle: DatasetBundle | None = None,
    extra_callbacks: list[Callback] | None = None,
    trial_extra: dict[str, Any] | None = None,
    queued_trial: int | None = None,
) -> FitEnded:
    """Train one trial end to end. Config errors raise; anything that fails after the trial exists
    is recorded in the store as "failed" and returned, never raised. `trial_extra`: stored with the trial from its
    start (a search's trial carries its search and Optuna trial number). `queued_trial`: train as that queued trial,
    claimed by this process (trainers/store/queued.py), instead of a new one."""
    with owned_store(store) as store:
        job = start_job(store, TRAIN_KIND, cfg, sink=sink, control=control, extra=trial_extra or {}, adopt=queued_trial)
        es = cfg.early_stop
        tracker = BestTracker(es.monitor, es.mode, es.min_delta)
        guard = DivergenceGuard()
        recorder = StoreRecorder(store, job.trial_id, tracker, cfg.train.checkpoints)
        job.status = "failed"  # until the loop says otherwise
        if cfg.train.amp and job.device.type != "cuda":
            job.notes.append(f"mixed precision is CUDA-only: trained in float32 on {job.device}")
        test: EvalResult | None = None
        learner: Learner | None = None
        with job.running():
            learner = _learner(job, bundle, tracker, [guard, tracker, recorder], extra_callbacks or [])
            guard.num_classes = learner.data.num_classes  # the guard and the diagnosis judge by its chance level
            store.update_trial(job.trial_id, extra={"num_classes": learner.data.num_classes})
            learner.fit()
            job.status = learner.status
            job.notes.insert(0, learner.message)
            test = score_test(learner, tracker, restore_best=not es.enabled or es.restore_best)
        return finish_training(store, job, tracker, recorder, guard, test, learner if test is not None else None)


def finish_training(
    store: TrialStore,
    job: TrialJob,
    tracker: BestTracker,
    recorder: StoreRecorder,
    guard: DivergenceGuard,
    test: EvalResult | None,
    scored: Learner | None = None,
) -> FitEnded:
    """The run's result, stored with its test score, divergence step and diagnosis, and sent to its sink: how
    every training trial ends, alone or as a member of trials trained together. `scored`: the learner whose model
    scored the test split, evaluated on it (confusion matrix, per-class metrics, calibration) for History."""
    result = FitEnded(
        job.trial_id,
        job.status,
        recorder.epochs_recorded,
        tracker.best_epoch,
        recorder.best_val_acc,
        recorder.best_val_loss,
        test.acc if test else None,
        finite_or_none(test.loss) if test else None,
        job.seconds,
        job.message,
        guard.step,
        recorder.peak_val_acc,
    )
    extra: dict[str, Any] = {}
    if scored is not None and job.status in ("completed", "stopped"):
        extra.update(evaluation_after_run(job.trial_id, scored.model, scored.data, job.cfg.data) or {})
    if recorder.peak_val_acc is not None:
        extra["peak_val_acc"] = recorder.peak_val_acc
    return job.finish(
        result,
        extra or None,
        test_acc=result.test_acc,
        test_loss=result.test_loss,
        diverged_step=guard.step,
        diagnosis=_label(store, job, guard),
    )


def _label(store: TrialStore, job: TrialJob, guard: DivergenceGuard) -> str | None:
    """The diagnosis stored with the trial, by the same rule and class count the guard used; none for a failure."""
    if job.status == "failed":
        return None
    return diagnosis_label(store.epochs(job.trial_id), job.cfg, job.status, guard.step, num_classes=guard.num_classes)


def _learner(
    job: TrialJob, bundle: DatasetBundle | None, tracker: BestTracker, own: list[Callback], extra: list[Callback]
) -> Learner:
    """The loop for this run: data, model and optimizer from the config, with the run's callbacks."""
    cfg = job.cfg
    data = job.load_data(bundle)
    model = build_model(cfg.model, data.input_shape, data.num_classes).to(job.device)
    callbacks = [
        ControlCallback(job.control),
        ScheduleCallback(cfg),
        *own,
        EventCallback(job.sink, job.trial_id, tracker, count_parameters(model), str(job.device)),
        *extra,
    ]
    if cfg.early_stop.enabled:
        callbacks.append(EarlyStopping(tracker, cfg.early_stop.patience))
    return Learner(model, build_optimizer(cfg.optim, model), data, settings_from(cfg), job.device, callbacks)


def score_test(learner: Learner, tracker: BestTracker, restore_best: bool) -> EvalResult | None:
    """Score the test split once, after training; it never takes part in any choice.

    The best epoch's weights are scored unless early stopping was told not to restore them; a diverged
    run's last weights are never scored."""
    if learner.data.test is None:
        return None
    best = tracker.best_state if restore_best or learner.status == "diverged" else None
    if learner.status == "diverged" and best is None:
        return None
    if best is not None:
        learner.model.load_state_dict(best)
    try:
        return learner.evaluate(learner.data.test)
    except CancelFit:  # stopped during the test pass
        return None
