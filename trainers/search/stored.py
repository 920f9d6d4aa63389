"""Earlier searches read back: the result kept with a search trial, and its Optuna trials from the study beside the
store (the window redraws a finished or running search from these)."""

from __future__ import annotations

from typing import Any

import optuna

from trainers.search.results import FINISHED, best_of, count_states, ended_event
from trainers.search.storage import open_storage, study_storage_url
from trainers.search.study import quiet_optuna
from trainers.spec.errors import StoreError
from trainers.spec.search_events import SearchResult, SearchTrialEnded
from trainers.spec.url_display import with_password
from trainers.store import TrialStore
from trainers.store.records import TrialRecord
from trainers.trials.choices import trial_choices

SEARCH_KIND = "search"


def _search_trial(store: TrialStore, trial_id: int) -> TrialRecord:
    trial = store.get_trial(trial_id)
    if trial.kind != SEARCH_KIND:
        raise StoreError(f"trial {trial_id} is a {trial.kind} trial, not a search")
    return trial


def _study(trial: TrialRecord, store_url: str) -> optuna.Study:
    """The search's study; its storage URL is kept masked, so the password comes from the store's own URL."""
    plan: dict[str, Any] = trial.extra.get("search", {})
    if not plan.get("study") or not plan.get("storage"):
        raise StoreError(f"search {trial.id} has no study (it ended before its first trial)")
    quiet_optuna()
    try:
        storage = open_storage(with_password(plan["storage"], store_url))
        return optuna.load_study(study_name=plan["study"], storage=storage)
    except KeyError:
        raise StoreError(f"the study {plan['study']} of search {trial.id} is not in {plan['storage']}") from None


def search_study_location(store: TrialStore, trial_id: int) -> tuple[str, str]:
    """(Optuna storage ready to connect, study name) of the stored search `trial_id`, for `tunelab worker --search`;
    the storage is the store's own (`study_storage_url`) when the plan names none."""
    trial = _search_trial(store, trial_id)
    plan: dict[str, Any] = trial.extra.get("search", {})
    if not plan.get("study"):
        raise StoreError(f"search {trial_id} has no study (it ended before its first trial)")
    kept = str(plan.get("storage") or study_storage_url(store.url))
    return with_password(kept, store.url), str(plan["study"])


def search_trial_events(store: TrialStore, trial_id: int) -> list[SearchTrialEnded]:
    """The finished Optuna trials of the search `trial_id`, in the order they were asked."""
    study = _study(_search_trial(store, trial_id), store.url)
    return [ended_event(t) for t in study.get_trials(deepcopy=False, states=FINISHED)]


def load_search_result(store: TrialStore, trial_id: int) -> SearchResult:
    """The search's result as it was kept when it ended; for a search still running, as its study stands now."""
    trial = _search_trial(store, trial_id)
    kept = trial.extra.get("result")
    if kept:
        return SearchResult(
            trial_id, trial.status, **{k: v for k, v in kept.items() if k in _RESULT_FIELDS}, message=trial.message
        )
    study = _study(trial, store.url)
    best = best_of(study)
    plan = trial.extra.get("search", {})
    return SearchResult(
        trial_id,
        trial.status,
        study.study_name,
        str(plan.get("storage", "")),
        best.trial_id,
        best.number,
        best.value,
        dict(best.params or {}),
        count_states(study.get_trials(deepcopy=False)),
        float(trial.duration_s or 0.0),
        str(plan.get("settings", {}).get("monitor", "val_acc")),
        trial.message,
        trial.extra.get("lr_seed") or {},
    )


_RESULT_FIELDS = (
    "study",
    "storage",
    "best_trial_id",
    "best_number",
    "best_value",
    "best_params",
    "counts",
    "seconds",
    "monitor",
    "lr_seed",
)


def search_trials(store: TrialStore, limit: int = 100) -> list[tuple[int, str]]:
    """(trial id, one-line label) of the stored searches, newest first."""

    def describe(t: TrialRecord) -> str:
        best = f"best {t.best_val_acc:.4f}" if t.best_val_acc is not None else "no result yet"
        return f"{t.dataset} / {t.model} · {t.name} · {t.status}, {best}"

    return trial_choices(store, SEARCH_KIND, describe, limit)
