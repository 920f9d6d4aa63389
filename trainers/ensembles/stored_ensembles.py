"""Stored ensembles: list them, show one's results table again, and export its file."""

from __future__ import annotations

import shutil
from pathlib import Path

from trainers.ensembles.ensemble_file import SUFFIX, read_recipe
from trainers.ensembles.ensemble_run import ENSEMBLE_KIND
from trainers.ensembles.stored_members import candidates
from trainers.spec.ensemble_events import EnsembleResult, MemberScore
from trainers.spec.ensemble_settings import EnsembleSettings
from trainers.spec.errors import StoreError
from trainers.store import TrialStore
from trainers.store.artifact_fetch import local_file
from trainers.store.records import TrialRecord
from trainers.trials.choices import trial_choices


def ensemble_candidates(store: TrialStore, settings: EnsembleSettings) -> list[tuple[int, str]]:
    """(trial id, label) of the trials a combining method would use now; a TuneLabError says why there are none."""
    return [(c.trial.id, c.label) for c in candidates(store, settings)]


def ensemble_trials(store: TrialStore, limit: int = 100) -> list[tuple[int, str]]:
    """(trial id, one-line label) of the stored ensembles, newest first."""

    def describe(t: TrialRecord) -> str:
        acc = f", test acc {t.test_acc:.4f}" if t.test_acc is not None else ""
        return f"{t.name or t.kind} · {t.dataset} · {t.status}{acc}"

    return trial_choices(store, ENSEMBLE_KIND, describe, limit)


def _score(raw: dict | None) -> MemberScore | None:
    if not raw:
        return None
    return MemberScore(
        raw.get("label", ""),
        raw.get("trial_id"),
        raw.get("weight"),
        raw.get("val_acc"),
        raw.get("val_loss"),
        raw.get("test_acc"),
        raw.get("test_loss"),
    )


def load_ensemble_result(store: TrialStore, trial_id: int) -> EnsembleResult:
    """A stored ensemble's results as they were when it finished."""
    trial = store.get_trial(trial_id)
    if trial.kind != ENSEMBLE_KIND:
        raise StoreError(f"trial {trial_id} is a {trial.kind} trial, not an ensemble")
    e = trial.extra.get("ensemble", {})
    method = e.get("method") or EnsembleSettings.from_dict(e.get("settings", {})).method
    members = tuple(s for s in (_score(m) for m in e.get("members", [])) if s is not None)
    return EnsembleResult(
        trial_id,
        trial.status,
        method,
        members,
        _score(e.get("ensemble")),
        e.get("gains") or {},
        e.get("diversity"),
        e.get("diversity_split", ""),
        float(e.get("seconds") or 0.0),
        trial.message,
        trial.checkpoint_best,
        e.get("member_note", ""),
        _score(e.get("best_single")),
        int(e.get("pool") or 0),
    )


def ensemble_file(store: TrialStore, trial: TrialRecord) -> Path:
    """The stored ensemble's file on this host: fetched into the cache when only the store's database has it."""
    source = local_file(store, trial.id, trial.checkpoint_best)
    if source is None:
        raise StoreError(
            f"ensemble {trial.id} has no saved file ({trial.status}{': ' + trial.message if trial.message else ''})"
        )
    return source


def export_ensemble(store: TrialStore, trial_id: int, path: Path | str) -> Path:
    """Copy a stored ensemble's file to `path` (the .tlens suffix is added when there is none)."""
    trial = store.get_trial(trial_id)
    if trial.kind != ENSEMBLE_KIND:
        raise StoreError(f"trial {trial_id} is a {trial.kind} trial, not an ensemble")
    source = ensemble_file(store, trial)
    read_recipe(source)  # a damaged file is reported here, not when someone loads the copy
    target = Path(path).expanduser()
    if not target.suffix:
        target = target.with_suffix(SUFFIX)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    except OSError as exc:
        raise StoreError(f"cannot write the ensemble to {target}: {exc}") from None
    return target
