"""What follows a search: its study found from the store or the storage alone, the best trial's config (for "Apply
best"), the top trials by the search's monitor (for "Re-run top 3 with 3 seeds" and "Build ensemble from top K").

Only trials that completed count: a pruned trial stopped early, so its value is not comparable, and an ensemble
takes finished trials with saved weights (trainers/ensembles/stored_members.py says which)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import optuna
from optuna.trial import FrozenTrial, TrialState

from trainers.ensembles.stored_members import has_weights
from trainers.search.storage import JOURNAL_SUFFIX, SEARCH_PATH_OPTION, is_journal, open_storage
from trainers.search.stored import SEARCH_KIND
from trainers.search.study import SEARCH_ID, SETTINGS, direction, quiet_optuna
from trainers.spec.config import RunConfig
from trainers.spec.ensemble_settings import EnsembleSettings
from trainers.spec.errors import ConfigError, StoreError
from trainers.spec.trial_config import stored_run_config
from trainers.spec.url_display import safe_url, with_password
from trainers.store import TrialStore
from trainers.store.records import TrialRecord

StoreOrStorage = TrialStore | str


def search_study(source: StoreOrStorage, search_id: int) -> optuna.Study:
    """The Optuna study of the search `search_id`. `source`: the trial store (or its path or URL), or the study's
    storage itself (a `.optuna.journal` file, or a PostgreSQL URL with the search schema) for a process that has
    only the storage."""
    if isinstance(source, TrialStore):
        return _study_of(source.get_trial(search_id), source.url)
    if source.endswith(JOURNAL_SUFFIX) or SEARCH_PATH_OPTION in source:
        return _study_in_storage(source, search_id)
    with TrialStore(source, read_only=True) as store:
        return _study_of(store.get_trial(search_id), store.url)


def _study_of(trial: TrialRecord, store_url: str) -> optuna.Study:
    if trial.kind != SEARCH_KIND:
        raise StoreError(f"trial {trial.id} is a {trial.kind} trial, not a search")
    plan = trial.extra.get("search", {})
    if not plan.get("study") or not plan.get("storage"):
        raise StoreError(f"search {trial.id} has no study (it ended before its first trial)")
    return _load(with_password(plan["storage"], store_url), plan["study"], trial.id)


def _study_in_storage(storage_url: str, search_id: int) -> optuna.Study:
    """The newest study in the storage made for `search_id` (a journal kept from an earlier store of the same name
    may hold an older one)."""
    storage = _open(storage_url)
    names = [s.study_name for s in storage.get_all_studies() if s.user_attrs.get(SEARCH_ID) == search_id]
    if not names:
        raise StoreError(f"no study of search {search_id} in {safe_url(storage_url)}")
    return _load(storage_url, names[-1], search_id)


def _open(storage_url: str) -> optuna.storages.BaseStorage:
    if is_journal(storage_url) and not Path(storage_url).expanduser().is_file():
        raise StoreError(f"no Optuna journal at {storage_url}")  # opening one would create an empty file
    quiet_optuna()
    return open_storage(storage_url)  # it drops a masked password itself: PGPASSWORD or ~/.pgpass


def _load(storage_url: str, name: str, search_id: int) -> optuna.Study:
    try:
        return optuna.load_study(study_name=name, storage=_open(storage_url))
    except KeyError:
        raise StoreError(f"the study {name} of search {search_id} is not in {safe_url(storage_url)}") from None


def monitor_of(study: optuna.Study) -> str:
    """The metric the search ranked its trials by (val_acc unless the settings say otherwise)."""
    return str(study.user_attrs.get(SETTINGS, {}).get("monitor", "val_acc"))


def ranked_complete(study: optuna.Study) -> list[FrozenTrial]:
    """The completed trials, best first by the search's monitor (ties: the earlier trial first)."""
    trials = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if t.value is not None]
    sign = 1.0 if direction(monitor_of(study)) == "minimize" else -1.0
    return sorted(trials, key=lambda t: (sign * float(t.value), t.number))  # type: ignore[arg-type]


def top_trials(store: TrialStore, search_id: int, k: int, *, with_weights: bool = False) -> list[int]:
    """The TuneLab trial ids of the search's best `k` completed trials, best first. `with_weights`: only those
    whose weights were saved (what an ensemble needs)."""
    if k < 1:
        raise ConfigError("k", k, "at least 1 trial")
    out: list[int] = []
    for t in ranked_complete(search_study(store, search_id)):
        trial_id = t.user_attrs.get("trial_id")
        if trial_id is None:
            continue
        try:
            record = store.get_trial(int(trial_id))
        except StoreError:  # deleted from History since
            continue
        if record.status == "completed" and (not with_weights or has_weights(record, store)):
            out.append(record.id)
        if len(out) == k:
            break
    return out


def best_config(store: TrialStore, search_id: int) -> RunConfig:
    """The best completed trial's config, as it trained but with the search's own thread count (a worker's share of
    the cores is not what a run on its own should use)."""
    best = top_trials(store, search_id, 1)
    if not best:
        raise StoreError(f"search {search_id} has no completed trial yet")
    cfg = stored_run_config(best[0], store.get_trial(best[0]).config)
    base = stored_run_config(search_id, store.get_trial(search_id).config)
    return cfg.replace(**{"train.threads": base.train.threads})


def ensemble_settings(
    store: TrialStore, search_id: int, k: int, *, method: str = "greedy-selection"
) -> EnsembleSettings:
    """Ensemble settings that combine the search's top `k` completed trials with saved weights (by trial id), ranked
    by the search's monitor; a ConfigError when fewer than two such trials exist."""
    ids = top_trials(store, search_id, k, with_weights=True)
    if len(ids) < 2:
        raise ConfigError(
            "ensemble.trials",
            ", ".join(map(str, ids)),
            f"at least 2 completed trials of search {search_id} with saved weights (train.checkpoints on)",
        )
    monitor = monitor_of(search_study(store, search_id))
    return EnsembleSettings().replace(method=method, trials=_id_list(ids), select_by=monitor)


def _id_list(ids: Sequence[int]) -> str:
    return ", ".join(str(i) for i in ids)
