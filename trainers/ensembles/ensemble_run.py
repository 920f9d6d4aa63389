"""An ensemble job as a trial of kind "ensemble": choose or train the members, combine and score them, save the
ensemble as one file beside the store, and keep members, weights, method and the results table with the trial."""

from __future__ import annotations

import dataclasses
import time
import traceback
from typing import Callable

import torch

from trainers.config import RunConfig, validate
from trainers.data import DatasetBundle, load_dataset
from trainers.device import resolve_device
from trainers.ensembles.ensemble_file import EnsembleRecipe, save_ensemble
from trainers.ensembles.evaluation import Scored, scored_ensemble
from trainers.ensembles.events import EnsembleResult, EnsembleStarted
from trainers.ensembles.member_models import Member
from trainers.ensembles.new_members import NewMembers, adaboost, bagging, gradient_boost, member_label, \
    planned_vectorised
from trainers.ensembles.settings import METHOD_LABELS, EnsembleSettings, validate_settings
from trainers.ensembles.snapshot import cycle_bounds, snapshot, snapshot_epochs
from trainers.ensembles.stored_members import candidates, load_members
from trainers.errors import ConfigError, TuneLabError
from trainers.events import NullSink, RunControl, Sink, StopRequested
from trainers.run_setup import torch_threads, trial_summary
from trainers.store import TrialStore

ENSEMBLE_KIND = "ensemble"
FILE_NAME = "ensemble.tlens"
TRAINERS: dict[str, Callable[..., NewMembers]] = {"bagging": bagging, "adaboost": adaboost,
                                                  "gradient-boost": gradient_boost, "snapshot": snapshot}
COMBINERS = {"soft-vote": "soft", "hard-vote": "hard", "weighted": "soft", "stacking": "stacking"}


def run_ensemble(settings: EnsembleSettings, cfg: RunConfig | None = None, *, sink: Sink | None = None,
                 control: RunControl | None = None, store: TrialStore | None = None,
                 bundle: DatasetBundle | None = None) -> EnsembleResult:
    """Build one ensemble. Bad settings, a missing config or unusable members raise (no trial is made); anything
    that fails after the trial exists is recorded as "failed" and returned, never raised."""
    settings = validate_settings(settings)
    own_store = store is None
    store = store or TrialStore()
    try:
        return _run(settings, cfg, sink or NullSink(), control or RunControl(), store, bundle)
    finally:
        if own_store:
            store.close()


def _run(settings: EnsembleSettings, cfg: RunConfig | None, sink: Sink, control: RunControl, store: TrialStore,
         bundle: DatasetBundle | None) -> EnsembleResult:
    stored: list[Member] = []
    if settings.trains:
        if cfg is None:
            raise ConfigError("config", None, f"a run config for the new members of {settings.method}")
        base = validate(cfg)
        if settings.method == "snapshot":
            cycle_bounds(base.train.epochs, settings.members)  # too few epochs: said before any trial exists
        summary = trial_summary(base)
        count = settings.members
    else:
        stored, base = load_members(candidates(store, settings))
        summary = {"dataset": base.data.source, "model": "+".join(dict.fromkeys(m.model.family for m in stored))}
        count = len(stored)
    name = f"{METHOD_LABELS[settings.method]} of {count}"
    trial_id = store.create_trial(ENSEMBLE_KIND, base.to_dict(), name=name, **summary,
                                  extra={"ensemble": {"settings": settings.to_dict()}})
    device = resolve_device(base.train.device)
    t0 = time.perf_counter()
    status, notes, extra = "completed", [], {}
    scored: Scored | None = None
    new: NewMembers | None = None
    try:
        with torch_threads(base.train.threads):
            torch.manual_seed(base.train.seed)
            data = (bundle or load_dataset(base.data)).to(device)
            if settings.trains:
                epochs = snapshot_epochs(base.train.epochs, count) if settings.method == "snapshot" else base.train.epochs
                sink.emit(EnsembleStarted(trial_id, settings.method, tuple(member_label(k) for k in range(count)),
                                          epochs, planned_vectorised(base, settings, data, device)))
                new = TRAINERS[settings.method](base, data, settings, device, sink=sink, control=control)
                members, combiner, weights = new.members, new.combiner, new.weights
                notes += new.notes
                if new.stopped:
                    status = "stopped"
                    notes.insert(0, f"stopped by request after {len(members)} member(s)")
            else:
                sink.emit(EnsembleStarted(trial_id, settings.method, tuple(m.label for m in stored), 0, False))
                members, combiner, weights = stored, COMBINERS[settings.method], None
            if len(members) >= 2:
                recipe = EnsembleRecipe(settings.method, combiner, members, weights, data.input_shape,
                                        data.num_classes, list(data.class_names), dataclasses.asdict(base.data),
                                        info={"trial_id": trial_id})
                scored = scored_ensemble(recipe, data, device, settings.folds, control)
            else:
                notes.append(f"only {len(members)} member(s): an ensemble needs at least two")
                status = "stopped" if status == "stopped" else "failed"
    except StopRequested:
        status, notes = "stopped", ["stopped by request while scoring the members"] + notes
    except TuneLabError as exc:
        status, notes = "failed", [str(exc)] + notes
    except torch.OutOfMemoryError:
        status, notes = "failed", [f"out of memory on {device}: lower train.batch_size or the number of members "
                                   f"trained together (ensemble.vectorise off trains them one at a time)"] + notes
    except Exception as exc:  # noqa: BLE001 - a failed ensemble must never take the caller down
        status, notes = "failed", [f"{type(exc).__name__}: {exc}"] + notes
        extra["traceback"] = traceback.format_exc()
    return _finish(store, trial_id, settings, status, "; ".join(n for n in notes if n), scored, new,
                   time.perf_counter() - t0, extra, sink)


def _finish(store: TrialStore, trial_id: int, settings: EnsembleSettings, status: str, message: str,
            scored: Scored | None, new: NewMembers | None, seconds: float, extra: dict, sink: Sink) -> EnsembleResult:
    file = None
    if scored is not None:
        try:
            file = str(save_ensemble(scored.recipe, store.checkpoint_dir(trial_id) / FILE_NAME))
        except TuneLabError as exc:
            status, message = "failed", "; ".join(m for m in (str(exc), message) if m)
    result = EnsembleResult(
        trial_id, status, settings.method, tuple(scored.members) if scored else (),
        scored.ensemble if scored else None, scored.gains if scored else {}, scored.diversity if scored else None,
        scored.diversity_split if scored else "", seconds, message, file, new.member_note if new else "")
    details = result.to_dict()
    details.pop("trial_id")
    details.pop("status")
    details.update(settings=settings.to_dict(), weights=scored.recipe.weights if scored else None,
                   combiner=scored.recipe.combiner if scored else None)
    ens = scored.ensemble if scored else None
    store.finish_trial(trial_id, status, message=message, best_val_acc=ens.val_acc if ens else None,
                       best_val_loss=ens.val_loss if ens else None, test_acc=ens.test_acc if ens else None,
                       test_loss=ens.test_loss if ens else None, checkpoint_best=file,
                       extra={"ensemble": details, **extra})
    sink.emit(result)
    return result
