"""An ensemble job as a trial of kind "ensemble": choose or train the members, combine and score them, save the
ensemble as one file beside the store, and keep members, weights, method and the results table with the trial."""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

from trainers.data import DatasetBundle
from trainers.ensembles.ensemble_file import EnsembleRecipe, save_ensemble
from trainers.ensembles.evaluation import Scored, scored_ensemble
from trainers.ensembles.member_models import Member
from trainers.ensembles.new_members import (
    NewMembers,
    adaboost,
    bagging,
    gradient_boost,
    member_label,
    planned_vectorised,
)
from trainers.ensembles.snapshot import cycle_bounds, snapshot, snapshot_epochs
from trainers.ensembles.stored_members import candidates, fallback_note, load_members
from trainers.jobs.lifecycle import TrialJob, owned_store, start_job
from trainers.jobs.setup import trial_summary
from trainers.spec.config import RunConfig
from trainers.spec.ensemble_events import EnsembleResult, EnsembleStarted
from trainers.spec.ensemble_settings import METHOD_LABELS, EnsembleSettings, validate_settings
from trainers.spec.errors import ConfigError, TuneLabError
from trainers.spec.events import RunControl, Sink
from trainers.store import TrialStore

ENSEMBLE_KIND = "ensemble"
FILE_NAME = "ensemble.tlens"
TRAINERS: dict[str, Callable[..., NewMembers]] = {
    "bagging": bagging,
    "adaboost": adaboost,
    "gradient-boost": gradient_boost,
    "snapshot": snapshot,
}
COMBINERS = {
    "greedy-selection": "soft",
    "soft-vote": "soft",
    "hard-vote": "hard",
    "weighted": "soft",
    "stacking": "stacking",
}


def run_ensemble(
    settings: EnsembleSettings,
    cfg: RunConfig | None = None,
    *,
    sink: Sink | None = None,
    control: RunControl | None = None,
    store: TrialStore | None = None,
    bundle: DatasetBundle | None = None,
) -> EnsembleResult:
    """Build one ensemble. Bad settings, a missing config or unusable members raise (no trial is made); anything
    that fails after the trial exists is recorded as "failed" and returned, never raised."""
    settings = validate_settings(settings)
    with owned_store(store) as store:
        stored, base, summary = _plan(settings, cfg, store)
        count = settings.members if settings.trains else len(stored)
        job = start_job(
            store,
            ENSEMBLE_KIND,
            base,
            sink=sink,
            control=control,
            summary=summary,
            name=_name(settings.method, count),
            extra={"ensemble": {"settings": settings.to_dict()}},
            oom_hint="lower train.batch_size or the number of members trained together "
            "(ensemble.vectorise off trains them one at a time)",
        )
        job.notes.append(fallback_note(store, stored))
        built = _Built()
        with job.running(stop_note="stopped by request while scoring the members"):
            data = job.load_data(bundle)
            members, combiner, weights = _members(job, settings, stored, data, count, built)
            if len(members) >= 2:
                recipe = EnsembleRecipe(
                    settings.method,
                    combiner,
                    members,
                    weights,
                    data.input_shape,
                    data.num_classes,
                    list(data.class_names),
                    dataclasses.asdict(base.data),
                    info={"trial_id": job.trial_id},
                    preprocessing=data.preprocessing.to_json() if data.preprocessing is not None else None,
                )
                built.scored = scored_ensemble(recipe, data, job.device, settings, job.control)
                job.notes.append(built.scored.note)
            else:
                job.notes.append(f"only {len(members)} member(s): an ensemble needs at least two")
                job.status = "stopped" if job.status == "stopped" else "failed"
        return _finish(job, settings, built)


def _name(method: str, members: int, pool: int = 0) -> str:
    """The trial's name: "Soft voting of 5"; greedy selection says how many it chose among."""
    label = METHOD_LABELS[method]
    if method == "greedy-selection":
        return f"{label} of {members} from {pool}" if pool else f"{label} from {members}"
    return f"{label} of {members}"


