"""A hyperparameter search as a trial of kind "search" on the one job lifecycle: the LR finder's seeding when asked,
the Optuna study beside the store, the trials (in this process, or in `tunelab worker` processes), and at the end
the best trial and the counts, in the search trial's record and in the result."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from trainers.jobs.lifecycle import TrialJob, owned_store, start_job
from trainers.jobs.setup import physical_cores, resolve_threads, trial_summary
from trainers.search.budget import trial_limit
from trainers.search.lr_seed import seed_learning_rate, seedable
from trainers.search.objective import TrialRunner
from trainers.search.results import best_of, count_states, first_failure
from trainers.search.samplers import check_sampler
from trainers.search.storage import study_storage_url
from trainers.search.stored import SEARCH_KIND
from trainers.search.study import LoadedSearch, create_search, max_epochs, study_name
from trainers.search.trials_loop import run_trials
from trainers.search.workers import run_workers
from trainers.spec.config import RunConfig
from trainers.spec.errors import ConfigError
from trainers.spec.events import RunControl, Sink
from trainers.spec.search_events import SearchEnded, SearchResult, SearchStarted, empty_counts
from trainers.spec.search_settings import SearchSettings, validate_settings
from trainers.spec.search_space import SearchSpace
from trainers.spec.url_display import safe_url
from trainers.store import TrialStore

SAMPLER_LABELS = {"tpe": "TPE", "random": "random", "grid": "grid", "cmaes": "CMA-ES", "gp": "Gaussian-process"}


def trial_threads(cfg: RunConfig, workers: int) -> int:
    """train.threads of each trial: the config's when set, else the cores shared among the workers (one worker:
    the automatic count, worked out here because the search job itself counts as a running job)."""
    if cfg.train.threads > 0:
        return cfg.train.threads
    return max(1, physical_cores() // workers) if workers > 1 else resolve_threads(0)


@dataclass
class _State:
    search: LoadedSearch | None = None
    lr_seed: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def run_search(
    cfg: RunConfig,
    space: SearchSpace,
    settings: SearchSettings,
    *,
    store: TrialStore | None = None,
    sink: Sink | None = None,
    control: RunControl | None = None,
    worker_count: int | None = None,
) -> SearchResult:
    """Run the search to its budget (or a stop). Bad settings or a space the sampler cannot take raise before any
    trial exists; anything that fails after is recorded in the search trial and returned, never raised."""
    settings = validate_settings(settings if worker_count is None else settings.replace(workers=worker_count))
    space = SearchSpace.of_params(space.params, cfg)  # checked against this base config
    check_sampler(space, settings)
    if not space.params:
        raise ConfigError("search", {}, 'at least one field to vary, e.g. lr = "log:1e-5:1e-1"')
    with owned_store(store) as store:
        storage_url = study_storage_url(store.url)
        job = start_job(
            store,
            SEARCH_KIND,
            cfg,
            sink=sink,
            control=control,
            summary={**trial_summary(cfg), "lr": None, "epochs_planned": max_epochs(cfg, space, settings)},
            name=f"{SAMPLER_LABELS[settings.sampler]} search",
            extra={"search": _plan(space, settings, storage_url)},
        )
        state = _State()
        with job.running():
            _search(job, cfg, space, settings, storage_url, state)
        return _finish(job, settings, storage_url, state)


def _plan(space: SearchSpace, settings: SearchSettings, storage_url: str) -> dict[str, Any]:
    return {
        "space": space.to_dict(),
        "settings": settings.to_dict(),
        "sampler": settings.sampler,
        "pruner": settings.pruner,
        "budget": {"trials": settings.trials, "timeout_s": settings.timeout_s, "epochs": settings.epochs},
        "storage": safe_url(storage_url),  # kept in the trial: never the password (trainers/spec/url_display.py)
    }


def _search(
    job: TrialJob, cfg: RunConfig, space: SearchSpace, settings: SearchSettings, storage_url: str, state: _State
) -> None:
    threads = trial_threads(cfg, settings.workers)
    base = cfg.replace(**{"train.threads": threads})
    first_rate = None
    if seedable(space, settings):
        seed_cfg = base.replace(**{"train.epochs": settings.epochs}) if settings.epochs else base
        space, first_rate, state.lr_seed = seed_learning_rate(
            seed_cfg, space, store=job.store, sink=job.sink, control=job.control
        )
        job.store.update_trial(job.trial_id, extra={"lr_seed": state.lr_seed})
        if job.control.stop_requested:
            job.status = "stopped"
            job.notes.insert(0, "stopped by request during the LR finder")
            return
    search = state.search = create_search(storage_url, job.trial_id, cfg, space, settings, job.store.url)
    job.store.update_trial(
        job.trial_id, extra={"search": {**_plan(space, settings, storage_url), "study": search.name}}
    )
    if first_rate is not None:
        search.study.enqueue_trial({"optim.lr": first_rate}, user_attrs={"lr_finder_seed": True})
    job.sink.emit(
        SearchStarted(
            job.trial_id,
            search.name,
            safe_url(storage_url),
            settings.sampler,
            settings.pruner,
            trial_limit(search) or 0,
            settings.timeout_s,
            search.epochs or 0,
            settings.workers,
            settings.monitor,
            space.to_dict(),
        )
    )
    if settings.workers == 1:
        run_trials(TrialRunner(search, job.store, threads, job.sink, job.control))
    else:
        state.notes += run_workers(
            search, settings.workers, threads, sink=job.sink, control=job.control, store=job.store
        )
    if job.control.stop_requested:
        job.status = "stopped"
        job.notes.insert(0, "stopped by request")


def _finish(job: TrialJob, settings: SearchSettings, storage_url: str, state: _State) -> SearchResult:
    search = state.search
    trials = search.study.get_trials(deepcopy=False) if search is not None else []
    counts = count_states(trials) if search is not None else empty_counts()
    best = best_of(search.study) if search is not None else None
    if job.status == "completed" and counts["complete"] + counts["pruned"] == 0 and counts["failed"]:
        job.fail(f"every trial failed; the first: {first_failure(trials)}")
    job.notes.extend(state.notes)
    summary = ", ".join(f"{n} {k}" for k, n in counts.items() if n)
    job.notes.append(summary or "no trial finished")
    result = SearchResult(
        job.trial_id,
        job.status,
        search.name if search is not None else study_name(job.trial_id),
        safe_url(storage_url),
        best.trial_id if best else None,
        best.number if best else None,
        best.value if best else None,
        dict(best.params or {}) if best else {},
        counts,
        job.seconds,
        settings.monitor,
        job.message,
        state.lr_seed,
    )
    columns = _best_columns(job.store, best.trial_id if best else None)
    extra = {"result": {k: v for k, v in result.to_dict().items() if k not in ("search_id", "status", "message")}}
    return job.finish(SearchEnded(result), extra=extra, **columns).result


def _best_columns(store: TrialStore, trial_id: int | None) -> dict[str, Any]:
    """The best trial's scores as the search trial's own, so History ranks a search by what it found."""
    if trial_id is None:
        return {}
    best = store.get_trial(int(trial_id))
    return {
        "best_val_acc": best.best_val_acc,
        "best_val_loss": best.best_val_loss,
        "test_acc": best.test_acc,
        "test_loss": best.test_loss,
        "lr": best.lr,
    }
