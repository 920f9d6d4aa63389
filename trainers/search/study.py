"""The Optuna study of a search, named "search-<trial id>", with everything needed to run it in its user attributes
(the space, the settings, the base config, the store's URL, the search's trial id and when it started), so any
process rebuilds the search from the storage alone: `load_search(storage_url, study_name)`."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import optuna

from trainers.search.samplers import make_pruner, make_sampler
from trainers.search.storage import GRACE_S, is_journal, open_storage
from trainers.spec.config import RunConfig
from trainers.spec.errors import ConfigError, StoreError
from trainers.spec.search_settings import SearchSettings
from trainers.spec.search_space import SearchSpace
from trainers.spec.url_display import safe_url, with_password

# user attributes of the study
SPACE, SETTINGS, CONFIG, STORE, SEARCH_ID, STARTED = "space", "settings", "config", "store", "search_id", "started_at"


def study_name(search_id: int | None) -> str:
    return f"search-{search_id}"


def direction(monitor: str) -> Literal["minimize", "maximize"]:
    """val_acc is maximised, val_loss minimised."""
    return "minimize" if monitor.endswith("loss") else "maximize"


@dataclass
class LoadedSearch:
    """A search as a worker runs it: the study (with this worker's sampler) and what it was made from."""

    study: optuna.Study
    storage_url: str
    cfg: RunConfig  # the base config every trial starts from
    space: SearchSpace
    settings: SearchSettings
    store_url: str
    search_id: int | None
    started_at: float  # time.time() when the search started: the time budget counts from it on every worker
    worker_index: int = 0

    @property
    def name(self) -> str:
        return self.study.study_name

    @property
    def epochs(self) -> int | None:
        return max_epochs(self.cfg, self.space, self.settings)

    def trial_base(self, threads: int) -> RunConfig:
        """The base config a trial samples into: the search's epochs per trial and this worker's thread count."""
        changes: dict[str, Any] = {"train.threads": threads}
        if self.settings.epochs:
            changes["train.epochs"] = self.settings.epochs
        return self.cfg.replace(**changes)


def max_epochs(cfg: RunConfig, space: SearchSpace, settings: SearchSettings) -> int | None:
    """What every trial trains at most: the settings' epochs per trial, else the base config's; None when the space
    varies train.epochs."""
    if "train.epochs" in space.fields:
        return None
    return settings.epochs or cfg.train.epochs


def quiet_optuna() -> None:
    """Optuna logs every trial on stderr; the search reports its trials itself."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)


def create_search(
    storage_url: str,
    search_id: int | None,
    cfg: RunConfig,
    space: SearchSpace,
    settings: SearchSettings,
    store_url: str,
) -> LoadedSearch:
    """A new study for the search, its settings written to the storage before any trial."""
    quiet_optuna()
    storage = open_storage(storage_url)
    sampler = make_sampler(space, settings, 0)
    pruner = make_pruner(settings, max_epochs(cfg, space, settings))
    name = study_name(search_id)
    for n in range(1, 100):
        try:
            candidate = name if n == 1 else f"{name}-{n}"  # a journal kept from an earlier store of the same name
            study = optuna.create_study(
                storage=storage,
                study_name=candidate,
                direction=direction(settings.monitor),
                sampler=sampler,
                pruner=pruner,
            )
            break
        except optuna.exceptions.DuplicatedStudyError:
            continue
    else:
        raise StoreError(f"no free study name {name}-N in {safe_url(storage_url)}")
    started = time.time()
    attrs = {
        SPACE: space.to_dict(),
        SETTINGS: settings.to_dict(),
        CONFIG: cfg.to_dict(),
        STORE: safe_url(store_url),  # a server's password stays out of the study's attributes
        SEARCH_ID: search_id,
        STARTED: started,
    }
    for key, value in attrs.items():
        study.set_user_attr(key, value)
    return LoadedSearch(study, storage_url, cfg, space, settings, store_url, search_id, started)


def load_search(storage_url: str, name: str, worker_index: int = 0, *, grace_s: int = GRACE_S) -> LoadedSearch:
    """The search `name` in the storage, with a sampler seeded for `worker_index`; a StoreError when it is not
    there, a ConfigError naming the field when its recorded settings no longer validate."""
    quiet_optuna()
    if is_journal(storage_url) and not _exists(storage_url):
        raise StoreError(f"no Optuna journal at {storage_url}")
    storage = open_storage(storage_url, grace_s=grace_s)
    try:
        attrs = optuna.load_study(study_name=name, storage=storage).user_attrs
    except KeyError:
        raise StoreError(f"no study named {name} in {safe_url(storage_url)}") from None
    if SPACE not in attrs or CONFIG not in attrs:
        raise StoreError(
            f"study {name} in {safe_url(storage_url)} is not a TuneLab search (no space or config attribute)"
        )
    try:
        cfg = RunConfig.from_dict(attrs[CONFIG])
        space = SearchSpace.from_dict(attrs[SPACE], cfg)
        settings = SearchSettings.from_dict(attrs.get(SETTINGS, {}))
    except ConfigError as err:
        raise ConfigError(err.field, err.value, f"{err.allowed} (in study {name})") from None
    study = optuna.load_study(
        study_name=name,
        storage=storage,
        sampler=make_sampler(space, settings, worker_index),
        pruner=make_pruner(settings, max_epochs(cfg, space, settings)),
    )
    # the password from the storage's URL (same server, same user), else none: PGPASSWORD or ~/.pgpass then
    store_url = with_password(str(attrs.get(STORE, "")), storage_url)
    search_id = attrs.get(SEARCH_ID)
    started = float(attrs.get(STARTED) or time.time())
    return LoadedSearch(study, storage_url, cfg, space, settings, store_url, search_id, started, worker_index)


def _exists(path: str) -> bool:
    return Path(path).expanduser().is_file()