@dataclasses.dataclass
class _Built:
    """What the job got as far as making: the new members' run and the scored ensemble."""

    new: NewMembers | None = None
    scored: Scored | None = None


def _plan(
    settings: EnsembleSettings, cfg: RunConfig | None, store: TrialStore
) -> tuple[list[Member], RunConfig, dict[str, Any]]:
    """The stored members (none when new ones are trained), the config the trial keeps, and its summary columns."""
    if not settings.trains:
        stored, base = load_members(candidates(store, settings))
        return (
            stored,
            base,
            {"dataset": base.data.source, "model": "+".join(dict.fromkeys(m.model.family for m in stored))},
        )
    if cfg is None:
        raise ConfigError("config", None, f"a run config for the new members of {settings.method}")
    base = cfg  # valid by construction
    if settings.method == "snapshot":
        cycle_bounds(base.train.epochs, settings.members)  # too few epochs: said before any trial exists
    return [], base, trial_summary(base)


def _members(
    job: TrialJob, settings: EnsembleSettings, stored: list[Member], data: DatasetBundle, count: int, built: _Built
) -> tuple[list[Member], str, list[float] | None]:
    """The members with how they combine: stored ones as they are, or new ones trained now."""
    if not settings.trains:
        job.sink.emit(EnsembleStarted(job.trial_id, settings.method, tuple(m.label for m in stored), 0, False))
        return stored, COMBINERS[settings.method], None
    base = job.cfg
    epochs = snapshot_epochs(base.train.epochs, count) if settings.method == "snapshot" else base.train.epochs
    job.sink.emit(
        EnsembleStarted(
            job.trial_id,
            settings.method,
            tuple(member_label(k) for k in range(count)),
            epochs,
            planned_vectorised(base, settings, data, job.device),
        )
    )
    new = built.new = TRAINERS[settings.method](base, data, settings, job.device, sink=job.sink, control=job.control)
    job.notes += new.notes
    if new.stopped:
        job.status = "stopped"
        job.notes.insert(0, f"stopped by request after {len(new.members)} member(s)")
    return new.members, new.combiner, new.weights


def _finish(job: TrialJob, settings: EnsembleSettings, built: _Built) -> EnsembleResult:
    """Save the ensemble file beside the store, then finish the trial with members, weights and results."""
    scored, new = built.scored, built.new
    file = None
    if scored is not None:
        try:
            file = str(save_ensemble(scored.recipe, job.store.checkpoint_dir(job.trial_id) / FILE_NAME))
        except TuneLabError as exc:
            job.fail(str(exc))
    # what was built: stacking that trails the soft vote is the soft vote, and says so in the message
    method = scored.recipe.method if scored else settings.method
    result = EnsembleResult(
        job.trial_id,
        job.status,
        method,
        tuple(scored.members) if scored else (),
        scored.ensemble if scored else None,
        scored.gains if scored else {},
        scored.diversity if scored else None,
        scored.diversity_split if scored else "",
        job.seconds,
        job.message,
        file,
        new.member_note if new else "",
        scored.best_single if scored else None,
        scored.pool if scored else 0,
    )
    details = result.to_dict()
    details.pop("trial_id")
    details.pop("status")
    details.update(
        settings=settings.to_dict(),
        weights=scored.recipe.weights if scored else None,
        combiner=scored.recipe.combiner if scored else None,
    )
    ens = scored.ensemble if scored else None
    named = {"name": _name(method, len(scored.members), scored.pool)} if scored and not settings.trains else {}
    return job.finish(
        result,
        extra={"ensemble": details},
        best_val_acc=ens.val_acc if ens else None,
        best_val_loss=ens.val_loss if ens else None,
        test_acc=ens.test_acc if ens else None,
        test_loss=ens.test_loss if ens else None,
        checkpoint_best=file,
        **named,
    )
