"""A range test as a trial: build the model from the config, sweep once per repeat (each with its own seed),
read the suggestions, and keep curves and suggestions in the store as a trial of kind "lr_test"."""

from __future__ import annotations

import dataclasses
import math

import torch

from trainers.data import DatasetBundle
from trainers.jobs.lifecycle import TrialJob, owned_store, start_job
from trainers.jobs.setup import trial_summary
from trainers.lr_finder.suggest import SUGGESTION_NAMES, Suggestions, combine, spreads, suggest
from trainers.lr_finder.sweep import lr_sweep
from trainers.lr_finder.verify import verify_rate
from trainers.models import build_model
from trainers.spec.budget_rate import schedule_mean, steps_per_epoch
from trainers.spec.config import RunConfig
from trainers.spec.errors import StoreError
from trainers.spec.events import LrFinderCurve, LrFinderResult, LrFinderStarted, RunControl, Sink
from trainers.spec.lr_finder_settings import LrFinderSettings, validate_settings
from trainers.spec.lr_verify_events import VerifiedRate
from trainers.spec.rates import recommended_rate
from trainers.store import TrialStore
from trainers.store.records import TrialRecord
from trainers.training.loop import settings_from
from trainers.training.optim import build_optimizer
from trainers.trials.choices import trial_choices

LR_FINDER_KIND = "lr_test"


def run_lr_finder(
    cfg: RunConfig,
    settings: LrFinderSettings | None = None,
    *,
    sink: Sink | None = None,
    control: RunControl | None = None,
    store: TrialStore | None = None,
    bundle: DatasetBundle | None = None,
) -> LrFinderResult:
    """Run the test (all repeats) on what `cfg` trains. Config errors raise; anything that fails after the
    trial exists is recorded as "failed" and returned, never raised."""
    settings = validate_settings(settings or LrFinderSettings())
    with owned_store(store) as store:
        job = start_job(
            store,
            LR_FINDER_KIND,
            cfg,
            sink=sink,
            control=control,
            summary={**trial_summary(cfg), "lr": None, "epochs_planned": None},
            extra={"range_test": settings.to_dict()},
        )
        curves: list[LrFinderCurve] = []
        verified: list[VerifiedRate] = []
        data: DatasetBundle | None = None
        with job.running():
            data = job.load_data(bundle)
            _sweep_repeats(job, settings, data, curves)
            if settings.verify and job.status == "completed":
                verified.append(_verify(job, settings, data, curves))
        result = _budgeted(
            result_from_curves(job.trial_id, job.status, curves, job.message, job.seconds, settings), job.cfg, data
        )
        if verified:
            result = dataclasses.replace(result, verified=verified[0])
        stored = result.to_dict()
        for key in ("trial_id", "status", "lrs", "losses", "settings"):
            stored.pop(key)  # columns of the trial, the first curve again, or kept under "range_test" already
        return job.finish(result, extra=stored, lr=recommended_rate(result))


def _sweep_repeats(job: TrialJob, settings: LrFinderSettings, data: DatasetBundle, curves: list[LrFinderCurve]) -> None:
    """One sweep per repeat, each on a fresh model with its own seed; a stop request ends the series."""
    cfg = job.cfg
    for r in range(settings.repeats):
        seed = cfg.train.seed + r
        torch.manual_seed(seed)
        model = build_model(cfg.model, data.input_shape, data.num_classes).to(job.device)
        job.sink.emit(
            LrFinderStarted(
                job.trial_id,
                r + 1,
                settings.repeats,
                settings.iterations,
                settings.start_lr,
                settings.end_lr,
                settings.mode,
            )
        )
        train = dataclasses.replace(settings_from(cfg), seed=seed)
        curves.append(
            lr_sweep(
                model,
                build_optimizer(cfg.optim, model),
                data,
                train,
                settings,
                job.device,
                sink=job.sink,
                control=job.control,
                repeat=r + 1,
            )
        )
        if job.control.stop_requested:
            job.status = "stopped"
            return


