"""The search's engine work for the Search tab: the search as an EngineJob (run in the worker thread, like every job
in app/jobs.py), and the reads of earlier searches and their best trials. trainers.api is imported inside each
function, once the engine has loaded, so the window still shows without it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from app.job_runner import EngineJob
from app.search.importance_feed import ImportanceFeed, SearchImportance, importance_event
from trainers.spec.config import RunConfig
from trainers.spec.ensemble_settings import EnsembleSettings
from trainers.spec.events import RunControl, Sink
from trainers.spec.search_settings import SearchSettings
from trainers.spec.search_space import SearchSpace


def search_job(cfg: RunConfig, space: SearchSpace, settings: SearchSettings, store_url: str | None = None) -> EngineJob:
    """Run a hyperparameter search on `cfg` as a trial of the default store (or store_url), with the parameter
    importance measured after each trial in this thread (app/search/importance_feed.py)."""

    def job(sink: Sink, control: RunControl) -> Any:
        from trainers.api import TrialStore, param_importance, run_search

        with TrialStore(store_url) as store:
            # measured through the store: the storage URL in the events is masked (no password to connect with)
            feed = ImportanceFeed(sink, lambda _storage, search_id: param_importance(store, search_id))
            try:
                return run_search(cfg, space, settings, store=store, sink=feed, control=control)
            finally:
                feed.finish()

    return EngineJob(job, "A search", "Search")


# The reads below run on the GUI thread, as the other tabs' do, only once the engine is imported.
def stored_searches(store_url: str | None = None) -> list[tuple[int, str]]:
    """(trial id, one-line label) of the store's searches, newest first."""
    from trainers.api import TrialStore, search_trials

    with TrialStore(store_url) as store:
        return search_trials(store)


@dataclass(frozen=True)
class StoredSearch:
    """An earlier search as the Search tab shows it again."""

    result: Any  # trainers.spec.search_events.SearchResult
    trials: list = field(default_factory=list)  # its finished Optuna trials as SearchTrialEnded events
    space: dict[str, str] = field(default_factory=dict)  # {"optim.lr": "log:1e-05:0.1", ...}
    settings: dict[str, Any] = field(default_factory=dict)  # SearchSettings as a dict
    seconds: dict[int, float] = field(default_factory=dict)  # training trial id → its duration
    importance: Any = None  # app.search.importance_feed.SearchImportance
    problem: str = ""  # why its trials could not be read (the study is gone), or ""


def stored_search(trial_id: int, store_url: str | None = None) -> StoredSearch:
    """The search `trial_id`: its result, plan, finished trials with their durations, and the importance."""
    from trainers.api import TrialStore, load_search_result, search_trial_events
    from trainers.spec.errors import StoreError

    with TrialStore(store_url) as store:
        result = load_search_result(store, trial_id)
        plan = store.get_trial(trial_id).extra.get("search", {})
        try:
            trials, problem = search_trial_events(store, trial_id), ""
        except StoreError as exc:
            trials, problem = [], str(exc)
        ids = [t.trial_id for t in trials if t.trial_id is not None]
        seconds = {i: d for i in ids if (d := store.get_trial(i).duration_s) is not None}
        importance = _stored_importance(store, trial_id) if trials else None
    return StoredSearch(
        result, trials, dict(plan.get("space", {})), dict(plan.get("settings", {})), seconds, importance, problem
    )


def _stored_importance(store: Any, search_id: int) -> Any:
    from trainers.api import param_importance

    try:
        return importance_event(param_importance(store, search_id))
    except Exception as exc:
        return SearchImportance(reason=f"importance could not be measured: {exc}")


def fanova_importance(search_id: int, store_url: str | None = None) -> SearchImportance:
    """fANOVA's importance of the search's parameters (slow: a random forest over its completed trials); raises
    the engine's one-line error (scikit-learn missing, too few trials)."""
    from trainers.api import TrialStore, param_importance

    with TrialStore(store_url) as store:
        measured = param_importance(store, search_id, "fanova")
    event = importance_event(measured)
    line = f"fANOVA over {measured.complete} completed trials ({measured.seconds:.1f} s)"
    return dataclasses.replace(event, reason=f"{line}. {event.reason}" if event.reason else line)


def best_search_config(search_id: int, store_url: str | None = None) -> RunConfig:
    """The config of the search's best completed trial, with the search's own thread count."""
    from trainers.api import TrialStore, best_config

    with TrialStore(store_url) as store:
        return best_config(store, search_id)


def search_top_trials(search_id: int, k: int, store_url: str | None = None) -> list[int]:
    """The TuneLab trial ids of the search's best `k` completed trials, best first."""
    from trainers.api import TrialStore, top_trials

    with TrialStore(store_url) as store:
        return top_trials(store, search_id, k)


def search_ensemble_settings(search_id: int, k: int, store_url: str | None = None) -> EnsembleSettings:
    """Ensemble settings combining the search's top `k` completed trials that kept their weights."""
    from trainers.api import TrialStore, ensemble_settings

    with TrialStore(store_url) as store:
        return ensemble_settings(store, search_id, k)
