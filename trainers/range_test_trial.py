"""A range test as a trial: build the model from the config, sweep once per repeat (each with its own seed),
read the suggestions, and keep curves and suggestions in the store as a trial of kind "lr_test"."""

from __future__ import annotations

import dataclasses
import math
import time
import traceback

import torch

from trainers.config import RunConfig, validate
from trainers.data import DatasetBundle, load_dataset
from trainers.device import resolve_device
from trainers.errors import StoreError, TuneLabError
from trainers.events import NullSink, RangeCurve, RangeTestResult, RangeTestStarted, RunControl, Sink
from trainers.lr_finder import range_test
from trainers.lr_suggest import SUGGESTION_NAMES, Suggestions, combine, spreads, suggest
from trainers.models import build_model
from trainers.optim import build_optimizer
from trainers.range_test_settings import RangeTestSettings, validate_settings
from trainers.run_setup import settings_from, torch_threads, trial_summary
from trainers.store import TrialStore
from trainers.store.records import TrialRecord
from trainers.trial_choices import trial_choices

RANGE_TEST_KIND = "lr_test"


def run_range_test(cfg: RunConfig, settings: RangeTestSettings | None = None, *, sink: Sink | None = None,
                   control: RunControl | None = None, store: TrialStore | None = None,
                   bundle: DatasetBundle | None = None) -> RangeTestResult:
    """Run the test (all repeats) on what `cfg` trains. Config errors raise; anything that fails after the
    trial exists is recorded as "failed" and returned, never raised."""
    validate(cfg)
    settings = validate_settings(settings or RangeTestSettings())
    sink = sink or NullSink()
    control = control or RunControl()
    device = resolve_device(cfg.train.device)
    own_store = store is None
    store = store or TrialStore()
    summary = {**trial_summary(cfg), "lr": None, "epochs_planned": None}
    trial_id = store.create_trial(RANGE_TEST_KIND, cfg.to_dict(), **summary,
                                  extra={"range_test": settings.to_dict()})
    t0 = time.perf_counter()
    curves: list[RangeCurve] = []
    status, message, extra = "completed", "", {}
    try:
        with torch_threads(cfg.train.threads):
            data = (bundle or load_dataset(cfg.data)).to(device)
            for r in range(settings.repeats):
                seed = cfg.train.seed + r
                torch.manual_seed(seed)
                model = build_model(cfg.model, data.input_shape, data.num_classes).to(device)
                sink.emit(RangeTestStarted(trial_id, r + 1, settings.repeats, settings.iterations,
                                           settings.start_lr, settings.end_lr, settings.mode))
                train = dataclasses.replace(settings_from(cfg), seed=seed)
                curves.append(range_test(model, build_optimizer(cfg.optim, model), data, train, settings, device,
                                         sink=sink, control=control, repeat=r + 1))
                if control.stop_requested:
                    status = "stopped"
                    break
    except TuneLabError as exc:
        status, message = "failed", str(exc)
    except torch.OutOfMemoryError:
        status, message = "failed", (f"out of memory on {device}: lower train.batch_size "
                                     f"(now {cfg.train.batch_size}) or choose a smaller model")
    except Exception as exc:  # noqa: BLE001 - a failed test must never take the caller down
        status, message = "failed", f"{type(exc).__name__}: {exc}"
        extra["traceback"] = traceback.format_exc()
    result = result_from_curves(trial_id, status, curves, message, time.perf_counter() - t0, settings)
    _finish(store, result, extra)
    sink.emit(result)
    if own_store:
        store.close()
    return result


def result_from_curves(trial_id: int | None, status: str, curves: list[RangeCurve], failure: str,
                       seconds: float, settings: RangeTestSettings | None = None) -> RangeTestResult:
    """Suggestions of each curve, combined over the repeats (geometric median, with their spread)."""
    runs: list[Suggestions] = [suggest(c.lrs, c.smoothed, c.losses) for c in curves if c.lrs]
    if runs:
        combined = combine(runs)
        values, agreed, agreeing, note = combined.values, combined.agreed, combined.agreeing, combined.message
        spread = spreads(runs) if len(runs) > 1 else {name: None for name in SUGGESTION_NAMES}
    else:
        values = {name: None for name in SUGGESTION_NAMES}
        spread = {name: None for name in SUGGESTION_NAMES}
        agreed, agreeing, note = None, (), "no iterations ran"
    message = "; ".join(m for m in (failure, note) if m)
    return RangeTestResult(trial_id, status, tuple(curves), values, spread, agreed, agreeing, message, seconds,
                           settings.to_dict() if settings else None)


def headline_lr(result: RangeTestResult) -> float | None:
    """The one value a table shows for a test: the middle of the agreed band, else the valley."""
    if result.agreed is not None:
        return math.sqrt(result.agreed[0] * result.agreed[1])
    return result.suggestions.get("valley")


def _finish(store: TrialStore, result: RangeTestResult, extra: dict) -> None:
    stored = result.to_dict()
    for key in ("trial_id", "status", "lrs", "losses", "settings"):
        stored.pop(key)  # columns of the trial, the first curve again, or kept under "range_test" already
    store.finish_trial(result.trial_id, result.status, message=result.message, lr=headline_lr(result),
                       extra={**stored, **extra})


def load_range_test(store: TrialStore, trial_id: int) -> RangeTestResult:
    """A stored range test with its curves and suggestions, as it was when it finished."""
    trial = store.get_trial(trial_id)
    if trial.kind != RANGE_TEST_KIND:
        raise StoreError(f"trial {trial_id} is a {trial.kind} trial, not a learning-rate range test")
    e = trial.extra
    curves = tuple(RangeCurve(int(c["seed"]), _floats(c["lrs"]), _floats(c["losses"]), _floats(c["smoothed"]),
                              _floats(c["val_losses"]) if c.get("val_losses") is not None else None,
                              str(c.get("stop_reason", "")))
                   for c in e.get("curves", []))
    names = SUGGESTION_NAMES
    suggestions = {n: e.get("suggestions", {}).get(n) for n in names}
    spread = {n: tuple(v) if v else None for n, v in ((n, e.get("spreads", {}).get(n)) for n in names)}
    agreed = tuple(e["agreed"]) if e.get("agreed") else None
    return RangeTestResult(trial_id, trial.status, curves, suggestions, spread, agreed,  # type: ignore[arg-type]
                           tuple(e.get("agreeing", ())), trial.message, float(e.get("seconds") or 0.0),
                           e.get("range_test"))


def range_test_trials(store: TrialStore, limit: int = 100) -> list[tuple[int, str]]:
    """(trial id, one-line label) of the stored range tests, newest first."""
    def describe(t: TrialRecord) -> str:
        found = f"suggests {t.lr:.2g}" if t.lr is not None else "no suggestion"
        return f"{t.dataset} / {t.model} / {t.optimizer} · {t.status}, {found}"

    return trial_choices(store, RANGE_TEST_KIND, describe, limit)


def _floats(values: list) -> tuple[float, ...]:
    """Stored curves keep a non-finite loss as null; it comes back as NaN."""
    return tuple(math.nan if v is None else float(v) for v in values)