def _verify(
    job: TrialJob, settings: LrFinderSettings, data: DatasetBundle, curves: list[LrFinderCurve]
) -> VerifiedRate:
    """Short runs at candidates from the suggestions; a stop request during them stops the trial."""
    found = _budgeted(result_from_curves(job.trial_id, job.status, curves, "", 0.0, settings), job.cfg, data)
    verified = verify_rate(
        job.cfg,
        found,
        data,
        settings.verify_candidates,
        job.device,
        sink=job.sink,
        control=job.control,
        trial_id=job.trial_id,
    )
    if job.control.stop_requested:
        job.status = "stopped"
        job.notes.insert(0, verified.message)
    return verified


def _budgeted(result: LrFinderResult, cfg: RunConfig, data: DatasetBundle | None) -> LrFinderResult:
    """The result with the budget of the run `cfg` plans, which the headline rate is scaled to."""
    if data is None:
        return result
    per_epoch = steps_per_epoch(len(data.train), cfg)
    return dataclasses.replace(
        result, planned_steps=per_epoch * cfg.train.epochs, schedule_mean=schedule_mean(cfg, per_epoch)
    )


def result_from_curves(
    trial_id: int | None,
    status: str,
    curves: list[LrFinderCurve],
    failure: str,
    seconds: float,
    settings: LrFinderSettings | None = None,
) -> LrFinderResult:
    """Suggestions of each curve, combined over the repeats (geometric median, with their spread)."""
    runs: list[Suggestions] = [suggest(c.lrs, c.smoothed, c.losses) for c in curves if c.lrs]
    spread: dict[str, tuple[float, float] | None]
    if runs:
        combined = combine(runs)
        values, agreed, agreeing, note = combined.values, combined.agreed, combined.agreeing, combined.message
        spread = spreads(runs) if len(runs) > 1 else {name: None for name in SUGGESTION_NAMES}
    else:
        values = {name: None for name in SUGGESTION_NAMES}
        spread = {name: None for name in SUGGESTION_NAMES}
        agreed, agreeing, note = None, (), "no iterations ran"
    message = "; ".join(m for m in (failure, note) if m)
    return LrFinderResult(
        trial_id,
        status,
        tuple(curves),
        values,
        spread,
        agreed,
        agreeing,
        message,
        seconds,
        settings.to_dict() if settings else None,
    )


def load_lr_finder(store: TrialStore, trial_id: int) -> LrFinderResult:
    """A stored LR finder run with its curves and suggestions, as it was when it finished."""
    trial = store.get_trial(trial_id)
    if trial.kind != LR_FINDER_KIND:
        raise StoreError(f"trial {trial_id} is a {trial.kind} trial, not an LR finder run")
    e = trial.extra
    curves = tuple(
        LrFinderCurve(
            int(c["seed"]),
            _floats(c["lrs"]),
            _floats(c["losses"]),
            _floats(c["smoothed"]),
            _floats(c["val_losses"]) if c.get("val_losses") is not None else None,
            str(c.get("stop_reason", "")),
        )
        for c in e.get("curves", [])
    )
    names = SUGGESTION_NAMES
    suggestions = {n: e.get("suggestions", {}).get(n) for n in names}
    spread = {n: tuple(v) if v else None for n, v in ((n, e.get("spreads", {}).get(n)) for n in names)}
    agreed = tuple(e["agreed"]) if e.get("agreed") else None
    return LrFinderResult(
        trial_id,
        trial.status,
        curves,
        suggestions,
        spread,
        agreed,
        tuple(e.get("agreeing", ())),
        trial.message,
        float(e.get("seconds") or 0.0),
        e.get("range_test"),
        VerifiedRate.from_dict(e["verified"]) if e.get("verified") else None,
        int(e["planned_steps"]) if e.get("planned_steps") else None,
        float(e.get("schedule_mean") or 1.0),
    )


def lr_finder_trials(store: TrialStore, limit: int = 100) -> list[tuple[int, str]]:
    """(trial id, one-line label) of the stored range tests, newest first."""

    def describe(t: TrialRecord) -> str:
        found = f"suggests {t.lr:.2g}" if t.lr is not None else "no suggestion"
        return f"{t.dataset} / {t.model} / {t.optimizer} · {t.status}, {found}"

    return trial_choices(store, LR_FINDER_KIND, describe, limit)


def _floats(values: list) -> tuple[float, ...]:
    """Stored curves keep a non-finite loss as null; it comes back as NaN."""
    return tuple(math.nan if v is None else float(v) for v in values)
